//! The Windows build under Wine: `QOLTANBA_WINDOWS_EXE` (built by `.ci/test.sh` for
//! x86_64-pc-windows-gnu with `test-support`) runs in a fresh Wine prefix of its own. The IT
//! policy is written to the real (Wine) registry with `reg import` of
//! `installer/windows/policy-example.reg` and `reg add`, read back by `qoltanba policy`, and
//! enforced by the daemon, which signs over its WebSocket API; openssl verifies the signature.
//! Without Wine or the executable these tests skip visibly (`SKIPPED: …`), unless
//! `QOLTANBA_REQUIRE_ORACLES` is set (CI), where they fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{approve, b64, openssl_verify_attached, unb64, Daemon, LEGACY_NOW, RSA_SIGN};

/// The longest one Wine command may take (the first `wineboot` takes about 10 s).
const LIMIT: Duration = Duration::from_secs(180);

/// A Wine prefix of its own, with a persistent wineserver that is killed at drop.
struct Wine {
    prefix: tempfile::TempDir,
    bin: PathBuf,
    exe: PathBuf,
    server: Child,
}

fn wine_bin() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/lib/wine")])
        .find(|dir| dir.join("wine64").is_file() && dir.join("wineserver").is_file())
}

impl Wine {
    fn new() -> Option<Self> {
        let exe = std::env::var_os("QOLTANBA_WINDOWS_EXE").map(PathBuf::from);
        let mingw = crate::skip::on_path("x86_64-w64-mingw32-gcc");
        let found = (exe.clone().filter(|e| e.is_file()), wine_bin().filter(|_| mingw));
        let (Some(exe), Some(bin)) = found else {
            let tool = format!("Wine (wine64), MinGW and QOLTANBA_WINDOWS_EXE (now {exe:?})");
            let _ = crate::skip::needs(&tool, false);
            return None;
        };
        let prefix = tempfile::tempdir().expect("temp dir");
        let shim = prefix.path().join("shim");
        std::fs::create_dir(&shim).expect("shim dir");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/wine_prng.c");
        let built = Command::new("x86_64-w64-mingw32-gcc")
            .args(["-shared", "-O2", "-o"])
            .arg(shim.join("bcryptprimitives.dll"))
            .arg(source)
            .arg("-lbcrypt")
            .status()
            .expect("x86_64-w64-mingw32-gcc (MinGW) is installed by .ci/test.sh");
        assert!(built.success(), "the bcryptprimitives.dll shim must build");
        // The prefix directory must exist for this server to be the one every later Wine
        // command uses; it stays 30 s after its last client, and is killed at drop.
        std::fs::create_dir(prefix.path().join("prefix")).expect("prefix dir");
        let mut server = Command::new(bin.join("wineserver"));
        server.arg("-f").arg("-p30");
        let server = Self::env(&mut server, prefix.path(), &bin)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start wineserver");
        let wine = Self { prefix, bin, exe, server };
        let booted = finish(wine.command("wineboot").arg("--init"), "wineboot --init");
        assert!(booted.success(), "wineboot --init");
        Some(wine)
    }

