//! WebSocket server: loopback only, Host/Origin checks, frame limits, heartbeat, one task per connection.
//!
//! [`serve`] accepts on a listener from [`bind`](super::listen::bind) until `shutdown`
//! resolves. Each connection: loopback peer check, optional TLS, the first request head is
//! peeked — a plain GET gets the status page, an upgrade goes to the WebSocket handshake
//! (`Host` must name this machine, else 403; an origin the handler refuses gets 403 before any
//! message is read; the connection takes its place in [`Connections`], else 503; `Origin` is
//! recorded into [`Caller`]). Every message passes the [`meter`](super::meter), which holds it
//! to the size limit and the memory budget of its site. Then the
//! greeting (`{"result":{"version":"1.4"}}`, protocol spec §1.4) is sent, `--heartbeat--` is
//! echoed at once, and every other text goes, in order, to a per-connection worker task that
//! calls the [`Handler`] one request at a time; exactly one reply per request, in order, and
//! never an unsolicited frame (§8.3). When the client goes away the worker is aborted, which
//! drops the request in flight and so cancels its prompt.
//!
//! Must not: read or log message bodies, take the origin from a message, bind non-loopback.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{timeout, timeout_at, Instant};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{header, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;
use tracing::Instrument;

use super::conns::{Connections, Full, Member};
pub use super::handler::{Admission, Handler};
use super::head::{read_head, Head, HeadError, Replay};
use super::listen::{is_loopback_host, is_loopback_peer};
use super::meter::{Account, BudgetLimits, MemoryBudget, Metered, Tickets};
use super::queue::{work, Backlog, Data, End, Job};
use super::status::{self, StatusInfo};
use crate::service::Caller;

/// The heartbeat text, echoed verbatim (protocol spec §1.4).
pub const HEARTBEAT: &str = "--heartbeat--";

/// How long open connections get to finish after shutdown before they are aborted.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
pub use super::queue::REFUSED_BACKLOG;

/// How long a plain HTTP answer or a close handshake may take.
const LINGER: Duration = Duration::from_secs(2);

/// Resource limits of the server. Clones share one set of counters (connections, memory), so
/// every listener of a daemon counts against the same limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request, in bytes. Default 320 MiB (a 200 MiB document in base64 fits). A
    /// larger message is never held: the meter keeps its first 4 KiB, discards the rest as it
    /// arrives, and it is answered with an error in its module's envelope; the connection
    /// stays open.
    pub max_message_size: usize,
    /// Open WebSocket connections at most, all listeners together; when full, a trusted origin
    /// takes the place of the oldest idle connection of a site not trusted yet, others are
    /// answered `503`. Default 64.
    pub max_connections: usize,
    /// Open connections of one site not trusted yet (its registrable domain). Default 16.
    pub max_site_connections: usize,
    /// Message bytes being read or held by all connections together. Default 640 MiB. Each
    /// trusted origin may hold up to `max_message_size` of it.
    pub memory_budget: usize,
    /// The part of `memory_budget` that sites not trusted yet may hold between them; one such
    /// site may hold half of it. Default 64 MiB.
    pub untrusted_memory: usize,
    /// Largest HTTP request head, in bytes. Default 16 KiB.
    pub max_header_size: usize,
    /// Time allowed for TLS, the request head and the WebSocket handshake. Default 10 s.
    pub handshake_timeout: Duration,
    /// Requests queued behind the running one; more are answered with a `TOO_MANY_REQUESTS`
    /// error in their module's envelope, in order, without being run; a client that keeps
    /// sending ([`REFUSED_BACKLOG`] more unanswered) is disconnected (code 1008). Default 16.
    pub max_pending_requests: usize,
    /// The counters every clone of these limits shares (made on first use; keep the default).
    pub counters: Counters,
}

/// The connection and memory counters that clones of one [`Limits`] share, so that every
/// listener of a daemon counts against the same limits.
#[derive(Debug, Clone, Default)]
pub struct Counters(Arc<std::sync::OnceLock<Pools>>);

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 320 << 20,
            max_connections: 64,
            max_site_connections: 16,
            memory_budget: 640 << 20,
            untrusted_memory: 64 << 20,
            max_header_size: 16 << 10,
            handshake_timeout: Duration::from_secs(10),
            max_pending_requests: 16,
            counters: Counters::default(),
        }
    }
}

