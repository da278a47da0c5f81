//! Security (docs/security.md): the origin policy, the IT policy file, prompt limits, the
//! journal and `qoltanba history`.

use serde_json::{json, Value};

use crate::harness::{approve, b64, run, Client, Daemon, LEGACY_NOW, RSA_SIGN};

const ALLOWLIST: &str =
    "[policy]\nmode = \"allowlist\"\nallowed_origins = [\"https://portal.test.kz\"]\n";

fn cades(data: &[u8]) -> Value {
    json!({"module":"kz.gov.pki.knca.commonUtils","method":"createCAdESFromBase64",
        "args":["PKCS12","SIGNATURE",b64(data),true]})
}

fn basics_cms(data: &str) -> Value {
    json!({"module":"kz.gov.pki.knca.basics","method":"sign",
        "args":{"format":"cms","data":b64(data.as_bytes()),"signingParams":{},"signerParams":{}}})
}

const TOO_MANY: &str = r#"{"code":"500","message":"requests.too_many"}"#;

fn start(answers: &[Value], config: Option<&str>) -> Daemon {
    Daemon::start_with(answers, &[("QOLTANBA_TEST_NOW", LEGACY_NOW)], config)
}

/// A refused origin gets HTTP 403 at the handshake: no method of any module is reachable.
async fn assert_refused_at_the_handshake(daemon: &Daemon, origin: Option<&str>) {
    assert_eq!(daemon.handshake_status(origin).await, 403, "{origin:?}");
}

#[tokio::test]
async fn a_hostile_origin_in_allowlist_mode_never_produces_a_prompt() {
    let daemon = start(&[approve(RSA_SIGN), approve(RSA_SIGN)], Some(ALLOWLIST));
    for hostile in ["https://evil.example", "https://egov.kz", "http://portal.test.kz", "null"] {
        assert_refused_at_the_handshake(&daemon, Some(hostile)).await;
    }
    assert!(daemon.seen().is_empty(), "no prompt for a refused origin: {:?}", daemon.seen());
    let mut listed = daemon.client(Some("https://portal.test.kz")).await;
    let reply = listed.call_json(&cades(b"allowed")).await;
    assert_eq!(reply["code"], "200", "the listed origin still works: {reply}");
    let seen = daemon.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["origin_trust"], "trusted");
    let mut local = daemon.client(None).await;
    assert_eq!(local.call_json(&cades(b"local")).await["code"], "200");
    assert_eq!(daemon.seen()[1]["origin_trust"], "local", "a program on this computer");
}

#[tokio::test]
async fn prompt_mode_marks_new_sites_and_remembers_the_users_decision() {
    let mut remember = approve(RSA_SIGN);
    remember["remember_origin"] = json!(true);
    let answers = [remember, approve(RSA_SIGN), approve(RSA_SIGN), approve(RSA_SIGN)];
    let daemon = start(&answers, None);
    let mut new_site = daemon.client(Some("https://new-site.kz")).await;
    assert_eq!(new_site.call_json(&cades(b"1")).await["code"], "200");
    assert_eq!(new_site.call_json(&cades(b"2")).await["code"], "200");
    let mut portal = daemon.client(Some("https://idp.egov.kz")).await;
    assert_eq!(portal.call_json(&cades(b"3")).await["code"], "200");
    let mut dev = daemon.client(Some("http://localhost:3000")).await;
    assert_eq!(dev.call_json(&cades(b"4")).await["code"], "200");
    let trust: Vec<Value> = daemon.seen().iter().map(|s| s["origin_trust"].clone()).collect();
    assert_eq!(trust, vec![json!("new"), json!("trusted"), json!("trusted"), json!("new")]);
    let remembered = std::fs::read_to_string(daemon.data().join("trusted-origins.txt"))
        .expect("remembered origins in the data directory");
    assert_eq!(remembered, "https://new-site.kz\n");
    assert_refused_at_the_handshake(&daemon, Some("http://portal.kz")).await;
    assert_eq!(daemon.seen().len(), 4);
}

#[tokio::test]
async fn the_it_policy_file_cannot_be_loosened_by_the_users_config() {
    let dir = tempfile::tempdir().expect("dir");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, format!("{ALLOWLIST}allow_local_programs = false\n")).expect("write");
    let user = "[policy]\nmode = \"prompt\"\nallowed_origins = [\"https://user.kz\"]\nallow_local_programs = true\n";
    let env =
        [("QOLTANBA_TEST_NOW", LEGACY_NOW), ("QOLTANBA_POLICY", policy.to_str().expect("path"))];
    let daemon = Daemon::start_with(&[approve(RSA_SIGN)], &env, Some(user));
    for refused in [Some("https://user.kz"), Some("https://new.kz"), None] {
        assert_refused_at_the_handshake(&daemon, refused).await;
    }
    assert!(daemon.seen().is_empty());
    let mut listed = daemon.client(Some("https://portal.test.kz")).await;
    assert_eq!(listed.call_json(&cades(b"x")).await["code"], "200");
}

/// Sends `count` requests on `client` without waiting, then reads every reply.
async fn flood(client: &mut Client, count: usize) -> Vec<String> {
    for n in 0..count {
        client.send(&cades(format!("flood {n}").as_bytes()).to_string()).await;
    }
    let mut replies = Vec::new();
    for _ in 0..count {
        replies.push(client.recv().await.expect("one reply per request"));
    }
    replies
}

