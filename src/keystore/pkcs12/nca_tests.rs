//! The NCA's GOST `.p12` fixtures (`../shared/fixtures/nca`): every one opens, its certificate
//! chains to the NCA's CA, and its GOST key signs what `crypto` verifies. [`gost_signers`] also serves the GOST engine oracle tests and
//! the service's CMS/XML tests over these keys.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use crate::crypto::verify::{verify_digest, verify_issued_by};
use crate::crypto::{Certificate, CryptoError, SignatureAlgorithm, Signer};
use crate::keystore::pkcs12::Pkcs12Store;
use crate::keystore::KeyStore;

const NCA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/nca");

fn cert(relative: &str) -> Certificate {
    let bytes =
        std::fs::read(Path::new(NCA).join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"));
    Certificate::from_pem_or_der(&bytes).expect("certificate")
}

/// Every `.p12` under `dir` (relative to the fixtures), sorted.
fn p12_files(dir: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![Path::new(NCA).join(dir)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixture dir") {
            let path = entry.expect("dir entry").path();
            match path.is_dir() {
                true => dirs.push(path),
                false if path.extension().is_some_and(|e| e == "p12") => found.push(path),
                false => {}
            }
        }
    }
    found.sort();
    found
}

fn password(path: &Path) -> SecretString {
    let name = path.to_string_lossy();
    let text = match name.contains("ncanode-2022") && name.ends_with("_2015.p12") {
        true => "Aa123456",
        false => "Qwerty12",
    };
    SecretString::from(text.to_owned())
}

/// The signer of the only key of a `.p12`.
pub(crate) fn p12_signer(path: &Path) -> Box<dyn Signer> {
    let bytes = std::fs::read(path).expect("p12 readable");
    let store = Pkcs12Store::open(&bytes, &password(path)).expect("opens");
    let alias = store.keys()[0].alias.clone();
    store.signer(&alias).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Every `.p12` fixture whose key is GOST, with its signer.
pub(crate) fn gost_signers() -> Vec<(PathBuf, Box<dyn Signer>)> {
    p12_files(".")
        .into_iter()
        .map(|path| {
            let signer = p12_signer(&path);
            (path, signer)
        })
        .filter(|(_, signer)| signer.algorithm() != SignatureAlgorithm::RsaSha256)
        .collect()
}

#[test]
fn every_gost_p12_signs_and_verifies() {
    let signers = gost_signers();
    assert!(signers.len() >= 16, "only {} GOST keys", signers.len());
    for (path, signer) in signers {
        let algorithm = signer.algorithm();
        assert_ne!(algorithm, SignatureAlgorithm::RsaSha256, "{path:?}");
        let digest = algorithm.hash().digest(b"Qoltanba GOST round trip");
        let signature = signer.sign_digest(&digest).expect("signs");
        assert_eq!(signature.len(), 2 * algorithm.hash().output_len(), "{path:?}");
        let certificate = signer.certificate();
        verify_digest(certificate, algorithm, &digest, &signature)
            .unwrap_or_else(|e| panic!("{path:?}: {e}"));
        for at in [0, signature.len() / 2, signature.len() - 1] {
            let mut flipped = signature.clone();
            flipped[at] ^= 0x01;
            let result = verify_digest(certificate, algorithm, &digest, &flipped);
            assert!(matches!(result, Err(CryptoError::BadSignature)), "{path:?} byte {at}");
        }
        let message = signer.sign_message(b"message").expect("signs a message");
        let message_digest = algorithm.hash().digest(b"message");
        verify_digest(certificate, algorithm, &message_digest, &message).expect("message");
    }
}

#[test]
fn a_key_with_the_wrong_certificate_is_refused() {
    let files = p12_files("gost2015-2026");
    let (first, second) = (p12_signer(&files[0]), p12_signer(&files[1]));
    let bytes = std::fs::read(&files[0]).expect("p12");
    let store = Pkcs12Store::open(&bytes, &password(&files[0])).expect("opens");
    let pkcs8 = store.private_key_der(0).expect("key");
    let wrong = crate::crypto::gost::GostSigner::from_pkcs8(&pkcs8, second.certificate().clone());
    match wrong {
        Err(CryptoError::InvalidKey(text)) => {
            assert_eq!(text, "the private key does not match the certificate")
        }
        other => panic!("expected InvalidKey, got {other:?}"),
    }
    crate::crypto::gost::GostSigner::from_pkcs8(&pkcs8, first.certificate().clone())
        .expect("right pair");
}

#[test]
fn gost_2026_leaves_verify_under_the_ca() {
    let ca = cert("gost2015-2026/nca_gost2022_test.cer");
    let leaves = p12_files("gost2015-2026");
    assert_eq!(leaves.len(), 12);
    for path in leaves {
        let signer = p12_signer(&path);
        verify_issued_by(signer.certificate(), &ca).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    }
}

#[test]
fn gost_2004_leaves_verify_under_the_2004_ca() {
    let ca = cert("ncanode-2022/ca/nca_gost_test.crt");
    let mut checked = 0;
    for (path, signer) in gost_signers() {
        if signer.algorithm() != SignatureAlgorithm::Gost2004 {
            continue;
        }
        verify_issued_by(signer.certificate(), &ca).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        checked += 1;
    }
    let cer = cert(
        "legacy-2020/organization/active/GOSTKNCA_13a3741b52d7bf860aab199b56fad1f4652e357b.cer",
    );
    verify_issued_by(&cer, &ca).expect("GOSTKNCA .cer");
    verify_issued_by(&cert("ncanode-2022/certs/ceo_valid_sign_2004_gost.cer"), &ca).expect("ceo");
    assert_eq!(checked, 3, "two GOSTKNCA keys and one NCANode key");
}
