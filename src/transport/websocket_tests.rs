//! End-to-end tests of the WebSocket server on 127.0.0.1:0, over TLS with a real local CA and
//! a rustls client that trusts only `ca.pem`, as a browser that imported it would.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{oneshot, Notify};
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::*;
use crate::protocol::Dispatcher;
use crate::transport::tls::LocalCa;
use crate::transport::{bind, Listen};

const PORTAL: &str = "https://portal.test.kz";
const WAIT: Duration = Duration::from_secs(5);

/// Echoes `echo:<text>`; `sleep:<ms>` first sleeps; records the origin of every call.
#[derive(Default)]
struct Echo {
    origins: Mutex<Vec<Option<String>>>,
}

impl Handler for Echo {
    fn handle<'a>(
        &'a self,
        caller: &'a Caller,
        text: String,
    ) -> Pin<Box<dyn Future<Output = String> + Send + 'a>> {
        Box::pin(async move {
            self.origins.lock().expect("lock").push(caller.origin.shown());
            if let Some(ms) = text.strip_prefix("sleep:") {
                let ms = ms.parse().expect("ms");
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            format!("echo:{text}")
        })
    }

    /// `…evil…` origins are the untrusted site `evil.example`, `…refused…` ones are refused.
    fn admit(&self, caller: &Caller) -> Admission {
        match caller.origin.shown().unwrap_or_default().as_str() {
            o if o.contains("refused") => Admission::Refused,
            o if o.contains("evil") => {
                Admission::Admitted { site: "evil.example".into(), trusted: false }
            }
            o => Admission::Admitted { site: o.into(), trusted: true },
        }
    }
}

/// Never answers; raises `dropped` when its future is dropped.
#[derive(Default)]
struct Stuck {
    started: Notify,
    dropped: Arc<AtomicBool>,
}

struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Handler for Stuck {
    fn handle<'a>(
        &'a self,
        _caller: &'a Caller,
        _text: String,
    ) -> Pin<Box<dyn Future<Output = String> + Send + 'a>> {
        Box::pin(async move {
            let _flag = DropFlag(Arc::clone(&self.dropped));
            self.started.notify_one();
            std::future::pending::<()>().await;
            String::new()
        })
    }
}

struct Server {
    port: u16,
    tls_dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

async fn start(handler: Arc<dyn Handler>, tls: bool, limits: Limits) -> Server {
    let tls_dir = tempfile::tempdir().expect("tempdir");
    let ca = LocalCa::load_or_create(tls_dir.path(), crate::platform::clock::Clock::system())
        .expect("local CA");
    let listen =
        Listen::parse(if tls { "wss://127.0.0.1:0" } else { "ws://127.0.0.1:0" }).expect("listen");
    let listener = bind(&listen).await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (stop, stopped) = oneshot::channel::<()>();
    let info = StatusInfo { ca_pem: Some(ca.ca_pem_path().to_path_buf()) };
    let config = tls.then(|| ca.server_config());
    let shutdown = async move {
        let _ = stopped.await;
    };
    let task = tokio::spawn(serve(listener, config, handler, limits, info, shutdown));
    Server { port, tls_dir, stop: Some(stop), task }
}

async fn tls_stream(server: &Server) -> TlsStream<TcpStream> {
    tls_stream_to(server, "127.0.0.1").await
}

/// A TLS connection that verifies the server as `name` against `ca.pem` only.
async fn tls_stream_to(server: &Server, name: &'static str) -> TlsStream<TcpStream> {
    let pem = std::fs::read(server.tls_dir.path().join("ca.pem")).expect("ca.pem");
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.expect("cert")).expect("add root");
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(("127.0.0.1", server.port)).await.expect("connect");
    let name = ServerName::try_from(name).expect("name");
    TlsConnector::from(Arc::new(config)).connect(name, tcp).await.expect("TLS handshake")
}

type Client = WebSocketStream<TlsStream<TcpStream>>;

async fn connect(
    server: &Server,
    origin: Option<&str>,
    host: Option<&str>,
) -> Result<Client, WsError> {
    let url = format!("wss://127.0.0.1:{}/", server.port);
    let mut request = url.into_client_request().expect("request");
    let headers = request.headers_mut();
    if let Some(origin) = origin {
        headers.insert("Origin", HeaderValue::from_str(origin).expect("origin"));
    }
    if let Some(host) = host {
        headers.insert("Host", HeaderValue::from_str(host).expect("host"));
    }
    let stream = tls_stream(server).await;
    tokio_tungstenite::client_async(request, stream).await.map(|(ws, _)| ws)
}