    fn env<'c>(command: &'c mut Command, prefix: &Path, bin: &Path) -> &'c mut Command {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![bin.to_path_buf()];
        dirs.extend(std::env::split_paths(&path));
        command
            .env("WINEPREFIX", prefix.join("prefix"))
            .env("WINEPATH", format!("Z:{}", prefix.join("shim").display()).replace('/', "\\"))
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env("PATH", std::env::join_paths(dirs).expect("PATH"))
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
    }

    /// `wine64 PROGRAM`, with no terminal or pipe a Wine background process could keep open.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(self.bin.join("wine64"));
        command.arg(program);
        Self::env(&mut command, self.prefix.path(), &self.bin)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    /// Runs Windows' `reg` with `args`; it must succeed. Wine's `reg.exe` has been seen to fail
    /// now and then on a loaded machine (a CI run, once in many): a failure is tried again up to
    /// twice, with its output kept for the message.
    fn reg(&self, args: &[&str]) {
        let mut said = String::new();
        for attempt in 1..=3 {
            let out = self.prefix.path().join("reg.out");
            let file = std::fs::File::create(&out).expect("reg output file");
            let err = file.try_clone().expect("reg output file");
            let status =
                finish(self.command("reg").args(args).stdout(file).stderr(err), "wine reg");
            if status.success() {
                return;
            }
            said = std::fs::read_to_string(&out).unwrap_or_default();
            eprintln!("wine reg {args:?} failed (attempt {attempt}, {status}): {said}");
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("reg {args:?}: {said}");
    }

    /// Runs `qoltanba.exe ARGS` to its end: (success, stdout, stderr).
    fn qoltanba(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
        let (out, err) = (self.prefix.path().join("stdout"), self.prefix.path().join("stderr"));
        let file = |path: &Path| std::fs::File::create(path).expect("output file");
        let mut command = self.command(&self.exe);
        command.args(args).envs(env.iter().copied()).stdout(file(&out)).stderr(file(&err));
        let status = finish(&mut command, "qoltanba.exe");
        let text = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        (status.success(), text(&out), text(&err))
    }
}

/// Runs `command` to its end, killing it (and failing the test) after [`LIMIT`]: a Wine
/// command that hangs must not hang the test run.
fn finish(command: &mut Command, what: &str) -> ExitStatus {
    let mut child = command.spawn().unwrap_or_else(|e| panic!("{what}: {e}"));
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("{what}: {e}")) {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish in {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        let mut kill = Command::new(self.bin.join("wineserver"));
        let _ = Self::env(&mut kill, self.prefix.path(), &self.bin).arg("-k").status();
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// The value of a `qoltanba policy` line.
fn line<'a>(report: &'a str, name: &str) -> Vec<&'a str> {
    report.lines().filter_map(|l| l.strip_prefix(name)).map(str::trim).collect()
}

fn example_policy() -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("installer/windows/policy-example.reg");
    file.display().to_string()
}

#[test]
fn it_policy_is_read_from_the_registry_and_wins_over_the_policy_file() {
    let Some(wine) = Wine::new() else { return };
    let data = wine.prefix.path().join("data");
    let data = data.to_str().expect("path");
    let (ok, report, err) = wine.qoltanba(&["--data-dir", data, "policy"], &[]);
    assert!(ok, "{err}");
    assert_eq!(
        line(&report, "IT registry key"),
        [r"HKLM\SOFTWARE\Policies\Qoltanba (not present)"]
    );
    assert_eq!(line(&report, "mode"), ["prompt"]);

    wine.reg(&["import", &example_policy()]);
    wine.reg(&[
        "add",
        r"HKLM\SOFTWARE\Policies\Qoltanba\pkcs11\modules",
        "/v",
        "AKKaztokenStore",
        "/t",
        "REG_MULTI_SZ",
        "/d",
        r"C:\tokens\kaztoken.dll\0C:\tokens\kaztoken2.dll",
        "/f",
    ]);
    let file = wine.prefix.path().join("policy.toml");
    std::fs::write(&file, "[policy]\nmode = \"prompt\"\ncooldown_seconds = 600\n").expect("write");
    let env = [("QOLTANBA_POLICY", file.to_str().expect("path"))];
    let (ok, report, err) = wine.qoltanba(&["--data-dir", data, "policy"], &env);
    assert!(ok, "{err}");
    assert_eq!(line(&report, "IT registry key"), [r"HKLM\SOFTWARE\Policies\Qoltanba (read)"]);
    assert_eq!(line(&report, "mode"), ["allowlist (set by IT)"], "the registry wins: {report}");
    let origins = "https://egov.kz, https://*.egov.kz, https://cabinet.salyk.kz, \
        https://esf.gov.kz:8443, https://goszakup.gov.kz, https://*.goszakup.gov.kz";
    assert_eq!(line(&report, "allowed origins"), [origins], "in the order of the .reg file");
    assert_eq!(line(&report, "cool-down"), ["600 s"], "the file's other keys stay");
    assert_eq!(line(&report, "local programs"), ["allowed"]);
    let modules = line(&report, "token module");
    assert!(
        modules.contains(&r"AKKaztokenStore = C:\tokens\kaztoken.dll; C:\tokens\kaztoken2.dll"),
        "REG_MULTI_SZ read as a list: {report}"
    );

    wine.reg(&[
        "add",
        r"HKLM\SOFTWARE\Policies\Qoltanba\policy",
        "/v",
        "allow_local_programs",
        "/t",
        "REG_DWORD",
        "/d",
        "0",
        "/f",
    ]);
    let (ok, report, err) = wine.qoltanba(&["--data-dir", data, "policy"], &env);
    assert!(ok, "{err}");
    assert_eq!(line(&report, "local programs"), ["refused"]);

    wine.reg(&[
        "add",
        r"HKLM\SOFTWARE\Policies\Qoltanba\policy",
        "/v",
        "prompts_per_minute",
        "/t",
        "REG_DWORD",
        "/d",
        "1000",
        "/f",
    ]);
    let (ok, _, err) = wine.qoltanba(&["--data-dir", data, "policy"], &env);
    assert!(!ok, "an out-of-bounds value stops the program");
    assert!(err.contains(r"HKLM\SOFTWARE\Policies\Qoltanba"), "the error names the key: {err}");
    assert!(err.contains("prompts_per_minute"), "{err}");
    registry_value_types_are_read_as_written(&wine, data, &env);
}

