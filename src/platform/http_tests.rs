//! Unit tests of the HTTP client against small servers on 127.0.0.1:0, each on a thread of its
//! own: the exact request sent, every body framing, the size cap, statuses and retries,
//! timeouts, proxies and the `no_proxy` rules, and the URLs and answers refused.

use super::*;

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// What a server does with one connection, after reading its request.
type Handler = Box<dyn Fn(&mut TcpStream) + Send>;

/// A server answering its n-th connection with the n-th handler (the last one for any
/// further connection), recording every request it read.
struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(handlers: Vec<Handler>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let request = read_request(&mut stream);
                seen.lock().expect("requests").push(request);
                if let Some(handler) = handlers.get(n).or(handlers.last()) {
                    handler(&mut stream);
                }
            }
        });
        Self { addr, requests, stop, thread: Some(thread) }
    }

    /// A server that answers every connection with `reply`.
    fn replying(reply: &'static [u8]) -> Self {
        Self::start(vec![bytes(reply)])
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<Vec<u8>> {
        self.requests.lock().expect("requests").clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The request head and, by its `Content-Length`, its body.
fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(Duration::from_secs(3))).expect("read timeout");
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
        request.extend_from_slice(&byte);
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Request::new(&mut headers);
    let _ = parsed.parse(&request);
    let length = parsed
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("request body");
    request.extend_from_slice(&body);
    request
}

fn bytes(reply: &'static [u8]) -> Handler {
    Box::new(move |stream| {
        let _ = stream.write_all(reply);
    })
}

/// Waits until the client closes the connection (or 5 s), answering nothing.
fn silent() -> Handler {
    Box::new(|stream| {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = stream.read(&mut [0u8; 64]);
    })
}

fn client(retries: u32) -> HttpClient {
    HttpClient::new(Duration::from_secs(2), retries, ProxyEnv::default())
}

