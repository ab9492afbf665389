//! The front door over raw TCP (issue 7 items 1, 2, 3 and 7; issue 11 items 3 and 4): timeouts that close
//! slow and idle clients, 408 for a body that does not arrive, hyper's own parse errors in the envelope,
//! `Host` and `X-Forwarded-Proto`, 413 with a clean close, AK/SK signatures refused before the body, the
//! memory budget of bodies, and a token next to a non-SDK `Authorization` header.

use std::time::{Duration, Instant, SystemTime};

use ims_tags_client::{Algorithm, Credentials};
use ims_tags_signing::{RequestToSign, sign_request};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{AK, P1, SK, TestServer, Who, token};

/// A generous bound for anything that should happen "at once" on a loaded 2-core machine.
const PROMPTLY: Duration = Duration::from_secs(5);

/// An answer read off a raw socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Asserts the status, the envelope and `X-Request-Id`.
    #[track_caller]
    fn expect_envelope(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        let body: Value =
            serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"));
        assert_eq!(body["error"]["code"], code, "{self:?}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{self:?}");
        assert!(self.header("x-request-id").is_some(), "every answer carries X-Request-Id: {self:?}");
    }
}

fn addr(s: &TestServer) -> String {
    s.base.trim_start_matches("http://").to_owned()
}

async fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(addr(s)).await.expect("connects")
}

/// Reads one answer (head and a `Content-Length` body) from `stream`, within `PROMPTLY`.
async fn read_answer(stream: &mut TcpStream) -> Answer {
    tokio::time::timeout(PROMPTLY, read_answer_unbounded(stream)).await.expect("an answer in time")
}

async fn read_answer_unbounded(stream: &mut TcpStream) -> Answer {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = stream.read(&mut chunk).await.expect("reads");
        assert!(read > 0, "the connection closed before an answer: {:?}", String::from_utf8_lossy(&buffer));
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let status =
        lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("a status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut chunk).await.expect("reads");
        assert!(read > 0, "the connection closed inside a body");
        body.extend_from_slice(&chunk[..read]);
    }
    Answer { status, headers, body: String::from_utf8_lossy(&body[..length]).to_string() }
}

/// Whether the server closes `stream` within `within` (reading and dropping whatever comes).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut sink = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn slow_and_idle_clients_are_closed_after_the_configured_timeouts() {
    let s = TestServer::start_with(|c| {
        c.http.header_read_timeout_ms = 1000;
        c.http.keep_alive_timeout_ms = 1000;
    })
    .await;
    let started = Instant::now();
    // Sends nothing at all.
    let mut silent = connect(&s).await;
    // A slowloris: one header byte every 200 ms, never finishing the head.
    let mut slowloris = connect(&s).await;
    let trickle = tokio::spawn(async move {
        let head = b"GET /versions HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        for byte in head {
            if slowloris.write_all(&[*byte]).await.is_err() {
                return (slowloris, true);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        (slowloris, false)
    });
    // A kept-alive connection after one answer.
    let mut idle = connect(&s).await;
    idle.write_all(format!("GET /versions HTTP/1.1\r\nHost: {}\r\n\r\n", addr(&s)).as_bytes())
        .await
        .expect("writes");
    assert_eq!(read_answer(&mut idle).await.status, 200);

    assert!(closed_within(&mut silent, PROMPTLY).await, "a socket that sends nothing is closed");
    assert!(closed_within(&mut idle, PROMPTLY).await, "an idle kept-alive connection is closed");
    let (mut slowloris, write_failed) = trickle.await.expect("trickle");
    assert!(write_failed || closed_within(&mut slowloris, PROMPTLY).await, "the slowloris is closed");
    assert!(write_failed, "the slowloris was closed before it could send its 60-byte head at 5 bytes/s");
    assert!(started.elapsed() < Duration::from_secs(11), "closed after about the 1 s timeouts");
    // The service is still there.
    assert_eq!(s.raw("GET", "/versions", None, &[], None).await.status, 200);
}

