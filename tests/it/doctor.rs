//! `qoltanba doctor` (issue 13, item 5), run as a process against a temporary HOME, filesystem
//! root (`--root`) and data directory: a port held by another program is named with its pid; a
//! local CA missing from the user's NSS database is a problem until `qoltanba cert install`; a
//! missing browser host manifest is a problem until one is written from the installer's
//! template. Each problem carries its fix and makes the exit code 1; all fine exits 0.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::{run, Daemon};

/// A temporary HOME, root and config for the doctor.
struct Place {
    dir: tempfile::TempDir,
}

impl Place {
    /// Listens (in the config) on `listen`.
    fn new(listen: &str) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        for sub in ["home", "root"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        let config = format!("[server]\nlisten = [\"{listen}\"]\n");
        std::fs::write(dir.path().join("config.toml"), config).expect("config");
        Self { dir }
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// `qoltanba` with this HOME, `data` as data directory and this config.
    fn qoltanba(&self, data: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_qoltanba"));
        command
            .env("HOME", self.home())
            .env("QOLTANBA_POLICY", self.dir.path().join("no-policy.toml"))
            .arg("--data-dir")
            .arg(data)
            .arg("--config")
            .arg(self.dir.path().join("config.toml"));
        command
    }

    /// Runs `qoltanba doctor --lang en` (and `extra`); its exit code and output.
    fn doctor(&self, data: &Path, extra: &[&str]) -> (i32, String) {
        let output = self
            .qoltanba(data)
            .args(["doctor", "--lang", "en", "--root"])
            .arg(self.root())
            .args(extra)
            .output()
            .expect("qoltanba doctor");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let code = output.status.code().unwrap_or(-1);
        (code, format!("{text}{}", String::from_utf8_lossy(&output.stderr)))
    }

    /// The findings of `doctor --json` for one check.
    fn findings(&self, data: &Path, check: &str) -> (i32, Vec<Value>) {
        let (code, out) = self.doctor(data, &["--json"]);
        let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        let all = report["findings"].as_array().cloned().unwrap_or_default();
        (code, all.into_iter().filter(|f| f["check"] == check).collect())
    }
}

fn certutil_available() -> bool {
    let found = Command::new("certutil").arg("-H").output().is_ok();
    crate::skip::needs("certutil (libnss3-tools)", found)
}

/// The daemon's address as the doctor shows it.
fn url(daemon: &Daemon) -> String {
    daemon.wss.trim_end_matches('/').to_string()
}

#[test]
fn doctor_names_the_program_holding_the_port() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let place = Place::new(&format!("wss://127.0.0.1:{port}"));
    let data = place.dir.path().join("data");
    let (code, out) = place.doctor(&data, &[]);
    assert_eq!(code, 1, "{out}");
    let pid = std::process::id();
    let held = format!("[problem] Port: Port {port} is held by another program: pid {pid}, ");
    assert!(out.contains(&held), "{out}");
    let exe = std::env::current_exe().expect("exe");
    assert!(out.contains(&exe.display().to_string()), "the holder's program is named: {out}");
    assert!(out.contains("Fix: Stop that program"), "{out}");
    let not_running =
        format!("[problem] Daemon: Qoltanba is not running on wss://127.0.0.1:{port}.");
    assert!(out.contains(&not_running), "{out}");
    assert!(out.contains("Fix: Free the port first"), "{out}");
    drop(listener);
    let (code, out) = place.doctor(&data, &[]);
    assert_eq!(code, 1, "nothing runs: {out}");
    assert!(out.contains(&format!("[ok] Port: Port {port} is free.")), "{out}");
    assert!(
        out.contains("Fix: Start it: qoltanba run, or systemctl --user start qoltanba"),
        "{out}"
    );
}

#[test]
fn doctor_speaks_the_chosen_language() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let place = Place::new(&format!("wss://127.0.0.1:{port}"));
    let data = place.dir.path().join("data");
    for (lang, held) in [
        ("ru", format!("[проблема] Порт: Порт {port} занят другой программой: pid")),
        ("kk", format!("[ақау] Порт: {port} портын басқа бағдарлама алып тұр: pid")),
    ] {
        let output = place
            .qoltanba(&data)
            .args(["doctor", "--lang", lang, "--root"])
            .arg(place.root())
            .output()
            .expect("doctor");
        let out = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "{out}");
        assert!(out.contains(&held), "{lang}: {out}");
    }
}

#[test]
fn doctor_reports_an_untrusted_ca_until_cert_install() {
    if !certutil_available() {
        return;
    }
    let daemon = Daemon::start(&[]);
    let place = Place::new(&url(&daemon));
    let nssdb = place.home().join(".pki/nssdb");
    std::fs::create_dir_all(&nssdb).expect("nssdb");
    let db = format!("sql:{}", nssdb.display());
    let (ok, out) = run("certutil", &["-N", "--empty-password", "-d", &db]);
    assert!(ok, "{out}");
    let (code, out) = place.doctor(&daemon.data(), &[]);
    assert_eq!(code, 1, "{out}");
    let running = format!(
        "[ok] Daemon: Qoltanba {} is running on {}.",
        env!("CARGO_PKG_VERSION"),
        url(&daemon)
    );
    assert!(out.contains(&running), "{out}");
    let untrusted = format!("[problem] Certificate: The local CA is not trusted in {db}: ");
    assert!(out.contains(&untrusted), "{out}");
    assert!(out.contains("Fix: Run: qoltanba cert install"), "{out}");
    let install = place.qoltanba(&daemon.data()).args(["cert", "install"]).output().expect("cert");
    assert!(install.status.success(), "{}", String::from_utf8_lossy(&install.stderr));
    let (code, out) = place.doctor(&daemon.data(), &[]);
    assert!(out.contains(&format!("[ok] Certificate: The local CA is trusted in {db}.")), "{out}");
    assert!(!out.contains("[problem]"), "{out}");
    assert_eq!(code, 0, "all fine: {out}");
    assert!(out.ends_with("No problems found.\n"), "{out}");
}

