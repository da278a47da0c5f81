//! Local CA hygiene (docs/security.md): the CA key is nowhere on disk, the CA cannot vouch for
//! any other name, and `qoltanba cert install|uninstall` adds it to NSS databases and removes
//! it from exactly those. OpenSSL and NSS `certutil` are the independent judges.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{files_under, run, Daemon};

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The public key (PEM) of a private key file, in PEM or DER, if it is one.
fn public_of_private(file: &Path) -> Option<String> {
    let dir = file.parent()?;
    let path = file.to_str()?;
    ["PEM", "DER"].iter().find_map(|form| {
        let (ok, out) = openssl(dir, &["pkey", "-inform", form, "-in", path, "-pubout"]);
        ok.then_some(out)
    })
}

#[tokio::test]
async fn the_ca_private_key_is_nowhere_on_disk_after_setup() {
    let daemon = Daemon::start(&[]);
    let client = daemon.tls_client(Some("https://portal.test.kz")).await;
    client.close().await;
    let tls = daemon.data().join("tls");
    let (ok, ca_public) = openssl(&tls, &["x509", "-in", "ca.pem", "-pubkey", "-noout"]);
    assert!(ok, "{ca_public}");
    let (ok, leaf_public) = openssl(&tls, &["x509", "-in", "leaf.pem", "-pubkey", "-noout"]);
    assert!(ok, "{leaf_public}");
    let keys: Vec<(PathBuf, String)> = files_under(daemon.dir.path())
        .into_iter()
        .filter_map(|file| public_of_private(&file).map(|public| (file, public)))
        .collect();
    assert_eq!(keys.len(), 1, "one private key on disk, the leaf's: {keys:?}");
    assert!(keys.iter().all(|(_, public)| *public != ca_public), "the CA key is on disk");
    assert_eq!(keys[0].1, leaf_public, "the only key is the leaf's");
}

/// The `nameConstraints` of our CA, as the `openssl x509 -ext` text.
fn name_constraints(dir: &Path, ca: &str) -> String {
    let (ok, text) = openssl(dir, &["x509", "-in", ca, "-noout", "-ext", "nameConstraints"]);
    assert!(ok, "{text}");
    text
}

/// Issues a leaf with `subject` and `san` (may be empty) from `ca.pem`/`ca.key` in `dir`.
fn leaf(dir: &Path, name: &str, subject: &str, san: &str) -> String {
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let mut args = vec!["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
    args.extend(["-nodes", "-keyout", &key, "-out", &csr, "-subj", subject]);
    let san_ext = format!("subjectAltName={san}");
    if !san.is_empty() {
        args.extend(["-addext", &san_ext]);
    }
    let (ok, out) = openssl(dir, &args);
    assert!(ok, "{out}");
    let pem = format!("{name}.pem");
    let (ok, out) = openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-out",
            &pem,
            "-days",
            "30",
            "-copy_extensions",
            "copy",
        ],
    );
    assert!(ok, "{out}");
    pem
}

