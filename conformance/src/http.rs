//! Raw HTTP for the negative and boundary cases: requests built by hand (reqwest), authenticated as an identity
//! (token, AK/SK signed as the Huawei SDKs sign, or plain headers), and bytes written straight to a
//! `TcpStream` for the wire-level cases that a client library would refuse to send.

use std::time::{Duration, SystemTime};

use ims_tags_client::Credentials;
use ims_tags_signing::{RequestToSign, sign_request};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::outcome::{Exchange, Failure};
use crate::target::{Credential, Identity};

/// How much of a body a report shows.
const SHOWN_BODY: usize = 1500;

/// An answer, with the exchange that produced it for failure reports.
#[derive(Clone, Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Vec<u8>,
    /// The request and the answer, as text.
    pub exchange: Exchange,
    /// Whether error codes are judged (not with `--statuses-only`).
    pub(crate) judge_codes: bool,
}

impl Response {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A failure showing this exchange.
    pub fn fail(&self, message: impl Into<String>) -> Failure {
        Failure { message: message.into(), exchange: Some(self.exchange.clone()) }
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<Value, Failure> {
        serde_json::from_slice(&self.body).map_err(|e| self.fail(format!("the body is not JSON: {e}")))
    }

    /// Fails unless the status is `expected`.
    pub fn expect(&self, expected: u16) -> Result<&Response, Failure> {
        if self.status == expected {
            Ok(self)
        } else {
            Err(self.fail(format!("expected status {expected}, got {}", self.status)))
        }
    }

    /// Fails unless the status is `expected`; returns the JSON body.
    pub fn expect_json(&self, expected: u16) -> Result<Value, Failure> {
        self.expect(expected)?.json()
    }

    /// `{"error": {"code", "message"}}` and nothing else: the code and the message.
    pub fn envelope(&self) -> Option<(String, String)> {
        let body: Value = serde_json::from_slice(&self.body).ok()?;
        let error = body.as_object().filter(|o| o.len() == 1)?.get("error")?;
        Some((error["code"].as_str()?.to_owned(), error["message"].as_str()?.to_owned()))
    }

    /// Fails unless the status is `status` and, unless only statuses are judged, the body is the error
    /// envelope with `code`.
    pub fn expect_error(&self, status: u16, code: &str) -> Result<&Response, Failure> {
        self.expect(status)?;
        if !self.judge_codes {
            return Ok(self);
        }
        match self.envelope() {
            Some((got, _)) if got == code => Ok(self),
            Some((got, _)) => Err(self.fail(format!("expected error code {code}, got {got}"))),
            None => Err(self.fail(format!("expected the error envelope with code {code}"))),
        }
    }

    /// Fails unless the status is `status` and, unless only statuses are judged, the body is the error
    /// envelope (whatever its code).
    pub fn expect_envelope(&self, status: u16) -> Result<&Response, Failure> {
        self.expect(status)?;
        if self.judge_codes && self.envelope().is_none() {
            return Err(self.fail("expected the error envelope {\"error\": {\"code\", \"message\"}}"));
        }
        Ok(self)
    }

    /// Fails unless the status is `status` and the body is the error envelope, even when only statuses are
    /// judged: for the cases whose rule is the envelope itself.
    pub fn expect_enveloped(&self, status: u16) -> Result<&Response, Failure> {
        self.expect(status)?;
        if self.envelope().is_none() {
            return Err(self.fail("expected the error envelope {\"error\": {\"code\", \"message\"}}"));
        }
        Ok(self)
    }

    /// The header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A request about to be sent.
#[derive(Clone, Debug)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path and query, already percent-encoded, sent as is.
    pub path: String,
    /// Headers sent as they are (after the identity's).
    pub headers: Vec<(String, String)>,
    /// The body, sent as is.
    pub body: Option<Vec<u8>>,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: &str, path: impl Into<String>) -> Request {
        Request {
            method: Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET),
            path: path.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body to these bytes.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = Some(body.into());
        self
    }

    /// Sets the body to this JSON document.
    pub fn json(self, body: &Value) -> Request {
        self.body(body.to_string())
    }

    /// The path without its query, and the query.
    fn split_path(&self) -> (&str, Option<&str>) {
        match self.path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (self.path.as_str(), None),
        }
    }
}

/// Who sends a request: an identity acting in a project, or nobody.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The identity, `None` for an anonymous request.
    pub identity: Option<Identity>,
    /// The project it acts in; sent as `X-Project-Id` when it is not the identity's default, and always by
    /// AK/SK identities (as the Huawei SDKs send it).
    pub project: Option<String>,
}