/// A host program and a manifest for it, from the installer's template.
fn manifest(template: &str, host: &Path) -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("installer/native-messaging").join(template);
    let text = std::fs::read_to_string(path).expect("template");
    text.replace("@HOST_PATH@", &host.display().to_string())
}

#[test]
fn doctor_reports_a_missing_host_manifest_until_one_is_written() {
    let daemon = Daemon::start(&[]);
    let place = Place::new(&url(&daemon));
    std::fs::create_dir_all(place.home().join(".config/chromium/Default")).expect("profile");
    let (code, out) = place.doctor(&daemon.data(), &[]);
    assert_eq!(code, 1, "{out}");
    let system = place.root().join("etc/chromium/native-messaging-hosts");
    let missing = format!(
        "[problem] Browser extension host: Chromium: the host kz.qoltanba.native is not registered (looked in {}, {}).",
        place.home().join(".config/chromium/NativeMessagingHosts").display(),
        system.display()
    );
    assert!(out.contains(&missing), "{out}");
    assert!(out.contains("Fix: Run `qoltanba install-browser-support`"), "{out}");
    assert_eq!(out.matches("[problem]").count(), 1, "the manifest is the only problem: {out}");

    // The fix it names works: the user-scope registration satisfies the doctor, and is taken back.
    let install = place.qoltanba(&daemon.data()).arg("install-browser-support").output();
    let install = install.expect("install-browser-support");
    assert!(install.status.success(), "{}", String::from_utf8_lossy(&install.stderr));
    let (code, hosts) = place.findings(&daemon.data(), "native_host");
    assert_eq!(code, 0, "{hosts:?}");
    let user = place.home().join(".config/chromium/NativeMessagingHosts/kz.qoltanba.native.json");
    let registered =
        format!("Chromium: the host kz.qoltanba.native is registered ({}).", user.display());
    assert!(hosts.iter().any(|f| f["text"] == registered.as_str()), "{hosts:?}");
    assert!(hosts.iter().all(|f| f["status"] == "ok"), "{hosts:?}");
    let mut remove = place.qoltanba(&daemon.data());
    remove.args(["install-browser-support", "--remove"]);
    assert!(remove.status().expect("--remove").success());
    assert!(!user.exists());

    let host = place.dir.path().join("native-host");
    std::fs::write(&host, "#!/bin/sh\nexec qoltanba native-host\n").expect("host");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    std::fs::create_dir_all(&system).expect("system scope");
    let file = system.join("kz.qoltanba.native.json");
    std::fs::write(&file, manifest("chromium.json", &host)).expect("manifest");
    let firefox = place.home().join(".mozilla/native-messaging-hosts");
    std::fs::create_dir_all(place.home().join(".mozilla/firefox")).expect("firefox profile");
    std::fs::create_dir_all(&firefox).expect("user scope");
    let firefox_file = firefox.join("kz.qoltanba.native.json");
    std::fs::write(&firefox_file, manifest("firefox.json", &host)).expect("manifest");
    let (code, hosts) = place.findings(&daemon.data(), "native_host");
    assert_eq!(code, 0, "{hosts:?}");
    let texts: Vec<&str> = hosts.iter().filter_map(|f| f["text"].as_str()).collect();
    assert_eq!(
        texts,
        [
            format!("Chromium: the host kz.qoltanba.native is registered ({}).", file.display()),
            format!(
                "Firefox: the host kz.qoltanba.native is registered ({}).",
                firefox_file.display()
            ),
        ]
    );
    assert!(hosts.iter().all(|f| f["status"] == "ok"), "{hosts:?}");

    std::fs::write(&file, manifest("firefox.json", &host))
        .expect("a Firefox manifest for Chromium");
    let (code, hosts) = place.findings(&daemon.data(), "native_host");
    assert_eq!(code, 1, "{hosts:?}");
    assert_eq!(hosts[0]["status"], "problem");
    let invalid = format!(
        "Chromium: {} is not valid: it does not allow the Qoltanba extension.",
        file.display()
    );
    assert_eq!(hosts[0]["text"], invalid.as_str());
}

#[test]
fn doctor_says_when_the_daemon_on_the_port_has_another_ca() {
    let daemon = Daemon::start(&[]);
    let other = Daemon::start(&[]);
    let place = Place::new(&url(&daemon));
    let (code, out) = place.doctor(&other.data(), &[]);
    assert_eq!(code, 1, "{out}");
    let foreign = format!(
        "[problem] Daemon: Qoltanba answers on {}, but its certificate was not issued by the local CA in {}",
        url(&daemon),
        other.data().join("tls/ca.pem").display()
    );
    assert!(out.contains(&foreign), "{out}");
    assert!(out.contains("Fix: Another copy of Qoltanba"), "{out}");
    assert!(out.contains("[ok] Port: Port"), "the port is held by Qoltanba all the same: {out}");
}
