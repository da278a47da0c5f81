//! Test harness: starts the daemon on port 0 with the scripted prompter (`docs/testing.md`) and
//! talks to it as a browser would (TLS trusted through the generated local CA, an `Origin`
//! header). [`Daemon::start`] runs the daemon in-process (`qoltanba::daemon`, the wiring `main`
//! runs, with a pinned clock); [`Daemon::process`] runs the real binary, for the tests whose
//! subject is the process (its memory, hardening, environment, or the Windows build).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

/// The shared NCA fixtures (read-only, never copied into the project).
pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/nca").join(path)
}

/// The legacy RSA signing key of an individual (expired 2021: pin the clock).
pub const RSA_SIGN: &str =
    "legacy-2020/personal/active/RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9.p12";
/// The legacy RSA authentication key of the same individual.
pub const RSA_AUTH: &str =
    "legacy-2020/personal/active/AUTH_RSA256_b2c70a9ff7a5dc59de0ccc3c0ddde3437cc1f12d.p12";
/// The issuing CA of the legacy RSA keys.
pub const RSA_CA: &str = "ncanode-2022/ca/nca_rsa_test.crt";
/// A moment when the legacy keys were valid.
pub const LEGACY_NOW: &str = "2020-06-01T00:00:00Z";
/// The same moment as seconds since the epoch, for `openssl -attime`.
pub const LEGACY_EPOCH: &str = "1590969600";
/// Password of the NCA test keys.
pub const PASSWORD: &str = "Qwerty12";

/// A running daemon in its own temporary data directory.
pub struct Daemon {
    runner: Runner,
    pub dir: tempfile::TempDir,
    pub ws: String,
    pub wss: String,
    pub answers: PathBuf,
}

/// How the daemon runs.
enum Runner {
    /// The `qoltanba` binary (or the Windows one under Wine).
    Process(Child),
    /// `qoltanba::daemon` on its own runtime thread, stopped through `stop`.
    InProcess {
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    },
}

impl Runner {
    fn stop(&mut self) {
        match self {
            Self::Process(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Self::InProcess { stop, thread } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                if let Some(thread) = thread.take() {
                    let _ = thread.join();
                }
            }
        }
    }
}

impl Drop for Daemon {
    /// Stops the daemon, then checks that no password or PIN it was given (every `password`
    /// and `pin` of the answers file, and [`PASSWORD`]) is in any file of its data directory
    /// (log, journal, …): so every integration test also tests that secrets do not leak.
    fn drop(&mut self) {
        self.runner.stop();
        if !std::thread::panicking() {
            let leaks = secret_leaks(&self.data(), &self.secrets());
            assert!(leaks.is_empty(), "secrets in the data directory: {leaks:?}");
        }
    }
}

/// `(file, secret)` for every file under `dir` that contains one of `secrets`. A secret shorter
/// than 8 characters (a PIN like `1234`) is searched for in quotes, as `Debug`, JSON or a
/// `SecretString` leak would show it, so port numbers and times do not match.
pub fn secret_leaks(dir: &Path, secrets: &[String]) -> Vec<(PathBuf, String)> {
    let mut leaks = Vec::new();
    for file in files_under(dir) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap_or_default()).into_owned();
        for secret in secrets {
            let needle =
                if secret.chars().count() >= 8 { secret.clone() } else { format!("\"{secret}\"") };
            if text.contains(&needle) {
                leaks.push((file.clone(), secret.clone()));
            }
        }
    }
    leaks
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// An answer line that approves with a fixture key.
pub fn approve(p12: &str) -> Value {
    serde_json::json!({"approve": true, "store": "PKCS12", "file": fixture(p12), "password": PASSWORD})
}

impl Daemon {
    /// Starts the daemon in-process with the clock pinned to [`LEGACY_NOW`].
    pub fn start(answers: &[Value]) -> Self {
        Self::start_with(answers, &[("QOLTANBA_TEST_NOW", LEGACY_NOW)], None)
    }

