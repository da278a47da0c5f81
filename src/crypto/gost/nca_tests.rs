//! The NCA's own GOST material: certificate chains and CRLs. The NCA's `.p12` keys are opened by
//! the key store, so their tests live there (`keystore/pkcs12/nca_tests.rs`): `crypto` uses no
//! module above it, not even in tests.

use std::path::Path;

use crate::crypto::verify::{verify_crl_signed_by, verify_issued_by};
use crate::crypto::{Certificate, CryptoError, SignatureAlgorithm};

const NCA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/nca");

fn read(relative: &str) -> Vec<u8> {
    std::fs::read(Path::new(NCA).join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn cert(relative: &str) -> Certificate {
    Certificate::from_pem_or_der(&read(relative)).expect("certificate")
}

#[test]
fn gost_2022_root_is_self_signed_and_signs_the_ca() {
    let root = cert("gost2015-2026/root_test_gost_2022.cer");
    let ca = cert("gost2015-2026/nca_gost2022_test.cer");
    verify_issued_by(&root, &root).expect("root self-signed");
    verify_issued_by(&ca, &root).expect("CA under root");
    assert!(matches!(verify_issued_by(&root, &ca), Err(CryptoError::BadSignature)));
    let spki = &ca.inner().tbs_certificate.subject_public_key_info;
    assert_eq!(SignatureAlgorithm::for_public_key(spki), Some(SignatureAlgorithm::Gost2015_512));
}

#[test]
fn crls_verify_under_their_ca() {
    let ca_2022 = cert("gost2015-2026/nca_gost2022_test.cer");
    verify_crl_signed_by(&read("gost2015-2026/nca_gost2022_test.crl"), &ca_2022).expect("2026");
    let ca_2015 = cert("ncanode-2022/ca/nca_gost2015_test.cer");
    verify_crl_signed_by(&read("ncanode-2022/crl/nca_gost2022_test.crl"), &ca_2015)
        .expect("2022 CRL");
    let ca_2004 = cert("ncanode-2022/ca/nca_gost_test.crt");
    verify_crl_signed_by(&read("ncanode-2022/crl/nca_gost_test.crl"), &ca_2004).expect("2004");
    let root = cert("gost2015-2026/root_test_gost_2022.cer");
    let wrong = verify_crl_signed_by(&read("gost2015-2026/nca_gost2022_test.crl"), &root);
    assert!(matches!(wrong, Err(CryptoError::BadSignature)), "{wrong:?}");
    let mut garbled = read("gost2015-2026/nca_gost2022_test.crl");
    let last = garbled.len() - 1;
    garbled[last] ^= 1;
    assert!(verify_crl_signed_by(&garbled, &ca_2022).is_err());
}
