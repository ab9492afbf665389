//! The canonical request: URI, query string, headers and payload hash, byte for byte as
//! `huaweicloudsdkcore` 3.1.219 builds them.

use http::{HeaderMap, Method};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode};

use crate::{Algorithm, SignatureError};

/// Everything outside the RFC 3986 unreserved set (`A-Z a-z 0-9 - _ . ~`) is escaped,
/// as Python's `quote(s, safe='~')` does. `percent-encoding` writes upper-case hex.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// An HTTP request as it is on the wire, the input of canonicalisation and verification.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The path exactly as in the request target, still percent-encoded (for example
    /// `/v2/images/x/tags/a%20b%2Fc`); never a path a router has already decoded.
    pub raw_path: &'a str,
    /// The query exactly as in the request target, without the `?`.
    pub raw_query: Option<&'a str>,
    /// All request headers. A server must make sure `host` is among them (HTTP/2 carries
    /// the host in `:authority`, which `http` does not put in the map).
    pub headers: &'a HeaderMap,
    /// The exact body bytes.
    pub body: &'a [u8],
}

/// A request without its body: enough to check a signature before the body is read, when the
/// payload hash is known from a signed content-hash header.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The raw (still percent-encoded) path, as in [`RequestParts::raw_path`].
    pub raw_path: &'a str,
    /// The raw query, without the `?`.
    pub raw_query: Option<&'a str>,
    /// All request headers (with `host`, as in [`RequestParts::headers`]).
    pub headers: &'a HeaderMap,
}

impl<'a> RequestParts<'a> {
    /// The request without its body.
    pub fn head(&self) -> RequestHead<'a> {
        RequestHead {
            method: self.method,
            raw_path: self.raw_path,
            raw_query: self.raw_query,
            headers: self.headers,
        }
    }
}

/// Whether `byte` is in the RFC 3986 unreserved set, which [`ESCAPED`] leaves as it is.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~')
}

/// Escapes `bytes` with the unreserved set kept and upper-case hex.
fn escape(bytes: &[u8]) -> String {
    percent_encode(bytes, ESCAPED).to_string()
}

/// Percent-decodes `text` into raw bytes (not necessarily UTF-8). A `%` not followed by two
/// hex digits stays literal, and `+` stays `+`, as in Python's `unquote`.
fn unescape(text: &str) -> Vec<u8> {
    percent_decode_str(text).collect()
}