/// Connects with the portal origin and consumes the greeting.
async fn open_portal(server: &Server) -> Client {
    let mut ws = connect(server, Some(PORTAL), None).await.expect("handshake");
    assert_eq!(next_text(&mut ws).await, r#"{"result":{"version":"1.4"}}"#);
    ws
}

async fn next_message<S>(ws: &mut WebSocketStream<S>) -> Message
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    timeout(WAIT, ws.next())
        .await
        .expect("message in time")
        .expect("open stream")
        .expect("valid message")
}

async fn next_text<S>(ws: &mut WebSocketStream<S>) -> String
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match next_message(ws).await {
        Message::Text(text) => text,
        other => panic!("expected text, got {other:?}"),
    }
}

async fn send(ws: &mut Client, text: &str) {
    ws.send(Message::text(text)).await.expect("send");
}

/// A raw HTTP/1.1 request over TLS; the whole response.
async fn raw_https(server: &Server, request: &str) -> String {
    let mut stream = tls_stream(server).await;
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = timeout(WAIT, stream.read_to_end(&mut out)).await.expect("in time");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn greeting_first_then_heartbeat_and_replies_in_order() {
    let server = start(Arc::new(Echo::default()), true, Limits::default()).await;
    let mut ws = open_portal(&server).await;
    send(&mut ws, HEARTBEAT).await;
    assert_eq!(next_text(&mut ws).await, HEARTBEAT);
    for text in ["sleep:150", "sleep:50", "c"] {
        send(&mut ws, text).await;
    }
    assert_eq!(next_text(&mut ws).await, "echo:sleep:150");
    assert_eq!(next_text(&mut ws).await, "echo:sleep:50");
    assert_eq!(next_text(&mut ws).await, "echo:c");
}

#[tokio::test]
async fn heartbeat_is_answered_while_a_request_runs() {
    let server = start(Arc::new(Echo::default()), true, Limits::default()).await;
    let mut ws = open_portal(&server).await;
    send(&mut ws, "sleep:400").await;
    send(&mut ws, HEARTBEAT).await;
    assert_eq!(next_text(&mut ws).await, HEARTBEAT);
    assert_eq!(next_text(&mut ws).await, "echo:sleep:400");
}

#[tokio::test]
async fn origin_comes_from_the_handshake_header() {
    let echo = Arc::new(Echo::default());
    let server = start(Arc::clone(&echo) as Arc<dyn Handler>, true, Limits::default()).await;
    let mut ws = open_portal(&server).await;
    send(&mut ws, r#"{"origin":"https://evil.example","module":"x"}"#).await;
    next_text(&mut ws).await;
    let mut bare = connect(&server, None, None).await.expect("handshake");
    next_text(&mut bare).await;
    bare.send(Message::text("x")).await.expect("send");
    next_text(&mut bare).await;
    let origins = echo.origins.lock().expect("lock").clone();
    assert_eq!(origins, [Some(PORTAL.to_owned()), None]);
}

#[tokio::test]
async fn foreign_host_header_is_refused_with_403() {
    let server = start(Arc::new(Echo::default()), true, Limits::default()).await;
    match connect(&server, Some(PORTAL), Some("evil.example")).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), StatusCode::FORBIDDEN),
        Err(other) => panic!("expected HTTP 403, got {other}"),
        Ok(_) => panic!("handshake with a foreign Host succeeded"),
    }
    let page = raw_https(&server, "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n").await;
    assert!(page.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{page}");
}

#[tokio::test]
async fn localhost_host_names_are_accepted() {
    let server = start(Arc::new(Echo::default()), true, Limits::default()).await;
    for host in ["LOCALHOST", "[::1]:13579"] {
        let mut ws = connect(&server, None, Some(host)).await.expect(host);
        next_text(&mut ws).await;
    }
}

#[tokio::test]
async fn leaf_is_trusted_for_localhost_under_the_name_constraints() {
    let server = start(Arc::new(Echo::default()), true, Limits::default()).await;
    let mut stream = tls_stream_to(&server, "localhost").await;
    stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await.expect("write");
    let mut out = Vec::new();
    let _ = timeout(WAIT, stream.read_to_end(&mut out)).await.expect("in time");
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
}

#[tokio::test]
async fn plain_get_serves_the_status_page() {
    let server = start(Arc::new(Echo::default()), true, Limits::default()).await;
    let page = raw_https(&server, "GET / HTTP/1.1\r\nHost: 127.0.0.1:13579\r\n\r\n").await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("text/html"), "{page}");
    assert!(page.contains(env!("CARGO_PKG_VERSION")), "{page}");
    assert!(page.contains("PKCS12"), "{page}");
    let ca = server.tls_dir.path().join("ca.pem");
    assert!(page.contains(&ca.display().to_string()), "{page}");
}

