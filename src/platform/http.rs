//! A small blocking HTTP/1.1 client for the PKI services: RFC 3161 time-stamp queries POSTed
//! to the NCA TSA, later CRLs (GET) and OCSP requests (POST). Every NCA endpoint is plain
//! `http://`, so this client speaks only that and refuses `https://` as
//! [`FetchError::Unsupported`]. It honours the standard proxy variables ([`ProxyEnv`]; loopback
//! always goes direct) and then sends the request in absolute form (RFC 9112 §3.2.2); it reads
//! the response head with `httparse` (at most 64 KiB, `1xx` answers skipped) and the body by
//! `Content-Length`, chunked coding or end of stream (RFC 9112 §6.3), refusing it as soon as it
//! exceeds the caller's cap. Connect, every read and every write wait at most the timeout, a
//! whole attempt at most four times it; another attempt follows only a connection failure, a
//! timeout or a 5xx. It must not log bodies (they carry documents' hashes) or proxy
//! credentials, and uses no other module of the crate.

mod proxy;
mod response;
mod url;

use std::io::{self, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub use proxy::{Proxy, ProxyEnv};
use response::Reader;
use url::Url;

/// One attempt lasts at most this many timeouts in all.
const ATTEMPT_TIMEOUTS: u32 = 4;
/// The pause before another attempt.
const BACKOFF: Duration = Duration::from_millis(200);
const USER_AGENT: &str = concat!("qoltanba/", env!("CARGO_PKG_VERSION"));

/// What can fetch over HTTP: the real client, or a test double.
pub trait Fetch: Send + Sync {
    /// POSTs `body` with `content_type` to `url`; the response body of a 200 answer, at most
    /// `max_len` bytes.
    fn post(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
        max_len: usize,
    ) -> Result<Vec<u8>, FetchError>;
    /// GETs `url`; the body of a 200 answer, at most `max_len` bytes.
    fn get(&self, url: &str, max_len: usize) -> Result<Vec<u8>, FetchError>;
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL is not a valid `http://host[:port][/path]` URL.
    #[error("bad URL {0:?}: expected http://host[:port]/path")]
    BadUrl(String),
    /// The URL's scheme is not `http`.
    #[error("unsupported URL {0:?}: only plain http:// is supported (as every NCA service uses)")]
    Unsupported(String),
    /// The request cannot be sent as asked (a content type with control characters).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The host (or proxy) could not be resolved, or refused the connection.
    #[error(
        "cannot connect to {host}: {source}; check the network and the proxy variables \
         (http_proxy, no_proxy)"
    )]
    Connect { host: String, source: io::Error },
    /// Connect, a read or a write, or the whole attempt took too long.
    #[error("{host} did not answer in time; try again later")]
    Timeout { host: String },
    /// The connection failed during the exchange.
    #[error("the connection to {host} failed: {source}; try again later")]
    Io { host: String, source: io::Error },
    /// The answer is not valid HTTP/1.1.
    #[error("bad HTTP answer: {0}")]
    BadResponse(String),
    /// The server answered with a status other than 200.
    #[error("{url} answered HTTP status {code}")]
    Status { code: u16, url: String },
    /// The body is longer than the caller's limit.
    #[error("the answer is longer than {limit} bytes")]
    TooLarge { limit: usize },
}

impl FetchError {
    /// Whether another attempt may succeed: a connection failure, a timeout or a 5xx.
    fn retryable(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::Timeout { .. } | Self::Io { .. } => true,
            Self::Status { code, .. } => *code >= 500,
            _ => false,
        }
    }
}

fn bad(message: impl Into<String>) -> FetchError {
    FetchError::BadResponse(message.into())
}

