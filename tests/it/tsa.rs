//! CAdES-T end to end (issue 12): the daemon asks a real RFC 3161 server on 127.0.0.1 (`openssl
//! ts -reply` behind a small HTTP front this test runs, with a test TSA certificate from
//! `tests/tsa/make-tsa.sh`), and every stamped signature is checked by `openssl cms -verify` and
//! `openssl ts -verify`. The TSA runs under `faketime` at the time the legacy fixture keys were
//! valid (2020-06-01 12:00 UTC, its certificate made in 2019), so a stamped signature is valid
//! as a whole: the signer's certificate was valid at the stamp's time. A TSA that is down, refuses, or answers garbage gives an error, never
//! an unstamped signature; a tampered token or an altered time is refused by `qoltanba verify`.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{
    approve, b64, fixture, openssl_verify_attached, openssl_verify_detached, run, unb64, Daemon,
    LEGACY_NOW, RSA_SIGN,
};

/// When the test TSA's certificates are made, and the time it stamps (faketime).
const MADE_AT: &str = "2019-06-01 00:00:00";
const STAMPS_AT: &str = "2020-06-01 12:00:00";

/// How the test TSA answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `openssl ts -reply`.
    Stamp,
    /// 200 with bytes that are no TimeStampResp.
    Garbage,
}

/// A TSA on 127.0.0.1: `openssl ts -reply` behind a one-request-per-connection HTTP front.
struct TestTsa {
    dir: tempfile::TempDir,
    url: String,
    queries: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl TestTsa {
    /// A TSA answering in `mode`, or `None` (skipped visibly) without openssl.
    fn start(mode: Mode) -> Option<Self> {
        let found = ["openssl", "faketime"].iter().all(|t| crate::skip::on_path(t));
        if !crate::skip::needs("openssl and faketime", found) {
            return None;
        }
        let dir = tempfile::tempdir().expect("dir");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tsa/make-tsa.sh");
        let made = std::process::Command::new("faketime")
            .arg(MADE_AT)
            .arg(script)
            .arg(dir.path())
            .status()
            .expect("run");
        assert!(made.success(), "make-tsa.sh");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/tsp", listener.local_addr().expect("address"));
        let queries = Arc::new(Mutex::new(Vec::new()));
        let (work, seen) = (dir.path().to_path_buf(), queries.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = answer(stream, &work, mode, &seen);
            }
        });
        Some(Self { dir, url, queries })
    }

    /// The config text of a daemon using this TSA and trusting its CA.
    fn config(&self) -> String {
        let ca = self.dir.path().join("tsaca.pem");
        format!(
            "[tsa]\nurl = \"{}\"\ntimeout_seconds = 3\nretries = 0\n[trust]\nnca_test = true\nextra_ca = [{:?}]\n",
            self.url, ca
        )
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("tsaca.pem")
    }
}

/// Reads one POST, answers it, closes.
fn answer(
    mut stream: TcpStream,
    dir: &Path,
    mode: Mode,
    seen: &Mutex<Vec<Vec<u8>>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = Vec::new();
    let mut buf = [0_u8; 4096];
    let body = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
        let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if request.len() >= end + 4 + length {
            break request[end + 4..end + 4 + length].to_vec();
        }
    };
    seen.lock().expect("lock").push(body.clone());
    let reply = match mode {
        Mode::Garbage => b"this is not a time-stamp".to_vec(),
        Mode::Stamp => {
            let n = seen.lock().expect("lock").len();
            let (query, reply) = (format!("q{n}.tsq"), format!("r{n}.tsr"));
            std::fs::write(dir.join(&query), &body)?;
            let out = std::process::Command::new("faketime")
                .current_dir(dir)
                .args([STAMPS_AT, "openssl", "ts", "-reply", "-config", "tsa.cnf"])
                .args(["-queryfile", &query, "-out", &reply])
                .output()?;
            if !out.status.success() {
                let head = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
                return stream.write_all(head.as_bytes());
            }
            std::fs::read(dir.join(&reply))?
        }
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&reply)
}

/// `qoltanba verify FILE` trusting the legacy keys' CA and the test TSA's CA.
fn qoltanba_verify(tsa: &TestTsa, file: &Path) -> (bool, String) {
    let rsa_ca = fixture(crate::harness::RSA_CA);
    let args = ["verify", file.to_str().expect("p"), "--ca", rsa_ca.to_str().expect("p")];
    run(
        env!("CARGO_BIN_EXE_qoltanba"),
        &[&args[..], &["--ca", tsa.ca().to_str().expect("p")]].concat(),
    )
}