#[tokio::test]
async fn oversized_header_gets_431() {
    let server = start(Arc::new(Echo::default()), true, Limits::default()).await;
    let big = format!("GET / HTTP/1.1\r\nHost: localhost\r\nX: {}\r\n\r\n", "a".repeat(20_000));
    let answer = raw_https(&server, &big).await;
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
}

#[tokio::test]
async fn client_disconnect_drops_the_running_request() {
    let stuck = Arc::new(Stuck::default());
    let server = start(Arc::clone(&stuck) as Arc<dyn Handler>, true, Limits::default()).await;
    let mut ws = open_portal(&server).await;
    send(&mut ws, r#"{"module":"kz.gov.pki.knca.basics","method":"sign"}"#).await;
    timeout(WAIT, stuck.started.notified()).await.expect("handler started");
    assert!(!stuck.dropped.load(Ordering::SeqCst));
    drop(ws);
    let dropped = async {
        while !stuck.dropped.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    timeout(WAIT, dropped).await.expect("request future dropped");
}

/// A raw WebSocket upgrade request from `origin`.
fn upgrade(origin: &str) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {origin}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
}

#[tokio::test]
async fn connections_over_the_cap_get_503() {
    let limits = Limits { max_connections: 1, ..Limits::default() };
    let server = start(Arc::new(Echo::default()), true, limits).await;
    let _first = open_portal(&server).await;
    let answer = raw_https(&server, &upgrade("https://a.evil.example")).await;
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
}

#[tokio::test]
async fn a_refused_origin_gets_403_before_any_message_is_read() {
    let server = start(Arc::new(Echo::default()), true, Limits::default()).await;
    let mut request = upgrade("http://refused.example").into_bytes();
    // A frame sent without waiting for the answer is never read as a request.
    request.extend_from_slice(&[0x81, 0x84, 0, 0, 0, 0, b'e', b'c', b'h', b'o']);
    let mut stream = tls_stream(&server).await;
    stream.write_all(&request).await.expect("write");
    let mut out = Vec::new();
    let _ = timeout(WAIT, stream.read_to_end(&mut out)).await.expect("in time");
    let answer = String::from_utf8_lossy(&out);
    assert!(answer.starts_with("HTTP/1.1 403 "), "{answer}");
    assert!(!answer.contains("echo"), "{answer}");
    assert!(connect(&server, Some("http://refused.example"), None).await.is_err());
    let _portal = open_portal(&server).await;
}

#[tokio::test]
async fn one_untrusted_site_is_capped_and_others_still_connect() {
    let limits = Limits { max_site_connections: 2, ..Limits::default() };
    let server = start(Arc::new(Echo::default()), true, limits).await;
    let _a = connect(&server, Some("https://a.evil.example"), None).await.expect("first");
    let _b = connect(&server, Some("https://b.evil.example"), None).await.expect("second");
    let answer = raw_https(&server, &upgrade("https://c.evil.example")).await;
    assert!(answer.starts_with("HTTP/1.1 503 "), "one site, however many subdomains: {answer}");
    let mut portal = open_portal(&server).await;
    send(&mut portal, "still").await;
    assert_eq!(next_text(&mut portal).await, "echo:still");
}

#[tokio::test]
async fn a_trusted_origin_takes_the_place_of_the_oldest_idle_untrusted_connection() {
    let limits = Limits { max_connections: 2, ..Limits::default() };
    let server = start(Arc::new(Echo::default()), true, limits).await;
    let mut oldest = connect(&server, Some("https://a.evil.example"), None).await.expect("1");
    let mut newer = connect(&server, Some("https://b.evil.example"), None).await.expect("2");
    let _ = next_text(&mut oldest).await;
    let _ = next_text(&mut newer).await;
    let mut portal = open_portal(&server).await;
    match next_message(&mut oldest).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Again),
        other => panic!("expected close 1013, got {other:?}"),
    }
    send(&mut newer, "kept").await;
    assert_eq!(next_text(&mut newer).await, "echo:kept");
    send(&mut portal, "signs").await;
    assert_eq!(next_text(&mut portal).await, "echo:signs");
}

