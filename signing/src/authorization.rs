//! The `Authorization` header value: parsing it strictly and writing it as the SDK does.

use std::fmt;

use crate::algorithm::UNSUPPORTED;
use crate::{Algorithm, SignatureError};

/// The V11 credential scope `<yyyymmdd>/<region>/<service>`, e.g. `20261122/cn-north-4/ims`.
/// Its text is both the HKDF info of the derived key and a line of the string to sign.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CredentialScope {
    /// The UTC date `yyyymmdd`; it must equal the date part of `X-Sdk-Date`.
    pub date: String,
    /// The region id, e.g. `cn-north-4`.
    pub region: String,
    /// The service name, e.g. `ims`.
    pub service: String,
}

impl CredentialScope {
    /// Parses `yyyymmdd/region/service`: an 8-digit date and a non-empty region and service
    /// made of ASCII letters, digits, `-`, `_` and `.`.
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        let mut parts = text.split('/');
        let (Some(date), Some(region), Some(service), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SignatureError::MalformedAuthorization);
        };
        let is_name = |part: &str| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SignatureError::MalformedAuthorization);
        }
        if !is_name(region) || !is_name(service) {
            return Err(SignatureError::MalformedAuthorization);
        }
        Ok(Self { date: date.to_owned(), region: region.to_owned(), service: service.to_owned() })
    }
}

impl fmt::Display for CredentialScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.date, self.region, self.service)
    }
}

/// A parsed `Authorization` header:
/// `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b;c, Signature=hex` (also `SDK-HMAC-SM3`), or
/// `V11-HMAC-SHA256 Credential=AK/yyyymmdd/region/service, SignedHeaders=a;b;c, Signature=hex`.
///
/// [`Authorization::parse`] guarantees that `scope` is `Some` exactly for `V11-HMAC-SHA256`;
/// the signing functions rely on that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The signing algorithm.
    pub algorithm: Algorithm,
    /// The access key (AK) that identifies the secret key.
    pub access_key: String,
    /// The credential scope, for `V11-HMAC-SHA256` only.
    pub scope: Option<CredentialScope>,
    /// The signed header names: lower-case, strictly ascending (sorted, no repeats).
    pub signed_headers: Vec<String>,
    /// The signature: 64 lower-case hex digits.
    pub signature: String,
}

/// Whether an `Authorization` value is meant as a Huawei SDK signature: its scheme (the text before
/// the first blank) is the name of a Huawei signing algorithm, supported or not. Anything else
/// (`Bearer ...`, `Basic ...`) is some other scheme, which a server may ignore.
pub fn is_sdk_signature(value: &str) -> bool {
    let scheme = value.trim_start_matches([' ', '\t']).split([' ', '\t']).next().unwrap_or_default();
    Algorithm::ALL.iter().any(|algorithm| algorithm.as_str() == scheme) || UNSUPPORTED.contains(&scheme)
}

/// Splits `Name=value` and checks the name.
fn parameter<'a>(part: Option<&'a str>, name: &str) -> Result<&'a str, SignatureError> {
    part.and_then(|part| part.strip_prefix(name))
        .and_then(|rest| rest.strip_prefix('='))
        .ok_or(SignatureError::MalformedAuthorization)
}

/// An access key: non-empty visible ASCII without `,` or `/`.
fn is_access_key(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic() && b != b',' && b != b'/')
}

/// `a;b;c` into names that are valid, lower-case and strictly ascending.
/// Whether `name` is a header name as `http` keeps it: 1 to 65,535 token characters (RFC 9110), none of
/// them upper case. The same test as `HeaderName::from_bytes(name)` giving back `name` itself, without
/// making a `HeaderName` (which copies a name it does not know).
fn is_lowercase_header_name(name: &str) -> bool {
    !name.is_empty() && name.len() < 1 << 16 && name.bytes().all(|b| {
        matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-'
                | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
    })
}

