//! The native-messaging host (`qoltanba native-host`, docs/extension.md) driven as the browser
//! drives it: the real binary, 4-byte length-prefixed JSON on its stdin and stdout, started with
//! the extension's origin as its argument. It relays to a running daemon or starts one; the
//! journal records the origin of `open`, whatever the page's messages say; large messages
//! travel in pieces under the browsers' limits; bad input ends in a clear `closed`.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{approve, b64, openssl_verify_attached, unb64, Daemon, LEGACY_NOW, RSA_SIGN};

/// The Chromium extension's origin, as Chrome passes it to the host.
pub const EXTENSION: &str = "chrome-extension://laligpnnhopilbfbgnjgjnfnjejjainp/";

/// A basics CMS request for `documents` (base64 in, attached out).
pub fn sign_cms(documents: &[&[u8]]) -> Value {
    let data: Vec<String> = documents.iter().map(|d| b64(d)).collect();
    json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "allowedStorages":["PKCS12"],"format":"cms","data":data,
        "signingParams":{"decode":true},"signerParams":{"extKeyUsageOids":[]},"locale":"ru"}})
}

/// A running `qoltanba native-host`.
pub struct Host {
    child: Child,
    stdin: Option<ChildStdin>,
    frames: mpsc::Receiver<Vec<u8>>,
}

impl Host {
    /// Starts the host with `config` and `data` as a browser would (`caller` as its arguments),
    /// `home` as HOME and the clock pinned for the legacy keys.
    fn start(config: &Path, data: &Path, home: &Path, caller: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_qoltanba"));
        command
            .arg("--config")
            .arg(config)
            .arg("--data-dir")
            .arg(data)
            .arg("native-host")
            .args(caller)
            .env("HOME", home)
            .env("QOLTANBA_TEST_NOW", LEGACY_NOW);
        Self::spawn(command)
    }

    /// Starts `command` (a native host) with pipes to and from it, as the browser does.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start native-host");
        let mut stdout = child.stdout.take().expect("stdout");
        let (sender, frames) = mpsc::channel();
        std::thread::spawn(move || loop {
            let mut prefix = [0u8; 4];
            if stdout.read_exact(&mut prefix).is_err() {
                return;
            }
            let mut frame = vec![0u8; u32::from_ne_bytes(prefix) as usize];
            if stdout.read_exact(&mut frame).is_err() || sender.send(frame).is_err() {
                return;
            }
        });
        Self { stdin: child.stdin.take(), child, frames }
    }

    /// Starts the host for a daemon of the test harness.
    fn for_daemon(daemon: &Daemon) -> Self {
        let home = daemon.dir.path().join("home");
        std::fs::create_dir_all(&home).expect("home");
        Self::start(&daemon.dir.path().join("config.toml"), &daemon.data(), &home, &[EXTENSION])
    }

    fn send_bytes(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).and_then(|()| stdin.flush()).expect("write to the host");
    }

    pub fn send(&mut self, message: &Value) {
        let json = message.to_string();
        let mut bytes = u32::try_from(json.len()).expect("len").to_ne_bytes().to_vec();
        bytes.extend_from_slice(json.as_bytes());
        self.send_bytes(&bytes);
    }

    /// The next frame, parsed; it must fit Chrome's 1 MB limit.
    pub fn recv(&self) -> Value {
        let frame =
            self.frames.recv_timeout(Duration::from_secs(60)).expect("a frame from the host");
        assert!(frame.len() <= 1024 * 1024, "a frame of {} bytes is over 1 MB", frame.len());
        serde_json::from_slice(&frame).expect("the host writes JSON")
    }

    /// The next whole daemon message, joined from its pieces; also how many pieces it took.
    fn message(&self) -> (String, usize) {
        let (mut text, mut count) = (String::new(), 0);
        loop {
            let piece = self.recv();
            assert_eq!(piece["type"], "data", "{piece}");
            text.push_str(piece["text"].as_str().expect("text"));
            count += 1;
            if piece["more"] == false {
                return (text, count);
            }
        }
    }

    /// Sends a page message in pieces of `size` characters.
    fn send_text(&mut self, text: &str, size: usize) {
        let chars: Vec<char> = text.chars().collect();
        let pieces: Vec<String> = chars.chunks(size.max(1)).map(|c| c.iter().collect()).collect();
        let last = pieces.len().saturating_sub(1);
        for (i, piece) in pieces.iter().enumerate() {
            self.send(&json!({"type":"data","text":piece,"more":i < last}));
        }
        if pieces.is_empty() {
            self.send(&json!({"type":"data","text":"","more":false}));
        }
    }

    pub fn call(&mut self, request: &Value) -> Value {
        self.send_text(&request.to_string(), 1 << 18);
        serde_json::from_str(&self.message().0).expect("a JSON reply")
    }

    /// Opens as `origin` and checks the daemon's greeting.
    pub fn open(&mut self, origin: &str) {
        self.send(&json!({"type":"open","origin":origin}));
        assert_eq!(self.recv(), json!({"type":"opened"}));
        assert_eq!(self.message().0, r#"{"result":{"version":"1.4"}}"#);
    }

    /// Waits for the host to exit; its status and stderr.
    pub fn exit(mut self) -> (Option<i32>, String) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut stderr) = self.child.stderr.take() {
                    let _ = stderr.read_to_string(&mut err);
                }
                return (status.code(), err);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("the host did not exit");
    }
}

