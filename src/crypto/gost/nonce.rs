//! Nonces `k` for signing: the HMAC_DRBG of RFC 6979 §3.2 (HMAC-SHA-256), seeded with the
//! private key, the digest and 32 bytes from the operating system (the "additional data" of
//! RFC 6979 §3.6). A broken OS generator therefore still gives distinct nonces for distinct
//! digests, and a repeated digest still gets a fresh nonce.
//!
//! Candidates are truncated to the bit length of `q` and rejected unless in `[1, q−1]`
//! (RFC 6979 §3.2 step h.3); rejection reveals nothing about the accepted nonce.

use crypto_bigint::{Uint, Zero};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use zeroize::{Zeroize, Zeroizing};

use crate::crypto::CryptoError;

type HmacSha256 = Hmac<sha2::Sha256>;

/// The DRBG state `(K, V)`.
pub(crate) struct NonceStream {
    key: Zeroizing<[u8; 32]>,
    value: Zeroizing<[u8; 32]>,
}

impl NonceStream {
    /// Seeds the generator from the private key bytes, the digest and fresh OS randomness.
    pub(crate) fn new(private_key: &[u8], digest: &[u8]) -> Result<Self, CryptoError> {
        let mut extra = Zeroizing::new([0u8; 32]);
        OsRng
            .try_fill_bytes(extra.as_mut())
            .map_err(|e| CryptoError::Signing(format!("no OS randomness: {e}")))?;
        let mut stream = Self { key: Zeroizing::new([0u8; 32]), value: Zeroizing::new([1u8; 32]) };
        for separator in [0u8, 1] {
            let mut mac = stream.mac();
            for part in [&stream.value[..], &[separator], private_key, digest, &extra[..]] {
                mac.update(part);
            }
            stream.key = Zeroizing::new(mac.finalize().into_bytes().into());
            stream.value = stream.hmac(&stream.value[..]);
        }
        Ok(stream)
    }

    /// The next candidate in `[1, q−1]` (RFC 6979 §3.2 step h).
    pub(crate) fn next_nonce<const L: usize>(&mut self, q: &Uint<L>) -> Zeroizing<Uint<L>> {
        let shift = Uint::<L>::BITS - q.bits();
        loop {
            let mut bytes = Zeroizing::new(Vec::with_capacity(Uint::<L>::BYTES + 32));
            while bytes.len() < Uint::<L>::BYTES {
                self.value = self.hmac(&self.value[..]);
                bytes.extend_from_slice(&self.value[..]);
            }
            bytes.truncate(Uint::<L>::BYTES);
            let k = Zeroizing::new(Uint::<L>::from_be_slice(&bytes).shr(shift));
            self.reseed();
            if !bool::from(k.is_zero()) && *k < *q {
                return k;
            }
        }
    }

    /// `K = HMAC_K(V‖0x00)`, `V = HMAC_K(V)`: steps away from the nonce just produced.
    fn reseed(&mut self) {
        let mut mac = self.mac();
        mac.update(&self.value[..]);
        mac.update(&[0]);
        self.key = Zeroizing::new(mac.finalize().into_bytes().into());
        self.value = self.hmac(&self.value[..]);
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length.
        <HmacSha256 as Mac>::new_from_slice(&self.key[..]).unwrap_or_else(|_| unreachable!())
    }

    fn hmac(&self, data: &[u8]) -> Zeroizing<[u8; 32]> {
        let mut mac = self.mac();
        mac.update(data);
        let mut out = mac.finalize().into_bytes();
        let value = Zeroizing::new(out.into());
        out.zeroize();
        value
    }
}
