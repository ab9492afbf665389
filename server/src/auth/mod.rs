//! Authentication: `X-Auth-Token` tokens and AK/SK signatures, checked by one middleware in front of every
//! protected route, and leaving the authenticated `Principal` in the request extensions for the `Caller`
//! extractor.
//!
//! An `Authorization` header whose scheme is a Huawei signing algorithm is an AK/SK signature, checked as
//! far as the headers allow before any body byte is read (algorithm, known access key, signed headers,
//! date, security token); with a signed content hash (`X-Sdk-Content-Sha256` / `X-Sdk-Content-Sm3`) the
//! whole signature is checked before the body, and the body against that hash as it arrives. Without one
//! the signature covers the hash of the body, so the body is read (within the limits of `body`) first.
//! An `Authorization` of any other scheme (`Bearer`, `Basic`) is not a credential of this API and is
//! ignored in favour of `X-Auth-Token`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;
use http_body_util::BodyExt;
use ims_tags_signing::{
    Algorithm, RequestHead, SignatureError, Verifier, is_sdk_signature, payload_hash, request_authorization,
};
use subtle::ConstantTimeEq;

use crate::body::body_read_error;
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
}

fn equal_secrets(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A body read to its end, with the algorithm's hash of it.
async fn read_hashed(mut body: Body, algorithm: Algorithm) -> Result<(Bytes, String), ApiError> {
    let mut hasher = algorithm.payload_hasher();
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| body_read_error(&e))?;
        if let Some(data) = frame.data_ref() {
            hasher.update(data);
            bytes.extend_from_slice(data);
        }
    }
    Ok((Bytes::from(bytes), hasher.finish_hex()))
}

impl Authenticator {
    /// Builds the authenticator from the configured tokens and credentials.
    pub fn new(config: &AuthConfig) -> Authenticator {
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
        Authenticator { tokens, credentials, verifier }
    }

    /// Authenticates a request: an SDK signature when `Authorization` carries one (the token is then not
    /// consulted), else `X-Auth-Token`; an `Authorization` of another scheme is ignored.
    pub async fn authenticate(&self, request: Request) -> Result<Request, ApiError> {
        let headers = request.headers();
        let signed = headers.get_all(AUTHORIZATION).iter().any(|v| v.to_str().is_ok_and(is_sdk_signature));
        if signed {
            return self.authenticate_signature(request).await;
        }
        let Some(token) = headers.get("x-auth-token") else {
            let why = if headers.contains_key(AUTHORIZATION) {
                "the Authorization header is not an SDK signature (unknown signing algorithm); send \
                 X-Auth-Token or an AK/SK signature"
            } else {
                "no credentials: send X-Auth-Token or an AK/SK signature"
            };
            return Err(ApiError::Unauthenticated(why.into()));
        };
        let token = token
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
        let head = self
            .verifier
            .check_parsed_head(authorization, request.headers(), SystemTime::now())
            .map_err(rejected)?;
        match (&credential.security_token, head.security_token()) {
            (Some(_), Some(_)) | (None, None) => {}
            (Some(_), None) => {
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
        let algorithm = head.authorization.algorithm;
        let (parts, body) = request.into_parts();
        let request_head = RequestHead {
            method: &parts.method,
            raw_path: parts.uri.path(),
            raw_query: parts.uri.query(),
            headers: &parts.headers,
        };
        let (verified, bytes) = match head.declared_payload_hash(body.is_end_stream()) {
            // The signature covers the declared hash: refuse a bad one before reading a byte of the body,
            // then hold the body to that hash.
            Some(declared) if body.is_end_stream() => {
                // No body: the declared hash is the empty body's, nothing to read or hash.
                let verified = head
                    .verify_signature(&request_head, credential.secret_key.expose(), &declared)
                    .map_err(rejected)?;
                (verified, Bytes::new())
            }
            Some(declared) => {
                let verified = head
                    .verify_signature(&request_head, credential.secret_key.expose(), &declared)
                    .map_err(rejected)?;
                let (bytes, actual) = read_hashed(body, algorithm).await?;
                if !equal_secrets(&actual, &declared) {
                    return Err(rejected(SignatureError::PayloadHashMismatch(
                        algorithm.content_hash_header(),
                    )));
                }
                (verified, bytes)
            }
            None => {
                let (bytes, _) = read_hashed(body, algorithm).await?;
                let hash = payload_hash(algorithm, &parts.headers, &bytes).map_err(rejected)?;
                let verified = head
                    .verify_signature(&request_head, credential.secret_key.expose(), &hash)
                    .map_err(rejected)?;
                (verified, bytes)
            }
        };
        if let (Some(expected), Some(sent)) = (&credential.security_token, &verified.security_token)
            && !equal_secrets(expected.expose(), sent)
        {
            return Err(ApiError::Unauthenticated(
                "the security token is missing or does not belong to this temporary access key".into(),
            ));
        }
        let mut request = Request::from_parts(parts, Body::from(bytes));
        tracing::debug!(caller = %credential.principal.name, "authenticated");
        request.extensions_mut().insert(credential.principal.clone());
        Ok(request)
    }
}

/// The middleware: authenticate, or answer 401 (or the body's 408, 413 or 503) in the error envelope.
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
