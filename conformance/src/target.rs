//! What the cases run against: the endpoint, the identities that call it, what it implements (its profile)
//! and the limits it is judged by.

use std::fmt;

use ims_tags_client::Credentials;
use serde_json::Value;

/// How an identity proves who it is.
#[derive(Clone, Debug)]
pub enum Credential {
    /// An `X-Auth-Token` token.
    Token(String),
    /// An AK/SK pair, every request signed as the Huawei SDKs sign it (with `X-Project-Id` signed).
    AkSk(Credentials),
    /// Headers sent as they are (for example Glance's `X-Project-Id` / `X-Roles` identity headers behind a
    /// trusted proxy, or an `Authorization: Bearer` token).
    Headers(Vec<(String, String)>),
}

impl Credential {
    /// The AK/SK pair, if this is one.
    pub fn aksk(&self) -> Option<&Credentials> {
        match self {
            Credential::AkSk(credentials) => Some(credentials),
            _ => None,
        }
    }

    /// Every secret this credential holds, so that reports can blank them out.
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Credential::Token(token) => vec![token.clone()],
            Credential::AkSk(c) => {
                let mut secrets = vec![c.secret_key.clone()];
                secrets.extend(c.security_token.clone());
                secrets
            }
            Credential::Headers(_) => Vec::new(),
        }
    }
}

/// A caller: a credential acting in a project.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The project it acts in (its default project).
    pub project: String,
    /// How it authenticates.
    pub credential: Credential,
}

/// The callers a case can act as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// The main identity, in its project.
    Owner,
    /// The main identity acting in its second project (named with `X-Project-Id`).
    OwnerElsewhere,
    /// The identity of another project.
    Other,
    /// An identity of the owner's project that lacks one IAM action.
    Lacking(&'static str),
}

/// The API families; a profile is a set of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// Ops 1 and 2: `PUT` / `DELETE /v2/images/{image_id}/tags/{tag}`.
    Native,
    /// The Glance image registry subset (`/v2/images`).
    Registry,
    /// `GET /`, `GET /versions`, `GET /v2/schemas/image(s)`.
    Discovery,
    /// Ops 3 and 4: `/v1/cloudimages/tags`.
    ImsV1,
    /// Ops 5 to 10: `/v2/{project_id}/images/...`.
    ImsV2,
    /// Rules of every route (authentication, the error envelope, request ids): judged on whichever
    /// operations the target serves.
    Common,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 6] =
        [Family::Native, Family::Registry, Family::Discovery, Family::ImsV1, Family::ImsV2, Family::Common];

    /// A short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Native => "native",
            Family::Registry => "registry",
            Family::Discovery => "discovery",
            Family::ImsV1 => "ims-v1",
            Family::ImsV2 => "ims-v2",
            Family::Common => "common",
        }
    }
}

/// What a target implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// The eight IMS operations (3 to 10).
    Ims,
    /// The two Glance native tag operations, the image registry subset and discovery.
    Glance,
    /// Everything ims-tags serves.
    All,
}

impl Profile {
    /// Whether a target of this profile serves `family`.
    pub fn serves(self, family: Family) -> bool {
        match self {
            Profile::All => true,
            _ if family == Family::Common => true,
            Profile::Ims => matches!(family, Family::ImsV1 | Family::ImsV2),
            Profile::Glance => matches!(family, Family::Native | Family::Registry | Family::Discovery),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Ims => "ims",
            Profile::Glance => "glance",
            Profile::All => "all",
        })
    }
}

/// The limits a target is judged by; every boundary is tested at n and n+1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    /// Tags per image, counted over every path.
    pub tags_per_image: usize,
    /// Longest IMS key, in characters.
    pub ims_key_max: usize,
    /// Longest IMS value, in characters.
    pub ims_value_max: usize,
    /// Longest native tag, in characters.
    pub native_tag_max: usize,
    /// Longest key or value on read and delete paths, in characters.
    pub lookup_max: usize,
    /// Entries in one op 5 list.
    pub query_max_entries: usize,
    /// Values in one op 5 entry.
    pub query_max_values: usize,
    /// Largest op 5 `limit`.
    pub query_max_limit: u64,
    /// Op 5 page size when `limit` is absent.
    pub query_default_limit: u64,
}

