//! How the client authenticates: an `X-Auth-Token`, or an AK/SK signature computed the way the Huawei SDKs do
//! it, in a hook that runs on every request just before it is sent.

use std::time::SystemTime;

use ims_tags_signing::{Credentials, RequestToSign, SignatureError, sign_request};
use reqwest::header::{HeaderName, HeaderValue};

/// The credentials the client sends.
#[derive(Clone, Debug)]
pub enum Auth {
    /// No credentials (discovery only).
    None,
    /// An `X-Auth-Token` token.
    Token {
        /// The token.
        token: String,
        /// Sent as `X-Project-Id` when set.
        project_id: Option<String>,
    },
    /// An AK/SK signature.
    AkSk {
        /// The access key, secret key, optional security token and algorithm.
        credentials: Credentials,
        /// Sent (and signed) as `X-Project-Id` when set, as the SDK's `BasicCredentials` does.
        project_id: Option<String>,
    },
}

/// Why a request could not be authenticated before sending.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A credential cannot go into a header.
    #[error("a credential is not a valid header value")]
    InvalidHeader,
    /// The request URL has no host.
    #[error("the request URL has no host")]
    NoHost,
    /// The request could not be signed.
    #[error("cannot sign the request: {0}")]
    Signature(#[from] SignatureError),
}

fn header(value: &str) -> Result<HeaderValue, AuthError> {
    HeaderValue::from_str(value).map_err(|_| AuthError::InvalidHeader)
}

/// The pre-request hook: adds the token, or `X-Project-Id` and the AK/SK signature headers.
pub async fn authenticate(auth: &Auth, request: &mut reqwest::Request) -> Result<(), AuthError> {
    match auth {
        Auth::None => Ok(()),
        Auth::Token { token, project_id } => {
            let headers = request.headers_mut();
            headers.insert(HeaderName::from_static("x-auth-token"), header(token)?);
            if let Some(project) = project_id {
                headers.insert(HeaderName::from_static("x-project-id"), header(project)?);
            }
            Ok(())
        }
        Auth::AkSk { credentials, project_id } => {
            if let Some(project) = project_id {
                request.headers_mut().insert(HeaderName::from_static("x-project-id"), header(project)?);
            }
            let url = request.url().clone();
            let host = match (url.host_str(), url.port()) {
                (Some(host), Some(port)) => format!("{host}:{port}"),
                (Some(host), None) => host.to_owned(),
                (None, _) => return Err(AuthError::NoHost),
            };
            let body = request.body().and_then(reqwest::Body::as_bytes).unwrap_or_default().to_vec();
            let method = request.method().clone();
            let to_sign = RequestToSign {
                method: &method,
                host: &host,
                raw_path: url.path(),
                raw_query: url.query(),
                body: &body,
            };
            sign_request(credentials, &to_sign, request.headers_mut(), SystemTime::now())?;
            Ok(())
        }
    }
}

impl crate::Client {
    /// A client that sends `token` as `X-Auth-Token`.
    pub fn with_token(base_url: &str, token: impl Into<String>) -> crate::Client {
        crate::Client::new(base_url, Auth::Token { token: token.into(), project_id: None })
    }

    /// A client that signs every request with AK/SK, sending `project_id` as `X-Project-Id` when given.
    pub fn with_aksk(base_url: &str, credentials: Credentials, project_id: Option<String>) -> crate::Client {
        crate::Client::new(base_url, Auth::AkSk { credentials, project_id })
    }
}
