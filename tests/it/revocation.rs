//! Revocation before signing (issue 12): the daemon asks OCSP, then fetches the CRL from the
//! certificate's distribution point through the HTTP proxy of `[network] proxy`, which this
//! test runs (it answers for `test.pki.gov.kz` with the fixture CRL and refuses OCSP, as an
//! offline responder would). The revoked GOST-2015 fixture keys are refused unless
//! `allowRevoked`; valid ones sign; the CRL is fetched once and kept until its nextUpdate.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{fixture, Daemon};

/// The GOST-2015 keys are valid in 2026; the CRL is current until 2027-02-07.
const NOW: &str = "2026-11-01T00:00:00Z";
const VALID: &str = "gost2015-2026/individual/valid/individual_valid.p12";
const REVOKED: &str = "gost2015-2026/individual/revoked/individual_revoked.p12";
const CDP: &str = "http://test.pki.gov.kz/crl/nca_gost2022_test.crl";

/// A forward proxy: GETs of the CDP get the fixture CRL, everything else 503.
struct Proxy {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve(stream, &seen);
            }
        });
        Self { url, requests }
    }

    fn lines(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

fn serve(mut stream: TcpStream, seen: &Mutex<Vec<String>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_string();
    seen.lock().expect("lock").push(line.clone());
    if line == format!("GET {CDP} HTTP/1.1") {
        let crl = std::fs::read(fixture("gost2015-2026/nca_gost2022_test.crl"))?;
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", crl.len());
        stream.write_all(head.as_bytes())?;
        return stream.write_all(&crl);
    }
    stream.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
}

fn answer(p12: &str) -> Value {
    json!({"approve": true, "store": "PKCS12", "file": fixture(p12), "password": "Qwerty12"})
}

fn basics(allow_revoked: bool) -> Value {
    json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{"format":"cms","data":"MTEK",
        "signingParams":{"allowRevoked": allow_revoked},"signerParams":{"extKeyUsageOids":[]}}})
}

fn daemon(proxy: &Proxy, answers: &[Value]) -> Daemon {
    let config = format!(
        "[network]\nproxy = \"{}\"\n[tsa]\ntimeout_seconds = 2\nretries = 0\n[policy]\nprompts_per_minute = 60\n",
        proxy.url
    );
    Daemon::start_with(answers, &[("QOLTANBA_TEST_NOW", NOW)], Some(&config))
}

#[tokio::test]
async fn a_revoked_key_is_refused_unless_allowed_and_a_valid_one_signs() {
    let proxy = Proxy::start();
    let answers = [answer(REVOKED), answer(VALID), answer(REVOKED), answer(VALID)];
    let daemon = daemon(&proxy, &answers);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let reply = client.call_json(&basics(false)).await;
    assert!(reply["body"]["result"][0].is_string(), "the valid key signs: {reply}");
    let seen = daemon.seen();
    let retries = seen[0]["retries"].to_string();
    assert!(retries.contains("was revoked on 2026-05-08"), "the revoked key was refused: {seen:?}");
    let reply = client.call_json(&basics(true)).await;
    assert!(reply["body"]["result"][0].is_string(), "allowRevoked: {reply}");
    assert_eq!(daemon.seen()[1]["retries"], json!([]), "no retry with allowRevoked");
    let reply = client.call_json(&basics(false)).await;
    assert!(reply["body"]["result"][0].is_string(), "{reply}");
    let lines = proxy.lines();
    let crl_gets = lines.iter().filter(|l| l.starts_with(&format!("GET {CDP} "))).count();
    assert_eq!(crl_gets, 1, "the CRL is fetched once and kept: {lines:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("POST http://test.pki.gov.kz/ocsp/ ")),
        "OCSP was asked first, through the proxy: {lines:?}"
    );
    assert!(daemon.data().join("crl").read_dir().expect("crl cache").next().is_some());
}

#[tokio::test]
async fn without_any_answer_the_default_allows_and_refuse_refuses() {
    let offline =
        "[network]\nproxy = \"http://127.0.0.1:9\"\n[tsa]\ntimeout_seconds = 1\nretries = 0\n";
    let daemon = Daemon::start_with(&[answer(VALID)], &[("QOLTANBA_TEST_NOW", NOW)], Some(offline));
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let reply = client.call_json(&basics(false)).await;
    assert!(reply["body"]["result"][0].is_string(), "offline: allowed by default: {reply}");
    let warned = daemon.seen()[0]["warned_keys"].to_string();
    assert!(
        warned.contains("not known whether the certificate of this key is revoked"),
        "{warned}"
    );
    let refuse = format!("{offline}[revocation]\noffline = \"refuse\"\n");
    let daemon = Daemon::start_with(&[answer(VALID)], &[("QOLTANBA_TEST_NOW", NOW)], Some(&refuse));
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let reply = client.call_json(&basics(false)).await;
    assert!(reply["body"].get("result").is_none(), "offline = refuse: {reply}");
    let retries = daemon.seen()[0]["retries"].to_string();
    assert!(
        retries.contains("not known whether the certificate of this key is revoked"),
        "{retries}"
    );
}

