//! The socket as hyper sees it: every read tells the connection's state that input arrived (for the idle
//! and header timeouts), and the bodiless error answers hyper writes by itself for requests it cannot
//! parse (400, 414, 431) are replaced by the same answers in the error envelope, with `X-Request-Id` and
//! `Connection: close`.
//!
//! hyper has no hook for those answers. They are recognised as a write that is exactly one complete
//! response head with one of those statuses and no `X-Request-Id`: every answer of the service carries
//! `X-Request-Id` (the request-id layer sets it), so none of them can match.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::body::Bytes;
use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use uuid::Uuid;

use super::connection::ConnState;
use crate::error::ApiError;

/// A TCP connection with the two duties above.
pub(crate) struct ConnIo {
    stream: TcpStream,
    state: Arc<ConnState>,
    /// A rewritten answer not yet fully written.
    pending: Option<Bytes>,
}

impl ConnIo {
    pub(crate) fn new(stream: TcpStream, state: Arc<ConnState>) -> ConnIo {
        ConnIo { stream, state, pending: None }
    }

    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(pending) = &mut self.pending {
            if pending.is_empty() {
                self.pending = None;
                break;
            }
            let written = ready!(Pin::new(&mut self.stream).poll_write(cx, pending))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            let _ = pending.split_to(written);
        }
        Poll::Ready(Ok(()))
    }
}

/// The envelope answer replacing hyper's own answer in `written`, if `written` is one.
fn replacement(written: &[u8]) -> Option<Bytes> {
    if !written.starts_with(b"HTTP/1.") {
        return None;
    }
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(written) {
        Ok(httparse::Status::Complete(length)) if length == written.len() => {}
        _ => return None,
    }
    if response.headers.iter().any(|h| h.name.eq_ignore_ascii_case("x-request-id")) {
        return None;
    }
    let error = match response.code? {
        400 => ApiError::BadRequest(
            "The request could not be parsed: its request line, a header or its Content-Length is malformed."
                .into(),
        ),
        414 => ApiError::UriTooLong,
        431 => ApiError::HeaderFieldsTooLarge,
        _ => return None,
    };
    Some(envelope_response(&error))
}

/// A complete HTTP/1.1 answer carrying `error` in the envelope, closing the connection.
fn envelope_response(error: &ApiError) -> Bytes {
    let status: StatusCode = error.status();
    let body = serde_json::to_vec(&error.body()).unwrap_or_default();
    let id = Uuid::new_v4();
    tracing::info!(%id, status = status.as_u16(), "answered a request that could not be parsed");
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\
         x-request-id: {id}\r\ndate: {}\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
        body.len(),
        httpdate::fmt_http_date(std::time::SystemTime::now()),
    );
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&body);
    Bytes::from(bytes)
}

impl AsyncRead for ConnIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.stream).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            self.state.input_arrived();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(answer) = replacement(buf) {
            self.pending = Some(answer);
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(first) = bufs.iter().find(|b| !b.is_empty())
            && let Some(answer) = replacement(first)
        {
            self.pending = Some(answer);
            return Poll::Ready(Ok(first.len()));
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_error_heads_are_replaced_and_service_answers_are_not() {
        let hyper_431 =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let answer = replacement(hyper_431).expect("replaced");
        let text = String::from_utf8(answer.to_vec()).expect("text");
        assert!(text.starts_with("HTTP/1.1 431 "), "{text}");
        assert!(text.contains("x-request-id: ") && text.contains("connection: close"), "{text}");
        assert!(text.ends_with(
            r#"{"error":{"code":"IMG.0001","message":"The request header fields are too large."}}"#
        ));
        for (status, code) in [(400, "IMG.0001"), (414, "IMG.0001")] {
            let head = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
            let text =
                String::from_utf8(replacement(head.as_bytes()).expect("replaced").to_vec()).expect("text");
            assert!(text.contains(code), "{text}");
        }
        let ours = b"HTTP/1.1 400 Bad Request\r\nx-request-id: 1\r\ncontent-length: 0\r\n\r\n";
        assert!(replacement(ours).is_none(), "an answer of the service");
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}";
        assert!(replacement(with_body).is_none(), "more than a head");
        assert!(replacement(b"HTTP/1.1 404 Not Found\r\n\r\n").is_none(), "not one of hyper's statuses");
        assert!(replacement(b"{\"HTTP/1.1 400\"}").is_none());
    }
}
