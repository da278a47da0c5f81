//! Cryptographic vocabulary and primitives: algorithms with their OIDs and XMLDSig URIs, the
//! certificate wrapper, the `Signer` trait and signature verification. No I/O lives here.

pub mod algorithm;
pub mod base64_stream;
pub mod certificate;
pub mod csr;
pub mod der_build;
pub mod device;
pub mod gost;
pub mod rsa;
pub mod signer;
#[cfg(any(test, feature = "test-support"))]
pub mod test_ca;
pub mod verify;

#[cfg(test)]
pub(crate) mod test_rng;

pub use algorithm::{HashAlgorithm, Hasher, SignatureAlgorithm};
pub use certificate::Certificate;
pub use device::{DeviceError, DeviceErrorKind, PinTries};
pub use signer::Signer;

/// Lowercase hex of `bytes`: key identifiers, aliases, document digests. The one hex encoder of
/// the crate.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// PEM armour (RFC 7468): `-----BEGIN LABEL-----`, 64-column base64 lines, `-----END LABEL-----`,
/// each line ended by `\n`.
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 64 + 2 * label.len() + 34);
    out.push_str(&format!("-----BEGIN {label}-----\n"));
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Errors of the cryptographic primitives.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The key material could not be decoded.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The certificate could not be decoded.
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),
    /// The algorithm is not supported by this build.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// A digest of the wrong length was given for the key's hash algorithm.
    #[error("digest length {got} does not match the key's hash ({expected} bytes)")]
    DigestLength { expected: usize, got: usize },
    /// A signature did not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// The signing operation itself failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// The key lives on a device, and the device failed.
    #[error(transparent)]
    Device(#[from] DeviceError),
}