/// The other value types, written by `reg add` and read by the daemon's own registry reader
/// (the enumeration `platform::registry` has only on Windows): `REG_QWORD` and
/// `REG_EXPAND_SZ` read as their number and text; `REG_BINARY` stops the program naming it.
fn registry_value_types_are_read_as_written(wine: &Wine, data: &str, env: &[(&str, &str)]) {
    let set = |name: &str, kind: &str, value: &str| {
        let key = r"HKLM\SOFTWARE\Policies\Qoltanba\policy";
        wine.reg(&["add", key, "/v", name, "/t", kind, "/d", value, "/f"]);
    };
    set("prompts_per_minute", "REG_QWORD", "4");
    set("mode", "REG_EXPAND_SZ", "prompt");
    let (ok, report, err) = wine.qoltanba(&["--data-dir", data, "policy"], env);
    assert!(ok, "{err}");
    assert_eq!(line(&report, "prompts per minute"), ["4"], "REG_QWORD: {report}");
    assert_eq!(line(&report, "mode"), ["prompt"], "REG_EXPAND_SZ: {report}");

    set("rejections_per_minute", "REG_BINARY", "03");
    let (ok, _, err) = wine.qoltanba(&["--data-dir", data, "policy"], env);
    assert!(!ok, "a value of a type the policy does not use stops the program");
    assert!(err.contains(r"Qoltanba\policy\rejections_per_minute"), "names the value: {err}");
}

fn cades(data: &[u8]) -> Value {
    json!({"module":"kz.gov.pki.knca.commonUtils","method":"createCAdESFromBase64",
        "args":["PKCS12","SIGNATURE",b64(data),true]})
}

