//! OpenSSL 3's GOST engine (Debian `libengine-gost-openssl`, `engines-3/gost.so`) as an
//! independent verifier of our GOST signatures, for the unit tests here and the integration
//! tests (feature `test-support`); the daemon never uses it. The engine knows only the Russian
//! OIDs, so a KZ public key is re-wrapped as a Russian SPKI (RFC 9215 §4 / RFC 4491 §2.3, the
//! same `x‖y` octets), and a KZ signature `r‖s` (little-endian) must be byte-reversed into the
//! engine's `s‖r` big-endian layout by the caller. See `kz-pki.md` §2.3.

use std::path::Path;
use std::process::Command;

use const_oid::ObjectIdentifier;
use der::asn1::{BitString, OctetString};
use der::{Any, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::{GostCurve, GostPublicKey};

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

/// The Russian key OID and parameter OIDs of `curve`, for the curves NCA keys use.
fn russian_oids(curve: GostCurve) -> Option<(&'static str, &'static [&'static str])> {
    match curve {
        GostCurve::Tc26_512A => Some((RU_KEY_2012_512, &[RU_TC26_512_A])),
        GostCurve::CryptoProA => Some((RU_KEY_2001, &[RU_CRYPTOPRO_A, RU_GOST94_CRYPTOPRO])),
        _ => None,
    }
}

/// The key as a Russian SubjectPublicKeyInfo in PEM; `None` for a curve no NCA key uses.
pub fn russian_spki_pem(public: &GostPublicKey) -> Option<String> {
    let (key_oid, parameters) = russian_oids(public.curve)?;
    let oids: Vec<ObjectIdentifier> =
        parameters.iter().map(|p| ObjectIdentifier::new_unwrap(p)).collect();
    let key = OctetString::new(public.xy.clone()).and_then(|o| o.to_der()).ok()?;
    let spki = SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap(key_oid),
            parameters: Some(Any::encode_from(&oids).ok()?),
        },
        subject_public_key: BitString::from_bytes(&key).ok()?,
    };
    Some(crate::crypto::pem("PUBLIC KEY", &spki.to_der().ok()?))
}

/// `openssl pkeyutl -engine gost -verify` of `signature` (engine layout) over `digest`, with
/// the key `pem`; its files are written in `dir`.
pub fn engine_verifies(dir: &Path, pem: &str, digest: &[u8], signature: &[u8]) -> bool {
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

/// Whether `openssl engine gost` loads; a visible skip when it does not
/// ([`crate::platform::skip`]: a failure under `QOLTANBA_REQUIRE_ORACLES`).
#[cfg(test)]
pub fn engine_available() -> bool {
    let loaded = Command::new("openssl").args(["engine", "-t", "gost"]).output().is_ok_and(|out| {
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("[ available ]")
    });
    crate::platform::skip::needs("the GOST engine for OpenSSL 3 (libengine-gost-openssl)", loaded)
}
