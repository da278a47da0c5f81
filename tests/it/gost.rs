//! GOST end to end: every GOST fixture key signs through the WebSocket API (scripted prompter);
//! our verifier checks CMS, XML and raw outputs, and Debian's GOST engine (an oracle we did not
//! write) checks the raw signatures after re-wrapping the key with the Russian OIDs
//! (`kz-pki.md` §2.3).

use std::path::Path;

use qoltanba::crypto::gost::oracle::{engine_verifies, russian_spki_pem};
use qoltanba::crypto::gost::{GostCurve, GostPublicKey};
use qoltanba::crypto::Certificate;
use serde_json::{json, Value};

use crate::harness::{fixture, run, unb64, Daemon};

/// Every GOST key in the fixtures, with its password.
const KEYS: &[(&str, &str)] = &[
    ("gost2015-2026/individual/valid/individual_valid.p12", "Qwerty12"),
    ("gost2015-2026/individual/revoked/individual_revoked.p12", "Qwerty12"),
    ("gost2015-2026/legal/valid/head.p12", "Qwerty12"),
    ("gost2015-2026/legal/valid/employee.p12", "Qwerty12"),
    ("gost2015-2026/legal/valid/employee_signright.p12", "Qwerty12"),
    ("gost2015-2026/legal/valid/infosystem.p12", "Qwerty12"),
    ("gost2015-2026/legal/valid/treasury_client.p12", "Qwerty12"),
    ("gost2015-2026/legal/revoked/head.p12", "Qwerty12"),
    ("gost2015-2026/legal/revoked/employee.p12", "Qwerty12"),
    ("gost2015-2026/legal/revoked/employee_signright.p12", "Qwerty12"),
    ("gost2015-2026/legal/revoked/infosystem.p12", "Qwerty12"),
    ("gost2015-2026/legal/revoked/treasury_client.p12", "Qwerty12"),
    (
        "legacy-2020/organization/active/GOSTKNCA_13a3741b52d7bf860aab199b56fad1f4652e357b.p12",
        "Qwerty12",
    ),
    (
        "legacy-2020/organization/revoked/GOSTKNCA_c372b7809440fcb681051bbc89ea2f089fd2fe16.p12",
        "Qwerty12",
    ),
    ("ncanode-2022/keys/key_ceo_sign_revoked_2004.p12", "Qwerty12"),
    ("ncanode-2022/keys/key_individual_valid_2015.p12", "Aa123456"),
    ("ncanode-2022/keys/key_ceo_revoked_2015.p12", "Aa123456"),
];

fn answer(p12: &str, password: &str) -> Value {
    json!({"approve": true, "store": "PKCS12", "file": fixture(p12), "password": password})
}

fn basics(format: &str, data: &str, signing: Value) -> Value {
    let mut params = signing;
    params["allowExpired"] = json!(true);
    json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{"format":format,"data":data,
        "signingParams":params,"signerParams":{"extKeyUsageOids":[]}}})
}

#[tokio::test]
async fn every_gost_fixture_key_signs_through_the_api_and_verifies() {
    let answers: Vec<Value> =
        KEYS.iter().flat_map(|(p12, pw)| std::iter::repeat_n(answer(p12, pw), 3)).collect();
    // 36 prompts from one origin: above the default prompt rate limit (5 a minute).
    let config = "[policy]\nprompts_per_minute = 60\n";
    let daemon = Daemon::start_with(&answers, &[], Some(config));
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let xml = "<root><name>Қолтаңба</name></root>";
    for (p12, _) in KEYS {
        let raw = client.call_json(&basics("raw", "asdasd", json!({"outputCert": true}))).await;
        let result = &raw["body"]["result"];
        let signature =
            unb64(result["signatures"][0].as_str().unwrap_or_else(|| panic!("{p12}: {raw}")));
        let certificate =
            Certificate::from_der(&unb64(result["certificate"].as_str().expect("cert")))
                .expect("certificate");
        oracle_verifies(daemon.dir.path(), &certificate, b"asdasd", &signature, p12);

        let cms = client.call_json(&basics("cms", "asdasd", json!({}))).await;
        let der =
            unb64(cms["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{p12}: {cms}")));
        let signers =
            qoltanba::sign::cms_verify::verify(&der, None).unwrap_or_else(|e| panic!("{p12}: {e}"));
        assert_eq!(signers[0].certificate, certificate, "{p12}");

        let signed = client.call_json(&basics("xml", xml, json!({}))).await;
        let text =
            signed["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{p12}: {signed}"));
        let algorithm = qoltanba::crypto::SignatureAlgorithm::for_public_key(
            &certificate.inner().tbs_certificate.subject_public_key_info,
        )
        .expect("GOST key");
        assert!(text.contains(algorithm.xml_uri()), "{p12}: {text}");
        let certificates =
            qoltanba::sign::xml_verify::verify(text).unwrap_or_else(|e| panic!("{p12}: {e}"));
        assert_eq!(certificates[0], certificate, "{p12}");
    }
    assert_eq!(daemon.seen().len(), KEYS.len() * 3);
}

