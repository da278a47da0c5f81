//! Tests of the OCSP client side on the NCA test responders' real answers (GOST 2015, GOST
//! 2004 and RSA): signatures and responders verified, each status read, tampering, another
//! certificate, a wrong nonce and stale times refused, no cut-short answer panics, and the
//! request read back by `openssl ocsp`.

use der::asn1::GeneralizedTime;
use time::macros::datetime;

use super::request::request_with;
use super::*;
use crate::pki::test_fixtures::{bytes, certificate, openssl, p12_certificate};

/// One real answer of `ncanode-2022/ocsp/` and what `openssl ocsp -resp_text` shows in it.
struct Case {
    response: &'static str,
    ca: &'static str,
    p12: &'static str,
    password: &'static str,
    serial: &'static str,
    nonce: &'static str,
    algorithm: SignatureAlgorithm,
    produced_at: OffsetDateTime,
    status: OcspStatus,
}

fn cases() -> [Case; 4] {
    [
        Case {
            response: "ncanode-2022/ocsp/ocsp_response_ceo_2015_revoked.bin",
            ca: "ncanode-2022/ca/nca_gost2015_test.cer",
            p12: "ncanode-2022/keys/key_ceo_revoked_2015.p12",
            password: "Aa123456",
            serial: "3a90343e720594c55204b19cb9a402422ef0e622",
            nonce: "157b28fd1ac7761e",
            algorithm: SignatureAlgorithm::Gost2015_512,
            produced_at: datetime!(2022-09-02 16:59:28 UTC),
            status: OcspStatus::Revoked {
                at: datetime!(2022-07-27 10:25:30 UTC),
                reason: Some("certificateHold".into()),
            },
        },
        Case {
            response: "ncanode-2022/ocsp/ocsp_response_individual_2015.bin",
            ca: "ncanode-2022/ca/nca_gost2015_test.cer",
            p12: "ncanode-2022/keys/key_individual_valid_2015.p12",
            password: "Aa123456",
            serial: "0ff06211dc82beb00253ffa000f1de84abef454f",
            nonce: "e408ffb790834af2",
            algorithm: SignatureAlgorithm::Gost2015_512,
            produced_at: datetime!(2022-09-02 16:58:34 UTC),
            // "revoked at 1970-01-01, certificateHold" + extended-revoke: never issued.
            status: OcspStatus::Unknown,
        },
        Case {
            response: "ncanode-2022/ocsp/ocsp_response_ceo_sign_2004_revoked.bin",
            ca: "ncanode-2022/ca/nca_gost_test.crt",
            p12: "ncanode-2022/keys/key_ceo_sign_revoked_2004.p12",
            password: "Qwerty12",
            serial: "12e3e7b9966d09eb9cda64251457e815c2a8dded",
            nonce: "8b6b9f100d6b0005",
            algorithm: SignatureAlgorithm::Gost2004,
            produced_at: datetime!(2022-09-02 16:57:04 UTC),
            status: OcspStatus::Revoked {
                at: datetime!(2022-01-18 06:30:55 UTC),
                reason: Some("superseded".into()),
            },
        },
        Case {
            response: "ncanode-2022/ocsp/ocsp_response_individual_sign_2004.bin",
            ca: "ncanode-2022/ca/nca_rsa_test.crt",
            p12: "ncanode-2022/keys/key_individual_valid_sign_2004.p12",
            password: "Qwerty12",
            serial: "4279390a141f5353a62947b61ed65e81741467d1",
            nonce: "b5e5c9b552cbcac4",
            algorithm: SignatureAlgorithm::RsaSha256,
            produced_at: datetime!(2022-09-02 16:53:59 UTC),
            status: OcspStatus::Good,
        },
    ]
}

/// A moment the 2022 answers are fresh at (they carry no nextUpdate).
const NOW: OffsetDateTime = datetime!(2022-09-03 00:00:00 UTC);

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn serial(case: &Case) -> SerialNumber {
    SerialNumber::new(&unhex(case.serial)).expect("serial")
}

fn check_case(case: &Case, response: &[u8]) -> Result<OcspAnswer, RevocationError> {
    let nonce = unhex(case.nonce);
    check_serial(response, &serial(case), &certificate(case.ca), Some(&nonce), NOW)
}

