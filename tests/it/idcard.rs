//! The ID card driver through the real PC/SC stack (issue 16): Debian's `pcscd` with
//! vsmartcard's virtual reader (`vpcd`), and the simulated Kazakh ID card plugged into it over
//! vpcd's socket (`keystore::idcard::sim::plug`), so reader listing, the ATR, exclusive
//! connection, T=0/T=1 transport and card removal are pcsc-lite's own. Every signature is
//! checked by libcrypto against the card's public key. Skips visibly without pcscd and vpcd
//! (fails under `QOLTANBA_REQUIRE_ORACLES`); `.ci/test.sh` installs them.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::sign::Verifier;
use qoltanba::crypto::HashAlgorithm;
use qoltanba::keystore::idcard::pcsc::{self, PcscCard};
use qoltanba::keystore::idcard::sim::{self, Kept, SimCard, SimConfig};
use qoltanba::keystore::idcard::{IdCard, IdCardError, PinState};
use serde_json::{json, Value};

use crate::harness::{b64, unb64, Daemon};

/// vpcd's first virtual reader listens here ("Virtual PCD 00 00").
const VPCD_PORT: u16 = 35963;

/// pcscd started for the test (in the foreground, killed at the end), unless one runs.
struct Pcscd(Option<Child>);

impl Pcscd {
    fn start() -> Option<Self> {
        let found = Path::new("/usr/sbin/pcscd").exists()
            && Path::new("/usr/lib/pcsc/drivers/serial/libifdvpcd.so").exists();
        if !crate::skip::needs("pcscd and vsmartcard-vpcd", found) {
            return None;
        }
        let running =
            Command::new("pgrep").args(["-x", "pcscd"]).status().is_ok_and(|s| s.success());
        if running {
            return Some(Self(None));
        }
        let child = Command::new("/usr/sbin/pcscd")
            .args(["--foreground", "--auto-exit"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pcscd");
        Some(Self(Some(child)))
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The reader holding a card with the simulator's ATR, once pcscd has seen it.
fn reader_with_card(atr: &[u8]) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(cards) = pcsc::cards() {
            if let Some(present) = cards.into_iter().find(|p| p.atr == atr) {
                return present.reader;
            }
        }
        assert!(Instant::now() < deadline, "pcscd never showed the virtual card");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn libcrypto_verifies(modulus: &[u8], data: &[u8], signature: &[u8]) -> bool {
    let n = BigNum::from_slice(modulus).expect("n");
    let e = BigNum::from_u32(65537).expect("e");
    let public = Rsa::from_public_components(n, e).and_then(PKey::from_rsa).expect("key");
    let mut verifier = Verifier::new(MessageDigest::sha256(), &public).expect("verifier");
    verifier.verify_oneshot(signature, data).expect("verification runs")
}

#[test]
fn the_driver_signs_through_pcscd_and_sees_the_card_pulled_out() {
    let Some(_pcscd) = Pcscd::start() else { return };
    let card = SimCard::new(SimConfig::default());
    let atr = card.atr().to_vec();
    let plugged = sim::plug(card, VPCD_PORT).expect("vpcd accepts the virtual card");
    let reader = reader_with_card(&atr);
    assert!(pcsc::known_atr(&atr), "the 2022 card's ATR is known");

    let mut id = IdCard::open(PcscCard::connect(&reader).expect("connect")).expect("an ID card");
    assert_eq!(id.pin_state().expect("PIN state"), PinState::TriesLeft(3));
    assert_eq!(id.verify("1111"), Err(IdCardError::WrongPin { tries_left: 2 }));
    id.verify("1234").expect("the right PIN");
    let keys = id.keys().expect("keys");
    assert_eq!(keys.len(), 4);
    let document = b"contract, 120 pages, scanned";
    let digest = HashAlgorithm::Sha256.digest(document);
    for key in &keys {
        let signature = id.sign(key.slot, HashAlgorithm::Sha256, &digest).expect("signs");
        assert!(libcrypto_verifies(&key.modulus, document, &signature), "slot {:#x}", key.slot);
    }
    drop(id);

    // Pulled out: the next command fails with a clear error, it does not hang.
    let card = plugged.pull_out().expect("the simulator's record");
    assert_eq!(card.tries_left(), 3, "a right PIN resets the counter");
    assert!(card.received.iter().all(|c| c[1] != 0x46), "no GENERATE went to the card");
    let error = PcscCard::connect(&reader)
        .and_then(IdCard::open)
        .and_then(|mut id| id.pin_state())
        .expect_err("no card");
    assert!(matches!(error, IdCardError::Removed(_)), "{error}");

    // `qoltanba idcard trace` with a fresh card: the keys, the PIN and one signature, every
    // APDU in the file, the PIN's bytes blanked.
    let traced = SimCard::new(SimConfig { certificates: Kept::Pkcs15, ..SimConfig::default() });
    let plugged = sim::plug(traced, VPCD_PORT).expect("plugged");
    let reader = reader_with_card(&atr);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("trace.txt");
    let run = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["idcard", "trace", "--reader", &reader, "--pin-env", "CARD_PIN", "--out"])
        .arg(&out)
        .env("CARD_PIN", "1234")
        .output()
        .expect("qoltanba idcard trace");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("PIN: 3 tries left"), "{stdout}");
    assert!(stdout.contains("verifies with the card's public key"), "{stdout}");
    assert!(stdout.contains("certificate in 3F00/5015/4301: "), "{stdout}");
    assert!(stdout.contains("(key 0x87)"), "{stdout}");
    let trace = std::fs::read_to_string(&out).expect("the trace");
    assert!(trace.contains("# ATR: 3B FA 18 00 FF 80 31 FE 45"), "{trace}");
    assert!(trace.contains("> 00 20 00 02 08 XX XX XX XX XX XX XX XX\n< 90 00"), "{trace}");
    assert!(
        trace.contains("> 00 88 02 00 33 30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01"),
        "{trace}"
    );
    assert!(!trace.contains("31 32 33 34 30 30 30 30"), "no PIN block in the trace");
    assert!(trace.contains("> 00 B0 00 00 00"), "the certificate reads are in the trace");
    let card = plugged.pull_out().expect("the record");
    assert!(card.received.iter().all(|c| c[1] != 0x46), "no GENERATE went to the card");

    // `qoltanba idcard import-cert`: kept for the card's key it belongs to, refused otherwise.
    let card = SimCard::new(SimConfig { slots: 2, ..SimConfig::default() });
    let own = dir.path().join("own.cer");
    std::fs::write(&own, card.certificate(0x88).expect("certificate").der()).expect("write");
    let stranger = dir.path().join("stranger.cer");
    let other = SimCard::new(SimConfig { slots: 1, ..SimConfig::default() });
    std::fs::write(&stranger, other.certificate(0x87).expect("certificate").der()).expect("write");
    let plugged = sim::plug(card, VPCD_PORT).expect("plugged");
    let reader = reader_with_card(&atr);
    let import = |file: &Path| {
        Command::new(env!("CARGO_BIN_EXE_qoltanba"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(["idcard", "import-cert", "--reader", &reader])
            .arg(file)
            .output()
            .expect("qoltanba idcard import-cert")
    };
    let kept = import(&own);
    let said = String::from_utf8_lossy(&kept.stdout);
    assert!(kept.status.success(), "{said}{}", String::from_utf8_lossy(&kept.stderr));
    assert!(said.contains("the card's key 0x88"), "{said}");
    let refused = import(&stranger);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("none of the keys on this ID card"), "{said}");
    let stored = std::fs::read_dir(dir.path().join("idcard")).expect("the folder").count();
    assert_eq!(stored, 1, "one certificate kept");
    drop(plugged);
}

/// A basics `sign` of `documents` as CMS with the document inside, from the ID card only; any
/// CA (`chain: []`), as the simulator's certificates are self-signed.
fn card_cms(documents: &[&[u8]]) -> Value {
    let data: Vec<String> = documents.iter().map(|d| b64(d)).collect();
    json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "allowedStorages":["AKKZIDCardStore"],"format":"cms","data":data,
        "signingParams":{"decode":true,"encapsulate":true},
        "signerParams":{"extKeyUsageOids":[],"chain":[]},"locale":"en"}})
}

