//! The desktop under Xvfb (started here; `.ci/test.sh` installs Xvfb, xdotool, ImageMagick and
//! trayer): the daemon with `--ui gui` opens the real dialog, xdotool types the password and
//! presses the buttons, the client gets a signature that xmlsec1 verifies, or the cancel reply.
//! Screenshots go to `target/gui-screenshots/`. The dialog reports what it drew through the
//! test hook `QOLTANBA_TEST_DIALOG_LOG` (docs/testing.md).

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{fixture, xmlsec_verify, Client, LEGACY_NOW, PASSWORD, RSA_SIGN};

const XML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<invoice>\n  <number>ЭСФ-2020/0001</number>\n  <seller bin=\"123456789012\">ТОО «Пример»</seller>\n  <total currency=\"KZT\">150000.00</total>\n</invoice>";

/// A private X server on a display it picked itself.
pub struct Xvfb {
    child: Child,
    /// `:N`.
    pub display: String,
}

impl Xvfb {
    /// Starts Xvfb and waits until it reports its display; `None` (a visible skip, or a failure
    /// under `QOLTANBA_REQUIRE_ORACLES`) without Xvfb, xdotool or ImageMagick's `import`.
    pub fn start() -> Option<Self> {
        let found = ["Xvfb", "xdotool", "import"].iter().all(|t| crate::skip::on_path(t));
        if !crate::skip::needs("Xvfb, xdotool and ImageMagick (import)", found) {
            return None;
        }
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (installed by .ci/test.sh)");
        let stdout = child.stdout.take().expect("Xvfb stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).expect("Xvfb display number");
        let display = format!(":{}", line.trim());
        assert!(display.len() > 1, "Xvfb reported no display");
        Some(Self { child, display })
    }

    /// Runs a program on this display; returns (success, stdout).
    pub fn run(&self, program: &str, args: &[&str]) -> (bool, String) {
        let output = Command::new(program)
            .args(args)
            .env("DISPLAY", &self.display)
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        (output.status.success(), String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// Starts a background program on this display.
    pub fn spawn(&self, program: &str, args: &[&str]) -> Child {
        Command::new(program)
            .args(args)
            .env("DISPLAY", &self.display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{program}: {e}"))
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The daemon with `--ui gui` on an Xvfb display.
pub struct GuiDaemon {
    child: Child,
    pub dir: tempfile::TempDir,
    pub ws: String,
}

impl Drop for GuiDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl GuiDaemon {
    /// Starts it with a copy of the fixture key in its own `HOME` remembered as the last used
    /// file.
    pub fn start(x: &Xvfb) -> Self {
        Self::start_with(x, &[], None)
    }

    /// Starts it with extra environment and a config file (which trusts the NCA's test CAs,
    /// as the fixture keys need, unless it has its own `[trust]`).
    pub fn start_with(x: &Xvfb, env: &[(&str, &str)], config: Option<&str>) -> Self {
        Self::start_seeded(x, env, config, &[])
    }

    /// Starts it with extra files written into the data directory first.
    pub fn start_seeded(
        x: &Xvfb,
        env: &[(&str, &str)],
        config: Option<&str>,
        files: &[(&str, String)],
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        for (name, text) in files {
            std::fs::write(data.join(name), text).expect("seed file");
        }
        let home = dir.path().join("home");
        let key = home_key(&home);
        let memory = json!({"origins": [], "recent": [key]});
        std::fs::write(data.join("desktop.json"), memory.to_string()).expect("desktop.json");
        let child = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
            .args(["run", "--listen", "ws://127.0.0.1:0", "--ui", "gui", "--data-dir"])
            .arg(&data)
            .env("HOME", &home)
            .env("DISPLAY", &x.display)
            .env("QOLTANBA_TEST_NOW", LEGACY_NOW)
            .env("QOLTANBA_TEST_DIALOG_LOG", dir.path().join("dialog.jsonl"))
            .env("QOLTANBA_NOTIFY_LOG", dir.path().join("notify.jsonl"))
            .env("LANG", "en_US.UTF-8")
            .env_remove("WAYLAND_DISPLAY")
            .envs(env.iter().copied())
            .arg("--config")
            .arg(trusting_test_cas(dir.path(), config))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start qoltanba");
        let ws = wait_for(Duration::from_secs(30), "the listening file", || {
            let text = std::fs::read_to_string(data.join("listening")).ok()?;
            text.lines().find_map(|l| l.strip_prefix("listening on ")).map(str::to_string)
        });
        Self { child, dir, ws }
    }

    /// The `n`-th dialog's record (0-based), waiting for it.
    pub fn dialog(&self, n: usize) -> Value {
        let path = self.dir.path().join("dialog.jsonl");
        wait_for(Duration::from_secs(60), "the dialog", || {
            let text = std::fs::read_to_string(&path).ok()?;
            text.lines().nth(n).and_then(|l| serde_json::from_str(l).ok())
        })
    }

    /// Whether the daemon is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// A copy of the fixture key in `home/keys/`, as a person keeps one: the dialog shows it as
/// `~/keys/…`, so the screenshots (docs/img/) name no machine path.
fn home_key(home: &Path) -> PathBuf {
    let fixture = fixture(RSA_SIGN);
    let keys = home.join("keys");
    std::fs::create_dir_all(&keys).expect("keys dir");
    let key = keys.join(fixture.file_name().expect("file name"));
    std::fs::copy(&fixture, &key).expect("copy the fixture key");
    key
}

/// Polls `probe` every 100 ms until it gives a value; panics after `limit`.
pub fn wait_for<T>(limit: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The dialog window's id, found by its title as a person's tools would.
fn window(x: &Xvfb) -> String {
    wait_for(Duration::from_secs(30), "a window named Qoltanba", || {
        let (ok, out) = x.run("xdotool", &["search", "--onlyvisible", "--name", "Qoltanba"]);
        ok.then(|| out.lines().last().map(str::to_string)).flatten()
    })
}

fn click(x: &Xvfb, id: &str, spot: &Value) {
    let (px, py) = (spot[0].as_f64().expect("x"), spot[1].as_f64().expect("y"));
    let (px, py) = (format!("{px}"), format!("{py}"));
    let (ok, _) = x.run("xdotool", &["mousemove", "--window", id, &px, &py, "click", "1"]);
    assert!(ok, "xdotool click");
}

fn type_text(x: &Xvfb, id: &str, text: &str) {
    let _ = x.run("xdotool", &["windowfocus", "--sync", id]);
    let (ok, _) = x.run("xdotool", &["type", "--delay", "30", text]);
    assert!(ok, "xdotool type");
}

fn key(x: &Xvfb, id: &str, name: &str) {
    let _ = x.run("xdotool", &["windowfocus", "--sync", id]);
    let (ok, _) = x.run("xdotool", &["key", name]);
    assert!(ok, "xdotool key {name}");
}

/// Saves a screenshot of window `id` and checks it is a real, non-empty PNG.
fn screenshot(x: &Xvfb, id: &str, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/gui-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let path = dir.join(name);
    std::thread::sleep(Duration::from_millis(400));
    let (ok, _) = x.run("import", &["-window", id, path.to_str().expect("path")]);
    assert!(ok, "ImageMagick import");
    let bytes = std::fs::read(&path).expect("screenshot written");
    assert!(bytes.len() > 2000 && bytes.starts_with(b"\x89PNG"), "{name} is a non-empty PNG");
    path
}

fn sign_xml() -> Value {
    json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "format":"xml","data":XML,"signingParams":{},"signerParams":{"extKeyUsageOids":[]},
        "locale":"en"}})
}

/// Sends `request` from a client with `origin` on a runtime thread; the reply arrives later.
fn call(ws: &str, origin: &str, request: Value) -> std::thread::JoinHandle<Value> {
    let (ws, origin) = (ws.to_string(), origin.to_string());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            let mut client = Client::connect(&ws, Some(&origin), None).await;
            client.call_json(&request).await
        })
    })
}

#[test]
fn gui_wrong_password_then_sign_gives_a_valid_signature() {
    let Some(x) = Xvfb::start() else { return };
    let daemon = GuiDaemon::start(&x);
    let reply = call(&daemon.ws, "https://egov.kz", sign_xml());
    let shown = daemon.dialog(0);
    let id = window(&x);
    assert!(shown["title"].as_str().is_some_and(|t| t.starts_with("Qoltanba")), "{shown}");
    assert_eq!(shown["origin"], "https://egov.kz");
    assert_eq!(shown["standing"], "trusted");
    assert_eq!(shown["operation"], "Sign 1 XML document");
    screenshot(&x, &id, "dialog-xml.png");
    click(&x, &id, &shown["password"]);
    type_text(&x, &id, "wrong-password");
    key(&x, &id, "Return");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(window(&x), id, "a wrong password keeps the same dialog open");
    screenshot(&x, &id, "dialog-wrong-password.png");
    click(&x, &id, &shown["password"]);
    type_text(&x, &id, PASSWORD);
    click(&x, &id, &shown["sign"]);
    let reply = reply.join().expect("client thread");
    assert_eq!(reply["status"], true, "{reply}");
    let signed = reply["body"]["result"][0].as_str().expect("signed XML");
    let dir = tempfile::tempdir().expect("dir");
    let (ok, out) = xmlsec_verify(dir.path(), signed);
    assert!(ok, "xmlsec1 verifies the dialog-approved signature: {out}");
}

#[test]
fn gui_cancel_button_gives_the_cancel_reply_and_untrusted_origin_is_flagged() {
    let Some(x) = Xvfb::start() else { return };
    let daemon = GuiDaemon::start(&x);
    let reply = call(&daemon.ws, "https://egov-kz.phish.example", sign_xml());
    let shown = daemon.dialog(0);
    let id = window(&x);
    assert_eq!(shown["origin"], "https://egov-kz.phish.example");
    assert_eq!(shown["standing"], "first-seen", "an unknown site gets the warning colour");
    screenshot(&x, &id, "dialog-untrusted.png");
    click(&x, &id, &shown["cancel"]);
    let reply = reply.join().expect("client thread");
    assert_eq!(reply, json!({"body":{},"status":true}), "basics' cancel reply");
}

#[test]
fn gui_shows_the_portal_logo() {
    // A 2x1 PNG (red, green).
    let logo = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAD0lEQVR4nGP4z8DA8J8BAAf/Af8Bf4mnAAAAAElFTkSuQmCC";
    let Some(x) = Xvfb::start() else { return };
    let daemon = GuiDaemon::start(&x);
    let mut request = sign_xml();
    request["args"]["logo"] = json!(logo);
    let reply = call(&daemon.ws, "https://egov.kz", request);
    let shown = daemon.dialog(0);
    assert_eq!(shown["logo"], json!([2, 1]), "{shown}");
    let id = window(&x);
    key(&x, &id, "Escape");
    let reply = reply.join().expect("client thread");
    assert_eq!(reply, json!({"body":{},"status":true}));
}

#[test]
fn gui_shows_the_handshake_origin_not_the_claimed_one_and_escape_cancels() {
    let Some(x) = Xvfb::start() else { return };
    let daemon = GuiDaemon::start(&x);
    let mut request = sign_xml();
    request["origin"] = json!("https://egov.kz");
    request["args"]["origin"] = json!("https://egov.kz");
    let reply = call(&daemon.ws, "https://real.portal.kz", request);
    let shown = daemon.dialog(0);
    let id = window(&x);
    assert_eq!(shown["origin"], "https://real.portal.kz", "the handshake origin is shown");
    assert_ne!(shown["standing"], "trusted", "the claimed egov.kz lends no trust");
    key(&x, &id, "Escape");
    let reply = reply.join().expect("client thread");
    assert_eq!(reply, json!({"body":{},"status":true}), "basics' cancel reply");
}

/// The tray host (trayer, an XEmbed system tray) along the top of the screen.
fn tray_host(x: &Xvfb) -> Child {
    x.spawn("trayer", &["--edge", "top", "--widthtype", "pixel", "--width", "200"])
}

/// Whether the tray host's panel holds the daemon's icon: the XEmbed window tray-icon makes,
/// of class `tray-icon tray app <pid>-…`, embedded under trayer's `panel` window, at icon size.
/// `xwininfo` fails (`BadWindow`) when a window goes away while it walks the tree, as the
/// dialog's and tray's windows come and go: that reading counts as "not yet", and the caller
/// asks again.
fn icon_in_tray(x: &Xvfb, pid: u32) -> bool {
    let (ok, tree) = x.run("xwininfo", &["-root", "-tree"]);
    if !ok {
        assert!(tree.contains("BadWindow"), "xwininfo -root -tree: {tree}");
        return false;
    }
    let mut lines = tree.lines();
    let Some(panel) = lines.by_ref().find(|l| l.contains(r#"("panel" "trayer")"#)) else {
        return false;
    };
    let depth = |line: &str| line.len() - line.trim_start().len();
    let class = format!("tray-icon tray app {pid}-");
    lines.take_while(|l| depth(l) > depth(panel)).any(|l| {
        let size = l.split_whitespace().find(|w| w.contains('x') && w.contains('+'));
        let width = size.and_then(|s| s.split('x').next()?.parse::<u32>().ok());
        l.contains(&class) && width.is_some_and(|w| w >= 16)
    })
}

/// The daemon answers a client while its tray runs.
fn serves(daemon: &mut GuiDaemon) {
    assert!(daemon.alive(), "the daemon runs with the tray");
    let request = json!({"module":"kz.gov.pki.knca.commonUtils","method":"getActiveTokens"});
    let reply = call(&daemon.ws, "https://x.kz", request).join().expect("client thread");
    assert_eq!(reply["code"], "200", "{reply}");
    assert!(daemon.alive());
}

fn trayer_present() -> bool {
    let found = ["trayer", "xwininfo"].iter().all(|t| crate::skip::on_path(t));
    crate::skip::needs("trayer and xwininfo (x11-utils)", found)
}

#[test]
fn tray_icon_appears_in_the_tray_host_under_xvfb() {
    if !trayer_present() {
        return;
    }
    let Some(x) = Xvfb::start() else { return };
    let mut host = tray_host(&x);
    wait_for(Duration::from_secs(10), "trayer's panel", || {
        x.run("xwininfo", &["-root", "-tree"]).1.contains(r#"("panel" "trayer")"#).then_some(())
    });
    let mut daemon = GuiDaemon::start(&x);
    let pid = daemon.child.id();
    wait_for(Duration::from_secs(20), "the tray icon in trayer", || {
        icon_in_tray(&x, pid).then_some(())
    });
    serves(&mut daemon);
    let _ = host.kill();
    let _ = host.wait();
}

#[test]
fn tray_runs_without_a_tray_host_and_docks_when_one_starts() {
    if !trayer_present() {
        return;
    }
    let Some(x) = Xvfb::start() else { return };
    let mut daemon = GuiDaemon::start(&x);
    let pid = daemon.child.id();
    std::thread::sleep(Duration::from_secs(2));
    serves(&mut daemon);
    assert!(!icon_in_tray(&x, pid), "no tray host, no icon in one");
    let mut host = tray_host(&x);
    wait_for(Duration::from_secs(20), "the tray icon in the tray host started later", || {
        icon_in_tray(&x, pid).then_some(())
    });
    serves(&mut daemon);
    let _ = host.kill();
    let _ = host.wait();
}

/// A desktop daemon over a SoftHSM token with the NCA key (and, with `foreign`, a self-signed
/// key of its own), asked by egov.kz to sign XML; the PIN is typed and Sign clicked. `None`:
/// SoftHSM2 or Xvfb is missing (skipped visibly).
fn token_dialog(foreign: bool) -> Option<TokenDialog> {
    use crate::softhsm::{self, SoftHsm};
    if !softhsm::available() {
        return None;
    }
    let hsm = SoftHsm::new();
    hsm.init_token("nca");
    hsm.import_p12("nca", RSA_SIGN, "01");
    if foreign {
        hsm.generate_key("nca", "0b");
    }
    let (key, value) = hsm.env();
    let config = softhsm::config(std::path::Path::new(softhsm::MODULE));
    let x = Xvfb::start()?;
    let daemon = GuiDaemon::start_with(&x, &[(key, value.as_str())], Some(&config));
    let mut request = sign_xml();
    request["args"]["allowedStorages"] = json!([softhsm::STORE]);
    let reply = call(&daemon.ws, "https://egov.kz", request);
    let shown = daemon.dialog(0);
    let id = window(&x);
    click(&x, &id, &shown["password"]);
    type_text(&x, &id, softhsm::PIN);
    click(&x, &id, &shown["sign"]);
    Some(TokenDialog { daemon, id, reply, x, _hsm: hsm })
}

/// What [`token_dialog`] leaves running.
struct TokenDialog {
    daemon: GuiDaemon,
    id: String,
    reply: std::thread::JoinHandle<Value>,
    x: Xvfb,
    /// Dropped last: the token outlives the daemon using it.
    _hsm: crate::softhsm::SoftHsm,
}

impl TokenDialog {
    /// The signed XML of the reply, checked by xmlsec1.
    fn signed_and_verified(self) {
        let reply = self.reply.join().expect("client thread");
        let signed = reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{reply}"));
        let dir = tempfile::tempdir().expect("dir");
        let (ok, out) = xmlsec_verify(dir.path(), signed);
        assert!(ok, "xmlsec1 verifies the token signature approved in the dialog: {out}");
    }
}

#[test]
fn gui_signs_on_a_token_with_its_pin() {
    let Some(dialog) = token_dialog(false) else { return };
    dialog.signed_and_verified();
}

/// A token with the NCA key and a self-signed one: after the PIN, the dialog lists both, the
/// self-signed one greyed with the reason; Sign signs with the NCA key.
#[test]
fn a_key_that_does_not_chain_is_greyed_in_the_dialog() {
    let Some(dialog) = token_dialog(true) else { return };
    let chooser = dialog.daemon.dialog(1);
    let keys = chooser["keys"].as_array().cloned().unwrap_or_default();
    assert_eq!(keys.len(), 2, "both keys are listed: {chooser}");
    assert!(keys[0]["refused"].is_null(), "the NCA key may sign: {chooser}");
    let why = keys[1]["refused"].as_str().unwrap_or_default();
    assert!(why.contains("is not accepted"), "the other is greyed with the reason: {chooser}");
    click(&dialog.x, &dialog.id, &chooser["sign"]);
    dialog.signed_and_verified();
}

#[test]
fn expiring_certificate_of_a_recent_key_is_announced_without_a_signature() {
    // QOLTANBA_TEST_NOW is 2020-06-01: used yesterday, expires in 10 days.
    let expiry = json!({"0a1b": {"owner": "ТЕСТОВ ТЕСТ", "not_after": 1_591_833_600i64,
        "last_used": 1_590_883_200i64, "notified_on": null}});
    let Some(x) = Xvfb::start() else { return };
    let daemon = GuiDaemon::start_seeded(&x, &[], None, &[("expiry.json", expiry.to_string())]);
    let log = daemon.dir.path().join("notify.jsonl");
    let text = wait_for(Duration::from_secs(20), "the expiry notification", || {
        std::fs::read_to_string(&log).ok().filter(|t| t.contains("ТЕСТОВ ТЕСТ"))
    });
    assert_eq!(text.lines().count(), 1, "once a day: {text}");
}

/// `config.toml` in `dir`: `config`, trusting the NCA's test CAs unless it has a `[trust]`,
/// and without revocation checks unless it has a `[revocation]` (the fixture keys' responders
/// are not reachable, and the warning it would add is the key chooser's, tested through the
/// scripted prompter in `revocation.rs`).
fn trusting_test_cas(dir: &std::path::Path, config: Option<&str>) -> std::path::PathBuf {
    let config = config.unwrap_or_default();
    let trust = match config.contains("[trust]") {
        true => "",
        false => "\n[trust]\nnca_test = true\ninstall_local_ca = false\n",
    };
    let revocation =
        if config.contains("[revocation]") { "" } else { "\n[revocation]\ncheck = false\n" };
    let path = dir.join("config.toml");
    std::fs::write(&path, format!("{config}{trust}{revocation}")).expect("config");
    path
}

/// The key dialog: a portal asks for a new key, the user types the new password twice and
/// keeps the folder offered (`~/ЭЦП`); later the portal brings the certificate and the user
/// types the password again. The key file lands in the folder.
#[test]
fn gui_makes_a_key_and_installs_its_certificate() {
    let Some(x) = Xvfb::start() else { return };
    let daemon = GuiDaemon::start(&x);
    let subject = "CN=ГУИ ТЕСТ,SERIALNUMBER=IIN900101300125,C=KZ";
    let request = json!({"module":"kz.gov.pki.knca.basics","method":"generateCsr",
        "args":{"storage":"PKCS12","subjectDn":subject,"locale":"en"}});
    let reply = call(&daemon.ws, "https://nca.pki.gov.kz", request);
    let id = window(&x);
    screenshot(&x, &id, "key-dialog.png");
    type_text(&x, &id, "Qwerty12");
    key(&x, &id, "Tab");
    type_text(&x, &id, "Qwerty12");
    key(&x, &id, "Return");
    let reply = reply.join().expect("client thread");
    let der = crate::harness::unb64(
        reply["body"]["result"].as_str().unwrap_or_else(|| panic!("{reply}")),
    );
    let ca = qoltanba::crypto::test_ca::TestCa::new("GUI test CA");
    let certificate = ca.issue(&der, 3).expect("issued");

    let request = json!({"module":"kz.gov.pki.knca.basics","method":"importCertificate",
        "args":{"certificate":certificate.pem(),"locale":"en"}});
    let reply = call(&daemon.ws, "https://nca.pki.gov.kz", request);
    std::thread::sleep(Duration::from_millis(500));
    let id = window(&x);
    screenshot(&x, &id, "install-dialog.png");
    type_text(&x, &id, "Qwerty12");
    key(&x, &id, "Return");
    let reply = reply.join().expect("client thread");
    let alias = reply["body"]["result"].as_str().unwrap_or_else(|| panic!("{reply}"));
    let file = daemon.dir.path().join("home").join("ЭЦП").join(format!("GOST512_{alias}.p12"));
    assert!(file.exists(), "{} in the folder offered", file.display());
}