#[tokio::test]
async fn an_untrusted_message_over_the_sites_memory_share_is_answered_and_a_portals_is_not() {
    let limits = Limits { untrusted_memory: 8192, ..Limits::default() };
    let server = start(Arc::new(Echo::default()), true, limits).await;
    let mut evil = connect(&server, Some("https://a.evil.example"), None).await.expect("open");
    let _ = next_text(&mut evil).await;
    send(&mut evil, &format!("{{\"module\":\"x\",\"pad\":\"{}\"}}", "x".repeat(6000))).await;
    let reply = next_text(&mut evil).await;
    assert!(reply.contains("MESSAGE_TOO_LARGE") && reply.contains("memory budget"), "{reply}");
    send(&mut evil, "small").await;
    assert_eq!(next_text(&mut evil).await, "echo:small", "the connection stays usable");
    let mut portal = open_portal(&server).await;
    let big = "p".repeat(6000);
    send(&mut portal, &big).await;
    assert_eq!(next_text(&mut portal).await, format!("echo:{big}"));
}

#[tokio::test]
async fn oversized_message_is_answered_and_the_connection_survives() {
    let limits = Limits { max_message_size: 1024, ..Limits::default() };
    let server = start(Arc::new(Echo::default()), true, limits).await;
    let mut ws = open_portal(&server).await;
    send(&mut ws, &"x".repeat(1500)).await;
    let reply = next_text(&mut ws).await;
    assert!(reply.contains("MESSAGE_TOO_LARGE") && reply.contains("1500 bytes"), "{reply}");
    send(&mut ws, "after").await;
    assert_eq!(next_text(&mut ws).await, "echo:after");
}

#[tokio::test]
async fn a_message_far_over_the_limit_is_answered_without_being_held() {
    let limits = Limits { max_message_size: 1024, ..Limits::default() };
    let server = start(Arc::new(Echo::default()), true, limits.clone()).await;
    let mut ws = open_portal(&server).await;
    send(&mut ws, &"x".repeat(20 << 20)).await;
    let reply = next_text(&mut ws).await;
    assert!(reply.contains("MESSAGE_TOO_LARGE") && reply.contains("20971520 bytes"), "{reply}");
    assert_eq!(limits.pools().budget.used(), 0, "nothing of it was reserved");
    send(&mut ws, "after").await;
    assert_eq!(next_text(&mut ws).await, "echo:after");
}

#[tokio::test]
async fn binary_frames_ping_and_pong() {
    let server = start(Arc::new(Echo::default()), true, Limits::default()).await;
    let mut ws = open_portal(&server).await;
    ws.send(Message::Binary(b"hi".to_vec())).await.expect("send");
    assert_eq!(next_text(&mut ws).await, "echo:hi");
    ws.send(Message::Binary(vec![0xff, 0xfe])).await.expect("send");
    ws.send(Message::Ping(b"p".to_vec())).await.expect("send");
    assert_eq!(next_message(&mut ws).await, Message::Pong(b"p".to_vec()));
    send(&mut ws, "after").await;
    assert_eq!(next_text(&mut ws).await, "echo:after");
}

#[tokio::test]
async fn plain_ws_mode_works() {
    let server = start(Arc::new(Echo::default()), false, Limits::default()).await;
    let tcp = TcpStream::connect(("127.0.0.1", server.port)).await.expect("connect");
    let url = format!("ws://127.0.0.1:{}", server.port);
    let (mut ws, _) = tokio_tungstenite::client_async(url, tcp).await.expect("handshake");
    assert_eq!(next_text(&mut ws).await, crate::protocol::greeting());
    ws.send(Message::text("a")).await.expect("send");
    assert_eq!(next_text(&mut ws).await, "echo:a");
}

#[tokio::test]
async fn shutdown_closes_connections_with_1001() {
    let mut server = start(Arc::new(Echo::default()), true, Limits::default()).await;
    let mut ws = open_portal(&server).await;
    let _ = server.stop.take().expect("stop").send(());
    match next_message(&mut ws).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected close 1001, got {other:?}"),
    }
    let after = timeout(WAIT, ws.next()).await.expect("closed");
    assert!(after.is_none(), "{after:?}");
    timeout(WAIT, &mut server.task).await.expect("serve returns").expect("no panic");
}

/// Panics on every request.
struct Panics;

impl Handler for Panics {
    fn handle<'a>(
        &'a self,
        _caller: &'a Caller,
        _text: String,
    ) -> Pin<Box<dyn Future<Output = String> + Send + 'a>> {
        Box::pin(async { panic!("handler bug") })
    }
}

#[tokio::test]
async fn failing_handler_closes_with_1011() {
    let server = start(Arc::new(Panics), true, Limits::default()).await;
    let mut ws = open_portal(&server).await;
    send(&mut ws, "x").await;
    match next_message(&mut ws).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Error),
        other => panic!("expected close 1011, got {other:?}"),
    }
}

#[test]
fn dispatcher_is_a_handler() {
    fn assert_handler<H: Handler>() {}
    assert_handler::<Dispatcher>();
}
