//! [`GostSigner`]: a GOST private key held in memory with its certificate.

use zeroize::Zeroizing;

use super::keys::{private_key_from_pkcs8, GostPublicKey};
use super::GostCurve;
use crate::crypto::{Certificate, CryptoError, SignatureAlgorithm, Signer};

/// A GOST private key (`d` little-endian, zeroized on drop) and its certificate.
pub struct GostSigner {
    curve: GostCurve,
    d: Zeroizing<Vec<u8>>,
    certificate: Certificate,
}

impl std::fmt::Debug for GostSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GostSigner").field("curve", &self.curve).finish_non_exhaustive()
    }
}

impl GostSigner {
    /// Builds a signer from a PKCS#8 `PrivateKeyInfo` in the NCA encoding and checks that
    /// `d·G` is the certificate's public key.
    pub fn from_pkcs8(pkcs8_der: &[u8], certificate: Certificate) -> Result<Self, CryptoError> {
        let public = GostPublicKey::from_certificate(&certificate)?;
        let (curve, d) = private_key_from_pkcs8(pkcs8_der)?;
        let mismatch =
            || CryptoError::InvalidKey("the private key does not match the certificate".into());
        if curve != public.curve {
            return Err(mismatch());
        }
        let derived = curve.public_key(&d)?;
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&derived[..], &public.xy[..])) {
            return Err(mismatch());
        }
        Ok(Self { curve, d, certificate })
    }

    /// The curve of the key.
    pub fn curve(&self) -> GostCurve {
        self.curve
    }
}

impl Signer for GostSigner {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.curve.signature_algorithm()
    }

    /// A key in memory: batches sign on every core.
    fn concurrent(&self) -> bool {
        true
    }

    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let expected = self.algorithm().hash().output_len();
        if digest.len() != expected {
            return Err(CryptoError::DigestLength { expected, got: digest.len() });
        }
        self.curve.sign_digest(&self.d, digest)
    }
}