#[tokio::test]
async fn key_info_names_the_gost_algorithm() {
    let key = "gost2015-2026/legal/valid/head.p12";
    let daemon = Daemon::start_with(
        &[answer(key, "Qwerty12")],
        &[("QOLTANBA_TEST_NOW", "2026-11-01T00:00:00Z")],
        None,
    );
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let request =
        json!({"module":"kz.gov.pki.knca.commonUtils","method":"getKeyInfo","args":["PKCS12"]});
    let reply = client.call_json(&request).await;
    assert_eq!(reply["responseObject"]["algorithm"], "ECGOST3410-2015-512", "{reply}");
    assert!(
        reply["responseObject"]["subjectDn"].as_str().unwrap_or_default().contains("OU=BIN"),
        "{reply}"
    );
}

#[tokio::test]
async fn gost_filters_select_roles_from_the_eku() {
    let head = "gost2015-2026/legal/valid/head.p12";
    let employee = "gost2015-2026/legal/valid/employee.p12";
    let now = [("QOLTANBA_TEST_NOW", "2026-11-01T00:00:00Z")];
    let daemon =
        Daemon::start_with(&[answer(employee, "Qwerty12"), answer(head, "Qwerty12")], &now, None);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let request = json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{"format":"cms","data":"MTEK",
        "signingParams":{"decode":true},"signerParams":{"extKeyUsageOids":["1.3.6.1.5.5.7.3.4","1.2.398.3.3.4.1.2.1"]}}});
    let reply = client.call_json(&request).await;
    assert!(
        reply["body"]["result"][0].as_str().is_some(),
        "the head's key signs after the employee's is refused: {reply}"
    );
    let seen = daemon.seen();
    assert_eq!(seen[0]["retries"], json!(["This key store has no key that the site accepts."]));
}

/// Debian's GOST engine verifies `signature` (KZ layout) over `data`, and rejects it corrupted.
pub fn oracle_verifies(
    dir: &Path,
    certificate: &Certificate,
    data: &[u8],
    signature: &[u8],
    name: &str,
) {
    let public = GostPublicKey::from_certificate(certificate).expect("GOST public key");
    let pem =
        russian_spki_pem(&public).unwrap_or_else(|| panic!("no fixture uses {:?}", public.curve));
    std::fs::write(dir.join("data.bin"), data).expect("write");
    let digest = match public.curve {
        // The engine hashes Streebog-512 itself: an independent hash as well.
        GostCurve::Tc26_512A => engine_digest(dir, "md_gost12_512"),
        // The engine's GOST R 34.11-94 uses the CryptoPro S-box; KZ uses the test S-box.
        _ => qoltanba::crypto::HashAlgorithm::Gost34311.digest(data),
    };
    let reversed: Vec<u8> = signature.iter().rev().copied().collect();
    assert!(
        engine_verifies(dir, &pem, &digest, &reversed),
        "{name}: the GOST engine rejects our signature"
    );
    let mut corrupted = reversed;
    corrupted[7] ^= 0x10;
    assert!(
        !engine_verifies(dir, &pem, &digest, &corrupted),
        "{name}: a corrupted signature must fail"
    );
}

/// Streebog-512 of `data` as Debian's GOST engine computes it.
pub fn engine_streebog512(dir: &Path, data: &[u8]) -> Vec<u8> {
    std::fs::write(dir.join("data.bin"), data).expect("write");
    engine_digest(dir, "md_gost12_512")
}

fn engine_digest(dir: &Path, md: &str) -> Vec<u8> {
    let out = dir.join("digest.bin");
    let (ok, text) = run(
        "openssl",
        &[
            "dgst",
            "-engine",
            "gost",
            &format!("-{md}"),
            "-binary",
            "-out",
            out.to_str().expect("path"),
            dir.join("data.bin").to_str().expect("path"),
        ],
    );
    assert!(
        ok,
        "openssl dgst with the GOST engine failed (is libengine-gost-openssl installed?): {text}"
    );
    std::fs::read(out).expect("digest")
}