/// The connection's driver is not woken when a request moves it from one phase to the next; its timer looks at
/// the phase when it fires. A kept-alive connection that starts a request head must still be held to the
/// header-read timeout from its first byte, not to the longer keep-alive timeout it was idling under.
#[tokio::test]
async fn a_head_begun_on_a_kept_alive_connection_gets_the_header_timeout_not_the_keep_alive_one() {
    let s = TestServer::start_with(|c| {
        c.http.header_read_timeout_ms = 1000;
        c.http.keep_alive_timeout_ms = 20_000;
    })
    .await;
    let mut stream = connect(&s).await;
    stream
        .write_all(format!("GET /versions HTTP/1.1\r\nHost: {}\r\n\r\n", addr(&s)).as_bytes())
        .await
        .expect("writes");
    assert_eq!(read_answer(&mut stream).await.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(b"GET /versions HTTP/1.1\r\nHo").await.expect("writes");
    let began = Instant::now();
    assert!(
        closed_within(&mut stream, PROMPTLY).await,
        "closed by the header-read timeout, long before 20 s"
    );
    assert!(began.elapsed() >= Duration::from_millis(900), "not before the 1 s header-read timeout");
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_gets_408_not_503() {
    let s = TestServer::start_with(|c| c.http.body_read_timeout_ms = 1000).await;
    let image = s.p1_image().await;
    let mut stream = connect(&s).await;
    let head = format!(
        "POST /v2/{P1}/images/{image}/tags HTTP/1.1\r\nHost: {}\r\nX-Auth-Token: {}\r\nContent-Length: 100\r\n\r\n",
        addr(&s),
        token(Who::Owner)
    );
    stream.write_all(head.as_bytes()).await.expect("writes");
    stream.write_all(b"{\"tag\": {").await.expect("writes");
    let answer = read_answer(&mut stream).await;
    answer.expect_envelope(408, "IMG.0001");
    assert_eq!(answer.header("connection"), Some("close"), "{answer:?}");
    assert!(s.tags(image).await.is_empty(), "nothing was written");
}

/// The requests hyper refuses before the service sees them, each on its own connection.
#[tokio::test]
async fn requests_hyper_cannot_parse_are_answered_in_the_envelope() {
    let s = TestServer::start().await;
    let host = addr(&s);
    let huge_header =
        format!("GET /versions HTTP/1.1\r\nHost: {host}\r\nX-Big: {}\r\n\r\n", "a".repeat(200 * 1024));
    let long_path = format!("GET /{} HTTP/1.1\r\nHost: {host}\r\n\r\n", "p".repeat(100 * 1024));
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("a 200 KB header", huge_header.into_bytes(), 431),
        ("a 100 KB path", long_path.into_bytes(), 414),
        (
            "conflicting Content-Length",
            format!("POST /versions HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello")
                .into_bytes(),
            400,
        ),
        (
            "a negative Content-Length",
            format!("POST /versions HTTP/1.1\r\nHost: {host}\r\nContent-Length: -1\r\n\r\n").into_bytes(),
            400,
        ),
        ("a raw invalid byte in the path", format!("GET /ver\x01sions HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes(), 400),
        ("a raw DEL in the path", b"GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400),
        ("HTTP/9.9", format!("GET /versions HTTP/9.9\r\nHost: {host}\r\n\r\n").into_bytes(), 400),
    ];
    for (case, request, status) in cases {
        let mut stream = connect(&s).await;
        stream.write_all(&request).await.unwrap_or_else(|e| panic!("{case}: {e}"));
        let answer = read_answer(&mut stream).await;
        assert_eq!(answer.status, status, "{case}: {answer:?}");
        answer.expect_envelope(status, "IMG.0001");
        assert_eq!(answer.header("connection"), Some("close"), "{case}");
        assert!(closed_within(&mut stream, PROMPTLY).await, "{case}: then the connection closes");
    }
    // Keep-alive still works for requests that parse: three on one connection.
    let mut stream = connect(&s).await;
    for _ in 0..3 {
        stream
            .write_all(format!("GET /versions HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
            .await
            .expect("writes");
        let answer = read_answer(&mut stream).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_ne!(answer.header("connection"), Some("close"));
    }
}

#[tokio::test]
async fn host_and_forwarded_proto_are_checked_and_links_never_carry_other_schemes() {
    let s = TestServer::start().await;
    let host = addr(&s);
    let ask = |request: String| {
        let s = &s;
        async move {
            let mut stream = connect(s).await;
            stream.write_all(request.as_bytes()).await.expect("writes");
            read_answer(&mut stream).await
        }
    };
    ask("GET /versions HTTP/1.1\r\n\r\n".into()).await.expect_envelope(400, "IMG.0001");
    for bad in ["javascript:alert(1)", "a b", "user@host", "host/path", "<x>"] {
        ask(format!("GET /versions HTTP/1.1\r\nHost: {bad}\r\n\r\n")).await.expect_envelope(400, "IMG.0001");
    }
    ask(format!("GET /versions HTTP/1.1\r\nHost: {host}\r\nHost: other\r\n\r\n"))
        .await
        .expect_envelope(400, "IMG.0001");
    let href = |answer: Answer| -> String {
        let body: Value = serde_json::from_str(&answer.body).expect("JSON");
        body["versions"][0]["links"][0]["href"].as_str().expect("href").to_owned()
    };
    for (proto, scheme) in [("javascript", "http"), ("https", "https"), ("HTTP", "http"), ("data:x", "http")]
    {
        let answer =
            ask(format!("GET /versions HTTP/1.1\r\nHost: {host}\r\nX-Forwarded-Proto: {proto}\r\n\r\n"))
                .await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(href(answer), format!("{scheme}://{host}/v2/"), "{proto}");
    }
    let answer = ask("GET / HTTP/1.1\r\nHost: images.example.com:8443\r\n\r\n".into()).await;
    assert_eq!((answer.status, href(answer)), (300, "http://images.example.com:8443/v2/".to_owned()));
    // HTTP/1.0 may omit Host: the link names the address the request came to.
    let answer = ask("GET /versions HTTP/1.0\r\n\r\n".into()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(href(answer), format!("http://{host}/v2/"));

    let s =
        TestServer::start_with(|c| c.http.public_base_url = Some("https://images.example.com/ims/".into()))
            .await;
    let mut stream = connect(&s).await;
    stream
        .write_all(b"GET /versions HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-Proto: http\r\n\r\n")
        .await
        .expect("writes");
    assert_eq!(href(read_answer(&mut stream).await), "https://images.example.com/ims/v2/");
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_with_connection_close_and_a_clean_close() {
    let s = TestServer::start_with(|c| c.http.lingering_close_ms = 10_000).await;
    // A raw client that keeps sending 4 MiB after the answer: it reads the 413, never a reset.
    let mut stream = connect(&s).await;
    let total = 4 * 1024 * 1024;
    let head = format!(
        "PUT /v1/cloudimages/tags HTTP/1.1\r\nHost: {}\r\nX-Auth-Token: {}\r\nContent-Length: {total}\r\n\r\n",
        addr(&s),
        token(Who::Owner)
    );
    stream.write_all(head.as_bytes()).await.expect("writes");
    let (mut reader, mut writer) = stream.into_split();
    let sender = tokio::spawn(async move {
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < total {
            writer.write_all(&chunk).await?;
            sent += chunk.len();
        }
        writer.flush().await?;
        Ok::<_, std::io::Error>(sent)
    });
    let mut buffer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut buffer))
        .await
        .expect("the server closes in time")
        .expect("no reset while reading the answer");
    let text = String::from_utf8_lossy(&buffer);
    assert!(text.starts_with("HTTP/1.1 413 "), "{text}");
    assert!(text.to_ascii_lowercase().contains("connection: close"), "{text}");
    assert!(text.contains("\"IMG.0001\"") && text.to_ascii_lowercase().contains("x-request-id"), "{text}");
    let sent = sender.await.expect("sender").expect("every byte of the body was accepted, none refused");
    assert_eq!(sent, total);

    // A client that reuses connections: the 413 never spoils the next request.
    let client = reqwest::Client::new();
    let image = s.p1_image().await;
    for round in 0..3 {
        let big = format!("{{\"tag\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
        let r = client
            .put(format!("{}/v1/cloudimages/tags", s.base))
            .header("x-auth-token", token(Who::Owner))
            .body(big)
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: the 413 is read: {e}"));
        assert_eq!(r.status(), 413, "round {round}");
        assert_eq!(r.headers()["connection"], "close");
        let r = client
            .put(format!("{}/v2/images/{image}/tags/round{round}", s.base))
            .header("x-auth-token", token(Who::Owner))
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: the next request on the client works: {e}"));
        assert_eq!(r.status(), 204, "round {round}");
    }
}

#[tokio::test]
async fn a_token_with_an_authorization_header_that_is_no_sdk_signature_is_accepted() {
    let s = TestServer::start().await;
    for other in
        ["Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "Basic dXNlcjpwYXNz", "Token abc", "sdk-hmac-sha256 lower-case"]
    {
        let r =
            s.raw("GET", "/v1/cloudimages/tags", Some(Who::Owner), &[("authorization", other)], None).await;
        assert_eq!(r.status, 200, "{other}: {}", r.text);
        let r = s.raw("GET", "/v1/cloudimages/tags", None, &[("authorization", other)], None).await;
        r.expect_error(401, "APIGW.0301");
        assert!(r.text.contains("X-Auth-Token"), "the message says what to send: {}", r.text);
    }
    // An SDK signature still wins over the token: a bad one is 401 even next to a valid token.
    let bad =
        format!("SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host;x-sdk-date, Signature={}", "0".repeat(64));
    let r = s
        .raw(
            "GET",
            "/v1/cloudimages/tags",
            Some(Who::Owner),
            &[("authorization", &bad), ("x-sdk-date", "20240101T000000Z")],
            None,
        )
        .await;
    r.expect_error(401, "APIGW.0301");
}

/// An owner's request signed as the SDK signs, with a declared content hash when `declared_hash` is given.
fn signed_head(
    s: &TestServer,
    method: &str,
    path: &str,
    body: &[u8],
    declared_hash: Option<&str>,
) -> HeaderMap {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("x-project-id", HeaderValue::from_static(P1));
    if let Some(hash) = declared_hash {
        headers.insert("x-sdk-content-sha256", HeaderValue::from_str(hash).expect("hex"));
    }
    let host = addr(s);
    let request = RequestToSign { method: &method, host: &host, raw_path: path, raw_query: None, body };
    let credentials = Credentials { algorithm: Algorithm::SdkHmacSha256, ..Credentials::new(AK, SK) };
    sign_request(&credentials, &request, &mut headers, SystemTime::now()).expect("signed");
    headers
}

fn head_text(method: &str, path: &str, headers: &HeaderMap, content_length: usize) -> String {
    let mut text = format!("{method} {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {}\r\n", value.to_str().expect("text")));
    }
    text.push_str(&format!("Content-Length: {content_length}\r\n\r\n"));
    text
}

fn wrong_signature(headers: &mut HeaderMap) {
    let authorization = headers["authorization"].to_str().expect("text").to_owned();
    let (before, _) = authorization.rsplit_once("Signature=").expect("a signature");
    let wrong = format!("{before}Signature={}", "0".repeat(64));
    headers.insert("authorization", HeaderValue::from_str(&wrong).expect("header"));
}

#[tokio::test]
async fn a_signed_content_hash_lets_a_bad_signature_be_refused_before_the_body() {
    let s = TestServer::start().await;
    let image = s.p1_image().await;
    let path = format!("/v2/{P1}/images/{image}/tags");
    let body = json!({"tag": {"key": "env", "value": "prod"}}).to_string();
    let hash = Algorithm::SdkHmacSha256.hash_hex(body.as_bytes());

    // A wrong signature over a declared 1 MiB body: 401 although no body byte was sent.
    let mut headers = signed_head(&s, "POST", &path, body.as_bytes(), Some(&hash));
    wrong_signature(&mut headers);
    let mut stream = connect(&s).await;
    stream.write_all(head_text("POST", &path, &headers, 1024 * 1024 - 1).as_bytes()).await.expect("writes");
    let answer = read_answer(&mut stream).await;
    answer.expect_envelope(401, "APIGW.0301");
    assert!(answer.body.contains("signature"), "{answer:?}");
    assert_eq!(answer.header("connection"), Some("close"), "the unread body ends the connection");

    // A right signature over a declared hash that the body does not match: 401, nothing written.
    let other = json!({"tag": {"key": "env", "value": "evil"}}).to_string();
    let headers = signed_head(&s, "POST", &path, body.as_bytes(), Some(&hash));
    let mut stream = connect(&s).await;
    stream.write_all(head_text("POST", &path, &headers, other.len()).as_bytes()).await.expect("writes");
    stream.write_all(other.as_bytes()).await.expect("writes");
    let answer = read_answer(&mut stream).await;
    answer.expect_envelope(401, "APIGW.0301");
    assert!(answer.body.contains("does not match the body"), "{answer:?}");
    assert!(s.tags(image).await.is_empty());

    // The same request with its own body works; so does one without a declared hash.
    for declared in [Some(hash.as_str()), None] {
        let headers = signed_head(&s, "POST", &path, body.as_bytes(), declared);
        let mut stream = connect(&s).await;
        stream.write_all(head_text("POST", &path, &headers, body.len()).as_bytes()).await.expect("writes");
        stream.write_all(body.as_bytes()).await.expect("writes");
        assert_eq!(read_answer(&mut stream).await.status, 204, "{declared:?}");
    }
    assert_eq!(s.tags(image).await, vec![("env".to_owned(), "prod".to_owned())]);
}

#[tokio::test]
async fn bodies_beyond_the_memory_budget_get_503_with_retry_after() {
    let s = TestServer::start_with(|c| {
        c.http.body_memory_budget_bytes = 1024 * 1024;
        c.http.body_memory_wait_ms = 300;
    })
    .await;
    let image = s.p1_image().await;
    let path = format!("/v2/{P1}/images/{image}/tags");
    // Holds 700 KB of the 1 MiB budget: a declared 1,000,000-byte body, 700 KB of it sent.
    let mut holder = connect(&s).await;
    let head = |length: usize| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nX-Auth-Token: {}\r\nContent-Length: {length}\r\n\r\n",
            addr(&s),
            token(Who::Owner)
        )
    };
    holder.write_all(head(1_000_000).as_bytes()).await.expect("writes");
    holder.write_all(&vec![b' '; 700_000]).await.expect("writes");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Another 700 KB body finds no room.
    let mut late = connect(&s).await;
    late.write_all(head(700_000).as_bytes()).await.expect("writes");
    late.write_all(&vec![b' '; 700_000]).await.expect("writes");
    let answer = read_answer(&mut late).await;
    answer.expect_envelope(503, "IMG.0503");
    assert_eq!(answer.header("retry-after"), Some("1"), "{answer:?}");
    drop(holder);
    // Room comes back once the holder is gone.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = json!({"tag": {"key": "k", "value": "v"}}).to_string();
    let r = s.raw("POST", &path, Some(Who::Owner), &[], Some(&body)).await;
    assert_eq!(r.status, 204, "{}", r.text);
}
