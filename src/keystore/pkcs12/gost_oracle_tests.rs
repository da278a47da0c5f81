//! An independent verifier: OpenSSL 3 with the GOST engine ([`crate::crypto::gost::oracle`]) checks
//! signatures made here, as `kz-pki.md` §2.3 describes: the public key re-wrapped as a Russian
//! SPKI, the KZ signature `r‖s` (little-endian) byte-reversed into the engine's layout.
//!
//! When the engine is not installed the tests are skipped with a `SKIPPED:` line, unless
//! `QOLTANBA_REQUIRE_ORACLES` is set (the test script sets it): then they fail.

use super::nca::gost_signers;
use crate::crypto::gost::oracle::{engine_available, engine_verifies, russian_spki_pem};
use crate::crypto::gost::GostPublicKey;
use crate::crypto::SignatureAlgorithm;

/// Signs with the first fixture key of `algorithm` and has the engine check it.
fn cross_check(algorithm: SignatureAlgorithm) {
    if !engine_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, signer) = gost_signers()
        .into_iter()
        .find(|(_, s)| s.algorithm() == algorithm)
        .expect("a fixture key");
    let public = GostPublicKey::from_certificate(signer.certificate()).expect("public key");
    let pem = russian_spki_pem(&public).expect("a curve the NCA uses");
    let digest = algorithm.hash().digest(b"checked by the GOST engine");
    let ours = signer.sign_digest(&digest).expect("signs");
    let reversed: Vec<u8> = ours.iter().rev().copied().collect();
    assert!(engine_verifies(dir.path(), &pem, &digest, &reversed), "{path:?}: engine rejects");
    assert!(!engine_verifies(dir.path(), &pem, &digest, &ours), "unreversed must fail");
    let mut corrupted = reversed.clone();
    corrupted[10] ^= 0x04;
    assert!(!engine_verifies(dir.path(), &pem, &digest, &corrupted), "corrupted must fail");
    let ours_on_corrupted: Vec<u8> = corrupted.iter().rev().copied().collect();
    let mine = crate::crypto::verify::verify_digest(
        signer.certificate(),
        algorithm,
        &digest,
        &ours_on_corrupted,
    );
    assert!(mine.is_err(), "our verifier must reject it too");
}

#[test]
fn gost_engine_verifies_our_gost_2015_512_signatures() {
    cross_check(SignatureAlgorithm::Gost2015_512);
}

#[test]
fn gost_engine_verifies_our_gost_2004_signatures() {
    cross_check(SignatureAlgorithm::Gost2004);
}