#[test]
fn each_nca_answer_is_signed_by_a_responder_its_ca_delegated() {
    for case in cases() {
        let ca = certificate(case.ca);
        let basic = Basic::parse(&bytes(case.response)).expect(case.response);
        let oid = &basic.response.signature_algorithm.oid;
        assert_eq!(
            SignatureAlgorithm::from_oid(oid, None),
            Some(case.algorithm),
            "{}",
            case.response
        );
        let responder = basic.signer(&ca).expect(case.response);
        assert_ne!(responder, ca, "{}: a delegated responder, not the CA", case.response);
        assert!(responder.ext_key_usage().contains(&"1.3.6.1.5.5.7.3.9".to_owned()));
        verify::verify_issued_by(&responder, &ca).expect("issued by the CA it answers for");
        authorise(&responder, &ca, basic.produced_at).expect(case.response);
        assert_eq!(basic.produced_at, case.produced_at, "{}", case.response);
    }
}

#[test]
fn the_nca_answers_give_good_revoked_and_unknown() {
    for case in cases() {
        let answer = check_case(&case, &bytes(case.response)).expect(case.response);
        assert_eq!(answer.status, case.status, "{}", case.response);
        assert_eq!(answer.produced_at, case.produced_at);
        assert_eq!(answer.this_update, case.produced_at, "the NCA answers are made on demand");
        assert_eq!(answer.next_update, None, "the NCA answers carry no nextUpdate");
    }
}

#[test]
fn the_never_issued_answer_carries_extended_revoke_at_the_epoch() {
    let case = &cases()[1];
    let basic = Basic::parse(&bytes(case.response)).expect("parses");
    let extensions = basic.response.tbs_response_data.response_extensions.clone();
    let extended_revoke = const_oid::db::rfc6960::ID_PKIX_OCSP_EXTENDED_REVOKE;
    assert!(extensions.iter().flatten().any(|e| e.extn_id == extended_revoke));
    let single = basic.single_for(&serial(case), &certificate(case.ca)).expect("about it");
    let CertStatus::Revoked(info) = single.cert_status else { panic!("{single:?}") };
    assert_eq!(time_of(info.revocation_time).expect("time"), OffsetDateTime::UNIX_EPOCH);
    assert_eq!(info.revocation_reason, Some(CrlReason::CertificateHold));
}

#[test]
fn only_the_epoch_with_certificate_hold_means_unknown() {
    let at = |secs: u64| {
        let time = GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs));
        OcspGeneralizedTime(time.expect("time"))
    };
    let info = |secs, reason| RevokedInfo { revocation_time: at(secs), revocation_reason: reason };
    let hold = Some(CrlReason::CertificateHold);
    assert_eq!(revoked(info(0, hold)), Ok(OcspStatus::Unknown));
    let compromise = revoked(info(0, Some(CrlReason::KeyCompromise))).expect("status");
    assert!(matches!(compromise, OcspStatus::Revoked { .. }), "{compromise:?}");
    let held = revoked(info(1_658_917_530, hold)).expect("status");
    let expected = OcspStatus::Revoked {
        at: datetime!(2022-07-27 10:25:30 UTC),
        reason: Some("certificateHold".into()),
    };
    assert_eq!(held, expected);
    assert!(matches!(revoked(info(0, None)), Ok(OcspStatus::Revoked { reason: None, .. })));
}

#[test]
fn check_reads_the_certificates_of_the_p12_files_with_openssl() {
    if !openssl() {
        return;
    }
    for case in cases() {
        let subject = p12_certificate(case.p12, case.password);
        assert_eq!(subject.serial_hex(), case.serial.trim_start_matches('0'), "{}", case.p12);
        let ca = certificate(case.ca);
        let nonce = unhex(case.nonce);
        let answer = check(&bytes(case.response), &subject, &ca, Some(&nonce), NOW);
        assert_eq!(answer.expect(case.response).status, case.status, "{}", case.response);
        let asked = request(&subject, &ca, [7; 16]).expect("request");
        let basic = Basic::parse(&bytes(case.response)).expect("parses");
        let echoed = &basic.response.tbs_response_data.responses[0].cert_id;
        assert!(asked.cert_id.is(echoed), "{}: we ask as the NCA was asked", case.response);
    }
}

