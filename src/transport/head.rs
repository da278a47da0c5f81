//! The first HTTP request head of a connection, read before deciding between the WebSocket
//! handshake and the plain status page, and [`Replay`], which hands the bytes already read back
//! to the WebSocket handshake. Bounded: the head must fit in `max` bytes.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// At most this many header lines are accepted.
const MAX_HEADERS: usize = 100;

/// What the first request of a connection asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    /// The bytes of the head itself.
    pub bytes: Vec<u8>,
    /// Bytes read after the head (a client that did not wait for the answer).
    pub extra: Vec<u8>,
    /// The request method.
    pub method: String,
    /// The `Host` header, when present and text.
    pub host: Option<String>,
    /// Whether this is a WebSocket upgrade (`Upgrade: websocket`).
    pub upgrade: bool,
    /// The `Origin` header, when present and text.
    pub origin: Option<String>,
}

/// Why no head was read.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// The peer closed before sending a whole head.
    Closed,
    /// The head is larger than allowed (answer 431).
    TooLarge,
    /// Not HTTP (answer 400).
    Malformed,
    /// The socket failed.
    Io(io::Error),
}

/// Reads until a complete request head is buffered.
pub(crate) async fn read_head<S>(stream: &mut S, max: usize) -> Result<Head, HeadError>
where
    S: AsyncRead + Unpin,
{
    let mut bytes = Vec::with_capacity(1024);
    loop {
        if let Some(head) = parse(&bytes)? {
            return Ok(head);
        }
        if bytes.len() >= max {
            return Err(HeadError::TooLarge);
        }
        let mut chunk = [0u8; 4096];
        let want = chunk.len().min(max - bytes.len());
        let n = stream.read(&mut chunk[..want]).await.map_err(HeadError::Io)?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
}

/// Parses `bytes`; `Ok(None)` while the head is incomplete.
fn parse(bytes: &[u8]) -> Result<Option<Head>, HeadError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(bytes) {
        Ok(httparse::Status::Partial) => Ok(None),
        Ok(httparse::Status::Complete(len)) => Ok(Some(Head {
            bytes: bytes.get(..len).unwrap_or(bytes).to_vec(),
            extra: bytes.get(len..).unwrap_or_default().to_vec(),
            method: request.method.unwrap_or_default().to_owned(),
            host: header(request.headers, "host").map(str::to_owned),
            upgrade: header(request.headers, "upgrade").is_some_and(is_websocket_token),
            origin: header(request.headers, "origin").map(str::to_owned),
        })),
        Err(httparse::Error::TooManyHeaders) => Err(HeadError::TooLarge),
        Err(_) => Err(HeadError::Malformed),
    }
}

/// The first header named `name` (case-insensitive), when it is text.
fn header<'a>(headers: &[httparse::Header<'a>], name: &str) -> Option<&'a str> {
    let found = headers.iter().find(|h| h.name.eq_ignore_ascii_case(name))?;
    std::str::from_utf8(found.value).ok()
}

/// Whether an `Upgrade` value lists `websocket`.
fn is_websocket_token(value: &str) -> bool {
    value.split(',').any(|token| token.trim().eq_ignore_ascii_case("websocket"))
}

/// A stream that first yields bytes already read from `inner`, then reads `inner`.
#[derive(Debug)]
pub(crate) struct Replay<S> {
    buffered: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Replay<S> {
    /// Replays `buffered` before reading `inner`.
    pub fn new(buffered: Vec<u8>, inner: S) -> Self {
        Self { buffered, pos: 0, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Replay<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let rest = this.buffered.get(this.pos..).unwrap_or_default();
        if rest.is_empty() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let n = rest.len().min(buf.remaining());
        buf.put_slice(&rest[..n]);
        this.pos += n;
        if this.pos >= this.buffered.len() {
            this.buffered = Vec::new();
            this.pos = 0;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Replay<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    async fn head_of(input: &[u8], max: usize) -> Result<Head, HeadError> {
        let (mut client, mut server) = tokio::io::duplex(64 * 1024);
        client.write_all(input).await.expect("write");
        drop(client);
        read_head(&mut server, max).await
    }

    #[tokio::test]
    async fn upgrade_request_is_recognised() {
        let req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:1\r\nConnection: Upgrade\r\n\
                    Upgrade: WebSocket\r\n\r\n";
        let head = head_of(req, 16 * 1024).await.expect("head");
        assert!(head.upgrade);
        assert_eq!(head.method, "GET");
        assert_eq!(head.host.as_deref(), Some("127.0.0.1:1"));
        assert_eq!(head.bytes, req);
        assert!(head.extra.is_empty() && head.origin.is_none());
    }

    #[tokio::test]
    async fn the_origin_and_bytes_after_the_head_are_kept_apart() {
        let req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://egov.kz\r\n\r\n";
        let mut input = req.to_vec();
        input.extend_from_slice(b"\x81\x85frame");
        let head = head_of(&input, 16 * 1024).await.expect("head");
        assert_eq!(head.origin.as_deref(), Some("https://egov.kz"));
        assert_eq!(head.bytes, req);
        assert_eq!(head.extra, b"\x81\x85frame");
    }

    #[tokio::test]
    async fn plain_get_is_not_upgrade() {
        let head = head_of(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", 1024).await.expect("head");
        assert!(!head.upgrade);
    }

    #[tokio::test]
    async fn bounded_and_validated() {
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(5000));
        assert!(matches!(head_of(big.as_bytes(), 1024).await, Err(HeadError::TooLarge)));
        assert!(matches!(
            head_of(b"\x16\x03\x01garbage\r\n\r\n", 1024).await,
            Err(HeadError::Malformed)
        ));
        assert!(matches!(head_of(b"GET / HTTP/1.1\r\n", 1024).await, Err(HeadError::Closed)));
    }

    #[tokio::test]
    async fn replay_yields_buffer_then_inner() {
        let (mut client, server) = tokio::io::duplex(1024);
        client.write_all(b" world").await.expect("write");
        drop(client);
        let mut replay = Replay::new(b"hello".to_vec(), server);
        let mut out = String::new();
        replay.read_to_string(&mut out).await.expect("read");
        assert_eq!(out, "hello world");
    }
}
