//! Hardware tokens end to end against SoftHSM2 (`docs/tokens.md`): a token configured as
//! `AKKaztokenStore`, keys imported from the NCA RSA fixtures or generated on the token, signed
//! through the WebSocket API and checked with openssl and xmlsec1; PIN errors, removal and
//! insertion while the daemon runs, and two clients on one token.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{
    b64, openssl_verify_attached, openssl_verify_detached, run, unb64, xmlsec_verify, Daemon,
    LEGACY_NOW, RSA_SIGN,
};
use crate::softhsm::{self, SoftHsm, PIN, STORE};

const ORIGIN: Option<&str> = Some("https://portal.test.kz");

fn pin_answer(pin: &str) -> Value {
    json!({"approve": true, "store": STORE, "pin": pin})
}

fn common(method: &str, args: Value) -> Value {
    json!({"module":"kz.gov.pki.knca.commonUtils","method":method,"args":args})
}

fn basics_cms(data: &[u8]) -> Value {
    json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "allowedStorages":[STORE],"format":"cms","data":b64(data),
        "signingParams":{"decode":true,"encapsulate":true},"signerParams":{"extKeyUsageOids":[]},
        "locale":"ru"}})
}

/// A daemon whose `AKKaztokenStore` is `module`, on the SoftHSM2 configuration `hsm`.
fn daemon(hsm: &SoftHsm, module: &Path, answers: &[Value]) -> Daemon {
    daemon_with(hsm, &softhsm::config(module), answers)
}

/// [`daemon`] with a config text of its own.
fn daemon_with(hsm: &SoftHsm, config: &str, answers: &[Value]) -> Daemon {
    let (key, value) = hsm.env();
    let env = [("QOLTANBA_TEST_NOW", LEGACY_NOW), (key, value.as_str())];
    // SoftHSM2 reads its configuration from the process environment.
    Daemon::process(answers, &env, Some(config))
}

/// A token holding the NCA RSA signing key.
fn fixture_token() -> Option<SoftHsm> {
    if !softhsm::available() {
        return None;
    }
    let hsm = SoftHsm::new();
    hsm.init_token("nca");
    hsm.import_p12("nca", RSA_SIGN, "01");
    Some(hsm)
}

fn module() -> &'static Path {
    Path::new(softhsm::MODULE)
}

