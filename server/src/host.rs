//! `Host` and `X-Forwarded-Proto`: an HTTP/1.1 request needs exactly one `Host` that is a valid
//! `host[:port]` (RFC 9112, section 3.2), and the base URL of the links the service writes (the version
//! documents) comes from the configured `public_base_url`, or else from that validated `Host` and an
//! `X-Forwarded-Proto` of `http` or `https` only, so no header can put `javascript:` into a link.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::extract::Request;
use axum::http::{HeaderMap, Version, header};

use crate::error::ApiError;

/// The base URL of this request's links (`http://127.0.0.1:9292`), without a trailing slash; left in
/// the request extensions by [`check_host`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl(pub String);

/// The local address of the connection a request came on (the fallback authority of an HTTP/1.0
/// request without `Host`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalAddr(pub SocketAddr);

/// How base URLs are built.
#[derive(Clone, Debug, Default)]
pub struct HostPolicy {
    /// The configured `public_base_url`, without a trailing slash.
    pub public_base_url: Option<String>,
}

/// Whether `text` is `host[:port]`: a DNS name (letters, digits, `-`, `_`, `.`; labels of 1-63
/// characters), an IPv4 address or a bracketed IPv6 address, and an optional port of 1-5 digits up to
/// 65535. User info, paths and every other character are refused.
pub fn is_authority(text: &str) -> bool {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else { return false };
        if inside.parse::<Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return false,
            },
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(text), None),
        }
    };
    let port_ok = port.is_none_or(|port| {
        !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok()
    });
    let host_ok = host.is_none_or(|host| host.parse::<Ipv4Addr>().is_ok() || is_dns_name(host));
    port_ok && host_ok
}

fn is_dns_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Checks a configured `public_base_url`: `http://` or `https://`, a valid authority, and at most a
/// path (no query, fragment or user info).
pub fn check_public_base_url(url: &str) -> Result<(), String> {
    let refused = |why: &str| Err(format!("http.public_base_url {url:?} {why}"));
    let Some(rest) = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")) else {
        return refused("must start with http:// or https://");
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    if !is_authority(authority) {
        return refused("must name a valid host[:port]");
    }
    let path_ok = path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b));
    if !path_ok {
        return refused("may only add a plain path (no query, fragment or special characters)");
    }
    Ok(())
}

/// The scheme a proxy says the client used: `http` or `https` (any case, first of a list); anything
/// else is ignored.
fn forwarded_scheme(headers: &HeaderMap) -> Option<&'static str> {
    let value = headers.get("x-forwarded-proto")?.to_str().ok()?;
    let first = value.split(',').next()?.trim();
    if first.eq_ignore_ascii_case("https") {
        Some("https")
    } else if first.eq_ignore_ascii_case("http") {
        Some("http")
    } else {
        None
    }
}

/// The host check: 400 for an HTTP/1.1 request without `Host`, with several, or with one that is not
/// `host[:port]`; otherwise it leaves the request's [`BaseUrl`] in its extensions.
pub fn check_host(policy: &HostPolicy, request: &mut Request) -> Result<(), ApiError> {
    let mut hosts = request.headers().get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (None, _) if request.version() == Version::HTTP_11 => {
            return Err(ApiError::BadRequest("An HTTP/1.1 request needs a Host header.".into()));
        }
        (None, _) => None,
        (Some(one), None) => match one.to_str().ok().filter(|text| is_authority(text)) {
            Some(text) => Some(text),
            None => {
                return Err(ApiError::BadRequest("The Host header is not a valid host[:port].".into()));
            }
        },
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest("The request has more than one Host header.".into()));
        }
    };
    let base = match &policy.public_base_url {
        Some(base) => base.clone(),
        None => {
            let scheme = forwarded_scheme(request.headers()).unwrap_or("http");
            match host {
                Some(authority) => format!("{scheme}://{authority}"),
                None => match request.extensions().get::<LocalAddr>() {
                    Some(LocalAddr(addr)) => format!("{scheme}://{addr}"),
                    None => format!("{scheme}://localhost"),
                },
            }
        }
    };
    request.extensions_mut().insert(BaseUrl(base));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities() {
        for good in [
            "localhost",
            "127.0.0.1:9292",
            "images.example.com",
            "images.example.com.",
            "a_b-c.example:65535",
            "[::1]",
            "[::1]:8080",
            "[2001:db8::1]:1",
        ] {
            assert!(is_authority(good), "{good}");
        }
        for bad in [
            "",
            "javascript:alert(1)",
            "host:",
            "host:65536",
            "host:123456",
            "user@host",
            "host/path",
            "a..b",
            "[::1",
            "[nothost]:1",
            "[::1]x",
            "ex ample.com",
            "<script>",
            "host:80:80",
            "::1",
        ] {
            assert!(!is_authority(bad), "{bad}");
        }
    }

    #[test]
    fn public_base_urls() {
        for good in ["https://images.example.com", "http://127.0.0.1:9292", "https://gw.example/ims"] {
            assert_eq!(check_public_base_url(good), Ok(()), "{good}");
        }
        for bad in
            ["javascript:alert(1)", "ftp://x", "https://", "https://a@b", "https://x/?q=1", "https://x/#f"]
        {
            assert!(check_public_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_schemes() {
        let mut headers = HeaderMap::new();
        assert_eq!(forwarded_scheme(&headers), None);
        for (value, scheme) in [
            ("https", Some("https")),
            ("HTTP", Some("http")),
            ("https, http", Some("https")),
            ("javascript", None),
        ] {
            headers.insert("x-forwarded-proto", value.parse().expect("header value"));
            assert_eq!(forwarded_scheme(&headers), scheme, "{value}");
        }
    }
}
