//! Getting a key end to end in-process: a GOST-512 key and its request, the request's
//! self-signature checked by the GOST engine and its extensions read back as the spec says, a
//! test CA issuing the certificate, and installation: a wrong password asked again with the key
//! kept, a stranger's certificate refused, then `GOST512_<ski>.p12` written, readable by
//! openssl and signing with a signature the engine accepts.

use der::{Decode as _, Encode as _};
use secrecy::SecretString;
use x509_cert::request::CertReq;

use super::waiting::{check_password, IssuanceError, PasswordRule, Waiting};
use super::{KeyStore as _, Pkcs12Store};
use crate::crypto::csr::RequestFields;
use crate::crypto::gost::oracle::{engine_available, engine_verifies, russian_spki_pem};
use crate::crypto::gost::GostPublicKey;
use crate::crypto::test_ca::TestCa;
use crate::crypto::HashAlgorithm;

const SUBJECT: &str = "CN=ТЕСТОВ ТЕСТ,SURNAME=ТЕСТОВ,SERIALNUMBER=IIN123456789011,C=KZ,G=ТЕСТОВИЧ";

fn fields() -> RequestFields {
    RequestFields {
        subject: SUBJECT.into(),
        email: Some("test@example.kz".into()),
        storage: "PKCS12".into(),
        folder: None,
    }
}

fn password(text: &str) -> SecretString {
    SecretString::from(text.to_string())
}

/// The extensions a request asks for: (id, DER value).
fn requested_extensions(request: &CertReq) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for attribute in request.info.attributes.iter() {
        assert_eq!(attribute.oid.to_string(), "1.2.840.113549.1.9.14", "extensionRequest only");
        for value in attribute.values.iter() {
            let extensions =
                x509_cert::ext::Extensions::from_der(&value.to_der().expect("der")).expect("exts");
            for ext in extensions {
                assert!(!ext.critical, "{} is not critical", ext.extn_id);
                out.push((ext.extn_id.to_string(), ext.extn_value.as_bytes().to_vec()));
            }
        }
    }
    out
}

