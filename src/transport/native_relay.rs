//! The native host's half of one page socket: a WebSocket client to the running daemon that
//! carries the page's origin (from the extension's `open`, which the browser attested) in its
//! `Origin` header, and the relay between that WebSocket and the extension's messages
//! (`docs/extension.md`). The daemon answers it as it answers any page, so the greeting, the
//! heartbeat echo, the replies and the close codes are the daemon's own.
//!
//! A page message in several pieces goes to the daemon as one fragmented WebSocket message, so
//! the host holds one piece at a time and the daemon's size limit and memory budget apply as
//! for any client. A daemon message goes to the extension in pieces under the browser's 1 MB.
//!
//! Must not: read or log message text, trust a TLS certificate that does not chain to the local
//! CA, or connect anywhere but loopback.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_rustls::rustls;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use super::native_messaging::{pieces, FromExtension, ToExtension, PIECE_TO_BROWSER};
use super::Listen;
use crate::service::origin::Origin;

/// Time allowed for TCP, TLS and the WebSocket handshake with the daemon.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// The largest daemon message the host takes (a signed 200 MiB document is well under it).
const MAX_DAEMON_MESSAGE: usize = 1 << 30;

/// A byte stream to the daemon (TCP, or TLS over TCP).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An open WebSocket to the daemon.
pub type DaemonSocket = WebSocketStream<Box<dyn Io>>;

/// Why the daemon could not be reached.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// Nothing listens there (start the daemon).
    #[error("nothing listens on {0}")]
    Nobody(String),
    /// The daemon answered the handshake with this HTTP status (403: the site is refused).
    #[error("the daemon refused the connection (HTTP {0})")]
    Refused(u16),
    /// Anything else: TLS, a foreign program on the port, a timeout.
    #[error("{0}")]
    Failed(String),
}

/// Opens a WebSocket to the daemon at `listen` as `origin`; `ca_pem` is the local CA a `wss://`
/// daemon's certificate must chain to.
pub async fn connect(
    listen: &Listen,
    origin: &Origin,
    ca_pem: &Path,
) -> Result<DaemonSocket, ConnectError> {
    let addr = listen.addr();
    let scheme = if listen.is_tls() { "wss" } else { "ws" };
    let url = format!("{scheme}://{addr}/");
    let opened = timeout(HANDSHAKE, async {
        let tcp = match TcpStream::connect(addr).await {
            Ok(tcp) => tcp,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                return Err(ConnectError::Nobody(url.clone()))
            }
            Err(e) => return Err(ConnectError::Failed(format!("{url}: {e}"))),
        };
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Io> = match listen.is_tls() {
            true => Box::new(tls(tcp, ca_pem).await?),
            false => Box::new(tcp),
        };
        handshake(&url, origin, stream).await
    });
    opened.await.map_err(|_| ConnectError::Failed(format!("{url}: no answer in time")))?
}