fn retries(daemon: &Daemon) -> Vec<String> {
    daemon
        .seen()
        .iter()
        .flat_map(|s| s["retries"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn fixture_key_on_token_signs_cms_and_xml_that_verify() {
    let Some(hsm) = fixture_token() else { return };
    let daemon = daemon(&hsm, module(), &[pin_answer(PIN), pin_answer(PIN), pin_answer(PIN)]);
    let mut client = daemon.tls_client(ORIGIN).await;
    let tokens = client.call_json(&common("getActiveTokens", json!([]))).await;
    assert_eq!(tokens["responseObject"], json!([STORE]), "{tokens}");

    let document = "токендегі құжат".as_bytes();
    let reply = client.call_json(&basics_cms(document)).await;
    let pem = reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{reply}"));
    let (ok, out) = openssl_verify_attached(daemon.dir.path(), &unb64(pem), document);
    assert!(ok, "openssl rejected the token's CMS: {out}");

    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><root><data>токен</data></root>";
    let reply =
        client.call_json(&common("signXml", json!([STORE, "SIGNATURE", xml, "", ""]))).await;
    let signed = reply["responseObject"].as_str().unwrap_or_else(|| panic!("{reply}"));
    let (ok, out) = xmlsec_verify(daemon.dir.path(), signed);
    assert!(ok, "xmlsec1 rejected the token's XML: {out}");

    let reply = client
        .call_json(&common(
            "createCAdESFromBase64",
            json!([STORE, "SIGNATURE", b64(document), false]),
        ))
        .await;
    let cms = unb64(reply["responseObject"].as_str().unwrap_or_else(|| panic!("{reply}")));
    let (ok, out) = openssl_verify_detached(daemon.dir.path(), &cms, document);
    assert!(ok, "openssl rejected the detached CMS: {out}");
    let seen = daemon.seen();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter().all(|s| s["keys"] == json!(["11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9"])),
        "{seen:?}"
    );
}

#[tokio::test]
async fn key_generated_on_token_signs_and_cli_lists_it() {
    if !softhsm::available() {
        return;
    }
    let hsm = SoftHsm::new();
    hsm.init_token("gen");
    let cert = hsm.generate_key("gen", "0a");
    // The key's certificate is self-signed: the daemon is told to trust it.
    let trusted = tempfile::tempdir().expect("dir");
    let own_ca = trusted.path().join("self-signed.der");
    std::fs::write(&own_ca, &cert).expect("write");
    let config = format!(
        "{}\n[trust]\nextra_ca = [{own_ca:?}]\ninstall_local_ca = false\n",
        softhsm::config(module())
    );
    let daemon = daemon_with(&hsm, &config, &[pin_answer(PIN)]);
    let mut client = daemon.client(ORIGIN).await;
    let document = b"signed by a key that never left the token";
    let reply = client
        .call_json(&common("createCAdESFromBase64", json!([STORE, "", b64(document), true])))
        .await;
    let cms = unb64(reply["responseObject"].as_str().unwrap_or_else(|| panic!("{reply}")));
    let dir = daemon.dir.path();
    let (cms_path, ca_path) = (dir.join("gen.cms"), dir.join("gen-ca.der"));
    std::fs::write(&cms_path, cms).expect("write");
    std::fs::write(&ca_path, &cert).expect("write");
    let ca_pem = dir.join("gen-ca.pem");
    let s = |p: &Path| p.to_str().expect("path").to_string();
    let (ok, out) =
        run("openssl", &["x509", "-inform", "DER", "-in", &s(&ca_path), "-out", &s(&ca_pem)]);
    assert!(ok, "{out}");
    let (ok, out) = run(
        "openssl",
        &[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            &s(&cms_path),
            "-CAfile",
            &s(&ca_pem),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
    );
    assert!(ok, "openssl rejected the CMS of the generated key: {out}");

    let output = keys_command(&hsm);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}{}", String::from_utf8_lossy(&output.stderr));
    assert!(text.contains("CN=Token Test") && text.contains("alias:"), "{text}");
}

/// `qoltanba keys --store` on the SoftHSM2 token of `hsm`.
fn keys_command(hsm: &SoftHsm) -> std::process::Output {
    let config = hsm.dir.path().join("cli.toml");
    std::fs::write(&config, softhsm::config(module())).expect("config");
    std::process::Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .arg("--config")
        .arg(&config)
        .args(["keys", "--store", STORE])
        .env("SOFTHSM2_CONF", &hsm.conf)
        .output()
        .expect("qoltanba keys")
}

#[test]
fn the_command_line_exits_cleanly_after_using_a_token_every_time() {
    let Some(hsm) = fixture_token() else { return };
    // The module used to be finalised on its thread while the process exited, and SoftHSM2 with
    // OpenSSL 3 then crashed (SIGSEGV) about one run in twenty, after the work was done.
    for run in 0..40 {
        let output = keys_command(&hsm);
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "run {run}: {:?} {text}", output.status);
        assert!(text.contains("alias:"), "{text}");
    }
}

#[tokio::test]
async fn the_daemon_stops_cleanly_after_using_a_token_every_time() {
    let Some(hsm) = fixture_token() else { return };
    let config = softhsm::config(module());
    let (key, value) = hsm.env();
    for run in 0..15 {
        let mut daemon = Daemon::process(&[], &[(key, value.as_str())], Some(&config));
        let mut client = daemon.client(ORIGIN).await;
        let reply = client.call_json(&common("getActiveTokens", json!({}))).await;
        assert_eq!(reply["responseObject"], json!([STORE]), "{reply}");
        drop(client);
        let status = daemon.terminate();
        assert!(status.success(), "run {run}: {status:?}");
    }
}

#[tokio::test]
async fn wrong_pin_is_asked_again_with_the_tries_left() {
    let Some(hsm) = fixture_token() else { return };
    // SoftHSM2 itself raises CKF_USER_PIN_COUNT_LOW after a wrong PIN (it never locks).
    let daemon = daemon(&hsm, module(), &[pin_answer("0000"), pin_answer(PIN), pin_answer("9999")]);
    let mut client = daemon.client(ORIGIN).await;
    let reply = client.call_json(&basics_cms(b"after one wrong PIN")).await;
    assert!(reply["body"]["result"][0].is_string(), "{reply}");
    let first = retries(&daemon);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].starts_with("Wrong PIN."), "{first:?}");
    // A wrong PIN with no answer left ends as a cancel, as a wrong file password does.
    let reply = client.call_json(&basics_cms(b"never signed")).await;
    assert_eq!(reply, json!({"body":{},"status":true}));
    let seen = daemon.seen();
    assert_eq!(seen.last().map(|s| s["result"].clone()), Some(json!("cancelled")));
    assert!(
        retries(&daemon).iter().any(|r| r.contains("few tries left")),
        "{:?}",
        retries(&daemon)
    );
}

