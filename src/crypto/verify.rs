//! Signature verification against a certificate's public key, for every algorithm we know:
//! digests, certificates (RFC 5280 §4.1.1.3) and CRLs (RFC 5280 §5.1.1.3).

use der::Encode;

use super::gost::GostPublicKey;
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
        SignatureAlgorithm::Gost2015_256
        | SignatureAlgorithm::Gost2015_512
        | SignatureAlgorithm::Gost2004 => {
            let key = GostPublicKey::from_certificate(certificate)?;
            super::gost::verify_digest(&key, algorithm, digest, signature)
        }
    }
}

/// Verifies that `issuer` signed `subject` (X.509 signature over the TBS certificate, as
/// received: a re-encoding may differ from what the CA signed, e.g. an explicit default).
pub fn verify_issued_by(subject: &Certificate, issuer: &Certificate) -> Result<(), CryptoError> {
    let cert = subject.inner();
    let invalid = |e: der::Error| CryptoError::InvalidCertificate(e.to_string());
    let tbs = first_element(subject.der()).map_err(invalid)?;
    let signature = cert
        .signature
        .as_bytes()
        .ok_or_else(|| CryptoError::InvalidCertificate("unaligned signature".into()))?;
    verify_signed(&cert.signature_algorithm.oid, tbs, signature, issuer)
}

/// Verifies that `issuer` signed the DER CRL `crl_der` (signature over `tbsCertList`).
pub fn verify_crl_signed_by(crl_der: &[u8], issuer: &Certificate) -> Result<(), CryptoError> {
    use der::Decode;
    let invalid = |e: der::Error| CryptoError::InvalidCertificate(format!("CRL: {e}"));
    let crl = x509_cert::crl::CertificateList::from_der(crl_der).map_err(invalid)?;
    let tbs = crl.tbs_cert_list.to_der().map_err(invalid)?;
    let signature = crl
        .signature
        .as_bytes()
        .ok_or_else(|| CryptoError::InvalidCertificate("CRL: unaligned signature".into()))?;
    verify_signed(&crl.signature_algorithm.oid, &tbs, signature, issuer)
}

/// The first element inside the outer SEQUENCE of `der` (a certificate's tbsCertificate).
fn first_element(der: &[u8]) -> Result<&[u8], der::Error> {
    use der::{Decode as _, Reader as _};
    let outer = der::asn1::AnyRef::from_der(der)?;
    der::SliceReader::new(outer.value())?.tlv_bytes()
}

/// Hashes `tbs` with the algorithm of `oid` and checks `signature` with the issuer's key.
fn verify_signed(
    oid: &const_oid::ObjectIdentifier,
    tbs: &[u8],
    signature: &[u8],
    issuer: &Certificate,
) -> Result<(), CryptoError> {
    let algorithm = SignatureAlgorithm::from_oid(oid, None)
        .ok_or_else(|| CryptoError::UnsupportedAlgorithm(oid.to_string()))?;
    verify_digest(issuer, algorithm, &algorithm.hash().digest(tbs), signature)
}
