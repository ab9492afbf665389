//! The one error type of the crate: which signing or verification check failed.

use std::time::Duration;

/// Why a request could not be signed or did not verify.
///
/// `Display` gives a short message that is safe to send to the client: it names the check
/// that failed and never contains a secret key, a security token or a computed signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The request has no `Authorization` header.
    #[error("missing Authorization header")]
    MissingAuthorization,
    /// A header that must appear at most once appears several times.
    #[error("more than one {0} header")]
    DuplicateHeader(&'static str),
    /// The `Authorization` header does not have the SDK's shape.
    #[error("malformed Authorization header")]
    MalformedAuthorization,
    /// The `Authorization` header names an algorithm this crate does not know.
    #[error("unknown signing algorithm")]
    UnknownAlgorithm,
    /// The `Authorization` header names a Huawei algorithm this crate does not implement.
    #[error("signing algorithm {0} is not supported")]
    UnsupportedAlgorithm(&'static str),
    /// A header that must be covered by the signature is not in `SignedHeaders`.
    #[error("the {0} header must be signed")]
    HeaderNotSigned(&'static str),
    /// A header listed in `SignedHeaders` is absent from the request.
    #[error("signed header {0} is missing from the request")]
    MissingSignedHeader(String),
    /// A header value that takes part in signing is not valid UTF-8 (or, when signing,
    /// cannot be put in an HTTP header).
    #[error("the {0} header has an invalid value")]
    InvalidHeaderValue(String),
    /// The request has no `X-Sdk-Date` header.
    #[error("missing X-Sdk-Date header")]
    MissingDate,
    /// `X-Sdk-Date` is not a valid `YYYYMMDDTHHMMSSZ` UTC time.
    #[error("X-Sdk-Date is not a valid YYYYMMDDTHHMMSSZ time")]
    MalformedDate,
    /// `X-Sdk-Date` is further from the server's clock than the allowed skew.
    #[error("X-Sdk-Date is more than {} from server time", describe_skew(*.max_skew))]
    DateOutOfRange {
        /// The largest difference allowed, either way.
        max_skew: Duration,
    },
    /// The V11 credential scope date differs from the date part of `X-Sdk-Date`.
    #[error("the credential scope date does not match X-Sdk-Date")]
    ScopeDateMismatch,
    /// The payload-hash header says `UNSIGNED-PAYLOAD`, which the verifier never accepts.
    #[error("UNSIGNED-PAYLOAD is not accepted")]
    UnsignedPayload,
    /// The payload-hash header does not hold the hash of the body that was received.
    #[error("the {0} header does not match the body")]
    PayloadHashMismatch(&'static str),
    /// The signature is well formed but wrong.
    #[error("signature does not match")]
    SignatureMismatch,
    /// `V11-HMAC-SHA256` signing was asked for without a region and service.
    #[error("V11-HMAC-SHA256 signing needs a region and a service")]
    MissingV11Scope,
}

/// "15 minutes" for whole minutes, "90 seconds" otherwise.
fn describe_skew(skew: Duration) -> String {
    let seconds = skew.as_secs();
    let plural = |n: u64, unit: &str| if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") };
    if seconds.is_multiple_of(60) { plural(seconds / 60, "minute") } else { plural(seconds, "second") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_message_uses_minutes_when_whole_and_singular_for_one() {
        assert_eq!(describe_skew(Duration::from_secs(60)), "1 minute");
        assert_eq!(describe_skew(Duration::from_secs(1)), "1 second");
        assert_eq!(describe_skew(Duration::from_secs(90)), "90 seconds");
        let whole = SignatureError::DateOutOfRange { max_skew: Duration::from_secs(15 * 60) };
        assert_eq!(whole.to_string(), "X-Sdk-Date is more than 15 minutes from server time");
        let odd = SignatureError::DateOutOfRange { max_skew: Duration::from_secs(90) };
        assert_eq!(odd.to_string(), "X-Sdk-Date is more than 90 seconds from server time");
    }
}