#[tokio::test]
async fn locked_pin_is_a_final_error_with_tries_counted_down() {
    let Some(hsm) = fixture_token() else { return };
    let double = softhsm::pin_limit_module(hsm.dir.path());
    let answers = [pin_answer("1111"), pin_answer("2222"), pin_answer("3333"), pin_answer(PIN)];
    let daemon = daemon(&hsm, &double, &answers);
    let mut client = daemon.client(ORIGIN).await;
    let document = b64(b"x");
    let reply = client
        .call_json(&common("createCAdESFromBase64", json!([STORE, "", document, false])))
        .await;
    assert_eq!(reply, json!({"code":"500","message":"token.pin.locked"}));
    let said = retries(&daemon);
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(said[0].contains("few tries left"), "{said:?}");
    assert!(said[1].contains("One try is left"), "{said:?}");
    // The right PIN no longer helps, and the daemon does not try it on its own.
    let reply = client.call_json(&basics_cms(b"x")).await;
    assert_eq!(reply["code"], "TOKEN_PIN_LOCKED", "{reply}");
    assert_eq!(reply["status"], false);
}

#[tokio::test]
async fn token_removed_between_listing_and_signing_then_inserted_again() {
    let Some(hsm) = fixture_token() else { return };
    let mut answer = pin_answer(PIN);
    answer["choose_delay_ms"] = json!(1500);
    let daemon = daemon(&hsm, module(), &[answer]);
    let mut client = daemon.client(ORIGIN).await;
    let request = common("createCAdESFromBase64", json!([STORE, "", b64(b"x"), false]));
    client.send(&request.to_string()).await;
    let marker = daemon.answers.with_extension("jsonl.choosing");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the key chooser never opened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    hsm.remove_tokens();
    let reply: Value = serde_json::from_str(&client.recv().await.expect("reply")).expect("JSON");
    assert_eq!(reply, json!({"code":"500","message":"token.removed"}));
    let tokens = client.call_json(&common("getActiveTokens", json!([]))).await;
    assert_eq!(tokens["responseObject"], json!([]), "removal seen without a restart");
    let reply = client.call_json(&common("getKeyInfo", json!([STORE]))).await;
    assert_eq!(reply, json!({"code":"500","message":"storage.empty"}));
    hsm.init_token("again");
    let tokens = client.call_json(&common("getActiveTokens", json!([]))).await;
    assert_eq!(tokens["responseObject"], json!([STORE]), "insertion seen without a restart");
}