#[tokio::test]
async fn an_expired_legacy_key_signs_only_with_allow_expired() {
    let proxy = Proxy::start();
    let legacy = crate::harness::approve(crate::harness::RSA_SIGN);
    let daemon = daemon(&proxy, &[legacy.clone(), json!({"approve": false}), legacy]);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let reply = client.call_json(&basics(false)).await;
    assert!(reply["body"].get("result").is_none(), "expired in 2026: {reply}");
    let mut allowed = basics(false);
    allowed["args"]["signingParams"]["allowExpired"] = json!(true);
    let reply = client.call_json(&allowed).await;
    assert!(reply["body"]["result"][0].is_string(), "allowExpired: {reply}");
}

/// `signerParams.chain`: absent = the trust store (here without the NCA's test CAs), `[]` = any
/// certificate, a PEM list = those CAs only.
#[tokio::test]
async fn signer_params_chain_decides_which_cas_a_key_must_chain_to() {
    use crate::harness::{approve, LEGACY_NOW, RSA_CA, RSA_SIGN};
    let no = json!({"approve": false});
    let answers = [
        approve(RSA_SIGN),
        no.clone(),
        approve(RSA_SIGN),
        approve(RSA_SIGN),
        approve(RSA_SIGN),
        no,
    ];
    let config = "[trust]\nnca_test = false\n[revocation]\ncheck = false\n";
    let daemon = Daemon::start_with(&answers, &[("QOLTANBA_TEST_NOW", LEGACY_NOW)], Some(config));
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let pem = |path: &str| {
        let bytes = std::fs::read(fixture(path)).expect("CA");
        match bytes.starts_with(b"-----") {
            true => String::from_utf8(bytes).expect("PEM"),
            false => qoltanba::crypto::Certificate::from_der(&bytes).expect("DER").pem(),
        }
    };
    let sign = |chain: Option<Value>| {
        let mut request = basics(false);
        if let Some(chain) = chain {
            request["args"]["signerParams"]["chain"] = chain;
        }
        request
    };
    let reply = client.call_json(&sign(None)).await;
    assert!(reply["body"].get("result").is_none(), "a test key is not trusted: {reply}");
    assert!(
        daemon.seen()[0]["retries"].to_string().contains("is not accepted"),
        "{:?}",
        daemon.seen()
    );
    let reply = client.call_json(&sign(Some(json!([])))).await;
    assert!(reply["body"]["result"][0].is_string(), "chain [] accepts any: {reply}");
    let reply = client.call_json(&sign(Some(json!([pem(RSA_CA)])))).await;
    assert!(reply["body"]["result"][0].is_string(), "its own CA given: {reply}");
    let other = pem("ncanode-2022/ca/nca_gost_test.crt");
    let reply = client.call_json(&sign(Some(json!([other])))).await;
    assert!(reply["body"].get("result").is_none(), "another CA given: {reply}");
    let bad = client.call_json(&sign(Some(json!(["not a certificate"])))).await;
    assert_eq!(bad["code"], "INVALID_SIGNING_PARAMS", "{bad}");
}

/// `qoltanba verify` asks too: a signature of the valid key is VALID (not revoked, by the CRL
/// through the proxy), one the revoked key made under `allowRevoked` is NOT VALID.
#[tokio::test]
async fn qoltanba_verify_reports_the_revocation_of_each_signer() {
    let proxy = Proxy::start();
    let daemon = daemon(&proxy, &[answer(VALID), answer(REVOKED)]);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let valid = client.call_json(&basics(false)).await;
    let revoked = client.call_json(&basics(true)).await;
    let config = daemon.dir.path().join("verify.toml");
    let text = format!("[network]\nproxy = \"{}\"\n[trust]\nnca_test = true\n", proxy.url);
    std::fs::write(&config, text).expect("config");
    let verify = |name: &str, reply: &Value| {
        let pem = reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{reply}"));
        let file = daemon.dir.path().join(name);
        std::fs::write(&file, pem).expect("write");
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_qoltanba"))
            .arg("--config")
            .arg(&config)
            .arg("verify")
            .arg(&file)
            .env("QOLTANBA_TEST_NOW", NOW)
            .output()
            .expect("qoltanba verify");
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        (output.status.success(), text)
    };
    let (ok, out) = verify("valid.pem", &valid);
    assert!(ok && out.contains("revocation:   not revoked (CRL http://test.pki.gov.kz/"), "{out}");
    let (ok, out) = verify("revoked.pem", &revoked);
    assert!(!ok && out.contains("revocation:   REVOKED on 2026-05-08"), "{out}");
}
