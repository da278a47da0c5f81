//! The `Signer` trait: one private key, wherever it lives (file, token, card), with its certificate.

use super::{Certificate, CryptoError, SignatureAlgorithm};

/// A private key able to sign a digest, together with its certificate.
///
/// Implementations keep the key material private and zeroize it on drop.
pub trait Signer: Send + Sync {
    /// The certificate of this key.
    fn certificate(&self) -> &Certificate;

    /// The algorithm this key signs with; the digest given to [`Signer::sign_digest`] was made
    /// with `algorithm().hash()`.
    fn algorithm(&self) -> SignatureAlgorithm;

    /// Signs a digest and returns the signature value exactly as CMS, XMLDSig and raw outputs
    /// carry it (for RSA: the PKCS#1 v1.5 block; for GOST: `r‖s` little-endian).
    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError>;

    /// Whether several signatures may be made with this key at once, on several threads: yes
    /// for a key in memory (a file key), no for a device that signs one request at a time (a
    /// token, a card), which is the default.
    fn concurrent(&self) -> bool {
        false
    }

    /// Hashes `message` with the key's hash and signs it.
    fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.sign_digest(&self.algorithm().hash().digest(message))
    }
}