impl Default for Limits {
    /// The contract's defaults (contract section 3).
    fn default() -> Self {
        Limits {
            tags_per_image: 10,
            ims_key_max: 36,
            ims_value_max: 43,
            native_tag_max: 255,
            lookup_max: 255,
            query_max_entries: 10,
            query_max_values: 10,
            query_max_limit: 1000,
            query_default_limit: 10,
        }
    }
}

/// The OpenAPI document checked in with this runner (`openapi/ims-tags.json`).
pub const CHECKED_IN_DOCUMENT: &str = include_str!("../../openapi/ims-tags.json");

impl Limits {
    /// The limits an OpenAPI document declares (`maxLength`, `maxItems` of the request schemas), the
    /// contract's defaults for those it does not.
    pub fn from_document(doc: &Value) -> Limits {
        let schemas = &doc["components"]["schemas"];
        let number = |value: &Value| value.as_u64().and_then(|n| usize::try_from(n).ok());
        let mut limits = Limits::default();
        let pick = |slot: &mut usize, value: &Value| {
            if let Some(n) = number(value) {
                *slot = n;
            }
        };
        pick(&mut limits.ims_key_max, &schemas["ImsTag"]["properties"]["key"]["maxLength"]);
        pick(&mut limits.ims_value_max, &schemas["ImsTag"]["properties"]["value"]["maxLength"]);
        pick(&mut limits.tags_per_image, &schemas["CreateImageRequest"]["properties"]["tags"]["maxItems"]);
        pick(&mut limits.lookup_max, &schemas["BatchTag"]["properties"]["key"]["maxLength"]);
        pick(
            &mut limits.query_max_entries,
            &schemas["ListImageByTagsRequest"]["properties"]["tags"]["maxItems"],
        );
        pick(&mut limits.query_max_values, &schemas["TagsFilter"]["properties"]["values"]["maxItems"]);
        // The native tag is a path parameter: its schema may carry the limit.
        let native = doc["paths"]["/v2/images/{image_id}/tags/{tag}"]["put"]["parameters"]
            .as_array()
            .and_then(|parameters| parameters.iter().find(|p| p["name"] == "tag"))
            .map(|p| p["schema"]["maxLength"].clone())
            .unwrap_or_default();
        pick(&mut limits.native_tag_max, &native);
        limits
    }

    /// The limits of the checked-in document.
    pub fn checked_in() -> Limits {
        let doc: Value = serde_json::from_str(CHECKED_IN_DOCUMENT).unwrap_or_default();
        Limits::from_document(&doc)
    }
}

/// Everything the cases need to know about the endpoint they judge.
#[derive(Clone, Debug)]
pub struct Target {
    /// `http(s)://host:port`, without a trailing slash.
    pub base_url: String,
    /// The main identity: its project owns the images the cases create.
    pub owner: Identity,
    /// A second project the main identity may act in (named with `X-Project-Id`), for project-scope cases.
    pub owner_second_project: Option<String>,
    /// An identity of another project, for the isolation cases.
    pub other: Option<Identity>,
    /// Identities of the owner's project that lack one IAM action each: `(action, identity)`.
    pub lacking: Vec<(String, Identity)>,
    /// What the target implements.
    pub profile: Profile,
    /// Whether images can be created with `POST /v2/images` (implied by the `glance` and `all` profiles).
    pub registry: bool,
    /// Existing untagged images of the owner's project that the cases may tag (for targets without the
    /// registry); the cases leave them untagged.
    pub images: Vec<String>,
    /// The limits.
    pub limits: Limits,
    /// Also judge ims-tags' own choices (docs/decisions.md), not only the contract.
    pub strict: bool,
    /// Judge error statuses only, not the error envelope's codes (the `errors.envelope.*` cases still
    /// judge the envelope itself).
    pub statuses_only: bool,
    /// Names this run's images (a name prefix and a property), so that a shared endpoint can tell them apart.
    pub run_id: String,
}

