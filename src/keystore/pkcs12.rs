//! PKCS#12 key store (RFC 7292): the NCA's BER files (indefinite lengths, 3DES key bag,
//! RC2-40 certificate bag, MAC over the original bytes — `kz-pki.md` §3) and files written by
//! OpenSSL 3 (PBES2/AES, PBKDF2) or `openssl pkcs12 -legacy`.

use secrecy::SecretString;

use super::{KeyEntry, KeyStore, KeyStoreError};
use crate::crypto::Signer;

/// An unlocked PKCS#12 file.
pub struct Pkcs12Store {
    keys: Vec<KeyEntry>,
}

impl Pkcs12Store {
    /// Checks the MAC with `password`, decrypts the bags and pairs each key with its certificate.
    pub fn open(_bytes: &[u8], _password: &SecretString) -> Result<Self, KeyStoreError> {
        todo!("pkcs12")
    }
}

impl KeyStore for Pkcs12Store {
    fn keys(&self) -> &[KeyEntry] {
        &self.keys
    }

    fn signer(&self, _alias: &str) -> Result<Box<dyn Signer>, KeyStoreError> {
        todo!("pkcs12")
    }
}