/// The counters every listener of one daemon shares, made from the limits on first use.
#[derive(Clone)]
struct Pools {
    conns: Arc<Connections>,
    budget: Arc<MemoryBudget>,
}

impl std::fmt::Debug for Pools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pools")
    }
}

impl Limits {
    fn pools(&self) -> Pools {
        let make = || Pools {
            conns: Connections::new(self.max_connections, self.max_site_connections),
            budget: MemoryBudget::new(BudgetLimits {
                total: self.memory_budget,
                untrusted_total: self.untrusted_memory,
                per_trusted_origin: self.max_message_size.min(self.memory_budget),
                per_untrusted_site: self.untrusted_memory / 2,
            }),
        };
        self.counters.0.get_or_init(make).clone()
    }
}

/// A byte stream a connection runs over (TCP or TLS over TCP).
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What every connection task shares.
struct Shared {
    tls: Option<TlsAcceptor>,
    handler: Arc<dyn Handler>,
    limits: Limits,
    status: StatusInfo,
    /// One permit per connection before its WebSocket handshake is done.
    handshakes: Arc<Semaphore>,
    /// One permit per connection being answered 503.
    busy: Arc<Semaphore>,
    /// The open WebSocket connections and the memory budget, shared by all listeners.
    pools: Pools,
}

/// Serves connections from `listener` until `shutdown` resolves, then closes every connection
/// (code 1001) and waits up to 5 s for them.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    handler: Arc<dyn Handler>,
    limits: Limits,
    status: StatusInfo,
    shutdown: impl Future<Output = ()>,
) {
    let shared = Arc::new(Shared {
        tls: tls.map(TlsAcceptor::from),
        handler,
        handshakes: Arc::new(Semaphore::new(cap(limits.max_connections))),
        busy: Arc::new(Semaphore::new(cap(limits.max_connections))),
        pools: limits.pools(),
        limits,
        status,
    });
    let (stop, stopped) = watch::channel(());
    let mut tasks = JoinSet::new();
    let mut next_id = 0u64;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    next_id += 1;
                    let span = tracing::info_span!("conn", id = next_id, %peer);
                    admit(&mut tasks, &shared, tcp, peer, stopped.clone(), span);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(done) = tasks.join_next(), if !tasks.is_empty() => log_panic(done),
        }
    }
    drop(listener);
    drain(tasks, stop).await;
}

/// A permit count the semaphore accepts.
fn cap(n: usize) -> usize {
    n.min(Semaphore::MAX_PERMITS)
}

fn log_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done {
        if e.is_panic() {
            tracing::error!("a connection task panicked");
        }
    }
}

/// Asks every connection to close and waits for them, up to [`SHUTDOWN_GRACE`].
async fn drain(mut tasks: JoinSet<()>, stop: watch::Sender<()>) {
    let _ = stop.send(());
    let all = async {
        while let Some(done) = tasks.join_next().await {
            log_panic(done);
        }
    };
    if timeout(SHUTDOWN_GRACE, all).await.is_err() {
        tracing::warn!("connections still open after shutdown grace period; aborting them");
    }
}

/// Starts a task for an accepted connection, or refuses it.
fn admit(
    tasks: &mut JoinSet<()>,
    shared: &Arc<Shared>,
    tcp: TcpStream,
    peer: std::net::SocketAddr,
    stopped: watch::Receiver<()>,
    span: tracing::Span,
) {
    if !is_loopback_peer(peer) {
        tracing::warn!(%peer, "refused a connection from outside this machine");
        return;
    }
    let shared = Arc::clone(shared);
    if let Ok(permit) = Arc::clone(&shared.handshakes).try_acquire_owned() {
        let task = async move {
            connection(&shared, tcp, stopped, permit).await;
        };
        tasks.spawn(task.instrument(span));
    } else if let Ok(permit) = Arc::clone(&shared.busy).try_acquire_owned() {
        tracing::warn!(%peer, "connection limit reached; answering 503");
        let task = async move {
            refuse_busy(&shared, tcp).await;
            drop(permit);
        };
        tasks.spawn(task.instrument(span));
    }
}