impl Target {
    /// A target with one identity, the `all` profile, the checked-in limits and a fresh run id.
    pub fn new(base_url: impl Into<String>, owner: Identity) -> Target {
        Target {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            owner,
            owner_second_project: None,
            other: None,
            lacking: Vec::new(),
            profile: Profile::All,
            registry: true,
            images: Vec::new(),
            limits: Limits::checked_in(),
            strict: false,
            statuses_only: false,
            run_id: new_run_id(),
        }
    }

    /// Whether the target serves `family`.
    pub fn serves(&self, family: Family) -> bool {
        self.profile.serves(family)
    }

    /// Whether images can be created.
    pub fn creates_images(&self) -> bool {
        self.registry || self.serves(Family::Registry)
    }

    /// The identity and project of a caller, if the target has one.
    pub fn identity(&self, who: Who) -> Option<(Identity, String)> {
        match who {
            Who::Owner => Some((self.owner.clone(), self.owner.project.clone())),
            Who::OwnerElsewhere => {
                self.owner_second_project.as_ref().map(|project| (self.owner.clone(), project.clone()))
            }
            Who::Other => self.other.as_ref().map(|other| (other.clone(), other.project.clone())),
            Who::Lacking(action) => self
                .lacking
                .iter()
                .find(|(lacks, _)| lacks == action)
                .map(|(_, identity)| (identity.clone(), identity.project.clone())),
        }
    }

    /// The name prefix of this run's images.
    pub fn name_prefix(&self) -> String {
        format!("conformance-{}-", self.run_id)
    }

    /// Every secret of every identity (blanked out of reports).
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = self.owner.credential.secrets();
        for identity in self.other.iter().chain(self.lacking.iter().map(|(_, i)| i)) {
            secrets.extend(identity.credential.secrets());
        }
        secrets.retain(|s| !s.is_empty());
        secrets
    }
}

/// The property every image of a run carries, with the run id as its value.
pub const RUN_PROPERTY: &str = "ims_tags_conformance_run";

/// Eight hex digits.
pub fn new_run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_in_document_gives_the_contract_limits() {
        let limits = Limits::checked_in();
        assert_eq!(limits.ims_key_max, 36);
        assert_eq!(limits.ims_value_max, 43);
        assert_eq!(limits.tags_per_image, 10);
        assert_eq!(limits.lookup_max, 255);
        assert_eq!(limits.query_max_entries, 10);
        assert_eq!(limits.query_max_values, 10);
    }

    #[test]
    fn a_document_that_declares_other_limits_is_followed() {
        let doc = serde_json::json!({"components": {"schemas": {
            "ImsTag": {"properties": {"key": {"maxLength": 20}, "value": {"maxLength": 30}}},
            "CreateImageRequest": {"properties": {"tags": {"maxItems": 50}}}
        }}});
        let limits = Limits::from_document(&doc);
        assert_eq!((limits.ims_key_max, limits.ims_value_max, limits.tags_per_image), (20, 30, 50));
        assert_eq!(limits.native_tag_max, 255, "not declared: the contract default");
    }

    #[test]
    fn profiles_serve_their_families() {
        assert!(Profile::Ims.serves(Family::ImsV2) && !Profile::Ims.serves(Family::Native));
        assert!(Profile::Glance.serves(Family::Registry) && !Profile::Glance.serves(Family::ImsV1));
        assert!(Family::ALL.iter().all(|f| Profile::All.serves(*f)));
    }
}