fn timed_out(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

fn io_error(host: &str, source: io::Error) -> FetchError {
    let host = host.to_owned();
    if timed_out(&source) {
        FetchError::Timeout { host }
    } else {
        FetchError::Io { host, source }
    }
}

/// The blocking HTTP/1.1 client.
#[derive(Debug, Clone)]
pub struct HttpClient {
    timeout: Duration,
    retries: u32,
    proxy: ProxyEnv,
}

impl HttpClient {
    /// Timeout covers connect and each read/write; `retries`: extra attempts after a connection
    /// failure, a timeout or a 5xx (never after a 4xx or a bad/oversized answer). The timeout
    /// is taken between 1 ms and one hour.
    pub fn new(timeout: Duration, retries: u32, proxy: ProxyEnv) -> Self {
        let timeout = timeout.clamp(Duration::from_millis(1), Duration::from_secs(3600));
        Self { timeout, retries, proxy }
    }

    fn fetch(&self, request: &Request<'_>, max_len: usize) -> Result<Vec<u8>, FetchError> {
        let url = Url::parse(request.url)?;
        request.check()?;
        let mut attempt = 0;
        loop {
            match self.attempt(request, &url, max_len) {
                Err(error) if error.retryable() && attempt < self.retries => {
                    attempt += 1;
                    let (method, host) = (request.method, &url.host);
                    tracing::debug!(method, %host, %error, attempt, "HTTP retry");
                    std::thread::sleep(BACKOFF);
                }
                result => return result,
            }
        }
    }

    fn attempt(
        &self,
        request: &Request<'_>,
        url: &Url,
        max_len: usize,
    ) -> Result<Vec<u8>, FetchError> {
        let deadline = Instant::now() + self.timeout * ATTEMPT_TIMEOUTS;
        let proxy = self.proxy.proxy_for_url(url);
        let (host, port) =
            proxy.map_or((url.host.as_str(), url.port), |p| (p.host.as_str(), p.port));
        let stream = connect(host, port, self.timeout, deadline)?;
        let mut conn = Timed { stream, timeout: self.timeout, deadline };
        conn.write_all(&request.bytes(url, proxy)).map_err(|e| io_error(host, e))?;
        let mut reader = Reader { src: BufReader::new(conn), host };
        let (code, framing) = reader.head()?;
        let (method, via_proxy) = (request.method, proxy.is_some());
        tracing::debug!(method, host = %url.host, via_proxy, status = code, "HTTP answer");
        if code != 200 {
            return Err(FetchError::Status { code, url: request.url.to_owned() });
        }
        reader.body(framing, max_len)
    }
}

impl Fetch for HttpClient {
    fn post(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
        max_len: usize,
    ) -> Result<Vec<u8>, FetchError> {
        self.fetch(&Request { method: "POST", url, body: Some((content_type, body)) }, max_len)
    }

    fn get(&self, url: &str, max_len: usize) -> Result<Vec<u8>, FetchError> {
        self.fetch(&Request { method: "GET", url, body: None }, max_len)
    }
}

/// One request: method, URL as the caller wrote it, and for a POST the content type and body.
struct Request<'a> {
    method: &'static str,
    url: &'a str,
    body: Option<(&'a str, &'a [u8])>,
}

impl Request<'_> {
    fn check(&self) -> Result<(), FetchError> {
        let printable = |text: &str| text.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
        match self.body {
            Some((content_type, _)) if content_type.is_empty() || !printable(content_type) => {
                Err(FetchError::BadRequest(format!("content type {content_type:?}")))
            }
            _ => Ok(()),
        }
    }

    /// The request head and body, in origin form, or in absolute form for a proxy.
    fn bytes(&self, url: &Url, proxy: Option<&Proxy>) -> Vec<u8> {
        let authority = url.authority();
        let target = match proxy {
            Some(_) => format!("http://{authority}{}", url.target),
            None => url.target.clone(),
        };
        let mut head = format!(
            "{} {target} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {USER_AGENT}\r\n\
             Accept: */*\r\nConnection: close\r\n",
            self.method
        );
        if let Some(credentials) = proxy.and_then(|p| p.authorization.as_deref()) {
            head += &format!("Proxy-Authorization: {credentials}\r\n");
        }
        if let Some((content_type, body)) = self.body {
            head += &format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n", body.len());
        }
        head += "\r\n";
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(self.body.map_or(&[][..], |(_, body)| body));
        bytes
    }
}

/// The time left for one wait: at most `timeout`, never past `deadline`; None when it passed.
fn remaining(deadline: Instant, timeout: Duration) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    (!left.is_zero()).then(|| left.min(timeout))
}

/// Connects to the first address of `host` that accepts, trying each in turn.
fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
    deadline: Instant,
) -> Result<TcpStream, FetchError> {
    let late = || FetchError::Timeout { host: host.to_owned() };
    let addresses = resolve(host, port, remaining(deadline, timeout).ok_or_else(late)?)?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
    for address in addresses {
        match TcpStream::connect_timeout(&address, remaining(deadline, timeout).ok_or_else(late)?) {
            Ok(stream) => return Ok(stream),
            Err(error) => last = error,
        }
    }
    if timed_out(&last) {
        return Err(late());
    }
    Err(FetchError::Connect { host: host.to_owned(), source: last })
}

/// The addresses of `host`; a name is looked up on a thread of its own so that a slow resolver
/// cannot hold the caller longer than `within` (the thread ends when the resolver gives up).
fn resolve(host: &str, port: u16, within: Duration) -> Result<Vec<SocketAddr>, FetchError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (sender, receiver) = mpsc::channel();
    let name = (host.to_owned(), port);
    let lookup = move || drop(sender.send(name.to_socket_addrs().map(Vec::from_iter)));
    let failed = |source| FetchError::Connect { host: host.to_owned(), source };
    std::thread::Builder::new().name("http-resolve".into()).spawn(lookup).map_err(failed)?;
    match receiver.recv_timeout(within) {
        Ok(result) => result.map_err(failed),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(FetchError::Timeout { host: host.to_owned() }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(failed(io::Error::other("lookup failed"))),
    }
}

/// A connection whose every read and write waits at most the timeout, never past the deadline.
struct Timed {
    stream: TcpStream,
    timeout: Duration,
    deadline: Instant,
}

impl Timed {
    fn budget(&self) -> io::Result<Duration> {
        remaining(self.deadline, self.timeout)
            .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "the attempt took too long"))
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(self.budget()?))?;
        self.stream.read(buf)
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.budget()?))?;
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
