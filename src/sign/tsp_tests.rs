//! Tests of the RFC 3161 client side: the query read back by `openssl ts -query`, the NCA's own
//! test TSA answer (GOST 34.310-2004 token, ESS v1) verified, refusals and tampering caught,
//! and no input cut short makes it panic.

use std::path::PathBuf;

use super::*;
use crate::crypto::verify;

fn nca(path: &str) -> Vec<u8> {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/nca").join(path);
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

#[test]
fn policy_follows_the_key_family() {
    assert_eq!(policy_for(SignatureAlgorithm::RsaSha256), POLICY_RSA);
    assert_eq!(policy_for(SignatureAlgorithm::Gost2004), POLICY_GOST_2004);
    assert_eq!(policy_for(SignatureAlgorithm::Gost2015_512), POLICY_GOST_2015);
    assert_eq!(policy_for(SignatureAlgorithm::Gost2015_256), POLICY_GOST_2015);
}

#[test]
fn the_query_is_what_openssl_reads() {
    if !crate::platform::skip::needs("openssl", crate::platform::skip::on_path("openssl")) {
        return;
    }
    let query = Query::new(b"signature value", HashAlgorithm::Sha256, POLICY_RSA, [0xff; 8])
        .expect("query");
    assert_eq!(query.nonce[0], 0x7f, "positive, minimal");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("q.tsq");
    std::fs::write(&file, &query.der).expect("write");
    let out = std::process::Command::new("openssl")
        .args(["ts", "-query", "-in"])
        .arg(&file)
        .arg("-text")
        .output()
        .expect("openssl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Policy OID: 1.2.398.3.3.2.6.2"), "{text}");
    assert!(text.contains("Hash Algorithm: sha256"), "{text}");
    assert!(text.contains("Nonce: 0x7FFFFFFFFFFFFFFF"), "{text}");
    assert!(text.contains("Certificate required: yes"), "{text}");
    let imprint = crate::crypto::hex(&HashAlgorithm::Sha256.digest(b"signature value"));
    let shown: String = text
        .lines()
        .skip_while(|l| !l.contains("Message data:"))
        .skip(1)
        .take_while(|l| l.trim_start().starts_with("00"))
        .flat_map(|l| l.split_whitespace().skip(1).take(16).map(|b| b.replace('-', "")))
        .collect();
    assert_eq!(shown, imprint, "{text}");
}

#[test]
fn the_nca_test_tsa_answer_verifies() {
    let token = token_of_response(&nca("ncanode-2022/tsp/tsp_response.bin")).expect("granted");
    assert_eq!(token, nca("ncanode-2022/tsp/tsp_token.bin"));
    let stamp = verify_token(&token).expect("the NCA token verifies");
    assert_eq!(stamp.gen_time, time::macros::datetime!(2022-09-18 13:20:14 UTC));
    assert_eq!(stamp.policy, POLICY_GOST_2004);
    assert_eq!(stamp.hash, HashAlgorithm::Sha1);
    assert_eq!(stamp.nonce.as_deref(), Some(&[0x01, 0x83, 0x50, 0xc0, 0x22, 0xd7][..]));
    assert!(stamp.tsa.subject_dn().contains("СЕРВИС МЕТКИ ВРЕМЕНИ"), "{}", stamp.tsa.subject_dn());
    let ca = Certificate::from_pem_or_der(&nca("ncanode-2022/ca/nca_gost_test.crt")).expect("CA");
    verify::verify_issued_by(&stamp.tsa, &ca).expect("the TSA certificate is the NCA's");
}

#[test]
fn a_changed_gen_time_or_byte_of_the_token_is_caught() {
    let token = nca("ncanode-2022/tsp/tsp_token.bin");
    let at = token.windows(8).position(|w| w == b"20220918").expect("genTime");
    let mut later = token.clone();
    later[at + 7] = b'9';
    assert!(verify_token(&later).is_err(), "an altered genTime");
    for index in (0..token.len()).step_by(97) {
        let mut bad = token.clone();
        bad[index] ^= 0x01;
        assert!(verify_token(&bad).is_err(), "byte {index} flipped");
    }
}

#[test]
fn a_token_answers_only_its_own_query() {
    let stamp = verify_token(&nca("ncanode-2022/tsp/tsp_token.bin")).expect("token");
    let mut query = Query::new(b"x", HashAlgorithm::Sha1, POLICY_GOST_2004, [1; 8]).expect("q");
    query.imprint.clone_from(&stamp.imprint);
    query.nonce = stamp.nonce.clone().expect("nonce");
    stamp.answers(&query).expect("the matching query");
    let other_nonce = Query { nonce: vec![1, 2, 3], ..query.clone() };
    assert!(stamp.answers(&other_nonce).expect_err("nonce").to_string().contains("nonce"));
    let other_policy = Query { policy: POLICY_RSA, ..query.clone() };
    assert!(stamp.answers(&other_policy).expect_err("policy").to_string().contains("policy"));
    let other_imprint = Query { imprint: vec![0; 20], ..query.clone() };
    assert!(stamp.answers(&other_imprint).expect_err("imprint").to_string().contains("imprint"));
    assert!(!stamp.covers(b"some other signature"));
}

#[test]
fn a_refusal_says_why() {
    // TimeStampResp { PKIStatusInfo { rejection(2), statusString { "bad alg" }, failInfo } }
    let text = encode(0x0c, b"Message digest algorithm is not supported.");
    let status = encode_all(0x30, &[&encode(0x02, &[2]), &encode(0x30, &text), &[3, 2, 7, 0x80]]);
    let response = encode(0x30, &status);
    let error = token_of_response(&response).expect_err("rejected").to_string();
    assert!(error.contains("refused (status 2)"), "{error}");
    assert!(error.contains("Message digest algorithm is not supported."), "{error}");
    let granted_empty = encode(0x30, &encode(0x30, &encode(0x02, &[0])));
    assert!(token_of_response(&granted_empty).is_err(), "granted without a token");
}

#[test]
fn no_cut_of_an_answer_panics() {
    let response = nca("ncanode-2022/tsp/tsp_response.bin");
    for cut in 0..response.len() {
        if let Ok(token) = token_of_response(&response[..cut]) {
            let _ = verify_token(&token);
        }
        let _ = verify_token(&response[cut..]);
    }
}
