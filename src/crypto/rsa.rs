//! RSA keys (RSASSA-PKCS1-v1_5, RFC 8017 §8.2) over the RustCrypto `rsa` crate.

use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};

use super::{Certificate, CryptoError, HashAlgorithm, SignatureAlgorithm, Signer};

/// An RSA private key held in memory (the `rsa` crate zeroizes it on drop).
pub struct RsaSigner {
    key: RsaPrivateKey,
    certificate: Certificate,
}

impl std::fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaSigner").field("bits", &(self.key.size() * 8)).finish_non_exhaustive()
    }
}

impl RsaSigner {
    /// Builds a signer from a PKCS#8 `PrivateKeyInfo` and checks it against the certificate.
    pub fn from_pkcs8(pkcs8_der: &[u8], certificate: Certificate) -> Result<Self, CryptoError> {
        let key = RsaPrivateKey::from_pkcs8_der(pkcs8_der)
            .map_err(|e| CryptoError::InvalidKey(e.to_string()))?;
        let public = public_key(&certificate)?;
        if public != key.to_public_key() {
            return Err(CryptoError::InvalidKey(
                "the private key does not match the certificate".into(),
            ));
        }
        Ok(Self { key, certificate })
    }
}

impl Signer for RsaSigner {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::RsaSha256
    }

    /// A key in memory: batches sign on every core.
    fn concurrent(&self) -> bool {
        true
    }

    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let expected = HashAlgorithm::Sha256.output_len();
        if digest.len() != expected {
            return Err(CryptoError::DigestLength { expected, got: digest.len() });
        }
        self.key
            .sign(Pkcs1v15Sign::new::<sha2::Sha256>(), digest)
            .map_err(|e| CryptoError::Signing(e.to_string()))
    }
}

/// The RSA public key of a certificate.
pub fn public_key(certificate: &Certificate) -> Result<RsaPublicKey, CryptoError> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    let spki = &certificate.inner().tbs_certificate.subject_public_key_info;
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| CryptoError::InvalidCertificate("unaligned public key".into()))?;
    RsaPublicKey::from_pkcs1_der(bits).map_err(|e| CryptoError::InvalidCertificate(e.to_string()))
}

/// Verifies an RSASSA-PKCS1-v1_5 signature over `digest`.
pub fn verify_digest(
    key: &RsaPublicKey,
    hash: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let scheme = match hash {
        HashAlgorithm::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
        HashAlgorithm::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
        other => return Err(CryptoError::UnsupportedAlgorithm(format!("RSA with {other:?}"))),
    };
    key.verify(scheme, digest, signature).map_err(|_| CryptoError::BadSignature)
}