#[tokio::test]
async fn the_ca_cannot_vouch_for_any_other_name() {
    // Our CA key no longer exists, so a CA with the very same constraints stands in for it:
    // its nameConstraints extension must read exactly as ours does.
    let daemon = Daemon::start(&[]);
    let ours = name_constraints(&daemon.data().join("tls"), "ca.pem");
    let dir = tempfile::tempdir().expect("dir");
    let constraints = "nameConstraints=critical,permitted;DNS:localhost,permitted;IP:127.0.0.1/255.255.255.255,permitted;IP:::1/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF";
    let (ok, out) = openssl(
        dir.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
            "-subj",
            "/CN=stand-in",
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:0",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-addext",
            constraints,
        ],
    );
    assert!(ok, "{out}");
    assert_eq!(name_constraints(dir.path(), "ca.pem"), ours, "the stand-in has our constraints");
    let verify = |pem: &str| openssl(dir.path(), &["verify", "-CAfile", "ca.pem", pem]);
    let good = leaf(dir.path(), "good", "/CN=localhost", "DNS:localhost,IP:127.0.0.1,IP:::1");
    let (ok, out) = verify(&good);
    assert!(ok, "a loopback leaf is fine: {out}");
    for (name, subject, san) in [
        ("evil", "/CN=evil.example", "DNS:evil.example"),
        ("egov", "/CN=egov.kz", "DNS:egov.kz,DNS:localhost"),
        ("cn-only", "/CN=evil.example", ""),
        ("lan", "/CN=localhost", "IP:10.0.0.1"),
        ("sub", "/CN=x.localhost", "DNS:evil.localhost.example"),
    ] {
        let pem = leaf(dir.path(), name, subject, san);
        let (ok, out) = verify(&pem);
        assert!(!ok, "{name}: a leaf for another name must be rejected: {out}");
        assert!(out.contains("subtree violation"), "{name}: {out}");
    }
}

fn certutil_available() -> bool {
    let found = Command::new("certutil").arg("-H").output().is_ok();
    crate::skip::needs("certutil (libnss3-tools)", found)
}