#[test]
fn the_host_relays_a_page_socket_with_the_origin_the_browser_gave() {
    let daemon = Daemon::start(&[approve(RSA_SIGN)]);
    let mut host = Host::for_daemon(&daemon);
    host.open("https://Portal.Example.KZ");
    host.send(&json!({"type":"data","text":"--heartbeat--","more":false}));
    assert_eq!(host.message().0, "--heartbeat--");
    // A page message cannot name another origin: only `open` carries it.
    host.send(&json!({"type":"data","text":"--heartbeat--","origin":"https://evil.example"}));
    assert_eq!(host.message().0, "--heartbeat--");
    let reply = host.call(&sign_cms(&[b"through the extension"]));
    assert_eq!(reply["status"], true, "{reply}");
    let pem = reply["body"]["result"][0].as_str().expect("CMS");
    let (ok, out) =
        openssl_verify_attached(daemon.dir.path(), &unb64(pem), b"through the extension");
    assert!(ok, "openssl rejected the CMS signed through the host: {out}");
    let journal = daemon.journal();
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(journal[0]["origin"], "https://portal.example.kz");
    let seen = daemon.seen();
    assert_eq!(seen[0]["origin"], "https://portal.example.kz", "the dialog shows it: {seen:?}");
    host.send(&json!({"type":"close","code":1000,"reason":"done"}));
    let closed = host.recv();
    assert_eq!(closed["type"], "closed", "{closed}");
    assert_eq!(closed["code"], 1000);
    assert_eq!(closed["clean"], true);
    assert_eq!(host.exit().0, Some(0));
}

#[test]
fn large_messages_travel_in_pieces_both_ways() {
    let daemon = Daemon::start(&[approve(RSA_SIGN)]);
    let mut host = Host::for_daemon(&daemon);
    host.open("https://portal.test.kz");
    let document: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    host.send_text(&sign_cms(&[&document]).to_string(), 1 << 18);
    let (reply, pieces) = host.message();
    assert!(pieces >= 4, "a 4 MB reply comes in pieces under 1 MB: {pieces}");
    let reply: Value = serde_json::from_str(&reply).expect("JSON");
    let pem = reply["body"]["result"][0].as_str().expect("CMS");
    let (ok, out) = openssl_verify_attached(daemon.dir.path(), &unb64(pem), &document);
    assert!(ok, "openssl rejected the large CMS: {out}");
}

#[test]
fn an_oversized_page_message_gets_the_daemons_answer_and_the_socket_lives() {
    let config = "[server]\nmax_message_bytes = 65536\n";
    let daemon = Daemon::start_with(&[], &[("QOLTANBA_TEST_NOW", LEGACY_NOW)], Some(config));
    let mut host = Host::for_daemon(&daemon);
    host.open("https://portal.test.kz");
    let big = sign_cms(&[&vec![7u8; 200_000]]).to_string();
    host.send_text(&big, 1 << 14);
    let reply: Value = serde_json::from_str(&host.message().0).expect("JSON");
    assert_eq!(reply["success"], false, "{reply}");
    assert_eq!(reply["errorCode"], "MESSAGE_TOO_LARGE", "{reply}");
    assert!(reply.to_string().contains("the limit is 65536 bytes"), "{reply}");
    host.send(&json!({"type":"data","text":"--heartbeat--"}));
    assert_eq!(host.message().0, "--heartbeat--", "the connection survives");
}