#[tokio::test]
async fn a_cms_signed_on_the_card_through_the_websocket_api_verifies_with_openssl() {
    let Some(_pcscd) = Pcscd::start() else { return };
    let card = SimCard::new(SimConfig { certificates: Kept::Pkcs15, ..SimConfig::default() });
    let certificate = card.certificate(0x87).expect("certificate");
    let atr = card.atr().to_vec();
    let plugged = sim::plug(card, VPCD_PORT).expect("vpcd accepts the virtual card");
    reader_with_card(&atr);

    let pin = |pin: &str| json!({"approve": true, "store": "AKKZIDCardStore", "pin": pin});
    let answers = [pin("1111"), pin("1234"), pin("1234")];
    let config = "[features]\nexperimental-idcard = true\n";
    let daemon = Daemon::start_with(&answers, &[], Some(config));
    let mut client = daemon.tls_client(Some("https://portal.test.kz")).await;
    let tokens = json!({"module":"kz.gov.pki.knca.commonUtils","method":"getActiveTokens"});
    let tokens = client.call_json(&tokens).await;
    assert_eq!(tokens["responseObject"], json!(["AKKZIDCardStore"]), "{tokens}");

    // A portal's batch: three documents, one approval, one PIN (the first one wrong).
    let documents: [&[u8]; 3] = [b"invoice 1", "шот-фактура 2".as_bytes(), b"act 3"];
    let reply = client.call_json(&card_cms(&documents)).await;
    let signed = reply["body"]["result"].as_array().unwrap_or_else(|| panic!("{reply}")).clone();
    assert_eq!(signed.len(), 3, "{reply}");
    let dir = daemon.dir.path();
    let ca = dir.join("card.pem");
    std::fs::write(&ca, certificate.pem()).expect("write the card's certificate");
    for (cms, document) in signed.iter().zip(documents) {
        let cms = unb64(cms.as_str().expect("base64"));
        let (ok, out) = openssl_verify_with(dir, &cms, &ca, document);
        assert!(ok, "openssl rejected the card's CMS: {out}");
    }
    // Then another request, as a portal makes one per document.
    let reply = client.call_json(&card_cms(&[b"payment order 4"])).await;
    let cms = unb64(reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{reply}")));
    let (ok, out) = openssl_verify_with(dir, &cms, &ca, b"payment order 4");
    assert!(ok, "openssl rejected the second CMS: {out}");

    // The dialog said the store is experimental, the tries left, and the wrong PIN's count.
    let seen = daemon.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let note = &seen[0]["token_notes"]["AKKZIDCardStore"];
    assert_eq!(note, &json!("experimental · PIN: 3 tries left"), "{seen:?}");
    let retries = seen[0]["retries"].to_string();
    assert!(retries.contains("Wrong PIN. 2 tries left before the card blocks"), "{retries}");
    assert_eq!(
        seen[1]["token_notes"]["AKKZIDCardStore"],
        json!("experimental · PIN: 3 tries left")
    );
    drop(client);

    // `qoltanba keys --store AKKZIDCardStore` lists the card's keys without a PIN.
    let listed = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .arg("--config")
        .arg(dir.join("config.toml"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["keys", "--store", "AKKZIDCardStore"])
        .output()
        .expect("qoltanba keys");
    let said = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{said}{}", String::from_utf8_lossy(&listed.stderr));
    assert_eq!(said.matches("alias:").count(), 4, "{said}");
    drop(daemon);

    let card = plugged.pull_out().expect("the simulator's record");
    let pins = card.received.iter().filter(|c| c[1] == 0x20 && c.len() > 4).count();
    assert_eq!(pins, 3, "one wrong, then one VERIFY per request, none per document");
    assert!(card.received.iter().all(|c| c[1] != 0x46), "no GENERATE went to the card");
}

/// `openssl cms -verify` of a CMS with the document inside, trusting the card's self-signed
/// certificate `ca`; the content openssl takes out must be `document`.
fn openssl_verify_with(dir: &Path, cms: &[u8], ca: &Path, document: &[u8]) -> (bool, String) {
    let (cms_path, out) = (dir.join("card-cms.der"), dir.join("card-content.bin"));
    std::fs::write(&cms_path, cms).expect("write the CMS");
    let output = Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-in"])
        .arg(&cms_path)
        .arg("-CAfile")
        .arg(ca)
        .arg("-out")
        .arg(&out)
        .output()
        .expect("openssl");
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    let inside = std::fs::read(&out).unwrap_or_default();
    (output.status.success() && inside == document, text)
}
