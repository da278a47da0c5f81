//! Key derivation for PKCS#12: the RFC 7292 Appendix B.2 KDF (written here, with the password
//! as a BMPString), PBKDF2 (RFC 8018 §5.2) and the HMAC the MAC uses. Every derived buffer is
//! zeroized when dropped.

use hmac::{Mac as _, SimpleHmac};
use sha1::Sha1;
use sha2::digest::core_api::BlockSizeUser;
use sha2::{Digest, Sha256, Sha384, Sha512};
use zeroize::{Zeroize, Zeroizing};

/// RFC 7292 B.3 purpose byte: key material for encryption.
pub const ID_KEY: u8 = 1;
/// RFC 7292 B.3 purpose byte: initialisation vector.
pub const ID_IV: u8 = 2;
/// RFC 7292 B.3 purpose byte: MAC key.
pub const ID_MAC: u8 = 3;

/// A hash function usable in the KDFs and the MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// SHA-1 (the NCA files and `-legacy`).
    Sha1,
    /// SHA-256 (OpenSSL 3 defaults).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Hash {
    /// The hash of a digest OID (RFC 3370, RFC 5754).
    pub fn from_digest_oid(oid: &str) -> Option<Self> {
        match oid {
            "1.3.14.3.2.26" => Some(Self::Sha1),
            "2.16.840.1.101.3.4.2.1" => Some(Self::Sha256),
            "2.16.840.1.101.3.4.2.2" => Some(Self::Sha384),
            "2.16.840.1.101.3.4.2.3" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The hash of a PBKDF2 PRF OID (`hmacWithSHA*`, RFC 8018 B.1).
    pub fn from_hmac_oid(oid: &str) -> Option<Self> {
        match oid {
            "1.2.840.113549.2.7" => Some(Self::Sha1),
            "1.2.840.113549.2.9" => Some(Self::Sha256),
            "1.2.840.113549.2.10" => Some(Self::Sha384),
            "1.2.840.113549.2.11" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// The password as RFC 7292 B.1 wants it: BMPString (UTF-16 big-endian) plus two zero bytes.
pub fn bmp_password(password: &str) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(password.len() * 2 + 2));
    for unit in password.encode_utf16() {
        out.extend_from_slice(&unit.to_be_bytes());
    }
    out.extend_from_slice(&[0, 0]);
    out
}

/// RFC 7292 B.2: `len` bytes of key material for purpose `id` from a BMP password.
pub fn pkcs12_kdf(
    hash: Hash,
    bmp_password: &[u8],
    salt: &[u8],
    id: u8,
    iterations: u32,
    len: usize,
) -> Zeroizing<Vec<u8>> {
    let input = KdfInput { password: bmp_password, salt, id, iterations, len };
    match hash {
        Hash::Sha1 => input.derive::<Sha1>(),
        Hash::Sha256 => input.derive::<Sha256>(),
        Hash::Sha384 => input.derive::<Sha384>(),
        Hash::Sha512 => input.derive::<Sha512>(),
    }
}

struct KdfInput<'a> {
    password: &'a [u8],
    salt: &'a [u8],
    id: u8,
    iterations: u32,
    len: usize,
}

impl KdfInput<'_> {
    fn derive<D: Digest + BlockSizeUser>(&self) -> Zeroizing<Vec<u8>> {
        let v = D::block_size();
        let diversifier = vec![self.id; v];
        // I = S || P, each repeated to a multiple of v bytes (B.2 steps 2–4).
        let mut i_buf = repeat_to_blocks(self.salt, v);
        i_buf.extend_from_slice(&repeat_to_blocks(self.password, v));
        let mut out = Zeroizing::new(Vec::with_capacity(self.len));
        loop {
            let mut a = D::new().chain_update(&diversifier).chain_update(&*i_buf).finalize();
            for _ in 1..self.iterations {
                let next = D::digest(&a);
                a.zeroize();
                a = next;
            }
            let take = (self.len - out.len()).min(a.len());
            out.extend_from_slice(a.get(..take).unwrap_or_default());
            if out.len() >= self.len {
                a.zeroize();
                return out;
            }
            let b = repeat_to_len(&a, v);
            a.zeroize();
            for block in i_buf.chunks_mut(v) {
                add_one_plus(block, &b);
            }
        }
    }
}

/// `data` repeated to `block * ceil(len / block)` bytes (empty for empty `data`).
fn repeat_to_blocks(data: &[u8], block: usize) -> Zeroizing<Vec<u8>> {
    let len = data.len().div_ceil(block) * block;
    repeat_to_len(data, len)
}

fn repeat_to_len(data: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(data.iter().copied().cycle().take(len).collect())
}

/// `block = (block + b + 1) mod 2^(8·v)`, big-endian (B.2 step 6C).
fn add_one_plus(block: &mut [u8], b: &[u8]) {
    let mut carry = 1u16;
    for (x, y) in block.iter_mut().rev().zip(b.iter().rev()) {
        let sum = u16::from(*x) + u16::from(*y) + carry;
        *x = sum as u8;
        carry = sum >> 8;
    }
}

/// Whether `HMAC(key, data)` equals `expected` (constant-time comparison).
pub fn hmac_matches(hash: Hash, key: &[u8], data: &[u8], expected: &[u8]) -> bool {
    match hash {
        Hash::Sha1 => hmac_verify::<Sha1>(key, data, expected),
        Hash::Sha256 => hmac_verify::<Sha256>(key, data, expected),
        Hash::Sha384 => hmac_verify::<Sha384>(key, data, expected),
        Hash::Sha512 => hmac_verify::<Sha512>(key, data, expected),
    }
}

fn hmac_verify<D: Digest + BlockSizeUser>(key: &[u8], data: &[u8], expected: &[u8]) -> bool {
    match SimpleHmac::<D>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.verify_slice(expected).is_ok()
        }
        Err(_) => false,
    }
}

/// PBKDF2 with `HMAC-hash` as PRF, filling `len` bytes.
pub fn pbkdf2(
    hash: Hash,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    len: usize,
) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(vec![0u8; len]);
    match hash {
        Hash::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut out),
        Hash::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out),
        Hash::Sha384 => pbkdf2::pbkdf2_hmac::<Sha384>(password, salt, iterations, &mut out),
        Hash::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bmp_password_is_utf16_be_with_terminator() {
        assert_eq!(&*bmp_password("Aя"), &[0x00, 0x41, 0x04, 0x4F, 0x00, 0x00]);
        assert_eq!(&*bmp_password(""), &[0, 0]);
    }

    #[test]
    fn add_wraps_modulo_block() {
        let mut block = [0xFF, 0xFF];
        add_one_plus(&mut block, &[0x00, 0x00]);
        assert_eq!(block, [0x00, 0x00]);
        let mut block = [0x00, 0x01];
        add_one_plus(&mut block, &[0x00, 0xFF]);
        assert_eq!(block, [0x01, 0x01]);
    }

    #[test]
    fn kdf_yields_requested_length_and_depends_on_purpose() {
        let password = bmp_password("Qwerty12");
        let key = pkcs12_kdf(Hash::Sha1, &password, b"salt", ID_KEY, 3, 45);
        let iv = pkcs12_kdf(Hash::Sha1, &password, b"salt", ID_IV, 3, 45);
        assert_eq!(key.len(), 45);
        assert_ne!(*key, *iv);
        // A shorter request is a prefix of a longer one.
        let short = pkcs12_kdf(Hash::Sha1, &password, b"salt", ID_KEY, 3, 24);
        assert_eq!(&key[..24], &short[..]);
    }
}
