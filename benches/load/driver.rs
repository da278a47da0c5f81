//! The load driver (issue 15): drives the real `qoltanba` daemon over its WebSocket API with the
//! scripted prompter, as portals do, and measures what users feel: batch rates, the time from a
//! large request to its reply, the daemon's memory, single-sign latency, connections held with
//! heartbeats, start-up. Shared by the full mode (`cargo bench --features test-support --bench
//! load`, `benches/load/main.rs`, which adds the references) and the short mode in the tests
//! (`tests/it/load.rs`, which verifies the signatures and never judges speed).

#![allow(dead_code)] // each of the two users takes what it needs

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// The origin the load comes from: a built-in portal, trusted (no new-site limits).
pub const ORIGIN: &str = "https://egov.kz";

/// Password of the NCA test keys.
pub const PASSWORD: &str = "Qwerty12";

/// The NCA's RSA-2048 legacy key, valid at [`RSA_NOW`].
pub const RSA_KEY: &str =
    "legacy-2020/personal/active/RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9.p12";
/// A moment the legacy RSA key was valid.
pub const RSA_NOW: &str = "2020-06-01T00:00:00Z";
/// The NCA's GOST-2015-512 key of an individual, valid at [`GOST_NOW`].
pub const GOST_KEY: &str = "gost2015-2026/individual/valid/individual_valid.p12";
/// A moment the 2026 GOST keys were valid.
pub const GOST_NOW: &str = "2026-11-01T00:00:00Z";

/// The shared NCA fixtures.
pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/nca").join(path)
}

/// A scripted approval with `key`.
pub fn approve(key: &str) -> Value {
    json!({"approve": true, "store": "PKCS12", "file": fixture(key), "password": PASSWORD})
}

/// A daemon process with the scripted prompter, listening on `ws://127.0.0.1:0`.
pub struct Daemon {
    child: Child,
    /// Its directory: config, answers, data.
    pub dir: tempfile::TempDir,
    /// `ws://127.0.0.1:PORT`.
    pub url: String,
    /// From spawn to the `listening` file naming the bound port.
    pub startup: Duration,
}

