//! The script commands: `keys`, `sign`, `verify`; Kalkan's own signatures verify with ours.

use crate::harness::{
    fixture, openssl_verify_attached, openssl_verify_detached, xmlsec_verify, PASSWORD, RSA_SIGN,
};

fn qoltanba(args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .args(args)
        .env("P12_PASSWORD", PASSWORD)
        .env("QOLTANBA_TEST_NOW", crate::harness::LEGACY_NOW)
        .output()
        .expect("run qoltanba");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn version_is_printed() {
    let (ok, out) = qoltanba(&["--version"]);
    assert!(ok && out.starts_with("qoltanba "), "{out}");
}

#[test]
fn keys_lists_the_alias_and_role() {
    let file = fixture(RSA_SIGN);
    let (ok, out) = qoltanba(&[
        "keys",
        "--file",
        file.to_str().expect("path"),
        "--password-env",
        "P12_PASSWORD",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("alias:    11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9"), "{out}");
    assert!(out.contains("role:     SIGNATURE\n"), "{out}");
}

#[test]
fn sign_command_outputs_verify_with_openssl_and_xmlsec1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("doc.xml");
    std::fs::write(&input, "<doc><p>Сәлем</p></doc>").expect("write");
    let file = fixture(RSA_SIGN);
    for (format, detached) in [("cms", false), ("cms", true), ("xml", false)] {
        let output = dir.path().join(format!("out-{format}-{detached}"));
        let mut args = vec![
            "sign",
            "--file",
            file.to_str().expect("path"),
            "--password-env",
            "P12_PASSWORD",
            "--format",
            format,
            input.to_str().expect("path"),
            output.to_str().expect("path"),
        ];
        if detached {
            args.push("--detached");
        }
        let (ok, out) = qoltanba(&args);
        assert!(ok, "{out}");
        let signed = std::fs::read(&output).expect("output");
        let document = std::fs::read(&input).expect("input");
        let (ok, out) = match format {
            "cms" if detached => openssl_verify_detached(dir.path(), &signed, &document),
            "cms" => openssl_verify_attached(dir.path(), &signed, &document),
            _ => xmlsec_verify(dir.path(), &String::from_utf8(signed).expect("utf8")),
        };
        assert!(ok, "{format} detached={detached}: {out}");
    }
}

/// `--ca` for the NCA test CAs of the legacy fixtures (RSA and GOST-2004).
fn cas() -> Vec<&'static str> {
    let rsa = fixture("ncanode-2022/ca/nca_rsa_test.crt");
    let gost = fixture("ncanode-2022/ca/nca_gost_test.crt");
    let leak =
        |p: std::path::PathBuf| &*Box::leak(p.to_string_lossy().into_owned().into_boxed_str());
    vec!["--ca", leak(rsa), "--ca", leak(gost)]
}

#[test]
fn verify_reports_as_json_for_scripts() {
    let cms =
        fixture("legacy-2020/personal/active/RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9.cms");
    let (ok, out) =
        qoltanba(&[&["verify", "--json", cms.to_str().expect("p")][..], &cas()].concat());
    assert!(ok, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(report["valid"], true);
    assert_eq!(report["signers"][0]["chain"]["status"], "trusted");
    assert!(report["signers"][0]["signing_time"].as_str().expect("time").starts_with("2020-"));
}

#[test]
fn kalkan_rsa_and_gost_signatures_verify_with_ours() {
    let mut checked = 0;
    for dir in [
        "legacy-2020/personal/active",
        "legacy-2020/personal/revoked",
        "legacy-2020/organization/active",
        "legacy-2020/organization/revoked",
    ] {
        for entry in std::fs::read_dir(fixture(dir)).expect("fixture dir") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_string();
            if !(ext == "cms" || ext == "xml") {
                continue;
            }
            let path = path.to_str().expect("path");
            let (ok, out) = qoltanba(&[&["verify", "--format", &ext, path][..], &cas()].concat());
            assert!(ok && out.contains("OK: signed by CN="), "{name}: {out}");
            assert!(out.contains("chain:        trusted: ") && out.ends_with("VALID\n"), "{out}");
            let (ok, out) = qoltanba(&["verify", path]);
            assert!(!ok && out.contains("NOT TRUSTED"), "without its CA, {name}: {out}");
            let mut changed = std::fs::read(path).expect("read");
            let at = changed.len() / 2;
            changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
            let copy = std::env::temp_dir().join(format!("changed-{}-{name}", std::process::id()));
            std::fs::write(&copy, &changed).expect("write");
            let (ok, out) =
                qoltanba(&[&["verify", copy.to_str().expect("p")][..], &cas()].concat());
            assert!(!ok, "one changed byte, {name}: {out}");
            let _ = std::fs::remove_file(copy);
            checked += 1;
        }
    }
    assert!(checked >= 14, "only {checked} Kalkan signatures found");
}