#[test]
fn the_host_serves_only_our_extension_and_web_origins() {
    let daemon = Daemon::start(&[]);
    let home = daemon.dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let config = daemon.dir.path().join("config.toml");
    let other = "chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/";
    let (code, err) = Host::start(&config, &daemon.data(), &home, &[other]).exit();
    assert_eq!(code, Some(1));
    assert!(err.contains("serves only the Qoltanba extension"), "{err}");
    let firefox =
        ["/usr/lib/mozilla/native-messaging-hosts/kz.qoltanba.native.json", "qoltanba@qoltanba.kz"];
    let mut host = Host::start(&config, &daemon.data(), &home, &firefox);
    host.open("http://127.0.0.1:8080");
    drop(host);

    for first in [
        json!({"type":"open","origin":"null"}),
        json!({"type":"open","origin":"chrome-extension://laligpnnhopilbfbgnjgjnfnjejjainp"}),
        json!({"type":"open","origin":"file://"}),
        json!({"type":"data","text":"{}"}),
        json!({"origin":"https://egov.kz"}),
    ] {
        let mut host = Host::for_daemon(&daemon);
        host.send(&first);
        let closed = host.recv();
        assert_eq!(closed["type"], "closed", "{first}: {closed}");
        assert_eq!(closed["code"], 1006, "{first}: {closed}");
        assert_eq!(host.exit().0, Some(1), "{first}");
    }
    let mut host = Host::for_daemon(&daemon);
    host.open("https://portal.test.kz");
    host.send(&json!({"type":"open","origin":"https://egov.kz"}));
    let closed = host.recv();
    assert_eq!((closed["code"].as_u64(), closed["clean"].as_bool()), (Some(1006), Some(false)));
    assert!(closed["reason"].as_str().unwrap_or_default().contains("second open"), "{closed}");

    let mut host = Host::for_daemon(&daemon);
    host.open("https://portal.test.kz");
    host.send_bytes(&u32::MAX.to_ne_bytes());
    let closed = host.recv();
    assert_eq!(closed["code"], 1006, "{closed}");
    assert!(closed["reason"].as_str().unwrap_or_default().contains("over the limit"), "{closed}");
    assert!(daemon.journal().is_empty());
}

/// A free loopback port (bound, then let go).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// The processes whose command line names `needle`.
fn processes_naming(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) && cmdline.contains(" run --on-demand") {
            found.push(pid);
        }
    }
    found
}

/// Ends the daemons a test's hosts started (found by their data directory) when dropped.
pub struct Started(pub PathBuf);

impl Drop for Started {
    fn drop(&mut self) {
        for pid in processes_naming(&self.0.display().to_string()) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

/// A place for a daemon that a host starts on demand: `home`, `data`, and `config` (a fixed
/// free `wss://` port, the scripted prompter answering `answers`, the NCA test CAs).
pub struct OnDemand {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub data: PathBuf,
    pub config: PathBuf,
}

impl OnDemand {
    pub fn new(answers: &[Value]) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let (home, data) = (dir.path().join("home"), dir.path().join("data"));
        std::fs::create_dir_all(&home).expect("home");
        let file = dir.path().join("answers.jsonl");
        let lines: String = answers.iter().map(|a| format!("{a}\n")).collect();
        std::fs::write(&file, lines).expect("answers");
        let config = dir.path().join("config.toml");
        let text = format!(
            "[server]\nlisten = [\"wss://127.0.0.1:{}\"]\n[ui]\nmode = \"script:{}\"\n[trust]\nnca_test = true\ninstall_local_ca = false\n",
            free_port(),
            file.display()
        );
        std::fs::write(&config, text).expect("config");
        Self { dir, home, data, config }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_host_starts_the_daemon_once_when_none_runs() {
    let place = OnDemand::new(&[approve(RSA_SIGN), approve(RSA_SIGN)]);
    let (home, data, config) = (&place.home, &place.data, &place.config);
    let _started = Started(data.clone());
    let mut hosts: Vec<Host> =
        (0..2).map(|_| Host::start(config, data, home, &[EXTENSION])).collect();
    for host in &mut hosts {
        host.open("https://portal.test.kz");
    }
    for (i, host) in hosts.iter_mut().enumerate() {
        let document = format!("document {i}");
        let reply = host.call(&sign_cms(&[document.as_bytes()]));
        assert_eq!(reply["status"], true, "{reply}");
    }
    let journal: Vec<Value> = std::fs::read_to_string(data.join("journal.jsonl"))
        .expect("the started daemon's journal")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(journal.len(), 2, "one daemon, one journal: {journal:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while processes_naming(&data.display().to_string()).len() > 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(processes_naming(&data.display().to_string()).len(), 1, "one daemon runs");
    for host in hosts {
        drop(host);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        processes_naming(&data.display().to_string()).len(),
        1,
        "the daemon outlives the hosts"
    );
}

impl Drop for Host {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && !matches!(self.child.try_wait(), Ok(Some(_))) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