#[tokio::test]
async fn the_windows_daemon_enforces_the_registry_policy_and_signs() {
    let Some(wine) = Wine::new() else { return };
    wine.reg(&["import", &example_policy()]);
    let daemon = Daemon::start_program(
        wine.command(&wine.exe),
        &[approve(RSA_SIGN)],
        &[("QOLTANBA_TEST_NOW", LEGACY_NOW)],
        None,
    );
    for hostile in ["https://evil.example", "https://new-site.kz"] {
        let status = daemon.handshake_status(Some(hostile)).await;
        assert_eq!(status, 403, "{hostile} is refused at the handshake");
    }
    assert!(daemon.seen().is_empty(), "no prompt for a refused origin");

    let mut portal = daemon.tls_client(Some("https://idp.egov.kz")).await;
    let document = b"a document signed on Windows";
    let reply = portal.call_json(&cades(document)).await;
    assert_eq!(reply["code"], "200", "{reply}");
    let cms = unb64(reply["responseObject"].as_str().expect("signature"));
    let (ok, out) = openssl_verify_attached(daemon.dir.path(), &cms, document);
    assert!(ok, "openssl verifies the CMS made on Windows: {out}");
    assert_eq!(daemon.seen().len(), 1);
    assert_eq!(daemon.seen()[0]["origin_trust"], "trusted");
    let journal = daemon.journal();
    assert_eq!(journal.len(), 1, "one journal line: {journal:?}");
    assert_eq!(journal[0]["origin"], "https://idp.egov.kz");
}

/// Issue 14 on Windows: `install-browser-support` names the host in the user's registry for
/// Chrome, Edge and Firefox (the doctor, reading the registry as the browsers do, finds each
/// manifest valid), the host program it registers relays a page socket to the daemon, and
/// `--remove` takes the keys back.
#[test]
fn browser_support_registers_the_host_in_the_registry_and_it_relays() {
    let Some(wine) = Wine::new() else { return };
    let daemon = Daemon::start(&[approve(RSA_SIGN)]);
    let data = format!("Z:{}", daemon.data().display()).replace('/', "\\");
    let (ok, out, err) = wine.qoltanba(&["--data-dir", &data, "install-browser-support"], &[]);
    assert!(ok, "{out}{err}");
    let hosts = |wine: &Wine| {
        let (_, report, err) = wine.qoltanba(&["--data-dir", &data, "doctor", "--json"], &[]);
        let report: Value = serde_json::from_str(&report).unwrap_or_else(|e| panic!("{e}: {err}"));
        let all = report["findings"].as_array().cloned().unwrap_or_default();
        all.into_iter().filter(|f| f["check"] == "native_host").collect::<Vec<_>>()
    };
    let found = hosts(&wine);
    assert_eq!(found.len(), 3, "Chrome, Edge, Firefox: {found:?}");
    assert!(found.iter().all(|f| f["status"] == "ok"), "{found:?}");

    let bat = daemon.data().join("native-messaging/qoltanba-native-host.bat");
    let script = std::fs::read_to_string(&bat).expect("the host program");
    assert!(script.contains("\"native-host\" %*"), "{script}");
    // As Chrome starts a .bat host: through cmd.exe, with the extension's origin.
    let bat = format!("Z:{}", bat.display()).replace('/', "\\");
    let mut command = wine.command("cmd");
    command.args(["/c", &bat, crate::native::EXTENSION]).env("QOLTANBA_TEST_NOW", LEGACY_NOW);
    let mut host = crate::native::Host::spawn(command);
    host.open("https://portal.test.kz");
    let reply = host.call(&crate::native::sign_cms(&[b"signed through the Windows host"]));
    let pem = reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{reply}"));
    let (ok, out) =
        openssl_verify_attached(daemon.dir.path(), &unb64(pem), b"signed through the Windows host");
    assert!(ok, "{out}");
    assert_eq!(daemon.journal()[0]["origin"], "https://portal.test.kz");
    host.send(&json!({"type":"close","code":1000}));
    assert_eq!(host.recv()["code"], 1000);
    assert_eq!(host.exit().0, Some(0));

    let (ok, out, err) =
        wine.qoltanba(&["--data-dir", &data, "install-browser-support", "--remove"], &[]);
    assert!(ok, "{out}{err}");
    assert!(hosts(&wine).iter().all(|f| f["status"] != "ok"), "the keys are gone");
}
