//! Who is calling: the authenticated principal (from a token or an AK/SK credential), the project a request
//! acts in, and the IAM actions it may use.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;

use crate::config::Grant;
use crate::error::ApiError;
use crate::ops::requests::RequestNote;

/// The IAM actions an operation may need (the table: `service::operation::Operation::actions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `ims:images:get`.
    Get,
    /// `ims:images:list`.
    List,
    /// `ims:images:update`.
    Update,
    /// `ims:images:create`.
    Create,
    /// `ims:images:delete`.
    Delete,
}

impl Action {
    /// The IAM action name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Get => "ims:images:get",
            Action::List => "ims:images:list",
            Action::Update => "ims:images:update",
            Action::Create => "ims:images:create",
            Action::Delete => "ims:images:delete",
        }
    }
}

/// An authenticated caller: a token or a credential, with what it was granted.
#[derive(Debug)]
pub struct Principal {
    /// For logs: the token's name or the access key.
    pub name: String,
    /// Projects and actions.
    pub grant: Grant,
}

impl Principal {
    /// Whether the grant includes `action` (exactly, or through `*` or a `prefix:*` pattern).
    pub fn allows(&self, action: Action) -> bool {
        let name = action.as_str();
        self.grant.actions.iter().any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => pattern == name,
        })
    }

    /// Whether the caller may act in `project`.
    pub fn in_scope(&self, project: &str) -> bool {
        self.grant.default_project == project || self.grant.projects.iter().any(|p| p == project)
    }

    /// The project a request acts in: the path's `{project_id}`, else `X-Project-Id`, else the default. A
    /// project out of scope, or an `X-Project-Id` that differs from the path's, is refused.
    pub fn resolve_project(&self, path: Option<&str>, header: Option<&str>) -> Result<String, ApiError> {
        if let (Some(path), Some(header)) = (path, header)
            && path != header
        {
            return Err(ApiError::Forbidden(
                "The X-Project-Id header names a different project than the request path.".into(),
            ));
        }
        let project = path.or(header).unwrap_or(&self.grant.default_project);
        if !self.in_scope(project) {
            return Err(ApiError::Forbidden(format!("The credential is not scoped to project {project:?}.")));
        }
        Ok(project.to_owned())
    }
}

/// The caller of one request and the project it acts in, resolved before any parameter or body is read.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Who is calling.
    pub principal: Arc<Principal>,
    /// The project the request acts in.
    pub project: String,
}

impl Caller {
    /// Refuses the request (403) unless every action is granted.
    pub fn require(&self, actions: &[Action]) -> Result<(), ApiError> {
        match actions.iter().find(|a| !self.principal.allows(**a)) {
            None => Ok(()),
            Some(missing) => {
                Err(ApiError::Forbidden(format!("The caller lacks the IAM permission {}.", missing.as_str())))
            }
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let principal =
            parts.extensions.get::<Arc<Principal>>().cloned().ok_or_else(|| {
                ApiError::Unauthenticated("no credentials were checked for this route".into())
            })?;
        // For the request's log line, when there is one.
        let note = parts.extensions.get::<Arc<RequestNote>>().cloned();
        if let Some(note) = &note {
            note.record_caller(&principal.name);
        }
        let path_project = path_project(parts)?;
        let header = match parts.headers.get("x-project-id") {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| ApiError::Forbidden("The X-Project-Id header is not valid text.".into()))?
                    .to_owned(),
            ),
        };
        let project = principal.resolve_project(path_project.as_deref(), header.as_deref())?;
        if let Some(note) = &note {
            note.record_project(&project);
        }
        Ok(Caller { principal, project })
    }
}

/// The `{project_id}` segment of the request path, if the matched route has one: found by its position in
/// the route template and percent-decoded on its own, so that an undecodable segment elsewhere (a tag, say)
/// does not stand in the way of authorisation.
fn path_project(parts: &Parts) -> Result<Option<String>, ApiError> {
    let Some(template) = parts.extensions.get::<MatchedPath>() else { return Ok(None) };
    let Some(index) = template.as_str().split('/').position(|segment| segment == "{project_id}") else {
        return Ok(None);
    };
    let raw = parts.uri.path().split('/').nth(index).unwrap_or_default();
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|project| Some(project.into_owned()))
        .map_err(|_| ApiError::Forbidden("The project in the request path is not valid UTF-8.".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(actions: &[&str]) -> Principal {
        Principal {
            name: "t".into(),
            grant: Grant {
                default_project: "p1".into(),
                projects: vec!["p2".into()],
                actions: actions.iter().map(|a| a.to_string()).collect(),
            },
        }
    }

    #[test]
    fn actions_match_exactly_or_by_wildcard() {
        assert!(principal(&["ims:images:get"]).allows(Action::Get));
        assert!(!principal(&["ims:images:get"]).allows(Action::Update));
        assert!(principal(&["ims:images:*"]).allows(Action::Delete));
        assert!(principal(&["*"]).allows(Action::List));
        assert!(!principal(&["ims:image:*"]).allows(Action::List));
    }

    #[test]
    fn project_resolution() {
        let p = principal(&[]);
        assert_eq!(p.resolve_project(None, None).ok(), Some("p1".into()));
        assert_eq!(p.resolve_project(None, Some("p2")).ok(), Some("p2".into()));
        assert_eq!(p.resolve_project(Some("p2"), Some("p2")).ok(), Some("p2".into()));
        assert!(p.resolve_project(Some("p2"), Some("p1")).is_err(), "header differs from the path");
        assert!(p.resolve_project(Some("p3"), None).is_err(), "not scoped");
        assert!(p.resolve_project(None, Some("p3")).is_err(), "not scoped");
    }
}