impl Daemon {
    /// Starts `exe run` with the clock at `now`, `answers` for its prompts and `config` added
    /// to the test config; with a raised open-files limit for the connection figure.
    pub fn start(exe: &Path, now: &str, answers: &[Value], config: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let lines: String = answers.iter().map(|a| format!("{a}\n")).collect();
        std::fs::write(dir.path().join("answers.jsonl"), lines).expect("answers");
        let text = format!("{config}\n[trust]\nnca_test = true\ninstall_local_ca = false\n");
        std::fs::write(dir.path().join("config.toml"), text).expect("config");
        let data = dir.path().join("data");
        let started = Instant::now();
        // LOAD_WRAPPER runs the daemon under a profiler, e.g. `valgrind --tool=callgrind`.
        let wrapper = std::env::var("LOAD_WRAPPER").unwrap_or_default();
        let child = Command::new("sh")
            .arg("-c")
            .arg("ulimit -n 4096 2>/dev/null || ulimit -n \"$(ulimit -Hn)\"; exec $LOAD_WRAPPER \"$@\"")
            .arg("sh")
            .arg(exe)
            .env("LOAD_WRAPPER", wrapper)
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .arg("--data-dir")
            .arg(&data)
            .args(["run", "--listen", "ws://127.0.0.1:0", "--ui"])
            .arg(format!("script:{}", dir.path().join("answers.jsonl").display()))
            .env("QOLTANBA_TEST_NOW", now)
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start qoltanba");
        let url = wait_listening(&data.join("listening"));
        Self { child, dir, url, startup: started.elapsed() }
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmHWM`), in KiB.
    pub fn status_kib(&self, field: &str) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("/proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Resets the peak RSS (`VmHWM`) to the current RSS (Linux `clear_refs` 5).
    pub fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }

    /// The journal lines (one per request).
    pub fn journal(&self) -> usize {
        let text = std::fs::read_to_string(self.dir.path().join("data/journal.jsonl"));
        text.map(|t| t.lines().count()).unwrap_or(0)
    }
}

impl Drop for Daemon {
    /// SIGTERM first, so a daemon (or a profiler wrapping it) shuts down and writes what it
    /// has; SIGKILL after 5 s.
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_listening(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(url) = text.lines().find_map(|l| l.strip_prefix("listening on ")) {
            return url.to_string();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("the daemon did not listen");
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A client of the daemon, as the portal's page.
pub struct Client {
    ws: Ws,
}

impl Client {
    /// Connects from [`ORIGIN`] and reads the greeting.
    pub async fn connect(url: &str) -> Self {
        let mut request = url.into_client_request().expect("url");
        request.headers_mut().insert("Origin", ORIGIN.parse().expect("origin"));
        let address = url.trim_start_matches("ws://").trim_end_matches('/');
        let tcp = tokio::net::TcpStream::connect(address).await.expect("connect");
        let config =
            WebSocketConfig { max_message_size: None, max_frame_size: None, ..Default::default() };
        let (ws, _) = tokio_tungstenite::client_async_with_config(request, tcp, Some(config))
            .await
            .expect("handshake");
        let mut client = Self { ws };
        let greeting = client.recv().await;
        assert!(greeting.contains("version"), "{greeting}");
        client
    }

    async fn recv(&mut self) -> String {
        loop {
            match self.ws.next().await.expect("open").expect("frame") {
                Message::Text(text) => return text,
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => {}
            }
        }
    }

    /// Sends `text` and returns the reply text.
    pub async fn call_text(&mut self, text: String) -> String {
        self.ws.send(Message::Text(text)).await.expect("send");
        self.recv().await
    }

    /// Sends a request and returns the reply.
    pub async fn call(&mut self, request: &Value) -> Value {
        let text = self.call_text(request.to_string()).await;
        serde_json::from_str(&text).expect("JSON reply")
    }

    /// A heartbeat and its echo.
    pub async fn heartbeat(&mut self) -> bool {
        self.call_text("--heartbeat--".into()).await == "--heartbeat--"
    }
}

/// A basics `sign` request.
pub fn sign_request(format: &str, data: Value, signing: Value) -> Value {
    json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "allowedStorages":["PKCS12"],"format":format,"data":data,
        "signingParams":signing,"signerParams":{"extKeyUsageOids":[]},"locale":"ru"}})
}

/// `n` small documents, each different: `invoice N ...` (about 100 bytes).
pub fn small_documents(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            format!("invoice {i:06}: ESF line items, amounts and VAT, {}", "x".repeat(40))
                .into_bytes()
        })
        .collect()
}

/// Base64 (standard).
pub fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// The signatures of a basics reply (`body.result`), as text.
pub fn results(reply: &Value) -> Vec<String> {
    let result = reply["body"]["result"].as_array().unwrap_or_else(|| panic!("no result: {reply}"));
    result.iter().map(|v| v.as_str().expect("a signature").to_string()).collect()
}

/// A CMS batch of `documents` in one request (one approval): the elapsed time and the
/// signatures (PEM).
pub async fn cms_batch(client: &mut Client, documents: &[Vec<u8>]) -> (Duration, Vec<String>) {
    let data: Vec<String> = documents.iter().map(|d| b64(d)).collect();
    let request = sign_request("cms", json!(data), json!({"decode": true}));
    let started = Instant::now();
    let reply = client.call(&request).await;
    let elapsed = started.elapsed();
    let signatures = results(&reply);
    assert_eq!(signatures.len(), documents.len(), "one signature per document");
    (elapsed, signatures)
}

/// An XML batch of `n` invoices in one request: the elapsed time and the signed documents.
pub async fn xml_batch(client: &mut Client, n: usize) -> (Duration, Vec<String>) {
    let texts: Vec<String> = (0..n)
        .map(|i| format!("<invoice><number>{i}</number><sum>100.00</sum></invoice>"))
        .collect();
    let request = sign_request("xml", json!(texts), json!({}));
    let started = Instant::now();
    let reply = client.call(&request).await;
    let elapsed = started.elapsed();
    let signed = results(&reply);
    assert_eq!(signed.len(), n);
    (elapsed, signed)
}

/// One large document, detached CMS (`decode: true`): the message size, the time from sending
/// the request to its reply, and the signature.
pub async fn large_document(client: &mut Client, document: &[u8]) -> (usize, Duration, String) {
    let request =
        sign_request("cms", json!([b64(document)]), json!({"decode": true, "encapsulate": false}));
    let text = request.to_string();
    let size = text.len();
    let started = Instant::now();
    let reply = client.call_text(text).await;
    let elapsed = started.elapsed();
    let reply: Value = serde_json::from_str(&reply).expect("JSON");
    (size, elapsed, results(&reply).remove(0))
}

/// `n` single signatures, one request and one approval each: each one's time.
pub async fn single_signs(client: &mut Client, n: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let document = format!("single {i}");
        let request =
            sign_request("cms", json!([b64(document.as_bytes())]), json!({"decode": true}));
        let started = Instant::now();
        let reply = client.call(&request).await;
        times.push(started.elapsed());
        assert_eq!(results(&reply).len(), 1);
    }
    times
}

/// Opens `n` connections and sends a heartbeat on each, `rounds` times: how many answered
/// every round.
pub async fn held_connections(url: &str, n: usize, rounds: usize) -> usize {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(Client::connect(url).await);
    }
    let mut alive = vec![true; n];
    for _ in 0..rounds {
        let beats = clients.iter_mut().map(|c| c.heartbeat());
        let answered = futures_util::future::join_all(beats).await;
        for (ok, was) in answered.into_iter().zip(alive.iter_mut()) {
            *was &= ok;
        }
    }
    alive.iter().filter(|a| **a).count()
}

/// The value at quantile `q` (0..=1) of `times`.
pub fn quantile(times: &[Duration], q: f64) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}