    /// Starts the daemon in-process with an optional config file text. `env` says what a
    /// process would take from its environment: `QOLTANBA_TEST_NOW` pins the clock (else it is
    /// the system's), `QOLTANBA_POLICY` names the IT policy file (else there is none),
    /// `QOLTANBA_LOG` sets the log level. Anything else needs [`Self::process`].
    pub fn start_with(answers: &[Value], env: &[(&str, &str)], config: Option<&str>) -> Self {
        let dir = prepare(answers, config);
        let mut clock = qoltanba::platform::clock::Clock::system();
        let (mut policy, mut level) = (qoltanba::config::Policy::default(), "info");
        for &(key, value) in env {
            match key {
                "QOLTANBA_TEST_NOW" => {
                    clock = qoltanba::platform::clock::Clock::parse(value).expect("RFC 3339 time")
                }
                "QOLTANBA_POLICY" => {
                    policy = qoltanba::config::Policy::load(Path::new(value)).expect("IT policy")
                }
                "QOLTANBA_LOG" => level = value,
                other => panic!("{other} is process environment: use Daemon::process"),
            }
        }
        let data = dir.path().join("data");
        let paths = qoltanba::platform::paths::Paths::resolve(Some(&data)).expect("paths");
        let mut settings = qoltanba::config::Settings::load(&dir.path().join("config.toml"), false)
            .expect("config");
        // In-process, HOME is the test machine's: the local CA is never added to its stores.
        settings.trust.install_local_ca = false;
        // One subscriber per process (nextest runs each test in its own): later ones log nowhere.
        let _ = qoltanba::daemon::logging::init(&paths, level);
        let answers_path = dir.path().join("answers.jsonl");
        let parts = qoltanba::daemon::Parts::assemble(qoltanba::daemon::Setup {
            paths: &paths,
            settings: &settings,
            it: &policy,
            prompter: Arc::new(qoltanba::ui::script::ScriptPrompter::new(&answers_path)),
            clock,
            refusals: None,
        })
        .expect("daemon parts");
        let (ready, urls) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || serve_in_process(parts, ready, stopped));
        let urls = urls.recv().expect("daemon thread").expect("daemon starts");
        let [ws, wss] = <[String; 2]>::try_from(urls).expect("two listeners");
        let runner = Runner::InProcess { stop: Some(stop), thread: Some(thread) };
        Self { runner, dir, ws, wss, answers: answers_path }
    }

    /// Starts this build's `qoltanba` binary, with extra environment and an optional config.
    /// Its `HOME` is an empty directory of its own (unless `env` names one), so nothing it does
    /// for the user (trust stores) touches the machine's.
    pub fn process(answers: &[Value], env: &[(&str, &str)], config: Option<&str>) -> Self {
        let command = Command::new(env!("CARGO_BIN_EXE_qoltanba"));
        Self::start_program(command, answers, env, config)
    }

    /// Starts `program` (this build's binary, or the Windows one under Wine) as the daemon.
    pub fn start_program(
        mut command: Command,
        answers: &[Value],
        env: &[(&str, &str)],
        config: Option<&str>,
    ) -> Self {
        let dir = prepare(answers, config);
        let answers_path = dir.path().join("answers.jsonl");
        let data = dir.path().join("data");
        let native = command.get_program() == env!("CARGO_BIN_EXE_qoltanba");
        if native && !env.iter().any(|(key, _)| *key == "HOME") {
            command.env("HOME", dir.path().join("home"));
        }
        command
            .args(["run", "--listen", "ws://127.0.0.1:0", "--listen", "wss://127.0.0.1:0"])
            .arg("--ui")
            .arg(format!("script:{}", answers_path.display()))
            .arg("--data-dir")
            .arg(&data)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command.arg("--config").arg(dir.path().join("config.toml"));
        let child = command.spawn().expect("start qoltanba");
        let (ws, wss) = wait_listening(&data.join("listening"));
        Self { runner: Runner::Process(child), dir, ws, wss, answers: answers_path }
    }

    /// Stops a daemon started with [`Self::process`] as the session or systemd does (SIGTERM),
    /// and returns how it exited.
    #[cfg(unix)]
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let Runner::Process(child) = &mut self.runner else {
            panic!("an in-process daemon has no process: use Daemon::process")
        };
        let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM");
        child.wait().expect("the daemon exits")
    }

    /// The daemon's process id (a daemon started with [`Self::process`]).
    pub fn pid(&self) -> u32 {
        match &self.runner {
            Runner::Process(child) => child.id(),
            Runner::InProcess { .. } => {
                panic!("an in-process daemon has no process: use Daemon::process")
            }
        }
    }

    /// A `kB` field of the daemon's `/proc/<pid>/status` (`VmLck`: memory locked against swap).
    #[cfg(target_os = "linux")]
    pub fn status_kb(&self, field: &str) -> u64 {
        let path = format!("/proc/{}/status", self.pid());
        let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {path}: {status}"))
    }

    /// The soft and hard core-file size limits of the daemon, from `/proc/<pid>/limits`.
    #[cfg(target_os = "linux")]
    pub fn core_limits(&self) -> (String, String) {
        let path = format!("/proc/{}/limits", self.pid());
        let limits = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let line = limits.lines().find_map(|l| l.strip_prefix("Max core file size"));
        let mut values = line.unwrap_or_else(|| panic!("{limits}")).split_whitespace();
        let mut next = || values.next().unwrap_or_default().to_string();
        (next(), next())
    }

    /// The data directory.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Every password and PIN of the answers file, and [`PASSWORD`].
    pub fn secrets(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.answers).unwrap_or_default();
        let mut secrets = vec![PASSWORD.to_string()];
        for line in text.lines() {
            let answer: Value = serde_json::from_str(line).unwrap_or_default();
            for key in ["password", "pin"] {
                if let Some(secret) = answer[key].as_str().filter(|s| !s.is_empty()) {
                    secrets.push(secret.to_string());
                }
            }
        }
        secrets
    }

    /// The journal lines written so far.
    pub fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(self.data().join("journal.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
            .collect()
    }

    /// Appends an answer line while the daemon runs.
    pub fn answer(&self, answer: &Value) {
        use std::io::Write as _;
        let mut file =
            std::fs::OpenOptions::new().append(true).open(&self.answers).expect("answers");
        writeln!(file, "{answer}").expect("append answer");
    }

    /// The prompts the daemon showed so far.
    pub fn seen(&self) -> Vec<Value> {
        let path = self.dir.path().join("answers.jsonl.seen");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("seen line is JSON"))
            .collect()
    }

    /// A plain-ws client with this Origin.
    pub async fn client(&self, origin: Option<&str>) -> Client {
        Client::connect(&self.ws, origin, None).await
    }

    /// The HTTP status of a WebSocket handshake from `origin` (101 when it opened).
    pub async fn handshake_status(&self, origin: Option<&str>) -> u16 {
        use tokio_tungstenite::tungstenite::{client::IntoClientRequest as _, Error};
        let mut request = self.ws.as_str().into_client_request().expect("url");
        if let Some(origin) = origin {
            request.headers_mut().insert("Origin", origin.parse().expect("origin header"));
        }
        let address = self.ws.split("://").nth(1).expect("address").trim_end_matches('/');
        let tcp = tokio::net::TcpStream::connect(address).await.expect("connect");
        match tokio_tungstenite::client_async(request, tcp).await {
            Ok((_, response)) => response.status().as_u16(),
            Err(Error::Http(response)) => response.status().as_u16(),
            Err(e) => panic!("handshake failed without an HTTP answer: {e}"),
        }
    }

    /// A TLS client trusting only the daemon's local CA.
    pub async fn tls_client(&self, origin: Option<&str>) -> Client {
        Client::connect(&self.wss, origin, Some(&self.data().join("tls/ca.pem"))).await
    }
}

