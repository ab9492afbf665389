//! The string to sign, the signing key (plain SK or the V11 derived key) and the signature.

use sha2::Sha256;

use crate::algorithm::{hex_lower, hmac};
use crate::{Algorithm, CredentialScope};

/// The string to sign: the algorithm name, the `X-Sdk-Date` value, the credential scope
/// line (only when `scope` is given, which is the case exactly for `V11-HMAC-SHA256`) and
/// the lower-case hex hash of the canonical request, joined with `\n`.
pub fn string_to_sign(
    algorithm: Algorithm,
    sdk_date: &str,
    scope: Option<&CredentialScope>,
    canonical_request: &str,
) -> String {
    let request_hash = algorithm.hash_hex(canonical_request.as_bytes());
    match scope {
        Some(scope) => format!("{algorithm}\n{sdk_date}\n{scope}\n{request_hash}"),
        None => format!("{algorithm}\n{sdk_date}\n{request_hash}"),
    }
}

/// The V11 signing key: `PRK = HMAC-SHA256(key = AK, msg = SK)`, `OKM = HMAC-SHA256(PRK,
/// scope || 0x01)` (one HKDF-SHA256 block, salt AK, info `yyyymmdd/region/service`); the key
/// is the 64-character lower-case hex string of OKM, as ASCII bytes.
fn v11_signing_key(access_key: &str, secret_key: &str, scope: &CredentialScope) -> Vec<u8> {
    let prk = hmac::<Sha256>(access_key.as_bytes(), secret_key.as_bytes());
    let mut info = scope.to_string().into_bytes();
    info.push(0x01);
    hex_lower(&hmac::<Sha256>(&prk, &info)).into_bytes()
}

/// The lower-case hex signature of `string_to_sign`: the algorithm's HMAC keyed with the
/// secret key itself, or, when `scope` is given (`V11-HMAC-SHA256`), with the key derived
/// from the access key, secret key and scope.
pub fn signature(
    algorithm: Algorithm,
    access_key: &str,
    secret_key: &str,
    scope: Option<&CredentialScope>,
    string_to_sign: &str,
) -> String {
    let key = match scope {
        Some(scope) => v11_signing_key(access_key, secret_key, scope),
        None => secret_key.as_bytes().to_vec(),
    };
    hex_lower(&algorithm.hmac(&key, string_to_sign.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> CredentialScope {
        CredentialScope {
            date: "20261122".to_owned(),
            region: "cn-north-4".to_owned(),
            service: "ims".to_owned(),
        }
    }

    #[test]
    fn string_to_sign_has_a_scope_line_only_with_a_scope() {
        let hash = Algorithm::SdkHmacSha256.hash_hex(b"CR");
        assert_eq!(
            string_to_sign(Algorithm::SdkHmacSha256, "20240101T000000Z", None, "CR"),
            format!("SDK-HMAC-SHA256\n20240101T000000Z\n{hash}")
        );
        assert_eq!(
            string_to_sign(Algorithm::V11HmacSha256, "20261122T145905Z", Some(&scope()), "CR"),
            format!("V11-HMAC-SHA256\n20261122T145905Z\n20261122/cn-north-4/ims\n{hash}")
        );
    }

    #[test]
    fn v11_key_matches_the_sdk_hkdf() {
        // huaweicloudsdkcore 3.1.219: signer.hkdf.get_der_key_sha256(AK, SK, scope).
        let key = v11_signing_key("AKTESTAK0000000000", "SKtestsecret0000000000000000000000000000", &scope());
        assert_eq!(
            String::from_utf8(key).as_deref(),
            Ok("be55823ef266432b5d10b6cf7a2f48d003f13a1af5373a71335286cdf753cce0")
        );
    }
}
