//! Tests of CRLs on the NCA's real ones (GOST 2015, GOST 2004, RSA): each verified with its CA
//! and no other, a changed byte refused, the revoked fixture keys of `gost2015-2026/` found in
//! their CA's CRL, nextUpdate, distribution points, and no cut-short CRL panics.

use time::macros::datetime;

use super::*;
use crate::pki::test_fixtures::{bytes, certificate, openssl, p12_certificate};

const CRL_2026: &str = "gost2015-2026/nca_gost2022_test.crl";
const CA_2026: &str = "gost2015-2026/nca_gost2022_test.cer";

/// Each CRL, its CA, and how many certificates it lists.
const CRLS: [(&str, &str, usize); 4] = [
    (CRL_2026, CA_2026, 195),
    ("ncanode-2022/crl/nca_gost2022_test.crl", "ncanode-2022/ca/nca_gost2015_test.cer", 6),
    ("ncanode-2022/crl/nca_gost_test.crl", "ncanode-2022/ca/nca_gost_test.crt", 31),
    ("ncanode-2022/crl/nca_rsa_test.crl", "ncanode-2022/ca/nca_rsa_test.crt", 126),
];

/// The three distinct CAs (the two GOST 2022 files are the same certificate).
const CAS: [&str; 3] =
    [CA_2026, "ncanode-2022/ca/nca_gost_test.crt", "ncanode-2022/ca/nca_rsa_test.crt"];