/// A daemon with the clock pinned to the legacy keys' validity, using `tsa`.
fn daemon(answers: &[Value], config: &str) -> Daemon {
    Daemon::start_with(answers, &[("QOLTANBA_TEST_NOW", LEGACY_NOW)], Some(config))
}

fn basics_cms(data: &[u8], encapsulate: bool) -> Value {
    json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "allowedStorages":["PKCS12"],"format":"cms","data":b64(data),
        "signingParams":{"decode":true,"encapsulate":encapsulate,"tsaProfile":{}},
        "signerParams":{"extKeyUsageOids":[]},"locale":"ru"}})
}

fn common(method: &str, args: Value) -> Value {
    json!({"module":"kz.gov.pki.knca.commonUtils","method":method,"args":args})
}

/// The token of each signer of a DER CMS, by `openssl cms -cmsout -print`'s offsets: the
/// SEQUENCE after each `id-smime-aa-timeStampToken` in `openssl asn1parse`.
fn tokens(dir: &Path, cms: &[u8]) -> Vec<Vec<u8>> {
    let file = dir.join(format!("cms-{}.der", cms.len()));
    std::fs::write(&file, cms).expect("write");
    let path = file.to_str().expect("path");
    let (ok, listing) = run("openssl", &["asn1parse", "-inform", "DER", "-in", path]);
    assert!(ok, "{listing}");
    let lines: Vec<&str> = listing.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !line.contains("id-smime-aa-timeStampToken") {
            continue;
        }
        let offset = lines[i + 2].split(':').next().expect("offset").trim().to_string();
        let token = dir.join(format!("token-{offset}.der"));
        let args = ["asn1parse", "-inform", "DER", "-in", path, "-strparse", &offset, "-noout"];
        let (ok, text) =
            run("openssl", &[&args[..], &["-out", token.to_str().expect("p")]].concat());
        assert!(ok, "{text}");
        out.push(std::fs::read(token).expect("token"));
    }
    out
}