#[test]
fn demo_makes_a_test_key_that_signs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("test.p12");
    let key_path = key.to_str().expect("path");
    let (ok, out) =
        qoltanba(&["demo", "--make-test-key", "--out", key_path, "--password", "Qwerty12"]);
    assert!(ok && out.contains("TEST key written"), "{out}");
    let (ok, out) = qoltanba(&["keys", "--file", key_path, "--password-env", "P12_PASSWORD"]);
    assert!(ok && out.contains("QOLTANBA TEST") && out.contains("role:     SIGNATURE"), "{out}");
    let input = dir.path().join("doc.txt");
    std::fs::write(&input, "test").expect("write");
    let output = dir.path().join("doc.cms");
    let (ok, out) = qoltanba(&[
        "sign",
        "--file",
        key_path,
        "--password-env",
        "P12_PASSWORD",
        "--format",
        "cms",
        input.to_str().expect("path"),
        output.to_str().expect("path"),
    ]);
    assert!(ok, "{out}");
    let (ok, out) = crate::harness::run(
        "openssl",
        &[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-noverify",
            "-in",
            output.to_str().expect("path"),
            "-out",
            "/dev/null",
        ],
    );
    assert!(ok, "openssl verifies a signature of the test key: {out}");
}

fn is_root() -> bool {
    let out = std::process::Command::new("id").arg("-u").output().expect("id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// `run` with `args` in an empty data directory, as `nobody` when the tests run as root (a
/// session daemon never runs as root); its status and output, or `None` when it was still
/// running after `seconds` (then it is killed).
fn run_briefly(args: &[&str], seconds: u64) -> Option<(std::process::ExitStatus, String)> {
    run_as(args, seconds, is_root())
}

fn run_as(args: &[&str], seconds: u64, nobody: bool) -> Option<(std::process::ExitStatus, String)> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let data = dir.path().to_str().expect("path");
    let qoltanba = env!("CARGO_BIN_EXE_qoltanba");
    let mut command = if nobody {
        // A copy `nobody` can run wherever the checkout is (its folders may be closed to others).
        let copy = dir.path().join("qoltanba");
        std::fs::copy(qoltanba, &copy).expect("copy the binary");
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(copy);
        c
    } else {
        std::process::Command::new(qoltanba)
    };
    let mut child = command
        .args(["--data-dir", data, "run", "--ui", "tty"])
        .args(args)
        .env("HOME", dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run qoltanba");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if child.try_wait().expect("wait").is_some() {
            let output = child.wait_with_output().expect("output");
            let text = String::from_utf8_lossy(&output.stderr).into_owned();
            return Some((output.status, text));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn a_session_start_leaves_a_held_port_alone_and_a_manual_start_says_why_it_cannot() {
    // Another program (here: this test) holds the port, as the official NCALayer would.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://127.0.0.1:{}", holder.local_addr().expect("addr").port());
    let (status, text) = run_briefly(&["--session", "--listen", &url], 20).expect("it exits");
    assert!(status.success(), "the session start is not a failure to restart: {text}");
    assert!(text.contains("not started") && text.contains("qoltanba doctor"), "{text}");
    let (status, text) = run_briefly(&["--listen", &url], 20).expect("it exits");
    assert!(!status.success(), "a manual start reports the error: {text}");
    assert!(text.contains("cannot listen on"), "{text}");
    // With the port free, the session start serves (still running when the wait ends).
    drop(holder);
    assert!(run_briefly(&["--session", "--listen", &url], 3).is_none(), "it serves");
    if is_root() {
        let (status, text) = run_as(&["--session", "--listen", &url], 20, false).expect("exits");
        assert!(status.success() && text.contains("not started for root"), "{text}");
    }
}