impl Caller {
    /// Nobody: no credentials.
    pub fn anonymous() -> Caller {
        Caller { identity: None, project: None }
    }

    /// The headers that authenticate `request` (signing covers them and the body).
    pub fn authenticate(&self, host: &str, request: &Request) -> Result<HeaderMap, Failure> {
        let mut headers = HeaderMap::new();
        let put = |headers: &mut HeaderMap, name: &str, value: &str| -> Result<(), Failure> {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Failure::new(format!("header name {name:?}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| Failure::new(format!("header value {value:?}: {e}")))?;
            headers.append(name, value);
            Ok(())
        };
        for (name, value) in &request.headers {
            put(&mut headers, name, value)?;
        }
        let Some(identity) = &self.identity else {
            return Ok(headers);
        };
        let elsewhere = self.project.as_deref().filter(|p| *p != identity.project);
        match &identity.credential {
            Credential::Token(token) => {
                put(&mut headers, "x-auth-token", token)?;
                if let Some(project) = elsewhere {
                    put(&mut headers, "x-project-id", project)?;
                }
            }
            Credential::Headers(list) => {
                for (name, value) in list {
                    let overridden = request.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
                    if overridden || (elsewhere.is_some() && name.eq_ignore_ascii_case("x-project-id")) {
                        continue;
                    }
                    put(&mut headers, name, value)?;
                }
                if let Some(project) = elsewhere {
                    put(&mut headers, "x-project-id", project)?;
                }
            }
            Credential::AkSk(credentials) => {
                if !headers.contains_key("x-project-id") {
                    let project = self.project.as_deref().unwrap_or(&identity.project);
                    put(&mut headers, "x-project-id", project)?;
                }
                sign(credentials, host, request, &mut headers, SystemTime::now())?;
            }
        }
        Ok(headers)
    }
}

/// Signs `request` into `headers` as the Huawei SDK does.
pub fn sign(
    credentials: &Credentials,
    host: &str,
    request: &Request,
    headers: &mut HeaderMap,
    when: SystemTime,
) -> Result<(), Failure> {
    let (path, query) = request.split_path();
    let to_sign = RequestToSign {
        method: &request.method,
        host,
        raw_path: path,
        raw_query: query,
        body: request.body.as_deref().unwrap_or_default(),
    };
    sign_request(credentials, &to_sign, headers, when)
        .map(|_| ())
        .map_err(|e| Failure::new(format!("cannot sign: {e}")))
}

/// Sends requests to one base URL.
#[derive(Clone, Debug)]
pub struct Http {
    base_url: String,
    client: reqwest::Client,
    secrets: Vec<String>,
    judge_codes: bool,
}

impl Http {
    /// A sender for `base_url`; `secrets` are blanked out of every report.
    pub fn new(base_url: &str, secrets: Vec<String>, judge_codes: bool) -> Http {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Http { base_url: base_url.to_owned(), client, secrets, judge_codes }
    }

    /// `host:port` of the base URL.
    pub fn host(&self) -> String {
        let rest = self.base_url.split_once("://").map_or(self.base_url.as_str(), |(_, rest)| rest);
        rest.split('/').next().unwrap_or(rest).to_owned()
    }

    /// Whether the base URL is plain `http://` (the wire-level cases write to a TCP socket).
    pub fn is_plain_http(&self) -> bool {
        self.base_url.starts_with("http://")
    }

    /// Blanks out secrets.
    fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), "<secret>");
        }
        text
    }

    /// Sends `request` as `caller`.
    pub async fn send(&self, caller: &Caller, request: Request) -> Result<Response, Failure> {
        let headers = caller.authenticate(&self.host(), &request)?;
        let url = format!("{}{}", self.base_url, request.path);
        let mut shown = format!("{} {url}\n", request.method);
        for (name, value) in &headers {
            shown.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("<bytes>")));
        }
        if let Some(body) = &request.body {
            shown.push('\n');
            shown.push_str(&excerpt(body));
        }
        let shown = self.redact(&shown);
        let mut builder = self.client.request(request.method.clone(), &url).headers(headers);
        if let Some(body) = request.body.clone() {
            builder = builder.body(body);
        }
        let answer = builder.send().await.map_err(|e| Failure {
            message: format!("no answer: {e}"),
            exchange: Some(Exchange { request: shown.clone(), response: String::new() }),
        })?;
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        let body =
            answer.bytes().await.map(|b| b.to_vec()).map_err(|e| Failure::new(format!("body: {e}")))?;
        let response = self.redact(&describe_response(status, &headers, &body));
        Ok(Response {
            status,
            headers,
            body,
            exchange: Exchange { request: shown, response },
            judge_codes: self.judge_codes,
        })
    }

    /// Writes `raw` (a whole HTTP/1.1 request) to a new connection and reads one answer; the connection is
    /// closed afterwards. `Ok(None)` when the server closed the connection without answering.
    pub async fn send_raw(&self, raw: &[u8]) -> Result<Option<Response>, Failure> {
        let shown = self.redact(&excerpt(raw));
        let fail = |message: String| Failure {
            message,
            exchange: Some(Exchange { request: shown.clone(), response: String::new() }),
        };
        let mut stream = tokio::net::TcpStream::connect(self.host())
            .await
            .map_err(|e| fail(format!("cannot connect: {e}")))?;
        // The server may answer before reading everything (and close): a failed write is not a failure.
        let _ = stream.write_all(raw).await;
        let mut received = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), async {
            let mut buffer = [0u8; 8192];
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => received.extend_from_slice(&buffer[..n]),
                }
                if parse_response(&received).is_some() {
                    break;
                }
            }
        })
        .await;
        if read.is_err() && received.is_empty() {
            return Err(fail("no answer within 10 s".to_owned()));
        }
        if received.is_empty() {
            return Ok(None);
        }
        let Some((status, headers, body)) = parse_response(&received).or_else(|| parse_head(&received))
        else {
            return Err(fail(format!("not an HTTP answer: {:?}", String::from_utf8_lossy(&received))));
        };
        let response = self.redact(&describe_response(status, &headers, &body));
        Ok(Some(Response {
            status,
            headers,
            body,
            exchange: Exchange { request: shown, response },
            judge_codes: self.judge_codes,
        }))
    }
}

fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.chars().count() > SHOWN_BODY {
        let cut: String = text.chars().take(SHOWN_BODY).collect();
        format!("{cut}... ({} bytes in all)", bytes.len())
    } else {
        text.into_owned()
    }
}

fn describe_response(status: u16, headers: &HeaderMap, body: &[u8]) -> String {
    let mut text = format!("HTTP {status}\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("<bytes>")));
    }
    if !body.is_empty() {
        text.push('\n');
        text.push_str(&excerpt(body));
    }
    text
}

/// The status line and headers of an answer, and where its body starts.
fn parse_header_block(bytes: &[u8]) -> Option<(u16, HeaderMap, usize)> {
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut slots);
    let httparse::Status::Complete(start) = response.parse(bytes).ok()? else {
        return None;
    };
    let status = response.code?;
    let mut headers = HeaderMap::new();
    for header in response.headers.iter() {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(header.name.as_bytes()), HeaderValue::from_bytes(header.value))
        {
            headers.append(name, value);
        }
    }
    Some((status, headers, start))
}

/// A complete answer: with its whole `Content-Length` body, or a whole chunked body.
fn parse_response(bytes: &[u8]) -> Option<(u16, HeaderMap, Vec<u8>)> {
    let (status, headers, start) = parse_header_block(bytes)?;
    let rest = &bytes[start..];
    let chunked = headers
        .get("transfer-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return dechunk(rest).map(|body| (status, headers, body));
    }
    let length = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    (rest.len() >= length).then(|| (status, headers, rest[..length].to_vec()))
}

/// Whatever arrived before the connection closed: the head and the bytes after it.
fn parse_head(bytes: &[u8]) -> Option<(u16, HeaderMap, Vec<u8>)> {
    let (status, headers, start) = parse_header_block(bytes)?;
    Some((status, headers, bytes[start..].to_vec()))
}

/// A complete chunked body, decoded.
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        if rest.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_parsed_whole_or_not_at_all() {
        let plain = b"HTTP/1.1 404 Not Found\r\ncontent-length: 5\r\n\r\nhello";
        let (status, _, body) = parse_response(plain).expect("complete");
        assert_eq!((status, body.as_slice()), (404, b"hello".as_slice()));
        assert!(parse_response(&plain[..plain.len() - 1]).is_none(), "a short body is incomplete");
        let chunked =
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).expect("complete").2, b"abcde");
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_none());
    }

    #[test]
    fn secrets_are_blanked_out() {
        let http = Http::new("http://127.0.0.1:1", vec!["s3cret".into()], true);
        assert_eq!(http.redact("x-auth-token: s3cret"), "x-auth-token: <secret>");
        assert_eq!(http.host(), "127.0.0.1:1");
    }
}