/// A temporary directory with the answers file and `config.toml`: the test's config, which
/// trusts the NCA's test CAs (the fixture keys are test keys) unless it has a `[trust]` table.
fn prepare(answers: &[Value], config: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let text: String = answers.iter().map(|a| format!("{a}\n")).collect();
    std::fs::write(dir.path().join("answers.jsonl"), text).expect("write answers");
    let config = config.unwrap_or_default();
    let trust = match config.contains("[trust]") {
        true => "",
        false => "\n[trust]\nnca_test = true\ninstall_local_ca = false\n",
    };
    std::fs::write(dir.path().join("config.toml"), format!("{config}{trust}")).expect("config");
    dir
}

/// The in-process daemon's thread: its own runtime (so the test's runtime may block), the plain
/// and TLS listeners on port 0, serving until `stopped`.
fn serve_in_process(
    parts: qoltanba::daemon::Parts,
    ready: std::sync::mpsc::Sender<Result<Vec<String>, String>>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    use qoltanba::transport::Listen;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let listens =
            ["ws://127.0.0.1:0", "wss://127.0.0.1:0"].map(|u| Listen::parse(u).expect("url"));
        match qoltanba::daemon::start(listens.into(), &parts).await {
            Ok(running) => {
                let _ = ready.send(Ok(running.urls().to_vec()));
                let _ = stopped.await;
                running.stop().await;
            }
            Err(e) => {
                let _ = ready.send(Err(e.to_string()));
            }
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(5));
}