/// Completes TLS when configured; `None` when the handshake fails or times out.
async fn open(shared: &Shared, tcp: TcpStream, deadline: Instant) -> Option<Box<dyn Io>> {
    let _ = tcp.set_nodelay(true);
    let Some(acceptor) = &shared.tls else {
        return Some(Box::new(tcp));
    };
    match timeout_at(deadline, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => Some(Box::new(tls)),
        Ok(Err(e)) => {
            tracing::info!(error = %e, "TLS handshake failed (is the local CA trusted?)");
            None
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            None
        }
    }
}

/// Answers `503` to a connection over the limit.
async fn refuse_busy(shared: &Shared, tcp: TcpStream) {
    let deadline = Instant::now() + shared.limits.handshake_timeout;
    let Some(mut stream) = open(shared, tcp, deadline).await else {
        return;
    };
    let head = timeout_at(deadline, read_head(&mut stream, shared.limits.max_header_size)).await;
    if let Ok(Ok(_)) = head {
        let answer = status::error("503 Service Unavailable", "too many connections");
        write_and_close(stream, &answer).await;
    }
}

/// One connection from accept to close; `handshake` is its place among connections still
/// shaking hands, given up once it is a WebSocket.
async fn connection(
    shared: &Shared,
    tcp: TcpStream,
    stopped: watch::Receiver<()>,
    handshake: OwnedSemaphorePermit,
) {
    let deadline = Instant::now() + shared.limits.handshake_timeout;
    let Some(mut stream) = open(shared, tcp, deadline).await else {
        return;
    };
    let head = timeout_at(deadline, read_head(&mut stream, shared.limits.max_header_size)).await;
    let head = match head {
        Ok(Ok(head)) => head,
        Ok(Err(e)) => return reject_head(stream, e).await,
        Err(_) => return tracing::debug!("no request head in time"),
    };
    if !head.upgrade {
        let answer = plain_answer(shared, &head.method, head.host.as_deref());
        return write_and_close(stream, &answer).await;
    }
    let (member, account) = match enter(shared, &head) {
        Ok(entered) => entered,
        Err(answer) => return write_and_close(stream, &answer).await,
    };
    let (metered, tickets) =
        Metered::new(stream, head.extra, account, shared.limits.max_message_size);
    let stream = Replay::new(head.bytes, metered);
    if let Some((ws, caller)) = shake_hands(shared, stream, deadline).await {
        drop(handshake);
        run(shared, ws, caller, Session { member, tickets }, stopped).await;
    }
}

/// Admits an upgrade request before the handshake: a foreign `Host` or an origin the handler
/// refuses gets 403, a full daemon or site 503; else the connection's place and memory account.
fn enter(shared: &Shared, head: &Head) -> Result<(Member, Account), Vec<u8>> {
    if !head.host.as_deref().is_some_and(is_loopback_host) {
        tracing::warn!(host = ?head.host, "refused a WebSocket handshake with a non-loopback \
            Host (DNS rebinding?)");
        return Err(status::error("403 Forbidden", "this server answers only to 127.0.0.1"));
    }
    let (site, trusted) = match shared.handler.admit(&Caller::from_header(head.origin.as_deref())) {
        Admission::Refused => {
            tracing::warn!(origin = ?head.origin, "refused a WebSocket handshake: origin policy");
            return Err(status::error("403 Forbidden", "this site may not use Qoltanba"));
        }
        Admission::Admitted { site, trusted } => (site, trusted),
    };
    let member = shared.pools.conns.join(&site, trusted).map_err(|full| {
        tracing::warn!(site, ?full, "connection limit reached; answering 503");
        let text = match full {
            Full::Site => "too many connections from this site",
            Full::Daemon => "too many connections",
        };
        status::error("503 Service Unavailable", text)
    })?;
    Ok((member, shared.pools.budget.account(site, !trusted)))
}