#[test]
fn a_changed_byte_in_the_signed_data_or_the_signature_is_refused() {
    for case in cases() {
        let original = bytes(case.response);
        let day = original.windows(8).position(|w| w == b"20220902").expect("producedAt");
        let mut dated = original.clone();
        dated[day + 7] = b'3'; // 2022-09-03: still a valid time, no longer what was signed
        assert_eq!(check_case(&case, &dated), Err(RevocationError::BadResponderSignature));
        let basic = Basic::parse(&original).expect("parses");
        let signature = basic.response.signature.raw_bytes();
        let at = original.windows(signature.len()).position(|w| w == signature).expect("sig");
        let mut forged = original.clone();
        forged[at + 5] ^= 0x01;
        assert_eq!(check_case(&case, &forged), Err(RevocationError::BadResponderSignature));
    }
}

#[test]
fn an_answer_about_another_certificate_is_refused() {
    let good = &cases()[3];
    let other = certificate("ncanode-2022/certs/individual_valid_sign_2004_rsa.cer");
    let rsa_ca = certificate(good.ca);
    let refused = check(&bytes(good.response), &other, &rsa_ca, None, NOW);
    let expected = "41e45cc8a04c705963e5cd6769848a934d8eaef5";
    assert_eq!(refused, Err(RevocationError::ForAnotherCertificate { serial: expected.into() }));
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("the OCSP answer is for another certificate"), "{message}");
    let gost_ca = certificate("ncanode-2022/ca/nca_gost_test.crt");
    let wrong_ca = check(&bytes(good.response), &other, &gost_ca, None, NOW);
    assert!(matches!(wrong_ca, Err(RevocationError::WrongIssuer { .. })), "{wrong_ca:?}");
}

#[test]
fn a_responder_of_another_ca_is_not_authorised() {
    // The RSA and GOST 2004 responders have the same name; only the issuer tells them apart.
    let good = &cases()[3];
    let gost_ca = certificate("ncanode-2022/ca/nca_gost_test.crt");
    let nonce = unhex(good.nonce);
    let refused = check_serial(&bytes(good.response), &serial(good), &gost_ca, Some(&nonce), NOW);
    assert!(matches!(refused, Err(RevocationError::UnauthorisedResponder { .. })), "{refused:?}");
}

#[test]
fn a_wrong_nonce_is_refused_and_a_missing_expectation_passes() {
    let case = &cases()[0];
    let response = bytes(case.response);
    let issuer = certificate(case.ca);
    let asked = |nonce: Option<&[u8]>| check_serial(&response, &serial(case), &issuer, nonce, NOW);
    assert_eq!(asked(Some(&[0x5a; 16])), Err(RevocationError::NonceMismatch));
    let mut off_by_one = unhex(case.nonce);
    off_by_one[7] ^= 1;
    assert_eq!(asked(Some(&off_by_one)), Err(RevocationError::NonceMismatch));
    assert!(asked(Some(&unhex(case.nonce))).is_ok());
    assert!(asked(None).is_ok());
}

#[test]
fn this_update_may_not_be_ahead_and_next_update_not_past() {
    let case = &cases()[3];
    let response = bytes(case.response);
    let issuer = certificate(case.ca);
    let at = |now| check_serial(&response, &serial(case), &issuer, None, now);
    let produced = case.produced_at;
    let early = at(produced - Duration::minutes(6));
    assert_eq!(early, Err(RevocationError::NotYetValid { this_update: produced }));
    assert!(at(produced - Duration::minutes(4)).is_ok(), "within the clock skew");
    assert!(at(datetime!(2030-01-01 0:00 UTC)).is_ok(), "no nextUpdate: never stale by time");
    let answer = OcspAnswer {
        status: OcspStatus::Good,
        produced_at: produced,
        this_update: produced,
        next_update: Some(produced + Duration::hours(1)),
    };
    assert!(check_times(&answer, produced + Duration::hours(1)).is_ok());
    let late = check_times(&answer, produced + Duration::hours(2));
    assert_eq!(late, Err(RevocationError::Expired { next_update: produced + Duration::hours(1) }));
}