fn wait_listening(path: &Path) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let urls: Vec<&str> =
            text.lines().filter_map(|l| l.strip_prefix("listening on ")).collect();
        if let [ws, wss] = urls[..] {
            return (ws.to_string(), wss.to_string());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the daemon did not report its addresses in {}", path.display());
}

type Stream = tokio_tungstenite::WebSocketStream<Box<dyn AsyncStream>>;

/// A stream a WebSocket can run over (plain TCP or TLS).
pub trait AsyncStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> AsyncStream for T {}

/// A WebSocket client speaking to the daemon.
pub struct Client {
    stream: Stream,
    /// The greeting received on open.
    pub greeting: String,
}

impl Client {
    /// Connects, optionally over TLS trusting `ca`, and reads the greeting.
    pub async fn connect(url: &str, origin: Option<&str>, ca: Option<&Path>) -> Self {
        let mut request = url.into_client_request().expect("url");
        if let Some(origin) = origin {
            request.headers_mut().insert("Origin", origin.parse().expect("origin header"));
        }
        let address = url.split("://").nth(1).expect("address").trim_end_matches('/');
        let tcp = tokio::net::TcpStream::connect(address).await.expect("connect");
        let io: Box<dyn AsyncStream> = match ca {
            None => Box::new(tcp),
            Some(ca) => Box::new(tls_connect(tcp, ca).await),
        };
        let (mut stream, _) =
            tokio_tungstenite::client_async(request, io).await.expect("handshake");
        let greeting = next_text(&mut stream).await.expect("greeting");
        Self { stream, greeting }
    }

    /// Sends a text frame.
    pub async fn send(&mut self, text: &str) {
        self.stream.send(Message::text(text)).await.expect("send");
    }

    /// Sends a request and returns the reply text.
    pub async fn call(&mut self, text: &str) -> String {
        self.send(text).await;
        self.recv().await.expect("a reply")
    }

    /// Sends a JSON request and parses the reply.
    pub async fn call_json(&mut self, request: &Value) -> Value {
        let reply = self.call(&request.to_string()).await;
        serde_json::from_str(&reply).unwrap_or_else(|e| panic!("reply is not JSON ({e}): {reply}"))
    }

    /// The next text frame (`None` when the connection closed).
    pub async fn recv(&mut self) -> Option<String> {
        tokio::time::timeout(Duration::from_secs(60), next_text(&mut self.stream))
            .await
            .expect("reply in time")
    }