fn text(request: &[u8]) -> String {
    String::from_utf8_lossy(request).into_owned()
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
const UA: &str = concat!("qoltanba/", env!("CARGO_PKG_VERSION"));

#[test]
fn post_sends_exact_request_and_reads_content_length_body() {
    let server = Server::replying(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nanswer!");
    let url = server.url("/tsp?q=1#fragment");
    let body = client(0).post(&url, "application/timestamp-query", b"\x30\x03\x02\x01\x01", 100);
    assert_eq!(body.expect("answer"), b"answer!");
    let expected = format!(
        "POST /tsp?q=1 HTTP/1.1\r\nHost: {}\r\nUser-Agent: {UA}\r\nAccept: */*\r\n\
         Connection: close\r\nContent-Type: application/timestamp-query\r\n\
         Content-Length: 5\r\n\r\n\x30\x03\x02\x01\x01",
        server.addr
    );
    assert_eq!(server.requests(), [expected.into_bytes()]);
}

#[test]
fn get_sends_origin_form_without_content_length() {
    let server = Server::replying(OK);
    assert_eq!(client(0).get(&server.url(""), 100).expect("answer"), b"hello");
    let expected = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nUser-Agent: {UA}\r\nAccept: */*\r\n\
         Connection: close\r\n\r\n",
        server.addr
    );
    assert_eq!(text(&server.requests()[0]), expected);
}

#[test]
fn chunked_body_is_decoded() {
    let server = Server::replying(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n\
          4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\n",
    );
    let body = client(0).get(&server.url("/crl"), 100).expect("answer");
    assert_eq!(body, b"Wikipedia in\r\n\r\nchunks.");
}

#[test]
fn body_without_length_ends_with_the_stream() {
    let server = Server::replying(b"HTTP/1.1 200 OK\r\nServer: t\r\n\r\nuntil the end");
    assert_eq!(client(0).get(&server.url("/"), 100).expect("answer"), b"until the end");
}

#[test]
fn continue_answers_are_skipped() {
    let server = Server::replying(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX-A: 1\r\n\r\n\
          HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    );
    let body = client(0).post(&server.url("/tsp"), "application/ocsp-request", b"q", 100);
    assert_eq!(body.expect("answer"), b"hello");
}

/// Serves `head` then up to 10 MB, 64 KiB a millisecond (so at least 160 ms for it all); counts
/// what it could write before the client hung up.
fn big(head: &'static [u8], chunked: bool, written: Arc<AtomicUsize>) -> Handler {
    Box::new(move |stream| {
        let _ = stream.write_all(head);
        let block = vec![b'x'; 64 * 1024];
        let size = format!("{:x}\r\n", block.len());
        let chunk = [size.as_bytes(), &block[..], b"\r\n"].concat();
        let piece = if chunked { &chunk } else { &block };
        while written.load(Ordering::SeqCst) < 10_000_000 && stream.write_all(piece).is_ok() {
            written.fetch_add(piece.len(), Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(1));
        }
    })
}

#[test]
fn bodies_over_the_cap_are_refused_early() {
    for (head, chunked) in [
        (&b"HTTP/1.1 200 OK\r\n\r\n"[..], false),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n", false),
    ] {
        let written = Arc::new(AtomicUsize::new(0));
        let server = Server::start(vec![big(head, chunked, written.clone())]);
        let answer = client(2).get(&server.url("/big.crl"), 1000);
        let sent_by_then = written.load(Ordering::SeqCst);
        assert!(matches!(answer, Err(FetchError::TooLarge { limit: 1000 })), "{answer:?}");
        assert!(sent_by_then < 5_000_000, "the client waited for {sent_by_then} bytes");
        assert_eq!(server.requests().len(), 1, "an oversized answer is not retried");
        drop(server);
        let sent = written.load(Ordering::SeqCst);
        assert!(sent < 10_000_000, "the server wrote all {sent} bytes");
    }
}

#[test]
fn body_at_the_cap_is_accepted() {
    let server = Server::replying(b"HTTP/1.1 200 OK\r\n\r\nhello");
    assert_eq!(client(0).get(&server.url("/"), 5).expect("answer"), b"hello");
    let server = Server::replying(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    assert_eq!(client(0).get(&server.url("/"), 5).expect("answer"), b"hello");
    assert_eq!(client(0).get(&Server::replying(OK).url("/"), 5).expect("answer"), b"hello");
}

#[test]
fn not_found_is_a_status_and_not_retried() {
    let server = Server::replying(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    let url = server.url("/missing");
    match client(3).get(&url, 100) {
        Err(FetchError::Status { code: 404, url: named }) => assert_eq!(named, url),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn service_unavailable_is_retried() {
    let server = Server::start(vec![
        bytes(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"),
        bytes(OK),
    ]);
    let body = client(1).post(&server.url("/tsp"), "application/timestamp-query", b"q", 100);
    assert_eq!(body.expect("second attempt"), b"hello");
    assert_eq!(server.requests().len(), 2);
    let answer = client(0).get(&server.url("/"), 100);
    assert!(matches!(answer, Ok(ref body) if body == b"hello"), "{answer:?}");
}

#[test]
fn exhausted_retries_report_the_last_status() {
    let server = Server::replying(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    let answer = client(1).get(&server.url("/"), 100);
    assert!(matches!(answer, Err(FetchError::Status { code: 502, .. })), "{answer:?}");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn refused_connection_is_a_connect_error() {
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let answer = client(0).get(&format!("http://127.0.0.1:{port}/"), 100);
    assert!(matches!(answer, Err(FetchError::Connect { ref host, .. }) if host == "127.0.0.1"));
}

#[test]
fn silent_server_times_out_after_the_timeout() {
    let server = Server::start(vec![silent()]);
    let client = HttpClient::new(Duration::from_millis(300), 0, ProxyEnv::default());
    let start = Instant::now();
    let answer = client.get(&server.url("/"), 100);
    let took = start.elapsed();
    assert!(matches!(answer, Err(FetchError::Timeout { .. })), "{answer:?}");
    assert!(took >= Duration::from_millis(280) && took < Duration::from_millis(1000), "{took:?}");
}

#[test]
fn trickling_server_is_stopped_by_the_attempt_cap() {
    let trickle: Handler = Box::new(|stream| {
        let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".iter().chain(&[b'x'; 100]);
        for byte in reply {
            std::thread::sleep(Duration::from_millis(100));
            if stream.write_all(&[*byte]).is_err() {
                break;
            }
        }
    });
    let server = Server::start(vec![trickle]);
    let client = HttpClient::new(Duration::from_millis(200), 0, ProxyEnv::default());
    let start = Instant::now();
    let answer = client.get(&server.url("/"), 1000);
    let took = start.elapsed();
    assert!(matches!(answer, Err(FetchError::Timeout { .. })), "{answer:?}");
    assert!(took >= Duration::from_millis(750) && took < Duration::from_millis(1500), "{took:?}");
}

#[test]
fn proxy_gets_absolute_form_and_credentials() {
    let proxy = Server::replying(OK);
    let value = format!("http://user:p%40ss@{}/", proxy.addr);
    let env = ProxyEnv::from_vars([("http_proxy", value.as_str())]);
    let client = HttpClient::new(Duration::from_secs(2), 0, env);
    let body =
        client.post("http://tsa.example.kz:8080/tsp", "application/timestamp-query", b"q", 9);
    assert_eq!(body.expect("answer"), b"hello");
    let expected = format!(
        "POST http://tsa.example.kz:8080/tsp HTTP/1.1\r\nHost: tsa.example.kz:8080\r\n\
         User-Agent: {UA}\r\nAccept: */*\r\nConnection: close\r\n\
         Proxy-Authorization: Basic dXNlcjpwQHNz\r\n\
         Content-Type: application/timestamp-query\r\nContent-Length: 1\r\n\r\nq"
    );
    assert_eq!(text(&proxy.requests()[0]), expected);
}

#[test]
fn proxy_without_scheme_or_credentials() {
    let proxy = Server::replying(OK);
    let value = proxy.addr.to_string();
    let env = ProxyEnv::from_vars([("HTTP_PROXY", value.as_str())]);
    let client = HttpClient::new(Duration::from_secs(2), 0, env);
    assert_eq!(client.get("http://CRL.example.kz/nca_rsa.crl", 9).expect("answer"), b"hello");
    let request = text(&proxy.requests()[0]);
    assert!(request.starts_with("GET http://crl.example.kz/nca_rsa.crl HTTP/1.1\r\n"), "{request}");
    assert!(request.contains("\r\nHost: crl.example.kz\r\n"), "{request}");
    assert!(!request.contains("Proxy-Authorization"), "{request}");
}

#[test]
fn loopback_goes_direct_despite_a_proxy() {
    let dead = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let value = format!("http://{dead}");
    let env = ProxyEnv::from_vars([("http_proxy", value.as_str()), ("all_proxy", value.as_str())]);
    let server = Server::replying(OK);
    let client = HttpClient::new(Duration::from_secs(2), 0, env);
    assert_eq!(client.get(&server.url("/direct"), 9).expect("answer"), b"hello");
    assert!(text(&server.requests()[0]).starts_with("GET /direct HTTP/1.1\r\n"));
}

fn proxied(env: &ProxyEnv, url: &str) -> Option<(String, u16)> {
    env.proxy_for(url).map(|proxy| (proxy.host().to_owned(), proxy.port()))
}

#[test]
fn no_proxy_rules() {
    let list = "Example.kz, .pki.gov.kz host.kz:8080\t*.wild.kz,[2001:db8::1]:81,,bad:port";
    let env = ProxyEnv::from_vars([("http_proxy", "http://proxy.corp:3128"), ("no_proxy", list)]);
    let via = Some(("proxy.corp".to_owned(), 3128));
    for direct in [
        "http://example.kz/",
        "http://a.b.example.kz/",
        "http://pki.gov.kz/",
        "http://tsp.pki.gov.kz/",
        "http://host.kz:8080/x",
        "http://x.wild.kz/",
        "http://[2001:db8::1]:81/",
        "http://localhost:13579/",
        "http://a.localhost/",
        "http://127.1.2.3/",
        "http://[::1]/",
    ] {
        assert_eq!(proxied(&env, direct), None, "{direct}");
    }
    for proxied_url in [
        "http://notexample.kz/",
        "http://host.kz/",
        "http://wild.kz.evil/",
        "http://[2001:db8::1]/",
    ] {
        assert_eq!(proxied(&env, proxied_url), via, "{proxied_url}");
    }
    let all = ProxyEnv::from_vars([("http_proxy", "proxy.corp:3128"), ("NO_PROXY", " * ")]);
    assert_eq!(proxied(&all, "http://tsp.pki.gov.kz/"), None);
}

#[test]
fn proxy_variables_precedence() {
    let env = |vars: &[(&'static str, &'static str)]| ProxyEnv::from_vars(vars.iter().copied());
    let url = "http://tsp.pki.gov.kz/";
    let one = env(&[("HTTP_PROXY", "http://upper:1"), ("http_proxy", "http://lower:2")]);
    assert_eq!(proxied(&one, url), Some(("lower".into(), 2)));
    let all =
        env(&[("http_proxy", " "), ("ALL_PROXY", "http://all"), ("all_proxy", "http://low:3")]);
    assert_eq!(proxied(&all, url), Some(("low".into(), 3)));
    assert_eq!(proxied(&env(&[("ALL_PROXY", "http://all")]), url), Some(("all".into(), 80)));
    let lists = env(&[("http_proxy", "p:1"), ("NO_PROXY", "other.kz"), ("no_proxy", "gov.kz")]);
    assert_eq!(proxied(&lists, url), None);
    for ignored in ["socks5://s:1080", "https://p:443", "http://", "p:99999", "user@"] {
        assert_eq!(proxied(&env(&[("all_proxy", ignored)]), url), None, "{ignored}");
    }
    assert_eq!(proxied(&ProxyEnv::default(), url), None);
    assert_eq!(proxied(&one, "https://tsp.pki.gov.kz/"), None);
}

#[test]
fn proxy_credentials_are_not_shown() {
    let env = ProxyEnv::from_vars([("http_proxy", "http://me:hunter2@proxy.corp:3128")]);
    let proxy = env.proxy_for("http://tsp.pki.gov.kz/").expect("proxy");
    assert!(proxy.has_credentials());
    for shown in [format!("{env:?}"), format!("{proxy:?}")] {
        assert!(shown.contains("proxy.corp") && !shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("bWU6aHVudGVyMg"), "{shown}");
    }
}

#[test]
fn only_http_is_supported() {
    for url in ["https://tsp.pki.gov.kz/", "HTTPS://test.pki.gov.kz/tsp/", "ftp://crl.kz/a.crl"] {
        let answer = client(0).get(url, 100);
        assert!(matches!(answer, Err(FetchError::Unsupported(ref u)) if u == url), "{answer:?}");
        let answer = client(0).post(url, "application/timestamp-query", b"q", 100);
        assert!(matches!(answer, Err(FetchError::Unsupported(_))), "{answer:?}");
    }
}

#[test]
fn bad_urls_are_refused() {
    for url in [
        "",
        "tsp.pki.gov.kz/",
        "http://",
        "http:///tsp",
        "http://:80/",
        "http://host:99999/",
        "http://host:0/",
        "http://host:8o/",
        "http://host:+80/",
        "http://ho st/",
        "http://host/a b",
        "http://host/\r\nX-Injected: 1",
        "http://user:pw@host/",
        "http://[::1/",
        "http://[not-v6]/",
        "http://::1/",
        "http://exa$mple.kz/",
        "http://tsp.pki.gov.kz/путь",
        "1http://host/",
    ] {
        let answer = client(0).get(url, 100);
        assert!(
            matches!(answer, Err(FetchError::BadUrl(ref u)) if u == url),
            "{url:?}: {answer:?}"
        );
    }
}

#[test]
fn urls_parse_into_host_port_and_target() {
    let parse = |text: &str| Url::parse(text).expect(text);
    let url = parse("HTTP://TSP.PKI.gov.kz");
    assert_eq!((url.host.as_str(), url.port, url.target.as_str()), ("tsp.pki.gov.kz", 80, "/"));
    assert_eq!(url.authority(), "tsp.pki.gov.kz");
    let url = parse("http://test.pki.gov.kz:/tsp/");
    assert_eq!((url.port, url.target.as_str()), (80, "/tsp/"));
    let url = parse("http://h:8080?a=1&b=%20#frag");
    assert_eq!((url.authority().as_str(), url.target.as_str()), ("h:8080", "/?a=1&b=%20"));
    let url = parse("http://[::1]:13579/x");
    assert_eq!((url.host.as_str(), url.authority().as_str()), ("::1", "[::1]:13579"));
}

#[test]
fn bad_content_type_is_refused_before_connecting() {
    for content_type in ["", "text/plain\r\nX-Injected: 1"] {
        let answer = client(0).post("http://127.0.0.1:9/", content_type, b"q", 100);
        assert!(matches!(answer, Err(FetchError::BadRequest(_))), "{answer:?}");
    }
}

#[test]
fn malformed_answers_are_bad_responses_and_not_retried() {
    let long_head: &'static [u8] = [
        &b"HTTP/1.1 200 OK\r\n"[..],
        &b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
            .repeat(1000),
    ]
    .concat()
    .leak();
    for reply in [
        &b"garbage\r\n\r\n"[..],
        b"\x00\x01binary without lines",
        b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Le",
        long_head,
    ] {
        let server = Server::replying(reply);
        let answer = client(2).get(&server.url("/"), 100);
        assert!(matches!(answer, Err(FetchError::BadResponse(_))), "{answer:?}");
        assert_eq!(server.requests().len(), 1);
    }
}

#[test]
fn the_client_is_a_shareable_fetch() {
    fn shared(_: &(dyn Fetch + 'static)) {}
    shared(&client(0));
    let error = FetchError::Status { code: 404, url: "http://crl.kz/a.crl".into() };
    assert_eq!(error.to_string(), "http://crl.kz/a.crl answered HTTP status 404");
}