#[tokio::test]
async fn cancelled_prompts_cool_the_origin_down_without_prompts() {
    let daemon = start(&[], None);
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(daemon.client(Some("https://pest.kz")).await);
    }
    let mut replies = Vec::new();
    for client in &mut clients {
        replies.extend(flood(client, 25).await);
    }
    assert_eq!(replies.len(), 100);
    let cancelled =
        replies.iter().filter(|r| *r == r#"{"code":"500","message":"action.canceled"}"#).count();
    assert_eq!((cancelled, replies.len() - cancelled), (3, 97), "{replies:?}");
    assert!(replies.iter().all(|r| r.contains("action.canceled") || *r == TOO_MANY));
    assert_eq!(daemon.seen().len(), 3, "rejections_per_minute = 3, then the cool-down");
    let mut other = daemon.client(Some("https://other.kz")).await;
    daemon.answer(&approve(RSA_SIGN));
    let reply = other.call_json(&basics_cms("other origin")).await;
    assert!(reply["body"]["result"].is_array(), "other origins are not affected: {reply}");
    let mut pest = daemon.client(Some("https://pest.kz")).await;
    let reply = pest.call_json(&basics_cms("again")).await;
    assert_eq!(reply["code"], "TOO_MANY_REQUESTS", "{reply}");
    assert!(reply["message"].as_str().unwrap_or_default().contains("cooldown_seconds"), "{reply}");
}

#[tokio::test]
async fn too_many_queued_requests_on_one_connection_get_error_replies_in_order() {
    let mut slow = approve(RSA_SIGN);
    slow["delay_ms"] = json!(1500);
    let daemon = start(&[slow], None);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    for n in 0..20 {
        client.send(&cades(format!("{n}").as_bytes()).to_string()).await;
    }
    let mut replies = Vec::new();
    for _ in 0..20 {
        replies.push(client.recv().await.expect("reply"));
    }
    assert!(replies[0].contains(r#""code":"200""#), "{}", replies[0]);
    // 1 running + 16 queued are run (and refused by the prompt limits), the 3 beyond are
    // refused by the transport at once, but their replies keep their place.
    assert!(
        replies[1..].iter().all(|r| r == TOO_MANY || r.contains("action.canceled")),
        "{replies:?}"
    );
}

#[tokio::test]
async fn every_signature_is_journaled_before_the_reply_and_history_shows_it() {
    use sha2::Digest as _;
    let daemon = start(&[approve(RSA_SIGN)], None);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let reply = client.call_json(&cades(b"journal me")).await;
    assert_eq!(reply["code"], "200", "{reply}");
    let journal = daemon.journal();
    assert_eq!(journal.len(), 1, "written before the reply was sent");
    let entry = &journal[0];
    let hash: String =
        sha2::Sha256::digest(b"journal me").iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(entry["origin"], "https://portal.test.kz");
    assert_eq!(entry["operation"], "cms-attached");
    assert_eq!(entry["documents"], json!([hash]));
    assert_eq!(entry["key"], "11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9");
    assert!(entry["subject"].as_str().unwrap_or_default().contains("CN="), "{entry}");
    assert!(!entry["serial"].as_str().unwrap_or_default().is_empty(), "{entry}");
    assert_eq!(entry["outcome"], "signed");
    assert_eq!(entry["time"], "2020-06-01T00:00:00Z");
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(daemon.data().join("journal.jsonl"))
        .expect("journal");
    file.write_all(br#"{"time":"2020-06-01T00:00:01Z","origin":"https://torn"#).expect("torn");
    let data = daemon.data();
    let (ok, out) = run(
        env!("CARGO_BIN_EXE_qoltanba"),
        &["--data-dir", data.to_str().expect("path"), "history"],
    );
    assert!(ok, "{out}");
    assert!(out.starts_with("TIME"), "{out}");
    assert!(out.contains("https://portal.test.kz") && out.contains("cms-attached"), "{out}");
    assert!(out.contains("1 damaged line(s) skipped"), "{out}");
    assert!(!out.contains("https://torn"), "{out}");
}

#[tokio::test]
async fn a_refused_site_is_named_in_a_notification_once_a_minute() {
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("notify.jsonl");
    let log_text = log.to_str().expect("path").to_string();
    let config = "[policy]\nmode = \"allowlist\"\nallowed_origins = [\"https://portal.test.kz\"]\n";
    let env = [
        ("QOLTANBA_NOTIFY_LOG", log_text.as_str()),
        ("QOLTANBA_TEST_NOW", crate::harness::LEGACY_NOW),
    ];
    let daemon = crate::harness::Daemon::process(&[], &env, Some(config));
    for _ in 0..3 {
        assert_eq!(daemon.handshake_status(Some("https://phish.example")).await, 403);
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(text.lines().count(), 1, "one notification, not one per request: {text}");
    assert!(text.contains("https://phish.example"), "{text}");
}

/// Every daemon is hardened at start (`platform::harden`): core-file limit 0, soft and hard. A
/// daemon that remembered no PIN locks no memory.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_daemon_writes_no_core_file_and_locks_no_memory_unasked() {
    let now = [("QOLTANBA_TEST_NOW", LEGACY_NOW)];
    let daemon = Daemon::process(&[approve(RSA_SIGN)], &now, None);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let reply = client.call_json(&basics_cms("x")).await;
    assert!(reply["body"]["result"][0].is_string(), "{reply}");
    assert_eq!(daemon.core_limits(), ("0".into(), "0".into()));
    assert_eq!(daemon.status_kb("VmLck"), 0);
}