    /// Closes the connection.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

async fn next_text(stream: &mut Stream) -> Option<String> {
    while let Some(message) = stream.next().await {
        match message.ok()? {
            Message::Text(text) => return Some(text.to_string()),
            Message::Close(_) => return None,
            _ => continue,
        }
    }
    None
}

async fn tls_connect(tcp: tokio::net::TcpStream, ca: &Path) -> impl AsyncStream {
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca).expect("ca.pem");
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.expect("ca cert")).expect("add root");
    }
    let config =
        rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
    connector.connect(name, tcp).await.expect("TLS handshake with the local CA")
}

/// Base64 (standard alphabet).
pub fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decodes base64, ignoring PEM armour and line breaks.
pub fn unb64(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(body.trim()).expect("base64")
}

/// Runs a command; returns (success, stdout+stderr).
pub fn run(program: &str, args: &[&str]) -> (bool, String) {
    let output =
        Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Verifies a detached DER CMS over `content` with `openssl cms -verify`, chaining to the legacy
/// RSA CA at [`LEGACY_EPOCH`]. Returns (ok, output).
pub fn openssl_verify_detached(dir: &Path, cms: &[u8], content: &[u8]) -> (bool, String) {
    let content_path = dir.join(format!("content-{}.bin", rand_suffix()));
    std::fs::write(&content_path, content).expect("write content");
    let content_path = content_path.to_str().expect("path");
    openssl_cms_verify(dir, cms, &["-content", content_path, "-out", "/dev/null"])
}

/// Verifies an attached DER CMS as [`openssl_verify_detached`] does, and that the content
/// openssl takes out of it is exactly `document`: a signature over other bytes, or none, fails.
pub fn openssl_verify_attached(dir: &Path, cms: &[u8], document: &[u8]) -> (bool, String) {
    let out_path = dir.join(format!("extracted-{}.bin", rand_suffix()));
    let (ok, text) = openssl_cms_verify(dir, cms, &["-out", out_path.to_str().expect("path")]);
    if !ok {
        return (false, text);
    }
    let inside = std::fs::read(&out_path).unwrap_or_default();
    if inside != document {
        let (got, want) = (String::from_utf8_lossy(&inside), String::from_utf8_lossy(document));
        return (false, format!("the CMS holds {got:?}, not the signed document {want:?}: {text}"));
    }
    (true, text)
}

/// `openssl cms -verify -binary` of `cms` with the legacy RSA CA and `extra` options.
pub fn openssl_cms_verify(dir: &Path, cms: &[u8], extra: &[&str]) -> (bool, String) {
    let cms_path = dir.join(format!("sig-{}.der", rand_suffix()));
    std::fs::write(&cms_path, cms).expect("write cms");
    let ca = fixture(RSA_CA);
    let mut args = vec![
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        cms_path.to_str().expect("path"),
        "-CAfile",
        ca.to_str().expect("path"),
        "-partial_chain",
        "-attime",
        LEGACY_EPOCH,
        "-purpose",
        "any",
    ];
    args.extend_from_slice(extra);
    run("openssl", &args)
}

/// Verifies signed XML with `xmlsec1 --verify --insecure`: the signature is checked with the key
/// of the embedded certificate; the chain is not (xmlsec1 cannot stop at the NCA's intermediate
/// test CA, whose root is not public). `extra` adds options such as `--id-attr:Id data`.
pub fn xmlsec_verify_with(dir: &Path, xml: &str, extra: &[&str]) -> (bool, String) {
    let path = dir.join(format!("signed-{}.xml", rand_suffix()));
    std::fs::write(&path, xml).expect("write xml");
    let mut args = vec!["--verify", "--insecure"];
    args.extend_from_slice(extra);
    args.push(path.to_str().expect("path"));
    run("xmlsec1", &args)
}

/// [`xmlsec_verify_with`] without extra options.
pub fn xmlsec_verify(dir: &Path, xml: &str) -> (bool, String) {
    xmlsec_verify_with(dir, xml, &[])
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}