fn parse_signed_headers(text: &str) -> Result<Vec<String>, SignatureError> {
    let names = text
        .split(';')
        .map(|name| match is_lowercase_header_name(name) {
            true => Ok(name.to_owned()),
            false => Err(SignatureError::MalformedAuthorization),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if names.windows(2).all(|pair| pair[0] < pair[1]) {
        Ok(names)
    } else {
        Err(SignatureError::MalformedAuthorization)
    }
}

/// A signature: exactly 64 lower-case hex digits (SHA-256 and SM3 are both 32 bytes).
fn is_signature(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Authorization {
    /// Parses an `Authorization` header value.
    ///
    /// Strict about content (exact parameter names and order, a known algorithm, lower-case
    /// sorted header names, a 64-hex-digit signature) and tolerant about blanks only: spaces
    /// or tabs around the algorithm and around each `,` are accepted, so the SDK's exact
    /// form (one space after the algorithm and after each comma) parses.
    pub fn parse(value: &str) -> Result<Self, SignatureError> {
        let value = value.trim_matches([' ', '\t']);
        if value.is_empty() {
            return Err(SignatureError::MalformedAuthorization);
        }
        let (name, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
        let algorithm: Algorithm = name.parse()?;
        let mut parts = rest.split(',').map(|part| part.trim_matches([' ', '\t']));
        let (access_key, scope) = if algorithm == Algorithm::V11HmacSha256 {
            let credential = parameter(parts.next(), "Credential")?;
            let (access_key, scope) =
                credential.split_once('/').ok_or(SignatureError::MalformedAuthorization)?;
            (access_key, Some(CredentialScope::parse(scope)?))
        } else {
            (parameter(parts.next(), "Access")?, None)
        };
        let signed_headers = parse_signed_headers(parameter(parts.next(), "SignedHeaders")?)?;
        let signature = parameter(parts.next(), "Signature")?;
        if parts.next().is_some() || !is_access_key(access_key) || !is_signature(signature) {
            return Err(SignatureError::MalformedAuthorization);
        }
        Ok(Self {
            algorithm,
            access_key: access_key.to_owned(),
            scope,
            signed_headers,
            signature: signature.to_owned(),
        })
    }

    /// The header value in the SDK's exact form (same as `Display`).
    pub fn to_header_value(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.algorithm)?;
        match &self.scope {
            Some(scope) => write!(f, "Credential={}/{scope}", self.access_key)?,
            None => write!(f, "Access={}", self.access_key)?,
        }
        write!(f, ", SignedHeaders={}, Signature={}", self.signed_headers.join(";"), self.signature)
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderName;

    use super::*;

    #[test]
    fn header_names_are_checked_as_http_checks_them() {
        let agrees = |name: &str| {
            let by_http = HeaderName::from_bytes(name.as_bytes()).is_ok_and(|parsed| parsed.as_str() == name);
            assert_eq!(is_lowercase_header_name(name), by_http, "{name:?}");
        };
        for byte in 0..=127u8 {
            agrees(&char::from(byte).to_string());
            agrees(&format!("x-{}", char::from(byte)));
        }
        for name in ["", "host", "x-sdk-date", "X-Sdk-Date", "content-type", "a b", "é", "x;y"] {
            agrees(name);
        }
        agrees(&"a".repeat(1 << 16));
        agrees(&"a".repeat((1 << 16) - 1));
    }

    const SIG: &str = "100c8e97e17a875601fca74d6c53eae57892f1082937143d13b0d3db93e8d86f";

    fn sdk(alg: &str) -> String {
        format!(
            "{alg} Access=AKTESTAK0000000000, SignedHeaders=content-type;host;x-sdk-date, Signature={SIG}"
        )
    }

    #[test]
    fn parses_and_writes_the_sdk_form() {
        for alg in ["SDK-HMAC-SHA256", "SDK-HMAC-SM3"] {
            let text = sdk(alg);
            let parsed = Authorization::parse(&text).expect("SDK form");
            assert_eq!(parsed.algorithm.as_str(), alg);
            assert_eq!(parsed.access_key, "AKTESTAK0000000000");
            assert_eq!(parsed.scope, None);
            assert_eq!(parsed.signed_headers, ["content-type", "host", "x-sdk-date"]);
            assert_eq!(parsed.signature, SIG);
            assert_eq!(parsed.to_header_value(), text);
        }
    }

    #[test]
    fn parses_and_writes_the_v11_form() {
        let text = format!(
            "V11-HMAC-SHA256 Credential=AKTESTAK0000000000/20261122/cn-north-4/ims, SignedHeaders=host;x-sdk-date, Signature={SIG}"
        );
        let parsed = Authorization::parse(&text).expect("V11 form");
        assert_eq!(parsed.algorithm, Algorithm::V11HmacSha256);
        assert_eq!(parsed.access_key, "AKTESTAK0000000000");
        assert_eq!(
            parsed.scope,
            Some(CredentialScope {
                date: "20261122".to_owned(),
                region: "cn-north-4".to_owned(),
                service: "ims".to_owned(),
            })
        );
        assert_eq!(parsed.to_string(), text);
    }

    #[test]
    fn tolerates_extra_blanks_only() {
        let loose = format!("  SDK-HMAC-SHA256  Access=AK,SignedHeaders=host;x-sdk-date ,\tSignature={SIG} ");
        let parsed = Authorization::parse(&loose).expect("extra blanks");
        assert_eq!(
            parsed.to_string(),
            format!("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature={SIG}")
        );
    }

    #[test]
    fn rejects_malformed_values() {
        let malformed = [
            String::new(),
            "SDK-HMAC-SHA256".to_owned(),
            format!("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature={SIG}, Extra=1"),
            format!("SDK-HMAC-SHA256 SignedHeaders=host, Access=AK, Signature={SIG}"),
            format!("SDK-HMAC-SHA256 access=AK, SignedHeaders=host, Signature={SIG}"),
            format!("SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature={SIG}"),
            format!("SDK-HMAC-SHA256 Access=A K, SignedHeaders=host, Signature={SIG}"),
            format!("SDK-HMAC-SHA256 Access=AK, SignedHeaders=, Signature={SIG}"),
            format!("SDK-HMAC-SHA256 Access=AK, SignedHeaders=Host, Signature={SIG}"),
            format!("SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date;host, Signature={SIG}"),
            format!("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;host, Signature={SIG}"),
            format!("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;;x, Signature={SIG}"),
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=abc".to_owned(),
            format!("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature={}", SIG.to_uppercase()),
            format!("V11-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature={SIG}"),
            format!("V11-HMAC-SHA256 Credential=AK, SignedHeaders=host, Signature={SIG}"),
            format!(
                "V11-HMAC-SHA256 Credential=AK/2026112/cn-north-4/ims, SignedHeaders=host, Signature={SIG}"
            ),
            format!("V11-HMAC-SHA256 Credential=AK/20261122/cn-north-4, SignedHeaders=host, Signature={SIG}"),
            format!(
                "V11-HMAC-SHA256 Credential=AK/20261122/cn-north-4/ims/x, SignedHeaders=host, Signature={SIG}"
            ),
            format!("SDK-HMAC-SM3 Credential=AK/20261122/r/s, SignedHeaders=host, Signature={SIG}"),
        ];
        for text in malformed {
            assert_eq!(Authorization::parse(&text), Err(SignatureError::MalformedAuthorization), "{text:?}");
        }
    }

    #[test]
    fn sdk_signatures_are_told_from_other_schemes() {
        for value in
            [sdk("SDK-HMAC-SHA256"), sdk("SDK-HMAC-SM3"), sdk("SDK-SM2-SM3"), "V11-HMAC-SHA256 x".into()]
        {
            assert!(is_sdk_signature(&value), "{value}");
        }
        for value in
            ["Bearer abc", "Basic dXNlcjpwYXNz", "sdk-hmac-sha256 Access=AK", "", "AWS4-HMAC-SHA256 x"]
        {
            assert!(!is_sdk_signature(value), "{value}");
        }
    }

    #[test]
    fn rejects_unknown_and_unsupported_algorithms() {
        assert_eq!(Authorization::parse(&sdk("AWS4-HMAC-SHA256")), Err(SignatureError::UnknownAlgorithm));
        assert_eq!(Authorization::parse("Bearer abc"), Err(SignatureError::UnknownAlgorithm));
        assert_eq!(
            Authorization::parse(&sdk("SDK-ECDSA-P256-SHA256")),
            Err(SignatureError::UnsupportedAlgorithm("SDK-ECDSA-P256-SHA256"))
        );
    }
}
