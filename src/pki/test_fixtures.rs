//! Test-only access to the real NCA material in `../shared/fixtures/nca` (read in place, never
//! copied): bytes, certificates, and the certificate inside a `.p12`, read back by
//! `openssl pkcs12 -legacy` because `keystore`, which opens key files, is out of `pki`'s reach.

use crate::crypto::Certificate;

/// The fixtures folder, with a trailing `/`.
const NCA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/nca/");

/// The bytes of fixture `path`.
pub fn bytes(path: &str) -> Vec<u8> {
    let file = format!("{NCA}{path}");
    std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The certificate (PEM or DER) in fixture `path`.
pub fn certificate(path: &str) -> Certificate {
    Certificate::from_pem_or_der(&bytes(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Whether openssl is there to read `.p12` files; when not, the test says it skips.
#[must_use]
pub fn openssl() -> bool {
    crate::platform::skip::needs("openssl", crate::platform::skip::on_path("openssl"))
}

/// The end-entity certificate of the `.p12` fixture `path`, opened with `password`. Ask
/// [`openssl`] first.
pub fn p12_certificate(path: &str, password: &str) -> Certificate {
    let out = std::process::Command::new("openssl")
        .args(["pkcs12", "-legacy", "-nokeys", "-clcerts", "-in"])
        .arg(format!("{NCA}{path}"))
        .arg("-passin")
        .arg(format!("pass:{password}"))
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "{path}: {}", String::from_utf8_lossy(&out.stderr));
    Certificate::from_pem_or_der(&out.stdout).unwrap_or_else(|e| panic!("{path}: {e}"))
}
