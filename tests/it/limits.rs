//! Defences that stop attackers, not users (issue 10, docs/security.md): the real daemon with
//! its default limits, driven as portals and hostile pages drive it. Each test shows what a
//! limit lets through next to what it stops.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::harness::{approve, b64, Client, Daemon, LEGACY_NOW, RSA_SIGN};

const CANCELLED: &str = r#"{"code":"500","message":"action.canceled"}"#;
const TOO_MANY: &str = r#"{"code":"500","message":"requests.too_many"}"#;

fn start(answers: &[Value], config: Option<&str>) -> Daemon {
    Daemon::start_with(answers, &[("QOLTANBA_TEST_NOW", LEGACY_NOW)], config)
}

/// The daemon as its own process: the memory tests measure its resident set alone.
fn process(answers: &[Value]) -> Daemon {
    Daemon::process(answers, &[("QOLTANBA_TEST_NOW", LEGACY_NOW)], None)
}

fn cades(data: &[u8]) -> Value {
    json!({"module":"kz.gov.pki.knca.commonUtils","method":"createCAdESFromBase64",
        "args":["PKCS12","SIGNATURE",b64(data),false]})
}

fn signed(reply: &str) -> bool {
    reply.contains(r#""code":"200""#) && reply.contains("responseObject")
}

/// A portal signing 100 documents one call at a time, each with its dialog, within a minute.
async fn sign_100(daemon: &Daemon, origin: &str, reconnect_each_time: bool) -> Duration {
    let started = Instant::now();
    let mut client = daemon.client(Some(origin)).await;
    for n in 0..100 {
        if reconnect_each_time && n > 0 {
            client.close().await;
            client = daemon.client(Some(origin)).await;
        }
        let reply = client.call(&cades(format!("invoice {n}").as_bytes()).to_string()).await;
        assert!(signed(&reply), "signature {n} of {origin} refused: {reply}");
    }
    started.elapsed()
}

#[tokio::test]
async fn a_trusted_portal_and_a_remembered_site_sign_100_documents_in_a_minute() {
    let mut remember = approve(RSA_SIGN);
    remember["remember_origin"] = json!(true);
    let mut answers: Vec<Value> = (0..100).map(|_| approve(RSA_SIGN)).collect();
    answers.push(remember);
    answers.extend((0..99).map(|_| approve(RSA_SIGN)));
    let daemon = start(&answers, None);
    let portal = sign_100(&daemon, "https://esf.gov.kz:8443", false).await;
    let site = sign_100(&daemon, "https://invoices.example.kz", true).await;
    assert!(
        portal < Duration::from_secs(60) && site < Duration::from_secs(60),
        "{portal:?} {site:?}"
    );
    assert_eq!(daemon.seen().len(), 200, "one dialog per signature");
    assert_eq!(daemon.journal().len(), 200, "every signature is journaled");
    let trust: Vec<Value> = daemon.seen().iter().map(|s| s["origin_trust"].clone()).collect();
    assert_eq!(trust[100], "new", "the site was new until the user trusted it");
    assert!(trust[101..].iter().all(|t| t == "trusted"));
}

/// For each batch of 10 origins, opens a connection per origin (one site may hold 16) and
/// sends `count` requests on each without waiting; every reply, after which the batch closes.
async fn flood(daemon: &Daemon, origins: &[String], count: usize) -> Vec<String> {
    let mut all = Vec::new();
    for batch in origins.chunks(10) {
        let mut clients: Vec<Client> = Vec::new();
        for origin in batch {
            clients.push(daemon.client(Some(origin)).await);
        }
        for client in &mut clients {
            for n in 0..count {
                client.send(&cades(format!("flood {n}").as_bytes()).to_string()).await;
            }
        }
        let replies = join_all(clients.iter_mut().map(|client| async move {
            let mut replies = Vec::new();
            for _ in 0..count {
                replies.push(client.recv().await.expect("one reply per request"));
            }
            replies
        }));
        all.extend(replies.await.into_iter().flatten());
        join_all(clients.into_iter().map(Client::close)).await;
    }
    all
}

#[tokio::test]
async fn twenty_subdomains_or_twenty_domains_of_one_attacker_get_at_most_five_dialogs() {
    let daemon = start(&[], None);
    let subdomains: Vec<String> = (0..20).map(|i| format!("https://s{i}.evil.example")).collect();
    let replies = flood(&daemon, &subdomains, 10).await;
    assert_eq!(replies.len(), 200);
    assert!(replies.iter().all(|r| r == CANCELLED || r == TOO_MANY), "{replies:?}");
    let dialogs = daemon.seen().len();
    assert!((1..=5).contains(&dialogs), "one site, however many subdomains: {dialogs} dialogs");
    let domains: Vec<String> = (0..20).map(|i| format!("https://evil{i}.example")).collect();
    let replies = flood(&daemon, &domains, 10).await;
    assert!(replies.iter().all(|r| r == CANCELLED || r == TOO_MANY), "{replies:?}");
    assert!(daemon.seen().len() <= 5, "all new sites share one budget: {}", daemon.seen().len());
    daemon.answer(&approve(RSA_SIGN));
    let mut portal = daemon.client(Some("https://egov.kz")).await;
    let reply = portal.call(&cades(b"the user's own document").to_string()).await;
    assert!(signed(&reply), "a trusted portal is not held back: {reply}");
}

#[tokio::test]
async fn a_dialog_that_cannot_be_shown_is_an_error_and_no_cancellation() {
    let fail = json!({"fail": "no display"});
    let answers = [fail.clone(), fail.clone(), fail.clone(), fail, approve(RSA_SIGN)];
    let daemon = start(&answers, None);
    let mut client = daemon.client(Some("https://egov.kz")).await;
    for _ in 0..4 {
        let reply = client.call_json(&cades(b"x")).await;
        assert_eq!(reply["code"], "500", "{reply}");
        assert_ne!(reply["message"], "action.canceled", "not cancelled by the user: {reply}");
    }
    let reply = client.call(&cades(b"then it works").to_string()).await;
    assert!(signed(&reply), "four failed dialogs did not cool the site down: {reply}");
}

#[tokio::test]
async fn an_untrusted_page_holding_every_connection_does_not_lock_out_egov() {
    let daemon = start(&[approve(RSA_SIGN)], None);
    let mut held = Vec::new();
    for site in 0..4 {
        for n in 0..16 {
            held.push(daemon.client(Some(&format!("https://p{n}.attacker{site}.example"))).await);
        }
    }
    let status = daemon.handshake_status(Some("https://p99.attacker0.example")).await;
    assert_eq!(status, 503, "at most 16 connections for one untrusted site");
    assert_eq!(daemon.handshake_status(Some("https://more.example")).await, 503, "daemon full");
    let mut egov = daemon.client(Some("https://egov.kz")).await;
    let request = cades(b"signed while the attacker holds 64 connections").to_string();
    let reply = egov.call(&request).await;
    assert!(signed(&reply), "egov.kz connects and signs: {reply}");
    let mut closed = 0;
    for client in &mut held {
        let next = tokio::time::timeout(Duration::from_millis(20), client.recv()).await;
        closed += usize::from(matches!(next, Ok(None)));
    }
    assert_eq!(closed, 1, "exactly one untrusted connection made room");
}

#[tokio::test]
async fn a_refused_origin_is_refused_at_the_handshake_in_both_modes() {
    let prompt = start(&[], None);
    let allowlist =
        "[policy]\nmode = \"allowlist\"\nallowed_origins = [\"https://portal.test.kz\"]\n";
    let allowlist = start(&[], Some(allowlist));
    for daemon in [&prompt, &allowlist] {
        assert_eq!(daemon.handshake_status(Some("http://evil.example")).await, 403);
        assert_eq!(daemon.handshake_status(Some("null")).await, 403);
    }
    assert_eq!(allowlist.handshake_status(Some("https://evil.example")).await, 403);
    assert_eq!(allowlist.handshake_status(Some("https://portal.test.kz")).await, 101);
    assert_eq!(prompt.handshake_status(Some("https://new-site.kz")).await, 101);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn eight_untrusted_85_mb_messages_stay_outside_memory() {
    let daemon = process(&[approve(RSA_SIGN)]);
    let before = daemon.status_kb("VmRSS");
    let big = format!(
        r#"{{"module":"kz.gov.pki.knca.commonUtils","method":"createCAdESFromBase64","args":["PKCS12","SIGNATURE","{}",false]}}"#,
        "A".repeat(85_000_000)
    );
    let mut pages = Vec::new();
    for n in 0..8 {
        pages.push(daemon.client(Some(&format!("https://tab{n}.bloat.example"))).await);
    }
    let replies = join_all(pages.iter_mut().map(|page| async {
        page.send(&big).await;
        page.recv().await.expect("a reply")
    }));
    for reply in replies.await {
        assert!(reply.contains(r#""code":"500""#) && reply.contains("memory"), "{reply}");
    }
    drop(big);
    let grown_mib = daemon.status_kb("VmHWM").saturating_sub(before) / 1024;
    eprintln!("8 x 85 MB from an untrusted page: peak RSS grew by {grown_mib} MiB");
    assert!(grown_mib < 64, "8 x 85 MB grew the daemon by {grown_mib} MiB");
    assert_eq!(pages[0].call("--heartbeat--").await, "--heartbeat--", "connections stay usable");
}

#[tokio::test]
async fn a_portals_200_mb_document_signs() {
    let daemon = start(&[approve(RSA_SIGN)], None);
    let document = vec![0x5a_u8; 200 << 20];
    let mut portal = daemon.client(Some("https://egov.kz")).await;
    let reply = portal.call(&cades(&document).to_string()).await;
    assert!(signed(&reply), "a 200 MiB document from a trusted portal signs");
}

/// Messages that fit their site's share are read and held, but all untrusted pages together
/// stay within their part of the budget, however many connections they open.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn untrusted_pages_sending_within_their_share_stay_within_a_few_hundred_mib() {
    let daemon = process(&[]);
    let before = daemon.status_kb("VmRSS");
    let message = cades(&vec![0x41_u8; 15_000_000]).to_string(); // 20 MB of base64
    let mut pages = Vec::new();
    for site in 0..4 {
        for tab in 0..4 {
            pages.push(daemon.client(Some(&format!("https://t{tab}.site{site}.example"))).await);
        }
    }
    let replies = join_all(pages.iter_mut().map(|page| async {
        page.send(&message).await;
        page.recv().await.expect("a reply")
    }));
    let replies = replies.await;
    let over_budget = replies.iter().filter(|r| r.contains("memory")).count();
    let grown_mib = daemon.status_kb("VmHWM").saturating_sub(before) / 1024;
    eprintln!(
        "16 x 20 MB from 4 untrusted sites: {over_budget} over budget, peak RSS +{grown_mib} MiB"
    );
    assert!(over_budget >= 8, "64 MiB for untrusted sites holds 3 of them at a time: {replies:?}");
    assert!(grown_mib < 400, "untrusted pages grew the daemon by {grown_mib} MiB");
}