/// Answers a request head that could not be read, when there is anyone to answer.
async fn reject_head(stream: Box<dyn Io>, error: HeadError) {
    let answer = match error {
        HeadError::TooLarge => status::error("431 Request Header Fields Too Large", "too large"),
        HeadError::Malformed => status::error("400 Bad Request", "not an HTTP request"),
        HeadError::Closed => return,
        HeadError::Io(e) => return tracing::debug!(error = %e, "reading the request head failed"),
    };
    tracing::debug!("refused a malformed or oversized request head");
    write_and_close(stream, &answer).await;
}

/// The answer to a plain (non-upgrade) HTTP request.
fn plain_answer(shared: &Shared, method: &str, host: Option<&str>) -> Vec<u8> {
    if !host.is_some_and(is_loopback_host) {
        tracing::warn!(?host, "refused an HTTP request with a non-loopback Host");
        return status::error("403 Forbidden", "this server answers only to 127.0.0.1");
    }
    tracing::debug!(method, "status page request");
    match method {
        "GET" => status::page(&shared.status, false),
        "HEAD" => status::page(&shared.status, true),
        _ => status::error("405 Method Not Allowed", "only GET"),
    }
}

async fn write_and_close(mut stream: Box<dyn Io>, bytes: &[u8]) {
    let _ = timeout(LINGER, async {
        stream.write_all(bytes).await?;
        stream.shutdown().await
    })
    .await;
}

/// tungstenite's own cap, a backstop: the meter already holds every message to the limit.
fn hard_cap(limit: usize) -> usize {
    limit.saturating_add(64 << 10)
}

fn ws_config(limits: &Limits) -> WebSocketConfig {
    WebSocketConfig {
        max_message_size: Some(hard_cap(limits.max_message_size)),
        // The meter hands on frames of at most `PIECE` bytes (refused ones: a 4 KiB sample).
        max_frame_size: Some(usize::try_from(super::meter::PIECE).unwrap_or(usize::MAX)),
        ..WebSocketConfig::default()
    }
}

type Ws = WebSocketStream<Replay<Metered<Box<dyn Io>>>>;

/// The WebSocket handshake with the `Host` check; the caller as the handshake describes it.
async fn shake_hands(
    shared: &Shared,
    stream: Replay<Metered<Box<dyn Io>>>,
    deadline: Instant,
) -> Option<(Ws, Caller)> {
    let mut caller = Caller::default();
    // tungstenite's `Callback` fixes the (large) error type.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| match check_request(request) {
        Ok(origin) => {
            caller = Caller::from_header(origin.as_deref());
            Ok(response)
        }
        Err((status, text)) => Err(refusal(status, text)),
    };
    let config = Some(ws_config(&shared.limits));
    let accepted = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, config);
    match timeout_at(deadline, accepted).await {
        Ok(Ok(ws)) => Some((ws, caller)),
        Ok(Err(e)) => {
            tracing::info!(error = %e, "WebSocket handshake refused or failed");
            None
        }
        Err(_) => {
            tracing::debug!("WebSocket handshake timed out");
            None
        }
    }
}

/// Refuses a non-loopback `Host` (DNS rebinding); the `Origin` header (`None`: absent).
fn check_request(request: &Request) -> Result<Option<String>, (StatusCode, &'static str)> {
    let host = request.headers().get(header::HOST).map(|v| v.to_str());
    if !matches!(host, Some(Ok(h)) if is_loopback_host(h)) {
        tracing::warn!(host = ?request.headers().get(header::HOST), "refused a WebSocket \
            handshake with a non-loopback Host (DNS rebinding?)");
        return Err((StatusCode::FORBIDDEN, "this server answers only to 127.0.0.1"));
    }
    match request.headers().get(header::ORIGIN).map(|v| v.to_str()) {
        None => Ok(None),
        Some(Ok(origin)) => Ok(Some(origin.to_owned())),
        Some(Err(_)) => Err((StatusCode::BAD_REQUEST, "malformed Origin")),
    }
}

fn refusal(status: StatusCode, text: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(format!("{text}\n")));
    *response.status_mut() = status;
    response
}