#[test]
fn a_new_key_is_requested_issued_and_installed_in_the_nca_layout() {
    let dir = tempfile::tempdir().expect("dir");
    let waiting = Waiting::new(dir.path().join("waiting"));
    let folder = dir.path().join("keys");
    let new = waiting.new_file_key(&fields(), &folder, &password("Qwerty12")).expect("a request");
    assert_eq!(waiting.keys(), vec![new.key_id.clone()]);

    // The request: subject as given, the e-mail and the key store with its folder.
    let request = CertReq::from_der(&new.request).expect("PKCS#10");
    let subject = crate::crypto::csr::name(SUBJECT).expect("name");
    assert_eq!(request.info.subject.to_der().expect("der"), subject);
    let extensions = requested_extensions(&request);
    let san = [0x30, 0x11, 0x81, 0x0F].iter().copied().chain(*b"test@example.kz").collect();
    assert_eq!(extensions[0], ("2.5.29.17".into(), san));
    let store_info = der::asn1::SequenceOf::<der::Any, 2>::from_der(&extensions[1].1).expect("seq");
    assert_eq!(extensions[1].0, "1.2.398.3.3.5");
    let storage = store_info.get(0).and_then(|a| a.decode_as::<der::asn1::ObjectIdentifier>().ok());
    assert_eq!(storage.map(|o| o.to_string()).as_deref(), Some("1.2.398.3.3.5.1.1"));
    let path = store_info.get(1).and_then(|a| a.decode_as::<String>().ok());
    assert_eq!(path, Some(folder.display().to_string()));
    assert_eq!(request.algorithm.oid.to_string(), "1.2.398.3.10.1.1.2.3.2");

    // Its self-signature, checked by the GOST engine over the engine's layout.
    let spki = request.info.public_key.to_der().expect("spki");
    let public = GostPublicKey::from_spki_der(&spki).expect("a GOST key");
    if engine_available() {
        let info = request.info.to_der().expect("info");
        let digest = HashAlgorithm::Streebog512.digest(&info);
        let signature = request.signature.as_bytes().expect("bits");
        let reversed: Vec<u8> = signature.iter().rev().copied().collect();
        let pem = russian_spki_pem(&public).expect("512-bit key");
        assert!(engine_verifies(dir.path(), &pem, &digest, &reversed), "engine rejects the CSR");
    }

    // The waiting key is encrypted: the file holds no PKCS#8 in clear.
    let key_file = dir.path().join("waiting").join(format!("{}.key", new.key_id));
    let kept = std::fs::read(&key_file).expect("the waiting key");
    let key_oid = [0x2A, 0x83, 0x0E, 0x03, 0x0A, 0x01, 0x01, 0x02, 0x02];
    assert!(kept.windows(key_oid.len()).all(|w| w != key_oid), "no GOST key OID in clear");
    let pkcs8 = super::pkcs12::decrypt_private_key(&kept, &password("Qwerty12")).expect("opens");
    assert!(pkcs8.windows(key_oid.len()).any(|w| w == key_oid), "the key inside");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let ca = TestCa::new("Qoltanba test CA");
    let certificate = ca.issue(&new.request, 42).expect("issued");
    let pem = certificate.pem();

    // A wrong password is refused and nothing is lost.
    let wrong = waiting.install(pem.as_bytes(), &password("Qwerty13")).err();
    assert!(matches!(wrong, Some(IssuanceError::WrongPassword)), "{wrong:?}");
    assert_eq!(waiting.keys(), vec![new.key_id.clone()]);

    // A certificate for another key is refused.
    let other = Waiting::new(dir.path().join("other"));
    let stranger = other.new_file_key(&fields(), &folder, &password("Qwerty12")).expect("req");
    let foreign = ca.issue(&stranger.request, 43).expect("issued");
    let refused = waiting.install(foreign.der(), &password("Qwerty12")).err();
    assert!(matches!(refused, Some(IssuanceError::NoWaitingKey)), "{refused:?}");
    use base64::Engine as _;
    let base64 = base64::engine::general_purpose::STANDARD.encode(foreign.der());
    let refused = waiting.install(base64.as_bytes(), &password("Qwerty12")).err();
    assert!(matches!(refused, Some(IssuanceError::NoWaitingKey)), "base64 read: {refused:?}");
    let junk = waiting.install(b"not a certificate", &password("Qwerty12")).err();
    assert!(matches!(junk, Some(IssuanceError::NotACertificate(_))), "{junk:?}");

    // The right one, in PEM after the CA's certificate (a chain).
    let chain = [ca.certificate.pem(), pem].concat();
    let installed = match waiting.install(chain.as_bytes(), &password("Qwerty12")) {
        Ok(installed) => installed,
        Err(e) => panic!("installs: {e}"),
    };
    let expected = folder.join(format!("GOST512_{}.p12", new.key_id));
    assert_eq!(installed.destination, super::waiting::Destination::File(expected.clone()));
    assert!(waiting.keys().is_empty(), "no longer waiting");
    let again = waiting.install(certificate.der(), &password("Qwerty12")).err();
    assert!(matches!(again, Some(IssuanceError::NoWaitingKey)), "{again:?}");

    // The file opens, its alias is the key id, and it signs as the engine accepts.
    let store = Pkcs12Store::open_file(&expected, &password("Qwerty12")).expect("opens");
    assert_eq!(store.keys()[0].alias, new.key_id);
    let signer = store.signer(&new.key_id).expect("signer");
    let signature = signer.sign_message(b"first signature").expect("signs");
    if engine_available() {
        let digest = HashAlgorithm::Streebog512.digest(b"first signature");
        let reversed: Vec<u8> = signature.iter().rev().copied().collect();
        let pem = russian_spki_pem(&public).expect("512-bit key");
        assert!(engine_verifies(dir.path(), &pem, &digest, &reversed), "engine rejects");
    }
}

#[test]
fn the_nca_password_rule_is_enforced_before_a_key_is_made() {
    assert_eq!(check_password("Qwe12"), Err(PasswordRule::TooShort));
    assert_eq!(check_password("qwerty12"), Err(PasswordRule::Mix));
    assert_eq!(check_password("QWERTY12"), Err(PasswordRule::Mix));
    assert_eq!(check_password("Qwertyui"), Err(PasswordRule::Mix));
    assert_eq!(check_password("Qwerty12"), Ok(()));
    let dir = tempfile::tempdir().expect("dir");
    let waiting = Waiting::new(dir.path().join("waiting"));
    let refused = waiting.new_file_key(&fields(), dir.path(), &password("qwerty")).err();
    assert!(matches!(refused, Some(IssuanceError::PasswordRule(PasswordRule::Mix))));
    assert!(waiting.keys().is_empty());
}