async fn tls(
    tcp: TcpStream,
    ca_pem: &Path,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ConnectError> {
    let failed = |e: &dyn std::fmt::Display| ConnectError::Failed(format!("TLS: {e}"));
    let roots = super::tls::roots_from_pem(ca_pem).map_err(|e| failed(&e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| failed(&e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").map_err(|e| failed(&e))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    connector.connect(name, tcp).await.map_err(|e| failed(&e))
}

async fn handshake(
    url: &str,
    origin: &Origin,
    stream: Box<dyn Io>,
) -> Result<DaemonSocket, ConnectError> {
    let mut request = url.into_client_request().map_err(|e| ConnectError::Failed(e.to_string()))?;
    let value = HeaderValue::from_str(origin.as_str())
        .map_err(|_| ConnectError::Failed("the origin is not a header value".into()))?;
    request.headers_mut().insert("Origin", value);
    let config = WebSocketConfig {
        max_message_size: Some(MAX_DAEMON_MESSAGE),
        max_frame_size: Some(MAX_DAEMON_MESSAGE),
        ..WebSocketConfig::default()
    };
    match tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await {
        Ok((socket, _)) => Ok(socket),
        Err(WsError::Http(response)) => Err(ConnectError::Refused(response.status().as_u16())),
        Err(e) => Err(ConnectError::Failed(format!("{url}: {e}"))),
    }
}

/// What the extension's side of the host hands the relay.
#[derive(Debug)]
pub enum Inbound {
    /// A message of the extension.
    Message(FromExtension),
    /// The browser let go of the host (end of its stream).
    End,
    /// The extension broke the contract (an unreadable frame, a second `open`): the reason.
    Broken(String),
}

/// How a relay ended, for the host's exit status and log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The connection closed; `closed` was sent to the extension (code, clean).
    Closed(u16, bool),
    /// The browser went away first; nothing more could be said to it.
    BrowserGone,
}

/// Relays between the extension (`inbound`, `out`) and the daemon until either side ends.
/// `out` writes one message to the extension; when it fails, the browser is gone.
pub async fn relay(
    mut socket: DaemonSocket,
    mut inbound: mpsc::Receiver<Inbound>,
    out: &mut impl FnMut(&ToExtension<'_>) -> io::Result<()>,
) -> Ended {
    let mut fragmenting = false;
    loop {
        tokio::select! {
            received = inbound.recv() => {
                let message = received.unwrap_or(Inbound::End);
                if let Some(ended) = from_extension(&mut socket, message, &mut fragmenting, out).await {
                    return ended;
                }
            }
            frame = socket.next() => {
                if let Some(ended) = from_daemon(frame, out) {
                    if matches!(ended, Ended::Closed(_, true)) {
                        let _ = timeout(Duration::from_secs(2), socket.close(None)).await;
                    }
                    return ended;
                }
            }
        }
    }
}

/// Passes one extension message on; `Some` when the relay is over.
async fn from_extension(
    socket: &mut DaemonSocket,
    message: Inbound,
    fragmenting: &mut bool,
    out: &mut impl FnMut(&ToExtension<'_>) -> io::Result<()>,
) -> Option<Ended> {
    let sent = match message {
        Inbound::Message(FromExtension::Data { text, more }) => {
            let frame = piece(text, more, fragmenting);
            socket.send(frame).await
        }
        Inbound::Message(FromExtension::Close { code, reason }) => {
            let code = if code == 1000 || (3000..=4999).contains(&code) { code } else { 1000 };
            let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
            socket.close(Some(frame)).await
        }
        Inbound::Message(FromExtension::Open { .. }) => {
            return Some(broken(socket, "a second open", out).await)
        }
        Inbound::Broken(reason) => return Some(broken(socket, &reason, out).await),
        Inbound::End => {
            let frame = CloseFrame { code: CloseCode::Away, reason: "the browser let go".into() };
            let _ = timeout(Duration::from_secs(2), socket.close(Some(frame))).await;
            return Some(Ended::BrowserGone);
        }
    };
    match sent {
        Ok(()) => None,
        Err(e) => {
            Some(say_closed(out, 1006, &format!("the daemon's connection failed: {e}"), false))
        }
    }
}

/// The WebSocket frame of one piece of a page message: a whole text message, or a fragment.
fn piece(text: String, more: bool, fragmenting: &mut bool) -> Message {
    if !*fragmenting && !more {
        return Message::text(text);
    }
    let opcode = if *fragmenting { Data::Continue } else { Data::Text };
    *fragmenting = more;
    Message::Frame(Frame::message(text.into_bytes(), OpCode::Data(opcode), !more))
}

/// Ends a relay the extension broke: the daemon sees a policy close, the extension `closed`.
async fn broken(
    socket: &mut DaemonSocket,
    reason: &str,
    out: &mut impl FnMut(&ToExtension<'_>) -> io::Result<()>,
) -> Ended {
    let frame = CloseFrame { code: CloseCode::Policy, reason: "protocol error".into() };
    let _ = timeout(Duration::from_secs(2), socket.close(Some(frame))).await;
    say_closed(out, 1006, &format!("protocol error: {reason}"), false)
}

/// Passes one daemon frame on; `Some` when the relay is over.
fn from_daemon(
    frame: Option<Result<Message, WsError>>,
    out: &mut impl FnMut(&ToExtension<'_>) -> io::Result<()>,
) -> Option<Ended> {
    let text = match frame {
        Some(Ok(Message::Text(text))) => text,
        Some(Ok(Message::Binary(bytes))) => String::from_utf8_lossy(&bytes).into_owned(),
        Some(Ok(Message::Close(frame))) => {
            let (code, reason) =
                frame.map_or((1005, String::new()), |f| (u16::from(f.code), f.reason.into_owned()));
            return Some(say_closed(out, code, &reason, true));
        }
        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => return None,
        Some(Err(e)) => return Some(say_closed(out, 1006, &format!("{e}"), false)),
        None => return Some(say_closed(out, 1006, "the daemon went away", false)),
    };
    let parts = pieces(&text, PIECE_TO_BROWSER);
    let last = parts.len().saturating_sub(1);
    for (i, part) in parts.into_iter().enumerate() {
        if out(&ToExtension::Data { text: part, more: i < last }).is_err() {
            return Some(Ended::BrowserGone);
        }
    }
    None
}

/// Tells the extension the connection is over.
pub fn say_closed(
    out: &mut impl FnMut(&ToExtension<'_>) -> io::Result<()>,
    code: u16,
    reason: &str,
    clean: bool,
) -> Ended {
    match out(&ToExtension::Closed { code, reason: reason.into(), clean }) {
        Ok(()) => Ended::Closed(code, clean),
        Err(_) => Ended::BrowserGone,
    }
}