fn crl(path: &str) -> Crl {
    Crl::from_der(&bytes(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn revoked(at: OffsetDateTime, reason: &str) -> CrlStatus {
    CrlStatus::Revoked { at, reason: Some(reason.into()) }
}

#[test]
fn each_crl_verifies_with_its_ca_and_no_other() {
    assert_eq!(bytes(CA_2026), bytes("ncanode-2022/ca/nca_gost2015_test.cer"));
    for (path, ca_path, count) in CRLS {
        let list = crl(path);
        assert_eq!(list.len(), count, "{path}");
        let ca = certificate(ca_path);
        assert!(list.is_for(&ca), "{path}");
        list.verify_signed_by(&ca).unwrap_or_else(|e| panic!("{path}: {e}"));
        let ca_der = bytes(ca_path);
        for other in CAS.iter().filter(|other| bytes(other) != ca_der) {
            let other = certificate(other);
            assert!(!list.is_for(&other), "{path} is not {other:?}'s");
            assert_eq!(list.verify_signed_by(&other), Err(RevocationError::CrlNotSignedByCa));
        }
    }
}

#[test]
fn a_changed_byte_in_a_crl_is_refused() {
    for (path, ca_path, _) in CRLS {
        let original = bytes(path);
        let parsed = CertificateList::from_der(&original).expect("parses");
        let first = parsed.tbs_cert_list.revoked_certificates.as_ref().and_then(|r| r.first());
        let serial = first.expect("an entry").serial_number.as_bytes();
        let at = original.windows(serial.len()).position(|w| w == serial).expect("serial");
        let mut changed = original.clone();
        changed[at + 3] ^= 0x01;
        let list = Crl::from_der(&changed).expect("still a CRL");
        let refused = list.verify_signed_by(&certificate(ca_path));
        assert_eq!(refused, Err(RevocationError::CrlNotSignedByCa), "{path}");
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(message, "the CRL is not signed by the certificate's CA");
    }
}

/// The keys of `gost2015-2026/` (serials as `openssl pkcs12 -nokeys` shows them) and their
/// status in their CA's CRL of 2026-08-11. Two keys of `legal/valid/` are listed too.
fn keys_2026() -> [(&'static str, &'static str, CrlStatus); 12] {
    let hold = |at| revoked(at, "certificateHold");
    [
        (
            "individual/revoked/individual_revoked.p12",
            "3acea55cbcdf38c861fb3f341854c53ec9ed6ecd",
            hold(datetime!(2026-05-08 14:57:29 UTC)),
        ),
        (
            "legal/revoked/employee.p12",
            "663fcdb0c09da1533e23e5dc52d2756664ad0f92",
            hold(datetime!(2026-05-08 15:02:58 UTC)),
        ),
        (
            "legal/revoked/employee_signright.p12",
            "12490d7ba57b59efea8433349d75cc807b168957",
            hold(datetime!(2026-05-08 15:01:09 UTC)),
        ),
        (
            "legal/revoked/head.p12",
            "5bfab68530d2a5daf87b65e29a105a7bea75b411",
            hold(datetime!(2026-05-08 14:59:06 UTC)),
        ),
        (
            "legal/revoked/infosystem.p12",
            "54a51a9d554fe48a5588c26b2a05f71d576a6c48",
            hold(datetime!(2026-05-08 15:04:42 UTC)),
        ),
        (
            "legal/revoked/treasury_client.p12",
            "6b4fa0c2b2f483b4ccf9d9b019706e283c58ee41",
            hold(datetime!(2026-05-08 16:30:57 UTC)),
        ),
        (
            "individual/valid/individual_valid.p12",
            "6c425659bd2fc6dc587b871aede1857727cf8451",
            CrlStatus::Good,
        ),
        (
            "legal/valid/employee_signright.p12",
            "179fdd544a7f9a19b77ad38275ca45f20b84e590",
            CrlStatus::Good,
        ),
        ("legal/valid/head.p12", "303eebdf17969f3edede9bd9828fb1355aabbe4e", CrlStatus::Good),
        (
            "legal/valid/treasury_client.p12",
            "689bd2c53a2e05aaf877569f47dfff2e7c314fe0",
            CrlStatus::Good,
        ),
        // In `valid/`, yet revoked (superseded) on 2026-06-02, before this CRL was issued.
        (
            "legal/valid/employee.p12",
            "130d7a4b878f28bf1b2b7a223bd7c03ce78c7481",
            revoked(datetime!(2026-06-02 11:39:09 UTC), "superseded"),
        ),
        (
            "legal/valid/infosystem.p12",
            "60954f23d41db3f42fb04db6f538609d98978d32",
            revoked(datetime!(2026-06-02 11:25:49 UTC), "superseded"),
        ),
    ]
}

#[test]
fn the_2026_crl_lists_every_revoked_fixture_key() {
    let list = crl(CRL_2026);
    for (key, serial, status) in keys_2026() {
        assert_eq!(list.status_of(&unhex(serial)), status, "{key}");
    }
}

#[test]
fn the_2026_crl_status_of_the_p12_certificates_read_by_openssl() {
    if !openssl() {
        return;
    }
    let list = crl(CRL_2026);
    let ca = certificate(CA_2026);
    for (key, serial, status) in keys_2026() {
        let subject = p12_certificate(&format!("gost2015-2026/{key}"), "Qwerty12");
        assert_eq!(subject.serial_hex(), serial, "{key}");
        verify::verify_issued_by(&subject, &ca).expect("issued by the CRL's CA");
        assert_eq!(list.status(&subject), status, "{key}");
        assert_eq!(
            distribution_points(&subject),
            ["http://test.pki.gov.kz/crl/nca_gost2022_test.crl"]
        );
        let delta = delta_distribution_points(&subject);
        assert_eq!(delta, ["http://test.pki.gov.kz/crl/nca_gost2022_d_test.crl"], "{key}");
    }
}

#[test]
fn the_2022_crls_agree_with_the_ocsp_answers() {
    let gost_2015 = crl("ncanode-2022/crl/nca_gost2022_test.crl");
    let ceo = gost_2015.status_of(&unhex("3a90343e720594c55204b19cb9a402422ef0e622"));
    assert_eq!(ceo, revoked(datetime!(2022-07-27 10:25:30 UTC), "certificateHold"));
    // The responder answered 06:30:55 for the same revocation; the CRL says 04:47:37.
    let gost_2004 = crl("ncanode-2022/crl/nca_gost_test.crl");
    let ceo_sign = gost_2004.status_of(&unhex("12e3e7b9966d09eb9cda64251457e815c2a8dded"));
    assert_eq!(ceo_sign, revoked(datetime!(2022-01-18 04:47:37 UTC), "superseded"));
    let rsa = crl("ncanode-2022/crl/nca_rsa_test.crl");
    let auth = rsa.status_of(&unhex("1ab11253653b2537f2edd55f0f66281ca4fa3f98"));
    assert_eq!(auth, revoked(datetime!(2022-01-18 04:41:12 UTC), "superseded"));
    let valid = certificate("ncanode-2022/certs/individual_valid_sign_2004_rsa.cer");
    assert_eq!(rsa.status(&valid), CrlStatus::Good);
    assert_eq!(rsa.status_of(&unhex("4279390a141f5353a62947b61ed65e81741467d1")), CrlStatus::Good);
}

#[test]
fn a_crl_is_current_until_its_next_update() {
    let list = crl(CRL_2026);
    assert_eq!(list.this_update(), datetime!(2026-08-11 03:49:19 UTC));
    assert_eq!(list.next_update(), Some(datetime!(2027-02-07 03:49:19 UTC)));
    assert!(list.is_current(datetime!(2026-09-01 00:00:00 UTC)));
    assert!(list.is_current(datetime!(2027-02-07 03:49:18 UTC)));
    assert!(!list.is_current(datetime!(2027-02-07 03:49:19 UTC)));
    assert!(!list.is_current(datetime!(2027-03-01 00:00:00 UTC)));
    let old = crl("ncanode-2022/crl/nca_rsa_test.crl");
    assert_eq!(old.next_update(), Some(datetime!(2022-09-25 04:18:29 UTC)));
    assert!(!old.is_current(datetime!(2026-01-01 00:00:00 UTC)));
}

#[test]
fn pem_and_der_give_the_same_crl() {
    let der = bytes(CRL_2026);
    let pem = crate::crypto::pem("X509 CRL", &der);
    let from_pem = Crl::from_pem_or_der(pem.as_bytes()).expect("PEM");
    assert_eq!(from_pem.der(), der.as_slice());
    assert_eq!(from_pem.len(), 195);
    assert_eq!(Crl::from_pem_or_der(&der).expect("DER").der(), der.as_slice());
    let broken = pem.replace("-----END X509 CRL-----", "").replace('M', "*");
    assert!(Crl::from_pem_or_der(broken.as_bytes()).is_err());
}

#[test]
fn no_cut_short_crl_panics() {
    for (path, _, _) in CRLS {
        let der = bytes(path);
        for cut in 0..der.len() {
            assert!(Crl::from_der(&der[..cut]).is_err(), "{path} cut at {cut}");
        }
    }
    let pem = crate::crypto::pem("X509 CRL", &bytes(CRLS[1].0));
    for cut in 0..pem.len() {
        let _ = Crl::from_pem_or_der(&pem.as_bytes()[..cut]);
    }
}

#[test]
fn distribution_points_are_the_http_uris_of_cdp_and_freshest_crl() {
    let rsa = certificate("ncanode-2022/certs/individual_valid_sign_2004_rsa.cer");
    assert_eq!(distribution_points(&rsa), ["http://test.pki.gov.kz/crl/nca_rsa_test.crl"]);
    assert_eq!(delta_distribution_points(&rsa), ["http://test.pki.gov.kz/crl/nca_d_rsa_test.crl"]);
    let ca = certificate("ncanode-2022/ca/nca_gost_test.crt");
    assert_eq!(distribution_points(&ca), ["http://test.pki.gov.kz/crl/root_gost.crl"]);
    assert!(delta_distribution_points(&ca).is_empty());
    // A GOST 2004 certificate of the test CA whose CDP names the RSA CA's CRL: following the
    // CDP blindly gives a CRL that is not its CA's, which is_for and verify_signed_by catch.
    let gost = certificate("ncanode-2022/certs/ceo_valid_sign_2004_gost.cer");
    assert_eq!(distribution_points(&gost), ["http://test.pki.gov.kz/crl/nca_rsa_test.crl"]);
    let rsa_crl = crl("ncanode-2022/crl/nca_rsa_test.crl");
    assert!(!rsa_crl.is_for(&ca));
    assert!(crl("ncanode-2022/crl/nca_gost_test.crl").is_for(&ca));
}
