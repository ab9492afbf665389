//! The client side: signing an outgoing request as the Huawei SDK does.

use std::fmt;
use std::time::SystemTime;

use http::header::{AUTHORIZATION, HOST, HeaderValue};
use http::{HeaderMap, HeaderName, Method};

use crate::canonical::{RequestParts, canonical_request, signed_header_value};
use crate::signature::{signature, string_to_sign};
use crate::{
    Algorithm, Authorization, CredentialScope, SignatureError, X_SDK_DATE, X_SECURITY_TOKEN, sdk_date,
};

/// The region and service a `V11-HMAC-SHA256` key is derived for. Keep both to ASCII
/// letters, digits, `-`, `_` and `.`, the characters [`CredentialScope::parse`] accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V11Scope {
    /// The region id, e.g. `cn-north-4`.
    pub region: String,
    /// The service name, e.g. `ims`.
    pub service: String,
}

/// An AK/SK pair and how to sign with it. `Debug` never shows the secret key or the token.
#[derive(Clone)]
pub struct Credentials {
    /// The access key (AK).
    pub access_key: String,
    /// The secret key (SK).
    pub secret_key: String,
    /// The security token of a temporary AK/SK, sent (and signed) as `X-Security-Token`.
    pub security_token: Option<String>,
    /// The signing algorithm.
    pub algorithm: Algorithm,
    /// The region and service, required for [`Algorithm::V11HmacSha256`] and ignored otherwise.
    pub v11_scope: Option<V11Scope>,
}

impl Credentials {
    /// Permanent credentials signing with `SDK-HMAC-SHA256`, the SDK's default.
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            security_token: None,
            algorithm: Algorithm::SdkHmacSha256,
            v11_scope: None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("security_token", &self.security_token.as_ref().map(|_| "<redacted>"))
            .field("algorithm", &self.algorithm)
            .field("v11_scope", &self.v11_scope)
            .finish()
    }
}

/// An outgoing request, apart from its headers (which [`sign_request`] updates).
#[derive(Debug, Clone, Copy)]
pub struct RequestToSign<'a> {
    /// The request method.
    pub method: &'a Method,
    /// `host[:port]` of the endpoint, used when the headers have no `Host` yet.
    pub host: &'a str,
    /// The path exactly as it will be sent, already percent-encoded.
    pub raw_path: &'a str,
    /// The query exactly as it will be sent (without `?`). A `+` in it is a plus sign,
    /// so escape spaces as `%20`.
    pub raw_query: Option<&'a str>,
    /// The exact body bytes.
    pub body: &'a [u8],
}

/// Headers that [`sign_request`] never signs: `authorization` itself, and the transport and
/// hop-by-hop headers that HTTP clients add or rewrite after signing (the Python SDK signs
/// none of them because `requests` adds them later). Any other header of the map whose name
/// has no `_` is signed, as in the SDK.
pub const UNSIGNED_HEADERS: [&str; 10] = [
    "authorization",
    "accept",
    "accept-encoding",
    "connection",
    "content-length",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether the SDK rule signs header `name`.
fn is_signed(name: &HeaderName) -> bool {
    !name.as_str().contains('_') && !UNSIGNED_HEADERS.contains(&name.as_str())
}

fn header_value(name: &str, value: &str) -> Result<HeaderValue, SignatureError> {
    HeaderValue::from_str(value).map_err(|_| SignatureError::InvalidHeaderValue(name.to_owned()))
}

/// Signs `request` in place the way `huaweicloudsdkcore` 3.1.219 does, and returns the
/// `Authorization` it inserted (replacing any present).
///
/// Before signing it sets `X-Security-Token` when the credentials have one, `X-Sdk-Date`
/// (`now` as `YYYYMMDDTHHMMSSZ` UTC) unless present, and `Host` unless present. Every header
/// of `headers` is then signed except [`UNSIGNED_HEADERS`] and names containing `_`.
/// Unlike the SDK it never adds `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` (the body is always
/// hashed); a payload-hash header already present is used as the SDK uses it.
pub fn sign_request(
    credentials: &Credentials,
    request: &RequestToSign<'_>,
    headers: &mut HeaderMap,
    now: SystemTime,
) -> Result<Authorization, SignatureError> {
    let algorithm = credentials.algorithm;
    let v11_scope = match (algorithm, &credentials.v11_scope) {
        (Algorithm::V11HmacSha256, Some(scope)) => Some(scope),
        (Algorithm::V11HmacSha256, None) => return Err(SignatureError::MissingV11Scope),
        _ => None,
    };
    if let Some(token) = &credentials.security_token {
        headers.insert(HeaderName::from_static(X_SECURITY_TOKEN), header_value(X_SECURITY_TOKEN, token)?);
    }
    let date = match signed_header_value(headers, X_SDK_DATE)? {
        Some(date) => {
            sdk_date::parse(&date)?;
            date
        }
        None => {
            let date = sdk_date::format(now);
            headers.insert(HeaderName::from_static(X_SDK_DATE), header_value(X_SDK_DATE, &date)?);
            date
        }
    };
    if !headers.contains_key(HOST) {
        headers.insert(HOST, header_value("host", request.host)?);
    }
    let scope = v11_scope.map(|scope| CredentialScope {
        date: date[..8].to_owned(),
        region: scope.region.clone(),
        service: scope.service.clone(),
    });

    let mut signed_headers = headers
        .keys()
        .filter(|name| is_signed(name))
        .map(|name| name.as_str().to_owned())
        .collect::<Vec<_>>();
    signed_headers.sort();
    let parts = RequestParts {
        method: request.method,
        raw_path: request.raw_path,
        raw_query: request.raw_query,
        headers,
        body: request.body,
    };
    let canonical = canonical_request(algorithm, &parts, &signed_headers)?;
    let to_sign = string_to_sign(algorithm, &date, scope.as_ref(), &canonical);
    let authorization = Authorization {
        algorithm,
        signature: signature(
            algorithm,
            &credentials.access_key,
            &credentials.secret_key,
            scope.as_ref(),
            &to_sign,
        ),
        access_key: credentials.access_key.clone(),
        scope,
        signed_headers,
    };
    headers.insert(AUTHORIZATION, header_value("authorization", &authorization.to_string())?);
    Ok(authorization)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_secret_and_token() {
        let mut credentials = Credentials::new("AKID", "very-secret-sk");
        credentials.security_token = Some("very-secret-token".to_owned());
        let shown = format!("{credentials:?}");
        assert!(shown.contains("AKID"), "{shown}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn v11_needs_a_scope() {
        let mut credentials = Credentials::new("AK", "SK");
        credentials.algorithm = Algorithm::V11HmacSha256;
        let request =
            RequestToSign { method: &Method::GET, host: "h", raw_path: "/", raw_query: None, body: b"" };
        assert_eq!(
            sign_request(&credentials, &request, &mut HeaderMap::new(), SystemTime::UNIX_EPOCH),
            Err(SignatureError::MissingV11Scope)
        );
    }
}