fn qoltanba(home: &Path, data: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .env("HOME", home)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("qoltanba");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The Qoltanba CAs in an NSS database, with their trust flags (`certutil -L` lines).
fn qoltanba_cas(db: &str) -> Vec<String> {
    let (ok, out) = run("certutil", &["-L", "-d", db]);
    assert!(ok, "{out}");
    out.lines().filter(|l| l.contains("Qoltanba local CA")).map(str::to_string).collect()
}

#[test]
fn cert_install_adds_the_ca_to_every_nss_store_and_uninstall_removes_it_from_each() {
    if !certutil_available() {
        return;
    }
    let home = tempfile::tempdir().expect("home");
    let data = home.path().join("data");
    let profile = home.path().join(".mozilla/firefox/test.default-release");
    std::fs::create_dir_all(&profile).expect("profile");
    let firefox = format!("sql:{}", profile.display());
    let (ok, out) = run("certutil", &["-N", "--empty-password", "-d", &firefox]);
    assert!(ok, "{out}");
    let shared = format!("sql:{}", home.path().join(".pki/nssdb").display());
    for _ in 0..2 {
        let (ok, out) = qoltanba(home.path(), &data, &["cert", "install"]);
        assert!(ok, "{out}");
    }
    for db in [&shared, &firefox] {
        let cas = qoltanba_cas(db);
        assert_eq!(cas.len(), 1, "installed once, even when run twice: {cas:?}");
        assert!(cas[0].trim_end().ends_with("C,,"), "trusted for TLS servers only: {cas:?}");
    }
    let record = std::fs::read_to_string(data.join("trust-stores.json")).expect("record");
    assert!(record.contains(&shared) && record.contains(&firefox), "{record}");
    let (ok, out) = qoltanba(home.path(), &data, &["cert", "uninstall"]);
    assert!(ok, "{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("removed")).count(), 2, "{out}");
    for db in [&shared, &firefox] {
        assert!(qoltanba_cas(db).is_empty(), "removed from {db}");
    }
    assert!(!data.join("trust-stores.json").exists());
    let (ok, out) = qoltanba(home.path(), &data, &["cert", "uninstall"]);
    assert!(ok && out.contains("not added to any trust store"), "{out}");
}

/// Issue 13, item 1: a fresh daemon with an empty HOME adds its new CA to `~/.pki/nssdb` by
/// itself; a TLS client trusting only the certificate found in that NSS store connects;
/// `qoltanba cert uninstall` takes it out again.
#[tokio::test]
async fn a_fresh_daemon_trusts_its_own_ca_in_the_users_nss_store() {
    if !certutil_available() {
        return;
    }
    let home = tempfile::tempdir().expect("home");
    let home_text = home.path().to_str().expect("path").to_string();
    let env = [("HOME", home_text.as_str())];
    let config = "[trust]\nnca_test = true\n"; // install_local_ca at its default: on
    let daemon = Daemon::process(&[], &env, Some(config));
    let db = format!("sql:{}", home.path().join(".pki/nssdb").display());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let nickname = loop {
        let found = std::fs::read_dir(home.path().join(".pki/nssdb")).is_ok()
            && run("certutil", &["-L", "-d", &db]).0;
        let cas = if found { qoltanba_cas(&db) } else { Vec::new() };
        // `certutil -L` lines are the nickname, then the trust flags, set once the CA is in.
        let trusted = cas.first().and_then(|line| {
            let (name, flags) = line.trim_end().rsplit_once(char::is_whitespace)?;
            (flags == "C,,").then(|| name.trim_end().to_string())
        });
        if let Some(name) = trusted {
            break name;
        }
        assert!(std::time::Instant::now() < deadline, "the CA never reached {db}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let (ok, pem) = run("certutil", &["-L", "-d", &db, "-n", &nickname, "-a"]);
    assert!(ok && pem.contains("BEGIN CERTIFICATE"), "{pem}");
    let exported = home.path().join("exported-from-nss.pem");
    std::fs::write(&exported, pem).expect("write");
    let client =
        crate::harness::Client::connect(&daemon.wss, Some("https://egov.kz"), Some(&exported))
            .await;
    assert!(client.greeting.contains("version"), "{}", client.greeting);
    client.close().await;
    let (ok, out) = qoltanba(home.path(), &daemon.data(), &["cert", "uninstall"]);
    assert!(ok, "{out}");
    assert!(qoltanba_cas(&db).is_empty(), "cert uninstall removed what the first start added");
}

/// Starts `qoltanba run` on a free wss port with this HOME and data directory; waits up to
/// `seconds` for the local CA to be in `db` (true when it came), then stops the daemon.
fn start_and_watch(home: &Path, data: &Path, db: &str, seconds: u64) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .env("HOME", home)
        .arg("--data-dir")
        .arg(data)
        .args(["run", "--listen", "wss://127.0.0.1:0", "--ui", "tty"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("qoltanba run");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let trusted = loop {
        let trusted = run("certutil", &["-L", "-d", db]).0
            && qoltanba_cas(db).iter().any(|l| l.trim_end().ends_with("C,,"));
        if trusted || std::time::Instant::now() > deadline {
            break trusted;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    trusted
}

/// Package removal takes the CA out (`cert uninstall --package-removal`, the .deb's prerm) and
/// a reinstalled package trusts it again on its next start; the user's own `cert uninstall`
/// keeps it out on later starts until `cert install`.
#[test]
fn a_removed_package_trusts_again_when_reinstalled_but_the_users_own_uninstall_sticks() {
    if !certutil_available() {
        return;
    }
    let home = tempfile::tempdir().expect("home");
    let data = home.path().join("data");
    let db = format!("sql:{}", home.path().join(".pki/nssdb").display());
    let (ok, out) = qoltanba(home.path(), &data, &["cert", "install"]);
    assert!(ok, "{out}");
    let (ok, out) = qoltanba(home.path(), &data, &["cert", "uninstall", "--package-removal"]);
    assert!(ok && qoltanba_cas(&db).is_empty(), "{out}");
    assert!(start_and_watch(home.path(), &data, &db, 30), "trusted again on the next start");
    let (ok, out) = qoltanba(home.path(), &data, &["cert", "uninstall"]);
    assert!(ok && qoltanba_cas(&db).is_empty(), "{out}");
    assert!(!start_and_watch(home.path(), &data, &db, 4), "the user's choice is kept");
    let (ok, out) = qoltanba(home.path(), &data, &["cert", "install"]);
    assert!(ok && qoltanba_cas(&db).len() == 1, "{out}");
    assert!(!data.join("trust-declined").exists(), "cert install forgets the choice");
}
