//! Signature verification against a certificate's public key, for every algorithm we know.

use super::{Certificate, CryptoError, SignatureAlgorithm};

/// Verifies `signature` over `digest` (made with `algorithm.hash()`) with the certificate's key.
pub fn verify_digest(
    certificate: &Certificate,
    algorithm: SignatureAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    match algorithm {
        SignatureAlgorithm::RsaSha256 | SignatureAlgorithm::RsaSha1 => {
            let key = super::rsa::public_key(certificate)?;
            super::rsa::verify_digest(&key, algorithm.hash(), digest, signature)
        }
    }
}

/// Verifies that `issuer` signed `subject` (X.509 signature over the TBS certificate).
pub fn verify_issued_by(subject: &Certificate, issuer: &Certificate) -> Result<(), CryptoError> {
    use der::Encode;
    let cert = subject.inner();
    let algorithm =
        SignatureAlgorithm::from_oid(&cert.signature_algorithm.oid, None).ok_or_else(|| {
            CryptoError::UnsupportedAlgorithm(cert.signature_algorithm.oid.to_string())
        })?;
    let tbs = cert
        .tbs_certificate
        .to_der()
        .map_err(|e| CryptoError::InvalidCertificate(e.to_string()))?;
    let signature = cert
        .signature
        .as_bytes()
        .ok_or_else(|| CryptoError::InvalidCertificate("unaligned signature".into()))?;
    verify_digest(issuer, algorithm, &algorithm.hash().digest(&tbs), signature)
}
