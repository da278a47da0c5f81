//! The user in the loop: what the prompt is shown, retries, filters, ordering, cancellation.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{approve, b64, fixture, Daemon, RSA_AUTH, RSA_SIGN};

fn cades(data: &[u8]) -> Value {
    json!({"module":"kz.gov.pki.knca.commonUtils","method":"createCAdESFromBase64",
        "args":["PKCS12","SIGNATURE",b64(data),true]})
}

#[tokio::test]
async fn wrong_password_is_asked_again_then_cancelled() {
    let wrong = json!({"approve":true,"store":"PKCS12","file":fixture(RSA_SIGN),"password":"nope"});
    let daemon = Daemon::start(&[wrong.clone(), approve(RSA_SIGN), wrong]);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let reply = client.call_json(&cades(b"one")).await;
    assert_eq!(reply["code"], "200", "the second answer has the right password: {reply}");
    let reply = client.call(&cades(b"two").to_string()).await;
    assert_eq!(
        reply, r#"{"code":"500","message":"action.canceled"}"#,
        "no answer left after the wrong password"
    );
    let seen = daemon.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0]["retries"], json!(["Wrong password. Try again."]));
    assert_eq!(seen[0]["result"], "signed");
    assert_eq!(seen[1]["result"], "cancelled");
}

#[tokio::test]
async fn filters_that_match_nothing_offer_no_key() {
    let daemon = Daemon::start(&[approve(RSA_SIGN), approve(RSA_SIGN)]);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let request = json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "format":"cms","data":"MTEK","signingParams":{},
        "signerParams":{"extKeyUsageOids":["1.2.398.3.3.4.1.2.1"],"iin":"999999999999"}}});
    assert_eq!(client.call(&request.to_string()).await, r#"{"body":{},"status":true}"#);
    let auth_only = json!({"module":"kz.gov.pki.knca.commonUtils","method":"createCAdESFromBase64",
        "args":["PKCS12","AUTHENTICATION",b64(b"x"),true]});
    let reply = client.call(&auth_only.to_string()).await;
    assert_eq!(
        reply, r#"{"code":"500","message":"action.canceled"}"#,
        "a SIGNATURE-only file has no AUTHENTICATION key"
    );
    let seen = daemon.seen();
    assert_eq!(seen[0]["keys"], json!([]));
    assert_eq!(seen[0]["filter"]["iin"], "999999999999");
    assert!(seen[0]["retries"].as_array().is_some_and(|r| !r.is_empty()));
}

#[tokio::test]
async fn filters_select_the_matching_key() {
    let daemon = Daemon::start(&[approve(RSA_AUTH)]);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let request = json!({"module":"kz.gov.pki.knca.commonUtils","method":"createCAdESFromBase64",
        "args":["PKCS12","AUTHENTICATION",b64(b"x"),true]});
    let reply = client.call_json(&request).await;
    assert_eq!(reply["code"], "200", "{reply}");
    assert_eq!(daemon.seen()[0]["keys"], json!(["b2c70a9ff7a5dc59de0ccc3c0ddde3437cc1f12d"]));
}

#[tokio::test]
async fn the_prompt_shows_the_handshake_origin_and_document_hashes() {
    use sha2::Digest as _;
    let daemon = Daemon::start(&[approve(RSA_SIGN)]);
    let mut client = daemon.client(Some("https://real.portal.kz")).await;
    let mut request = cades(b"hello");
    request["origin"] = json!("https://egov.kz");
    request["args"][2] = json!(b64(b"hello"));
    let reply = client.call_json(&request).await;
    assert_eq!(reply["code"], "200", "{reply}");
    let seen = &daemon.seen()[0];
    assert_eq!(
        seen["origin"], "https://real.portal.kz",
        "the origin comes from the handshake, never the message"
    );
    assert_eq!(seen["operation"], "cms-attached");
    let expected: String =
        sha2::Sha256::digest(b"hello").iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(seen["documents"], json!({"count":1,"sha256":[expected],"sizes":[5]}));
    assert_eq!(seen["keys"], json!(["11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9"]));
}

#[tokio::test]
async fn prompts_wait_in_order_and_a_departed_client_cancels_its_prompt() {
    let mut slow = approve(RSA_SIGN);
    slow["delay_ms"] = json!(5_000);
    let daemon = Daemon::start(&[slow, approve(RSA_SIGN)]);
    let mut first = daemon.client(Some("https://first.kz")).await;
    let mut second = daemon.client(Some("https://second.kz")).await;
    first.send(&cades(b"first").to_string()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    second.send(&cades(b"second").to_string()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.close().await;
    let started = std::time::Instant::now();
    let reply: Value = serde_json::from_str(&second.recv().await.expect("reply")).expect("JSON");
    assert_eq!(reply["code"], "200", "{reply}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the closed client's prompt must be cancelled, not waited out"
    );
    let seen = daemon.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[0]["origin"].as_str(), seen[0]["result"].as_str()),
        (Some("https://first.kz"), Some("cancelled"))
    );
    assert_eq!(
        (seen[1]["origin"].as_str(), seen[1]["result"].as_str()),
        (Some("https://second.kz"), Some("signed"))
    );
}

#[tokio::test]
async fn answers_appended_while_running_are_used() {
    let daemon = Daemon::start(&[]);
    let mut client = daemon.client(None).await;
    assert_eq!(
        client.call(&cades(b"a").to_string()).await,
        r#"{"code":"500","message":"action.canceled"}"#
    );
    daemon.answer(&approve(RSA_SIGN));
    let reply = client.call_json(&cades(b"b")).await;
    assert_eq!(reply["code"], "200", "{reply}");
}

#[tokio::test]
async fn logs_hold_no_password_and_no_document() {
    let wrong = json!({"approve":true,"store":"PKCS12","file":fixture(RSA_SIGN),"password":"Secret-Пароль-77"});
    let daemon = Daemon::start_with(
        &[wrong, approve(RSA_SIGN)],
        &[("QOLTANBA_TEST_NOW", crate::harness::LEGACY_NOW), ("QOLTANBA_LOG", "trace")],
        None,
    );
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let document = "<secret-document>TOP-SECRET-CONTENT-42</secret-document>";
    let request = json!({"module":"kz.gov.pki.knca.commonUtils","method":"signXml","args":["PKCS12","SIGNATURE",document,"",""]});
    assert_eq!(client.call_json(&request).await["code"], "200");
    let reply = client.call_json(&cades(document.as_bytes())).await;
    assert_eq!(reply["code"], "500", "no answer left: cancelled");
    client.close().await;
    let log = std::fs::read_to_string(daemon.data().join("qoltanba.log")).expect("log file");
    assert!(log.contains("connection opened"), "the log is written: {log}");
    let journal = std::fs::read_to_string(daemon.data().join("journal.jsonl")).expect("journal");
    assert_eq!(journal.lines().count(), 1, "one signature, one journal line: {journal}");
    for secret in
        ["Qwerty12", "Secret-Пароль-77", "TOP-SECRET-CONTENT-42", &b64(document.as_bytes())]
    {
        for (name, text) in [("log", &log), ("journal", &journal)] {
            let leaks: Vec<&str> = text.lines().filter(|l| l.contains(secret)).collect();
            assert!(leaks.is_empty(), "the {name} contains {secret}: {leaks:?}");
        }
    }
    let leaks = crate::harness::secret_leaks(
        &daemon.data(),
        &["TOP-SECRET-CONTENT-42".to_string(), "Secret-Пароль-77".to_string()],
    );
    assert!(leaks.is_empty(), "no file of the data directory holds them: {leaks:?}");
}