/// Aborts a task when dropped, so a connection's worker never outlives it.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What one incoming frame asks for.
enum Step {
    Heartbeat,
    Data(Data),
    Ignore,
    Gone,
    TooBig,
}

/// A connection's place among the open ones and the meter's verdicts on its messages.
struct Session {
    member: Member,
    tickets: Tickets,
}

/// The message loop of an open WebSocket.
async fn run(
    shared: &Shared,
    mut ws: Ws,
    caller: Caller,
    session: Session,
    mut stopped: watch::Receiver<()>,
) {
    tracing::info!(origin = ?caller.origin, "connection opened");
    if ws.send(Message::text(crate::protocol::greeting())).await.is_err() {
        return;
    }
    let (queue, requests) = mpsc::unbounded_channel();
    let (reply_tx, mut replies) = mpsc::unbounded_channel();
    let mut backlog = Backlog::new(shared.limits.max_pending_requests);
    let Session { member, tickets } = session;
    let handler = Arc::clone(&shared.handler);
    let worker = AbortOnDrop(tokio::spawn(work(handler, caller, requests, reply_tx)));
    let mut count = 0u64;
    let end = loop {
        tokio::select! {
            frame = ws.next() => match classify(frame, &tickets) {
                (Step::Heartbeat, _) => {
                    if ws.send(Message::text(HEARTBEAT)).await.is_err() {
                        break End::Gone;
                    }
                }
                (Step::Data(data), ticket) => {
                    count += 1;
                    let Some(job) = Job::new(data, ticket) else { continue };
                    if let Err(end) = backlog.enqueue(&queue, job) {
                        break end;
                    }
                    member.set_idle(false);
                }
                (Step::Ignore, _) => {}
                (Step::Gone, _) => break End::Gone,
                (Step::TooBig, _) => break End::Close(CloseCode::Size, "message too big"),
            },
            reply = replies.recv() => match reply {
                Some(text) => {
                    backlog.answered();
                    member.set_idle(backlog.idle());
                    if ws.send(Message::text(text)).await.is_err() {
                        break End::Gone;
                    }
                }
                None => break End::Close(CloseCode::Error, "internal error"),
            },
            _ = stopped.changed() => break End::Close(CloseCode::Away, "shutting down"),
            () = member.evicted() => {
                tracing::info!("closing to make room for a trusted site");
                break End::Close(CloseCode::Again, "making room for a trusted site");
            }
        }
    };
    drop(worker);
    finish(ws, end).await;
    tracing::info!(requests = count, "connection closed");
}

/// What `frame` asks for, with the meter's ticket when it is a data message.
fn classify(
    frame: Option<Result<Message, WsError>>,
    tickets: &Tickets,
) -> (Step, Option<super::meter::Ticket>) {
    let step = match frame {
        None | Some(Ok(Message::Close(_))) => Step::Gone,
        Some(Ok(Message::Text(text))) if text == HEARTBEAT => {
            let _ = tickets.next();
            Step::Heartbeat
        }
        Some(Ok(Message::Text(text))) => return (Step::Data(Data::Text(text)), tickets.next()),
        Some(Ok(Message::Binary(bytes))) => {
            return (Step::Data(Data::Binary(bytes)), tickets.next())
        }
        // Ping is answered by tungstenite itself; Pong and raw frames need nothing.
        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Step::Ignore,
        Some(Err(WsError::Capacity(e))) => {
            tracing::warn!(error = %e, "message over the size limit; closing");
            Step::TooBig
        }
        Some(Err(e)) => {
            tracing::debug!(error = %e, "read failed");
            Step::Gone
        }
    };
    (step, None)
}

/// Completes the close handshake, briefly.
async fn finish(mut ws: Ws, end: End) {
    let frame = match end {
        End::Gone => None,
        End::Close(code, reason) => Some(CloseFrame { code, reason: reason.into() }),
    };
    let _ = timeout(LINGER, async {
        let _ = ws.close(frame).await;
        while let Some(Ok(_)) = ws.next().await {}
        let _ = ws.get_mut().shutdown().await;
    })
    .await;
}

#[cfg(test)]
#[path = "websocket_tests.rs"]
mod tests;