/// The signature value of the (first) SignerInfo, from `openssl asn1parse`: the last OCTET
/// STRING among the SignerInfo's fields (depth 5) before its unsigned attributes.
fn signature_value(dir: &Path, cms: &[u8]) -> Vec<u8> {
    let file = dir.join("sv.der");
    std::fs::write(&file, cms).expect("write");
    let path = file.to_str().expect("p");
    let (ok, listing) = run("openssl", &["asn1parse", "-inform", "DER", "-in", path]);
    assert!(ok, "{listing}");
    let lines: Vec<&str> = listing.lines().collect();
    let at = lines.iter().position(|l| l.contains("d=5") && l.contains("cont [ 1 ]"));
    let at = at.expect("unsigned attributes");
    let line = lines[..at]
        .iter()
        .rev()
        .find(|l| l.contains("d=5") && l.contains("OCTET STRING"))
        .expect("signature");
    let hex = line.rsplit(':').next().expect("hex").trim();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// `openssl ts -verify` of every token of `cms` against the TSA's CA.
fn openssl_ts_verify(dir: &Path, cms: &[u8], ca: &Path) -> usize {
    use sha2::Digest as _;
    let digest: String = sha2::Sha256::digest(signature_value(dir, cms))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let tokens = tokens(dir, cms);
    for (n, token) in tokens.iter().enumerate() {
        let file = dir.join(format!("t{n}.der"));
        std::fs::write(&file, token).expect("write");
        let args =
            ["ts", "-verify", "-in", file.to_str().expect("p"), "-token_in", "-digest", &digest];
        let (ok, out) =
            run("openssl", &[&args[..], &["-CAfile", ca.to_str().expect("p")]].concat());
        assert!(ok && out.contains("Verification: OK"), "openssl ts -verify: {out}");
    }
    tokens.len()
}

#[tokio::test]
async fn basics_tsa_profile_gives_cades_t_that_openssl_accepts() {
    let Some(tsa) = TestTsa::start(Mode::Stamp) else { return };
    let daemon = daemon(&[approve(RSA_SIGN), approve(RSA_SIGN)], &tsa.config());
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let dir = daemon.dir.path();
    for encapsulate in [true, false] {
        let reply = client.call_json(&basics_cms(b"invoice 7", encapsulate)).await;
        let pem = reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{reply}"));
        let cms = unb64(pem);
        let (ok, out) = match encapsulate {
            true => openssl_verify_attached(dir, &cms, b"invoice 7"),
            false => openssl_verify_detached(dir, &cms, b"invoice 7"),
        };
        assert!(ok, "openssl cms -verify: {out}");
        assert_eq!(openssl_ts_verify(dir, &cms, &tsa.ca()), 1, "one token");
    }
    let queries = tsa.queries.lock().expect("lock").clone();
    assert_eq!(queries.len(), 2, "one query per signature");
    let file = dir.join("q.tsq");
    std::fs::write(&file, &queries[0]).expect("write");
    let (ok, text) = run("openssl", &["ts", "-query", "-in", file.to_str().expect("p"), "-text"]);
    assert!(ok && text.contains("Policy OID: 1.2.398.3.3.2.6.2"), "{text}");
    assert!(text.contains("Hash Algorithm: sha256") && text.contains("Nonce: 0x"), "{text}");
    assert!(text.contains("Certificate required: yes"), "{text}");
}

#[tokio::test]
async fn create_cms_signature_and_apply_cades_t_stamp() {
    let Some(tsa) = TestTsa::start(Mode::Stamp) else { return };
    let picked = tsa.dir.path().join("contract.txt");
    std::fs::write(&picked, b"contract text").expect("write");
    let answers = [
        approve(RSA_SIGN),
        approve(RSA_SIGN),
        json!({"approve": true, "file": picked}),
        approve(RSA_SIGN),
    ];
    let daemon = daemon(&answers, &tsa.config());
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let dir = daemon.dir.path();
    let args = json!(["PKCS12", "SIGNATURE", b64(b"act of work"), true]);
    let stamped = client.call_json(&common("createCMSSignatureFromBase64", args)).await;
    let cms = unb64(stamped["responseObject"].as_str().unwrap_or_else(|| panic!("{stamped}")));
    assert!(openssl_verify_attached(dir, &cms, b"act of work").0);
    assert_eq!(openssl_ts_verify(dir, &cms, &tsa.ca()), 1);
    let args = json!(["PKCS12", "SIGNATURE", b64(b"act of work"), false]);
    let bes = client.call_json(&common("createCAdESFromBase64", args)).await;
    let bes = bes["responseObject"].as_str().expect("CAdES-BES").to_string();
    assert!(tokens(dir, &unb64(&bes)).is_empty(), "createCAdES* never stamps");
    let applied =
        client.call_json(&common("applyCAdEST", json!(["PKCS12", "SIGNATURE", bes]))).await;
    let cms = unb64(applied["responseObject"].as_str().unwrap_or_else(|| panic!("{applied}")));
    assert!(openssl_verify_detached(dir, &cms, b"act of work").0);
    assert_eq!(openssl_ts_verify(dir, &cms, &tsa.ca()), 1);
    let path = picked.to_str().expect("path");
    client.call_json(&common("showFileChooser", json!(["ALL", ""]))).await;
    let args = json!(["PKCS12", "SIGNATURE", path, false]);
    let from_file = client.call_json(&common("createCMSSignatureFromFile", args)).await;
    let cms = unb64(from_file["responseObject"].as_str().unwrap_or_else(|| panic!("{from_file}")));
    assert!(openssl_verify_detached(dir, &cms, b"contract text").0);
    assert_eq!(openssl_ts_verify(dir, &cms, &tsa.ca()), 1);
    let kalkan = std::fs::read_to_string(fixture(
        "legacy-2020/personal/active/RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9.cms",
    ))
    .expect("Kalkan CMS");
    let kalkan: String = kalkan.lines().filter(|l| !l.starts_with("-----")).collect();
    let applied =
        client.call_json(&common("applyCAdEST", json!(["PKCS12", "SIGNATURE", kalkan]))).await;
    let cms = unb64(applied["responseObject"].as_str().unwrap_or_else(|| panic!("{applied}")));
    assert_eq!(openssl_ts_verify(dir, &cms, &tsa.ca()), 1, "Kalkan's signature stamped");
    assert_eq!(daemon.seen().len(), 4, "applyCAdEST shows no dialog");
}

#[tokio::test]
async fn a_tsa_down_or_answering_garbage_gives_an_error_not_a_signature() {
    let Some(garbage) = TestTsa::start(Mode::Garbage) else { return };
    let down = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let config_down = garbage.config().replace(&garbage.url, &format!("http://127.0.0.1:{down}/"));
    for config in [config_down, garbage.config()] {
        let daemon = daemon(&[approve(RSA_SIGN), approve(RSA_SIGN)], &config);
        let mut client = daemon.client(Some("https://portal.test.kz")).await;
        let started = Instant::now();
        let reply = client.call_json(&basics_cms(b"invoice 8", true)).await;
        assert_eq!(reply["status"], false, "{reply}");
        assert_eq!(reply["code"], "TSA_ERROR", "{reply}");
        assert!(
            reply["message"].as_str().expect("message").contains("time-stamp failed"),
            "{reply}"
        );
        assert!(reply["body"].get("result").is_none(), "no signature: {reply}");
        assert!(started.elapsed() < Duration::from_secs(15), "bounded: {:?}", started.elapsed());
        let args = json!(["PKCS12", "SIGNATURE", b64(b"x"), true]);
        let common = client.call_json(&common("createCMSSignatureFromBase64", args)).await;
        assert_eq!(common["code"], "500", "{common}");
        assert!(common.get("responseObject").is_none(), "{common}");
        let journal = daemon.journal();
        assert!(journal.iter().all(|e| e["outcome"] == "failed"), "{journal:?}");
    }
}

#[tokio::test]
async fn a_tsa_whose_ca_is_not_trusted_is_refused() {
    let Some(tsa) = TestTsa::start(Mode::Stamp) else { return };
    let untrusted = tsa.config().replace("extra_ca", "# extra_ca");
    let daemon = daemon(&[approve(RSA_SIGN)], &untrusted);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let reply = client.call_json(&basics_cms(b"invoice 9", true)).await;
    assert_eq!(reply["code"], "TSA_ERROR", "{reply}");
    assert!(
        reply["message"].as_str().expect("m").contains("does not chain to a trusted CA"),
        "{reply}"
    );
}

#[tokio::test]
async fn qoltanba_verify_shows_the_stamp_and_refuses_a_tampered_one() {
    let Some(tsa) = TestTsa::start(Mode::Stamp) else { return };
    let daemon = daemon(&[approve(RSA_SIGN)], &tsa.config());
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let reply = client.call_json(&basics_cms(b"invoice 10", true)).await;
    let cms = unb64(reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{reply}")));
    let dir = daemon.dir.path();
    let verify = |name: &str, bytes: &[u8]| {
        let file = dir.join(name);
        std::fs::write(&file, bytes).expect("write");
        qoltanba_verify(&tsa, &file)
    };
    let (ok, out) = verify("good.der", &cms);
    assert!(ok && out.contains("time-stamp:   2020-06-01T12:00"), "{out}");
    assert!(out.contains("by CN=Qoltanba Test TSA") && out.ends_with("VALID\n"), "{out}");
    let (ok, out) =
        run(env!("CARGO_BIN_EXE_qoltanba"), &["verify", dir.join("good.der").to_str().expect("p")]);
    assert!(!ok && out.contains("NOT TRUSTED"), "without the CAs the signer is not trusted: {out}");
    let token = &tokens(dir, &cms)[0];
    let at = cms.windows(token.len()).position(|w| w == &token[..]).expect("token inside");
    let mut tampered = cms.clone();
    tampered[at + token.len() - 5] ^= 0x01; // inside the TSA's signature value
    let (ok, out) = verify("tampered.der", &tampered);
    assert!(!ok && !out.contains("OK: signed by"), "a tampered token fails the check: {out}");
    let gen_time = token
        .windows(4)
        .position(|w| w[0] == 0x18 && (0x0f..=0x13).contains(&w[1]) && &w[2..] == b"20")
        .expect("genTime");
    let mut later = cms.clone();
    later[at + gen_time + 2 + 3] ^= 0x01; // a digit of the year
    let (ok, out) = verify("later.der", &later);
    assert!(!ok && !out.contains("OK: signed by"), "an altered time fails the check: {out}");
}

#[tokio::test]
async fn create_cms_signature_given_a_cms_adds_a_signer_and_keeps_the_others() {
    let Some(tsa) = TestTsa::start(Mode::Stamp) else { return };
    let daemon = daemon(&[approve(RSA_SIGN)], &tsa.config());
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let dir = daemon.dir.path();
    let kalkan = std::fs::read_to_string(fixture(
        "legacy-2020/personal/active/RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9.cms",
    ))
    .expect("Kalkan CMS");
    let kalkan = unb64(&kalkan.lines().filter(|l| !l.starts_with("-----")).collect::<String>());
    let args = json!(["PKCS12", "SIGNATURE", b64(&kalkan), true]);
    let reply = client.call_json(&common("createCMSSignatureFromBase64", args)).await;
    let cosigned = unb64(reply["responseObject"].as_str().unwrap_or_else(|| panic!("{reply}")));
    let file = dir.join("cosigned.der");
    std::fs::write(&file, &cosigned).expect("write");
    let (ok, out) = qoltanba_verify(&tsa, &file);
    assert!(ok && out.matches("OK: signed by").count() == 2, "two signers: {out}");
    assert_eq!(out.matches("time-stamp:").count(), 1, "only the new signer is stamped: {out}");
    let kalkan_signer = last_signer_info(dir, &kalkan);
    assert!(
        cosigned.windows(kalkan_signer.len()).any(|w| w == &kalkan_signer[..]),
        "Kalkan's SignerInfo is in the co-signed CMS byte for byte"
    );
    assert_eq!(openssl_ts_verify(dir, &cosigned, &tsa.ca()), 1);
    let (ok, out) = crate::harness::openssl_cms_verify(dir, &cosigned, &["-out", "/dev/null"]);
    assert!(ok, "openssl cms -verify checks both signers: {out}");
    assert_eq!(daemon.seen()[0]["operation"], "cms-co-sign");
}

/// The DER of the last SignerInfo of `cms` (its last bytes), its length read by `openssl
/// asn1parse`: the element after the last depth-3 SET (signerInfos).
fn last_signer_info(dir: &Path, cms: &[u8]) -> Vec<u8> {
    let file = dir.join("si.der");
    std::fs::write(&file, cms).expect("write");
    let path = file.to_str().expect("p");
    let (ok, listing) = run("openssl", &["asn1parse", "-inform", "DER", "-in", path]);
    assert!(ok, "{listing}");
    let lines: Vec<&str> = listing.lines().collect();
    let set = lines.iter().rposition(|l| l.contains("d=3") && l.contains("SET")).expect("SET");
    let line = lines[set + 1];
    let number = |key: &str| -> usize {
        let after = line.split(key).nth(1).expect("field").trim_start();
        after.split_whitespace().next().expect("value").parse().expect("number")
    };
    let size = number("hl=") + number(" l=");
    cms[cms.len() - size..].to_vec()
}

/// A GOST 34.10-2015 key asks under the NCA's GOST-2015 policy with a Streebog-512 imprint;
/// openssl's TSA knows no Kazakh hash, so it refuses, and the page gets that refusal as the
/// error (never the unstamped signature).
#[tokio::test]
async fn a_gost_2015_key_asks_for_its_policy_and_a_refusal_is_an_error() {
    let Some(tsa) = TestTsa::start(Mode::Stamp) else { return };
    let gost = json!({"approve": true, "store": "PKCS12",
        "file": fixture("gost2015-2026/individual/valid/individual_valid.p12"), "password": "Qwerty12"});
    let config = tsa.config();
    let daemon = Daemon::start_with(
        &[gost],
        &[("QOLTANBA_TEST_NOW", "2026-11-01T00:00:00Z")],
        Some(&config),
    );
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let reply = client.call_json(&basics_cms(b"invoice 11", true)).await;
    assert_eq!(reply["code"], "TSA_ERROR", "{reply}");
    let message = reply["message"].as_str().expect("message");
    assert!(message.contains("refused (status 2)"), "the TSA's refusal is passed on: {message}");
    let queries = tsa.queries.lock().expect("lock").clone();
    let file = daemon.dir.path().join("gost.tsq");
    std::fs::write(&file, &queries[0]).expect("write");
    let (ok, text) = run("openssl", &["ts", "-query", "-in", file.to_str().expect("p"), "-text"]);
    assert!(ok && text.contains("Policy OID: 1.2.398.3.3.2.6.4"), "{text}");
    let (_, der) =
        run("openssl", &["asn1parse", "-inform", "DER", "-in", file.to_str().expect("p")]);
    assert!(der.contains(":1.2.398.3.10.1.3.3"), "Streebog-512 imprint: {der}");
    assert!(der.contains("OCTET STRING      [HEX DUMP]") && der.contains("l=  64"), "{der}");
}