#[test]
fn refusals_and_garbage_are_reported() {
    let issuer = certificate(cases()[3].ca);
    let number = serial(&cases()[3]);
    let answer = |der: &[u8]| check_serial(der, &number, &issuer, None, NOW);
    assert_eq!(answer(&[0x30, 0x03, 0x0a, 0x01, 0x03]), Err(RevocationError::Refused("tryLater")));
    assert_eq!(
        answer(&[0x30, 0x03, 0x0a, 0x01, 0x06]),
        Err(RevocationError::Refused("unauthorized"))
    );
    assert!(matches!(answer(b"<html>"), Err(RevocationError::MalformedOcsp(_))));
    assert!(matches!(
        answer(&[0x30, 0x03, 0x0a, 0x01, 0x00]),
        Err(RevocationError::MalformedOcsp(_))
    ));
}

#[test]
fn no_cut_short_answer_panics() {
    for case in cases() {
        let response = bytes(case.response);
        for cut in 0..response.len() {
            let result = check_case(&case, &response[..cut]);
            assert!(result.is_err(), "{} cut at {cut}", case.response);
        }
    }
}

#[test]
fn the_request_is_what_openssl_reads() {
    if !openssl() {
        return;
    }
    let subject_file = "ncanode-2022/certs/individual_valid_sign_2004_rsa.cer";
    let subject = certificate(subject_file);
    let ca = certificate("ncanode-2022/ca/nca_rsa_test.crt");
    let asked = request(&subject, &ca, [0xa5; 16]).expect("request");
    let text = openssl_request_text(&asked.der);
    assert!(text.contains("Hash Algorithm: sha256"), "{text}");
    // The same issuer hashes as in the NCA responder's answer about the RSA CA's certificate.
    let name_hash = "8A8DA2CC54E144C7A78E916AA2DFC4CF1660105333A887C48AB649B01EEEE62F";
    assert!(text.contains(&format!("Issuer Name Hash: {name_hash}")), "{text}");
    let key_hash = "E32738B58CA445A8BD66B1FF745547FF0F2FEE8F5749AB9B3E4705D28DFDE4A8";
    assert!(text.contains(&format!("Issuer Key Hash: {key_hash}")), "{text}");
    assert!(text.contains("Serial Number: 41E45CC8A04C705963E5CD6769848A934D8EAEF5"), "{text}");
    let nonce = text.lines().skip_while(|l| !l.contains("OCSP Nonce")).nth(1).unwrap_or("");
    assert_eq!(nonce.trim(), format!("0410{}", "A5".repeat(16)), "{text}");
    // SHA-1, hashed by openssl itself from the same two certificates.
    let sha1 = request_with(&subject, &ca, [0xa5; 16], HashAlgorithm::Sha1).expect("request");
    let ours = openssl_request_text(&sha1.der);
    let theirs = openssl_own_request_text(subject_file, "ncanode-2022/ca/nca_rsa_test.crt");
    let hashes = |t: &str| {
        t.lines().filter(|l| l.contains("Hash")).map(str::trim).collect::<Vec<_>>().join("\n")
    };
    assert!(ours.contains("Hash Algorithm: sha1"), "{ours}");
    assert_eq!(hashes(&ours), hashes(&theirs));
}

fn openssl_request_text(der: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("request.der");
    std::fs::write(&file, der).expect("write");
    let out = std::process::Command::new("openssl")
        .args(["ocsp", "-req_text", "-reqin"])
        .arg(&file)
        .output()
        .expect("openssl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    text
}

fn openssl_own_request_text(subject: &str, issuer: &str) -> String {
    let nca = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/nca/");
    let out = std::process::Command::new("openssl")
        .args(["ocsp", "-no_nonce", "-req_text", "-issuer"])
        .arg(format!("{nca}{issuer}"))
        .arg("-cert")
        .arg(format!("{nca}{subject}"))
        .output()
        .expect("openssl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("Hash Algorithm: sha1"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn the_responder_url_comes_from_the_aia_extension() {
    let subject = certificate("ncanode-2022/certs/individual_valid_sign_2004_rsa.cer");
    assert_eq!(responder_url(&subject).as_deref(), Some("http://test.pki.gov.kz/ocsp/"));
    let ca = certificate("ncanode-2022/ca/nca_gost_test.crt");
    assert_eq!(responder_url(&ca), None, "the CA's AIA names only its own issuer");
    let basic = Basic::parse(&bytes(cases()[3].response)).expect("parses");
    let responder = basic.signer(&certificate(cases()[3].ca)).expect("responder");
    assert_eq!(responder_url(&responder).as_deref(), Some("http://ocsp.pki.gov.kz"));
}