/// The canonical URI of a raw (still percent-encoded) request path.
///
/// The whole path is percent-decoded to bytes, split on `/`, and each segment re-escaped with
/// the unreserved set kept and upper-case hex; the segments are joined with `/` and a `/` is
/// appended unless the result already ends with one. So an escaped `%2F` inside a segment
/// becomes a real separator, exactly as the SDK computes it. Decoded bytes need not be valid
/// UTF-8: they are escaped byte by byte (the SDK itself only ever sends UTF-8).
pub fn canonical_uri(raw_path: &str) -> String {
    // A path of unreserved characters and separators only (every path the service names, but tags with
    // other characters) decodes and re-escapes to itself.
    if raw_path.bytes().all(|byte| byte == b'/' || is_unreserved(byte)) {
        let mut uri = String::with_capacity(raw_path.len() + 1);
        uri.push_str(raw_path);
        if !uri.ends_with('/') {
            uri.push('/');
        }
        return uri;
    }
    let decoded = unescape(raw_path);
    let mut uri = String::with_capacity(decoded.len() + 8);
    for (index, segment) in decoded.split(|&byte| byte == b'/').enumerate() {
        if index > 0 {
            uri.push('/');
        }
        uri.extend(percent_encode(segment, ESCAPED));
    }
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The canonical query string of a raw query (without the `?`).
///
/// Pairs are split on `&` (empty pieces are skipped) and at the first `=` (a key with no `=`
/// has an empty value), percent-decoded to bytes, sorted by (key, value) on those bytes, and
/// re-escaped as `key=value` with the unreserved set kept, joined with `&`.
///
/// A `+` is a literal plus sign, not a space: the SDK escapes both (`%2B`, `%20`) and never
/// sends a bare `+`, so reading `+` as a space would only make other clients' signatures fail.
pub fn canonical_query(raw_query: Option<&str>) -> String {
    let mut pairs = raw_query
        .unwrap_or_default()
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
            (unescape(key), unescape(value))
        })
        .collect::<Vec<_>>();
    pairs.sort();
    pairs
        .iter()
        .map(|(key, value)| format!("{}={}", escape(key), escape(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether Python's `str.strip()` removes `c`: Unicode white space plus the separators
/// U+001C to U+001F.
fn is_python_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The value the SDK signs for header `name`: every value of it, stripped of leading and
/// trailing white space, joined with `,` (the SDK itself never sends a header twice).
/// `Ok(None)` when the header is absent.
pub(crate) fn signed_header_value<'a>(
    headers: &'a HeaderMap,
    name: &str,
) -> Result<Option<String>, SignatureError> {
    let mut all = headers.get_all(name).iter();
    let text = |value: &'a http::HeaderValue| -> Result<&'a str, SignatureError> {
        std::str::from_utf8(value.as_bytes())
            .map(|text| text.trim_matches(is_python_whitespace))
            .map_err(|_| SignatureError::InvalidHeaderValue(name.to_owned()))
    };
    // One value (always, from the SDK): no list to join.
    match (all.next(), all.next()) {
        (None, _) => return Ok(None),
        (Some(only), None) => return text(only).map(|only| Some(only.to_owned())),
        _ => {}
    }
    let values = headers
        .get_all(name)
        .iter()
        .map(|value| {
            std::str::from_utf8(value.as_bytes())
                .map(|text| text.trim_matches(is_python_whitespace))
                .map_err(|_| SignatureError::InvalidHeaderValue(name.to_owned()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((!values.is_empty()).then(|| values.join(",")))
}

/// The canonical headers block: `name:value\n` for each name of `signed_headers`, in the
/// order given (the SDK sorts them), where `value` is as in the request with leading and
/// trailing white space removed. Several values of one header are joined with `,`.
///
/// A signed header absent from `headers` is [`SignatureError::MissingSignedHeader`]; a
/// value that is not UTF-8 is [`SignatureError::InvalidHeaderValue`] (the SDK sends header
/// values as UTF-8 bytes).
pub fn canonical_headers(headers: &HeaderMap, signed_headers: &[String]) -> Result<String, SignatureError> {
    let mut block = String::with_capacity(256);
    for name in signed_headers {
        block.push_str(name);
        block.push(':');
        if !push_signed_header_value(headers, name, &mut block)? {
            return Err(SignatureError::MissingSignedHeader(name.clone()));
        }
        block.push('\n');
    }
    Ok(block)
}

/// Appends [`signed_header_value`] of `name` to `text` without making a string of it; whether the
/// header is there.
fn push_signed_header_value(
    headers: &HeaderMap,
    name: &str,
    text: &mut String,
) -> Result<bool, SignatureError> {
    let mut found = false;
    for value in headers.get_all(name) {
        let value = std::str::from_utf8(value.as_bytes())
            .map_err(|_| SignatureError::InvalidHeaderValue(name.to_owned()))?;
        if found {
            text.push(',');
        }
        text.push_str(value.trim_matches(is_python_whitespace));
        found = true;
    }
    Ok(found)
}

/// The payload hash of the canonical request, as the SDK computes it: the hash of the empty
/// string when the body is empty; otherwise the value of the algorithm's payload-hash header
/// ([`Algorithm::content_hash_header`]) taken literally when present (the SDK sets it to
/// `UNSIGNED-PAYLOAD` for non-JSON bodies, which the verifier rejects); otherwise the
/// lower-case hex hash of the body bytes.
pub fn payload_hash(
    algorithm: Algorithm,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, SignatureError> {
    if body.is_empty() {
        return Ok(algorithm.empty_hash_hex().to_owned());
    }
    match signed_header_value(headers, algorithm.content_hash_header())? {
        Some(value) => Ok(value),
        None => Ok(algorithm.hash_hex(body)),
    }
}

/// The canonical request: the upper-cased method, canonical URI, canonical query string,
/// canonical headers block, `;`-joined signed header names and payload hash, joined with
/// `\n`. The headers block ends with `\n`, so a blank line follows it.
pub fn canonical_request(
    algorithm: Algorithm,
    request: &RequestParts<'_>,
    signed_headers: &[String],
) -> Result<String, SignatureError> {
    let hash = payload_hash(algorithm, request.headers, request.body)?;
    canonical_request_with_payload_hash(&request.head(), signed_headers, &hash)
}

/// The canonical request of a request whose payload hash is already known (its last line), so
/// that a server can check the signature before reading the body.
pub fn canonical_request_with_payload_hash(
    request: &RequestHead<'_>,
    signed_headers: &[String],
    payload_hash: &str,
) -> Result<String, SignatureError> {
    let mut canonical = request.method.as_str().to_ascii_uppercase();
    for part in [
        &canonical_uri(request.raw_path),
        &canonical_query(request.raw_query),
        &canonical_headers(request.headers, signed_headers)?,
    ] {
        canonical.push('\n');
        canonical.push_str(part);
    }
    canonical.push('\n');
    for (index, name) in signed_headers.iter().enumerate() {
        if index > 0 {
            canonical.push(';');
        }
        canonical.push_str(name);
    }
    canonical.push('\n');
    canonical.push_str(payload_hash);
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn uri_turns_escaped_slash_into_a_separator() {
        assert_eq!(
            canonical_uri("/v2/images/i/tags/a%20b%2Fc~d_%C3%A9"),
            "/v2/images/i/tags/a%20b/c~d_%C3%A9/"
        );
    }

    #[test]
    fn uri_escapes_reserved_and_keeps_unreserved() {
        assert_eq!(canonical_uri("/a+b/c:d/%7e%41"), "/a%2Bb/c%3Ad/~A/");
        assert_eq!(canonical_uri("/tags/%e4%b8%ad"), "/tags/%E4%B8%AD/");
        assert_eq!(canonical_uri("/tags/中"), "/tags/%E4%B8%AD/");
    }

    #[test]
    fn uri_keeps_trailing_slash_and_handles_empty() {
        assert_eq!(canonical_uri("/v1/x/"), "/v1/x/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri(""), "/");
    }

    #[test]
    fn uri_of_plain_paths_is_the_path_itself() {
        let plain = "/v2/p0/images/00000000-0000-4000-8000-00000000000a/tags/a_b.c~d";
        assert_eq!(canonical_uri(plain), format!("{plain}/"));
        // The same as the general path (decode, split, escape, join) gives.
        let general = |path: &str| {
            let mut uri = unescape(path).split(|&b| b == b'/').map(escape).collect::<Vec<_>>().join("/");
            if !uri.ends_with('/') {
                uri.push('/');
            }
            uri
        };
        for path in [plain, "/", "", "//a//", "/v1/x/", "/a-b/C9"] {
            assert_eq!(canonical_uri(path), general(path), "{path:?}");
        }
    }

    #[test]
    fn uri_works_on_bytes_that_are_not_utf8() {
        assert_eq!(canonical_uri("/a/%FF%fe/b"), "/a/%FF%FE/b/");
        assert_eq!(canonical_uri("/a/%zz/%"), "/a/%25zz/%25/");
    }

    #[test]
    fn query_sorts_decodes_and_reencodes() {
        assert_eq!(
            canonical_query(Some("name=my%20image&limit=10&__imagetype=private&page=1")),
            "__imagetype=private&limit=10&name=my%20image&page=1"
        );
        assert_eq!(canonical_query(Some("tag=k%3Dv&tag=a%20b&limit=5")), "limit=5&tag=a%20b&tag=k%3Dv");
    }

    #[test]
    fn query_plus_is_literal_and_keys_keep_their_equals_sign() {
        assert_eq!(canonical_query(Some("a+b=c+d")), "a%2Bb=c%2Bd");
        assert_eq!(canonical_query(Some("flag&x=")), "flag=&x=");
        assert_eq!(canonical_query(Some("&&a=1&")), "a=1");
        assert_eq!(canonical_query(Some("")), "");
        assert_eq!(canonical_query(None), "");
    }

    #[test]
    fn query_sorts_on_decoded_bytes() {
        // Encoded, "%7A" would sort before "b"; decoded, "z" sorts after it.
        assert_eq!(canonical_query(Some("%7A=1&b=2")), "b=2&z=1");
        // Values break ties, also on decoded bytes; "~" (0x7e) sorts after "a".
        assert_eq!(canonical_query(Some("k=%7A&k=b&~=3&a=4")), "a=4&k=b&k=z&~=3");
    }

    #[test]
    fn headers_are_trimmed_joined_and_required() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("h:1"));
        headers.insert("x-a", HeaderValue::from_static("  inner  space \t"));
        headers.append("x-b", HeaderValue::from_static("1"));
        headers.append("x-b", HeaderValue::from_static(" 2"));
        let signed = ["host", "x-a", "x-b"].map(String::from);
        assert_eq!(
            canonical_headers(&headers, &signed),
            Ok("host:h:1\nx-a:inner  space\nx-b:1,2\n".to_owned())
        );
        let missing = ["host", "x-c"].map(String::from);
        assert_eq!(
            canonical_headers(&headers, &missing),
            Err(SignatureError::MissingSignedHeader("x-c".to_owned()))
        );
    }

    #[test]
    fn headers_must_be_utf8() {
        let mut headers = HeaderMap::new();
        headers.insert("x-a", HeaderValue::from_bytes(b"\xff").expect("opaque byte"));
        assert_eq!(
            canonical_headers(&headers, &["x-a".to_owned()]),
            Err(SignatureError::InvalidHeaderValue("x-a".to_owned()))
        );
    }

    #[test]
    fn payload_hash_follows_the_sdk_order() {
        let mut headers = HeaderMap::new();
        let sha = Algorithm::SdkHmacSha256;
        assert_eq!(payload_hash(sha, &headers, b""), Ok(sha.hash_hex(b"")));
        assert_eq!(payload_hash(sha, &headers, b"x"), Ok(sha.hash_hex(b"x")));
        headers.insert("x-sdk-content-sha256", HeaderValue::from_static("UNSIGNED-PAYLOAD"));
        assert_eq!(payload_hash(sha, &headers, b"x"), Ok("UNSIGNED-PAYLOAD".to_owned()));
        assert_eq!(payload_hash(sha, &headers, b""), Ok(sha.hash_hex(b"")));
        // The SM3 algorithm reads its own header only.
        let sm3 = Algorithm::SdkHmacSm3;
        assert_eq!(payload_hash(sm3, &headers, b"x"), Ok(sm3.hash_hex(b"x")));
    }
}
