//! GOST elliptic-curve signatures as the NCA uses them: ST RK GOST R 34.10-2015 (256 and 512
//! bits), which is GOST R 34.10-2012 (RFC 7091) with Kazakh OIDs, and GOST 34.310-2004, which
//! is GOST R 34.10-2001 (RFC 5832) on CryptoPro-A (`kz-pki.md` §2.1).
//!
//! This module owns the curve arithmetic ([`point`], constant time over `crypto-bigint`), the
//! scheme ([`scheme`], §6.1/§6.2 of the standard), nonces ([`nonce`]), the NCA key encodings
//! ([`keys`]) and [`GostSigner`]. It knows nothing of CMS or XML: signatures leave it as the
//! NCA's `r‖s`, each little-endian (`kz-pki.md` §2.2). It does no I/O.

mod curves;
mod field;
pub mod keys;
mod nonce;
mod point;
mod scheme;
mod signer;

use const_oid::ObjectIdentifier;
use crypto_bigint::{U256, U512};

use super::{CryptoError, SignatureAlgorithm};
use curves::{CryptoProA, Tc26_256A, Tc26_512A};

pub use keys::GostPublicKey;
pub use signer::GostSigner;

/// A GOST curve the NCA uses, named by its Kazakh OID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GostCurve {
    /// TC26 512-bit paramSetA (KZ 1.2.398.3.10.1.1.2.2.1, RU 1.2.643.7.1.2.1.2.1).
    Tc26_512A,
    /// TC26 256-bit paramSetA (KZ 1.2.398.3.10.1.1.2.1.1, RU 1.2.643.7.1.2.1.1.1).
    Tc26_256A,
    /// CryptoPro-A of GOST R 34.10-2001 (KZ 1.2.398.3.10.1.1.1.1.1, RU 1.2.643.2.2.35.1).
    CryptoProA,
}

const ALL: [GostCurve; 3] = [GostCurve::Tc26_512A, GostCurve::Tc26_256A, GostCurve::CryptoProA];

impl GostCurve {
    /// The Kazakh curve OID, as in the key parameters of NCA certificates.
    pub fn oid(self) -> ObjectIdentifier {
        let dotted = match self {
            Self::Tc26_512A => "1.2.398.3.10.1.1.2.2.1",
            Self::Tc26_256A => "1.2.398.3.10.1.1.2.1.1",
            Self::CryptoProA => "1.2.398.3.10.1.1.1.1.1",
        };
        ObjectIdentifier::new_unwrap(dotted)
    }

    /// The curve of a Kazakh curve OID.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        ALL.into_iter().find(|curve| curve.oid() == *oid)
    }

    /// Bytes per coordinate, scalar and signature half: 64 or 32.
    pub fn coordinate_len(self) -> usize {
        match self {
            Self::Tc26_512A => 64,
            Self::Tc26_256A | Self::CryptoProA => 32,
        }
    }

    /// The signature algorithm of keys on this curve.
    pub fn signature_algorithm(self) -> SignatureAlgorithm {
        match self {
            Self::Tc26_512A => SignatureAlgorithm::Gost2015_512,
            Self::Tc26_256A => SignatureAlgorithm::Gost2015_256,
            Self::CryptoProA => SignatureAlgorithm::Gost2004,
        }
    }

    /// The public key `d·G` as `x‖y` little-endian, for `d` little-endian in `[1, q−1]`.
    pub fn public_key(self, d: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self {
            Self::Tc26_512A => scheme::public_key::<{ U512::LIMBS }, Tc26_512A>(d),
            Self::Tc26_256A => scheme::public_key::<{ U256::LIMBS }, Tc26_256A>(d),
            Self::CryptoProA => scheme::public_key::<{ U256::LIMBS }, CryptoProA>(d),
        }
    }

    /// A new key pair: `d` uniformly random in `[1, q−1]` from the operating system's
    /// generator, and its public key `x‖y`, all little-endian.
    pub fn generate(self) -> Result<(zeroize::Zeroizing<Vec<u8>>, Vec<u8>), CryptoError> {
        use rand_core::{OsRng, RngCore as _};
        // q is at least a quarter of 2^(8·len) on every curve here: few draws are refused.
        for _ in 0..64 {
            let mut d = zeroize::Zeroizing::new(vec![0u8; self.coordinate_len()]);
            OsRng
                .try_fill_bytes(&mut d)
                .map_err(|e| CryptoError::Signing(format!("no OS randomness: {e}")))?;
            if let Ok(public) = self.public_key(&d) {
                return Ok((d, public));
            }
        }
        Err(CryptoError::Signing("no private key in range after 64 draws".into()))
    }

    /// Signs a digest (read little-endian) with `d`; returns `r‖s`, each little-endian.
    pub fn sign_digest(self, d: &[u8], digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self {
            Self::Tc26_512A => scheme::sign::<{ U512::LIMBS }, Tc26_512A>(d, digest),
            Self::Tc26_256A => scheme::sign::<{ U256::LIMBS }, Tc26_256A>(d, digest),
            Self::CryptoProA => scheme::sign::<{ U256::LIMBS }, CryptoProA>(d, digest),
        }
    }

    /// Verifies `r‖s` over a digest with the public key `x‖y` (all little-endian).
    pub fn verify_digest(
        self,
        public: &[u8],
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        match self {
            Self::Tc26_512A => {
                scheme::verify::<{ U512::LIMBS }, Tc26_512A>(public, digest, signature)
            }
            Self::Tc26_256A => {
                scheme::verify::<{ U256::LIMBS }, Tc26_256A>(public, digest, signature)
            }
            Self::CryptoProA => {
                scheme::verify::<{ U256::LIMBS }, CryptoProA>(public, digest, signature)
            }
        }
    }
}

/// Verifies a GOST signature made with `algorithm` by the certificate's key.
pub fn verify_digest(
    public: &GostPublicKey,
    algorithm: SignatureAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    if algorithm.hash().output_len() != public.curve.coordinate_len() {
        return Err(CryptoError::UnsupportedAlgorithm(format!(
            "{algorithm:?} with a key on {:?}",
            public.curve
        )));
    }
    public.curve.verify_digest(&public.xy, digest, signature)
}

#[cfg(any(test, feature = "test-support"))]
pub mod oracle;
#[cfg(test)]
mod tests;
