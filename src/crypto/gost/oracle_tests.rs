//! An independent verifier: OpenSSL 3 with the GOST engine (Debian `libengine-gost-openssl`,
//! `engines-3/gost.so`) checks signatures made here, as `kz-pki.md` §2.3 describes. The
//! engine knows only the Russian OIDs, so the public key is re-wrapped as a Russian SPKI
//! (RFC 9215 §4 / RFC 4491 §2.3) and the KZ signature `r‖s` (little-endian) is byte-reversed
//! into the engine's `s‖r` big-endian layout.
//!
//! When the engine is not installed the tests print a loud notice and pass without checking,
//! unless `QOLTANBA_REQUIRE_ORACLES` is set (the test script sets it): then they fail.

use std::path::Path;
use std::process::Command;

use const_oid::ObjectIdentifier;
use der::asn1::{BitString, OctetString};
use der::{Any, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::nca::gost_signers;
use crate::crypto::gost::GostPublicKey;
use crate::crypto::SignatureAlgorithm;

/// `id-tc26-gost3410-12-512` (RFC 9215 §3).
const RU_KEY_2012_512: &str = "1.2.643.7.1.1.1.2";
/// `id-tc26-gost-3410-12-512-paramSetA`.
const RU_TC26_512_A: &str = "1.2.643.7.1.2.1.2.1";
/// `id-GostR3410-2001` (RFC 4491 §2.3.2).
const RU_KEY_2001: &str = "1.2.643.2.2.19";
/// `id-GostR3410-2001-CryptoPro-A-ParamSet` (RFC 4357 §10.8).
const RU_CRYPTOPRO_A: &str = "1.2.643.2.2.35.1";
/// `id-GostR3411-94-CryptoProParamSet` (RFC 4357 §10.2); pkeyutl signs raw digests, so the
/// engine never hashes with it.
const RU_GOST94_CRYPTOPRO: &str = "1.2.643.2.2.30.1";

/// Whether `openssl engine gost` loads; prints why not when it does not.
fn engine_available() -> bool {
    let loaded = Command::new("openssl").args(["engine", "-t", "gost"]).output().is_ok_and(|out| {
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("[ available ]")
    });
    if !loaded && std::env::var_os("QOLTANBA_REQUIRE_ORACLES").is_some() {
        panic!("the GOST engine oracle is required (QOLTANBA_REQUIRE_ORACLES) but does not load");
    }
    if !loaded {
        eprintln!(
            "\n!!!!!!!! GOST ORACLE SKIPPED: `openssl engine -t gost` failed. Install Debian's \
             libengine-gost-openssl (engines-3/gost.so) to cross-check GOST signatures. !!!!!!!!\n"
        );
    }
    loaded
}

/// The Russian SPKI PEM of a KZ GOST public key.
fn russian_spki_pem(public: &GostPublicKey, key_oid: &str, parameters: &[&str]) -> String {
    let oids: Vec<ObjectIdentifier> =
        parameters.iter().map(|p| ObjectIdentifier::new_unwrap(p)).collect();
    let key = OctetString::new(public.xy.clone()).and_then(|o| o.to_der()).expect("octets");
    let spki = SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap(key_oid),
            parameters: Some(Any::encode_from(&oids).expect("parameters")),
        },
        subject_public_key: BitString::from_bytes(&key).expect("bits"),
    };
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(spki.to_der().expect("spki"));
    let lines: Vec<&str> =
        b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or("")).collect();
    format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n"))
}

/// `openssl pkeyutl -engine gost -verify` of `signature` (engine layout) over `digest`.
fn engine_verifies(dir: &Path, pem: &str, digest: &[u8], signature: &[u8]) -> bool {
    std::fs::write(dir.join("pub.pem"), pem).expect("temp file");
    std::fs::write(dir.join("digest.bin"), digest).expect("temp file");
    std::fs::write(dir.join("sig.bin"), signature).expect("temp file");
    let args = ["pkeyutl", "-engine", "gost", "-verify", "-pubin", "-inkey", "pub.pem"];
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .args(["-sigfile", "sig.bin", "-in", "digest.bin"])
        .output()
        .expect("openssl runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    out.status.success() && stdout.contains("Signature Verified Successfully")
}

/// Signs with the first fixture key of `algorithm` and has the engine check it.
fn cross_check(algorithm: SignatureAlgorithm, key_oid: &str, parameters: &[&str]) {
    if !engine_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, signer) = gost_signers()
        .into_iter()
        .find(|(_, s)| s.algorithm() == algorithm)
        .expect("a fixture key");
    let public = GostPublicKey::from_certificate(signer.certificate()).expect("public key");
    let pem = russian_spki_pem(&public, key_oid, parameters);
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
    cross_check(SignatureAlgorithm::Gost2015_512, RU_KEY_2012_512, &[RU_TC26_512_A]);
}

#[test]
fn gost_engine_verifies_our_gost_2004_signatures() {
    cross_check(SignatureAlgorithm::Gost2004, RU_KEY_2001, &[RU_CRYPTOPRO_A, RU_GOST94_CRYPTOPRO]);
}
