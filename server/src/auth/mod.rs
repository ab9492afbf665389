//! Authentication: `X-Auth-Token` tokens and AK/SK signatures, checked by one middleware in front of every
//! protected route. It buffers the body (within the limit) for the signature and puts it back for the
//! handlers, and leaves the authenticated `Principal` in the request extensions for the `Caller` extractor.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ims_tags_signing::{RequestParts, SignatureError, Verifier, request_authorization};
use subtle::ConstantTimeEq;

use crate::config::{AuthConfig, Secret};
use crate::error::ApiError;

pub mod identity;

use identity::Principal;

/// An AK/SK credential as the authenticator keeps it.
struct Credential {
    secret_key: Secret,
    security_token: Option<Secret>,
    principal: Arc<Principal>,
}

/// Checks the credentials of every protected request.
pub struct Authenticator {
    tokens: HashMap<String, Arc<Principal>>,
    credentials: HashMap<String, Credential>,
    verifier: Verifier,
    body_limit: usize,
}

fn equal_secrets(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Authenticator {
    /// Builds the authenticator from the configured tokens and credentials.
    pub fn new(config: &AuthConfig, body_limit: usize) -> Authenticator {
        let tokens = config
            .tokens
            .iter()
            .map(|t| {
                let principal = Principal { name: format!("token:{}", t.name), grant: t.grant.clone() };
                (t.token.expose().to_owned(), Arc::new(principal))
            })
            .collect();
        let credentials = config
            .credentials
            .iter()
            .map(|c| {
                let principal = Principal { name: format!("ak:{}", c.access_key), grant: c.grant.clone() };
                let credential = Credential {
                    secret_key: c.secret_key.clone(),
                    security_token: c.security_token.clone(),
                    principal: Arc::new(principal),
                };
                (c.access_key.clone(), credential)
            })
            .collect();
        let mut verifier = Verifier::default();
        if let Some(secs) = config.max_clock_skew_secs {
            verifier.max_skew = Duration::from_secs(secs);
        }
        Authenticator { tokens, credentials, verifier, body_limit }
    }

    /// Authenticates a request: AK/SK when it carries `Authorization`, else `X-Auth-Token`.
    pub async fn authenticate(&self, request: Request) -> Result<Request, ApiError> {
        if request.headers().contains_key("authorization") {
            return self.authenticate_signature(request).await;
        }
        let token = request
            .headers()
            .get("x-auth-token")
            .ok_or_else(|| {
                ApiError::Unauthenticated("no credentials: send X-Auth-Token or an AK/SK signature".into())
            })?
            .to_str()
            .map_err(|_| ApiError::Unauthenticated("the X-Auth-Token header is not valid text".into()))?;
        let principal = self
            .tokens
            .iter()
            .find(|(known, _)| equal_secrets(known, token))
            .map(|(_, principal)| principal.clone())
            .ok_or_else(|| ApiError::Unauthenticated("the token is not valid".into()))?;
        let mut request = request;
        tracing::debug!(caller = %principal.name, "authenticated");
        request.extensions_mut().insert(principal);
        Ok(request)
    }

    async fn authenticate_signature(&self, request: Request) -> Result<Request, ApiError> {
        let rejected = |e: SignatureError| ApiError::Unauthenticated(e.to_string());
        let authorization = request_authorization(request.headers()).map_err(rejected)?;
        let credential = self
            .credentials
            .get(&authorization.access_key)
            .ok_or_else(|| ApiError::Unauthenticated("the access key is not known".into()))?;
        let (parts, body) = request.into_parts();
        let bytes =
            axum::body::to_bytes(body, self.body_limit).await.map_err(|_| ApiError::PayloadTooLarge)?;
        let request_parts = RequestParts {
            method: &parts.method,
            raw_path: parts.uri.path(),
            raw_query: parts.uri.query(),
            headers: &parts.headers,
            body: &bytes,
        };
        let verified = self
            .verifier
            .verify(&request_parts, credential.secret_key.expose(), SystemTime::now())
            .map_err(rejected)?;
        match (&credential.security_token, &verified.security_token) {
            (None, None) => {}
            (Some(expected), Some(sent)) if equal_secrets(expected.expose(), sent) => {}
            (Some(_), _) => {
                return Err(ApiError::Unauthenticated(
                    "the security token is missing or does not belong to this temporary access key".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(ApiError::Unauthenticated(
                    "a security token was sent with a permanent access key".into(),
                ));
            }
        }
        let mut request = Request::from_parts(parts, Body::from(bytes));
        tracing::debug!(caller = %credential.principal.name, "authenticated");
        request.extensions_mut().insert(credential.principal.clone());
        Ok(request)
    }
}

/// The middleware: authenticate, or answer 401 (or 413 for a body over the limit) in the error envelope.
pub async fn require_identity(
    State(auth): State<Arc<Authenticator>>,
    request: Request,
    next: Next,
) -> Response {
    match auth.authenticate(request).await {
        Ok(request) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}