#[tokio::test]
async fn two_clients_on_one_token_both_sign() {
    let Some(hsm) = fixture_token() else { return };
    let daemon = daemon(&hsm, module(), &[pin_answer(PIN), pin_answer(PIN)]);
    let mut first = daemon.client(ORIGIN).await;
    let mut second = daemon.client(Some("https://other.test.kz")).await;
    let documents: [&[u8]; 2] = [b"first client", b"second client"];
    let (one, two) = (basics_cms(documents[0]), basics_cms(documents[1]));
    let (a, b) = tokio::join!(first.call_json(&one), second.call_json(&two));
    for (reply, document) in [a, b].iter().zip(documents) {
        let pem = reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{reply}"));
        let (ok, out) = openssl_verify_attached(daemon.dir.path(), &unb64(pem), document);
        assert!(ok, "{out}");
    }
    assert_eq!(daemon.seen().len(), 2);
}

#[tokio::test]
async fn remembered_pin_is_used_only_when_asked_for() {
    let Some(hsm) = fixture_token() else { return };
    let mut remember = pin_answer(PIN);
    remember["remember_minutes"] = json!(5);
    let answers = [pin_answer(PIN), pin_answer("")];
    let daemon = daemon(&hsm, module(), &answers);
    let mut client = daemon.client(ORIGIN).await;
    let reply = client.call_json(&basics_cms(b"one")).await;
    assert!(reply["body"]["result"][0].is_string(), "{reply}");
    // Not remembered by default: an empty PIN is a wrong PIN, and no answer is left to retry.
    let reply = client.call_json(&basics_cms(b"two")).await;
    assert_eq!(reply, json!({"body":{},"status":true}));
    daemon.answer(&remember);
    daemon.answer(&pin_answer(""));
    for document in [&b"three"[..], b"four"] {
        let reply = client.call_json(&basics_cms(document)).await;
        assert!(reply["body"]["result"][0].is_string(), "{reply}");
    }
}

/// The remembered PIN is in a page locked against swap (`VmLck`), which exists only once a PIN
/// is remembered; the daemon writes no core file (`docs/security.md`).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_remembered_pin_is_kept_in_locked_memory_of_a_daemon_without_core_files() {
    let Some(hsm) = fixture_token() else { return };
    let mut remember = pin_answer(PIN);
    remember["remember_minutes"] = json!(5);
    let daemon = daemon(&hsm, module(), &[pin_answer(PIN), remember, pin_answer("")]);
    assert_eq!(daemon.core_limits(), ("0".into(), "0".into()));
    let mut client = daemon.client(ORIGIN).await;
    let reply = client.call_json(&basics_cms(b"one")).await;
    assert!(reply["body"]["result"][0].is_string(), "{reply}");
    assert_eq!(daemon.status_kb("VmLck"), 0, "nothing locked while no PIN is remembered");
    for document in [&b"two"[..], b"three"] {
        let reply = client.call_json(&basics_cms(document)).await;
        assert!(reply["body"]["result"][0].is_string(), "{reply}");
    }
    assert!(daemon.status_kb("VmLck") >= 4, "the remembered PIN's page is locked");
}

/// A token with the NCA key and a key of its own (self-signed, trusted by nothing): the key
/// chooser shows both, the foreign one greyed with the reason, and the NCA key signs.
#[tokio::test]
async fn a_key_that_does_not_chain_is_shown_greyed_with_the_reason() {
    let Some(hsm) = fixture_token() else { return };
    hsm.generate_key("nca", "0b");
    let daemon = daemon(&hsm, module(), &[pin_answer(PIN)]);
    let mut client = daemon.client(ORIGIN).await;
    let reply = client.call_json(&basics_cms(b"two keys, one usable")).await;
    assert!(reply["body"]["result"][0].is_string(), "the NCA key signs: {reply}");
    let seen = daemon.seen();
    let refused = seen[0]["refused_keys"].as_array().cloned().unwrap_or_default();
    assert_eq!(refused.len(), 1, "{seen:?}");
    let why = refused[0]["why"].as_str().unwrap_or_default();
    assert!(why.contains("is not accepted") && why.contains("trusted CA"), "{why}");
    assert_eq!(seen[0]["keys"].as_array().map(Vec::len), Some(1), "one usable key: {seen:?}");
}
