//! Issue 14, end to end in a real browser: Debian's headless Chromium, driven by playwright-core
//! (`tests/browser/run.mjs`), loads a local portal page (`tests/browser/page.html`) that knows
//! nothing of Qoltanba but `new WebSocket("wss://127.0.0.1:13579/")`.
//!
//! - Through the extension: nothing listens on 13579, so the page's socket fails and the
//!   extension's shim carries it over native messaging; the host registered by
//!   `qoltanba install-browser-support` starts the daemon on demand. CMS and XML signed, the
//!   journal records the page's origin, and a page that talks to the content script directly
//!   naming another origin still signs under its own.
//! - Directly, without the extension: the daemon's `wss://` port is reachable and its local CA
//!   is trusted only through the NSS store of the test's HOME.
//!
//! Every signature is checked by openssl or xmlsec1.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::{
    approve, openssl_verify_attached, unb64, xmlsec_verify, Daemon, LEGACY_NOW, RSA_SIGN,
};
use crate::native::{OnDemand, Started};
use crate::skip;

const CHROMIUM: &str = "/usr/lib/chromium/chromium";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Whether Chromium, Node and playwright-core are here (`.ci/test.sh` installs them).
fn browser_ready() -> bool {
    let playwright = repo().join("browser-extension/node_modules/playwright-core");
    skip::needs("chromium (Debian package)", Path::new(CHROMIUM).exists())
        && skip::needs("node", skip::on_path("node"))
        && skip::needs("playwright-core (npm ci in browser-extension)", playwright.is_dir())
}

/// Runs `tests/browser/run.mjs` with `env`; its JSON result, which must hold no error.
fn run_browser(env: &[(&str, &Path)], query: &str) -> Value {
    let result = run_browser_raw(env, query);
    assert!(result["error"].is_null(), "the page failed: {}", result["error"]);
    result
}

/// Runs `tests/browser/run.mjs` with `env`; its JSON result.
fn run_browser_raw(env: &[(&str, &Path)], query: &str) -> Value {
    let mut command = Command::new("node");
    command.arg(repo().join("tests/browser/run.mjs")).env("QOLTANBA_PAGE_QUERY", query);
    for (key, value) in env {
        command.env(key, value);
    }
    command.env("QOLTANBA_TEST_NOW", LEGACY_NOW);
    let output = command.output().expect("node tests/browser/run.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser run failed: {stdout}\n{stderr}");
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

/// Checks the page's `run()`: greeting, heartbeat, a CMS and an XML signature that openssl and
/// xmlsec1 accept, and a clean close.
fn check_run(run: &Value, dir: &Path) {
    assert_eq!(run["greeting"], r#"{"result":{"version":"1.4"}}"#, "{run}");
    assert_eq!(run["isWebSocket"], true, "{run}");
    assert_eq!(run["heartbeat"], "--heartbeat--", "{run}");
    let cms = run["cms"]["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{run}"));
    let (ok, out) = openssl_verify_attached(dir, &unb64(cms), b"e2e cms document");
    assert!(ok, "openssl rejected the CMS signed in the browser: {out}");
    let xml = &run["xml"]["body"]["result"];
    let xml = xml.as_str().or_else(|| xml[0].as_str()).unwrap_or_else(|| panic!("{run}"));
    assert!(xml.contains("e2e xml document"), "{xml}");
    let (ok, out) = xmlsec_verify(dir, xml);
    assert!(ok, "xmlsec1 rejected the XML signed in the browser: {out}");
    assert_eq!(run["close"]["code"], 1000, "{run}");
    assert_eq!(run["close"]["wasClean"], true, "{run}");
    assert_eq!(run["readyState"], 3, "{run}");
}

/// The journal lines under `data`.
fn journal(data: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(data.join("journal.jsonl")).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).expect("journal line")).collect()
}

/// Builds the unpacked extension into `out` (`browser-extension/build.mjs`).
fn build_extension(out: &Path) -> PathBuf {
    let status = Command::new("node")
        .arg(repo().join("browser-extension/build.mjs"))
        .arg(out)
        .status()
        .expect("node build.mjs");
    assert!(status.success(), "the extension did not build");
    out.join("chromium")
}

#[test]
fn a_page_signs_through_the_extension_when_the_port_is_unreachable() {
    if !browser_ready() {
        return;
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", 13579)).is_err(),
        "something listens on 13579: the page could reach a daemon directly"
    );
    let place = OnDemand::new(&vec![approve(RSA_SIGN); 3]);
    let (dir, home, data, config) = (&place.dir, &place.home, &place.data, &place.config);
    let profile = home.join(".config/chromium");
    std::fs::create_dir_all(&profile).expect("profile");
    let _started = Started(data.clone());
    let install = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .arg("install-browser-support")
        .env("HOME", home)
        .output()
        .expect("install-browser-support");
    assert!(install.status.success(), "{}", String::from_utf8_lossy(&install.stderr));
    let manifest = profile.join("NativeMessagingHosts/kz.qoltanba.native.json");
    assert!(manifest.is_file(), "Chromium reads the host manifest from its profile");
    let extension = build_extension(&dir.path().join("extension"));

    let env = [
        ("HOME", home.as_path()),
        ("QOLTANBA_PROFILE", profile.as_path()),
        ("QOLTANBA_EXTENSION", extension.as_path()),
    ];
    let result = run_browser(&env, "");
    check_run(&result["run"], dir.path());
    let origin = result["origin"].as_str().expect("origin");
    let spoof = &result["spoof"];
    let cms = spoof["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{spoof}"));
    let (ok, out) = openssl_verify_attached(dir.path(), &unb64(cms), b"spoofed document");
    assert!(ok, "{out}");
    let journal = journal(data);
    assert_eq!(journal.len(), 3, "{journal:?}");
    for entry in &journal {
        assert_eq!(entry["origin"], origin, "the page's own origin, never the one it claimed");
    }
    let log = std::fs::read_to_string(data.join("qoltanba.log")).unwrap_or_default();
    assert!(!log.contains("egov.kz"), "the claimed origin reached the daemon: {log}");
}

#[test]
fn the_same_page_signs_directly_when_the_port_is_reachable() {
    if !browser_ready() || !skip::needs("certutil", skip::on_path("certutil")) {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("home");
    let profile = home.join(".config/chromium");
    std::fs::create_dir_all(&profile).expect("profile");
    let answers = [approve(RSA_SIGN), approve(RSA_SIGN)];
    let env = [("HOME", home.to_str().expect("home")), ("QOLTANBA_TEST_NOW", LEGACY_NOW)];
    let daemon = Daemon::process(&answers, &env, None);
    let env = [("HOME", home.as_path()), ("QOLTANBA_PROFILE", profile.as_path())];
    let query = format!("?url={}/", daemon.wss);
    let untrusted = run_browser_raw(&env, &query);
    assert!(
        untrusted["error"].as_str().is_some_and(|e| e.contains("socket error before open")),
        "before the CA is in the NSS store the page cannot connect: {untrusted}"
    );
    let trust = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .arg("--data-dir")
        .arg(daemon.data())
        .args(["cert", "install"])
        .env("HOME", &home)
        .output()
        .expect("cert install");
    assert!(trust.status.success(), "{}", String::from_utf8_lossy(&trust.stderr));
    let result = run_browser(&env, &query);
    check_run(&result["run"], daemon.dir.path());
    let journal = daemon.journal();
    assert_eq!(journal.len(), 2, "{journal:?}");
    assert!(journal.iter().all(|e| e["origin"] == result["origin"]), "{journal:?}");
}
