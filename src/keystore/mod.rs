//! Key stores behind one trait. A store lists its keys (certificate + alias) and opens one of
//! them into a [`Signer`]. No store knows JSON, sockets or the UI.

pub mod ber;
pub mod filter;
pub mod idcard;
pub mod pkcs11;
pub mod pkcs12;
pub mod storage;
pub mod waiting;
#[cfg(test)]
mod waiting_tests;

pub use filter::{KeyFilter, KeyType};
pub use pkcs12::Pkcs12Store;
pub use storage::{StorageName, StorageNameError};

use std::time::Duration;

use secrecy::SecretString;

use crate::crypto::{Certificate, DeviceError, SignatureAlgorithm, Signer};

/// One key of a store, as the key chooser shows it.
#[derive(Debug, Clone)]
pub struct KeyEntry {
    /// The alias NCALayer shows: lowercase hex of the certificate's SubjectKeyIdentifier.
    pub alias: String,
    /// The key's certificate.
    pub certificate: Certificate,
}

/// The entry with `alias` (hex, compared case-insensitively) and the private part kept at the
/// same index by the store.
pub(crate) fn find_key<'a, T>(
    keys: &'a [KeyEntry],
    private: &'a [T],
    alias: &str,
) -> Result<(&'a KeyEntry, &'a T), KeyStoreError> {
    let index = keys.iter().position(|k| k.alias.eq_ignore_ascii_case(alias));
    match index.and_then(|i| Some((keys.get(i)?, private.get(i)?))) {
        Some(found) => Ok(found),
        None => Err(KeyStoreError::NoSuchKey(alias.to_owned())),
    }
}

/// A key store that has been unlocked and lists its keys.
pub trait KeyStore: Send + Sync {
    /// The keys of this store.
    fn keys(&self) -> &[KeyEntry];

    /// Opens the key with this alias for signing.
    fn signer(&self, alias: &str) -> Result<Box<dyn Signer>, KeyStoreError>;
}

/// Errors of key stores; each variant has a message a user can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// The password (or PIN) is wrong.
    #[error("wrong password for the key store")]
    WrongPassword,
    /// The file is not a PKCS#12 key store, or it is damaged or truncated.
    #[error("the key store file is damaged or not a PKCS#12 file: {0}")]
    Corrupt(String),
    /// The file uses an encryption or key algorithm we do not support.
    #[error("unsupported algorithm in the key store: {0}")]
    Unsupported(String),
    /// No key with that alias.
    #[error("no key with alias {0} in the key store")]
    NoSuchKey(String),
    /// The key store holds no private key.
    #[error("the key store holds no private key")]
    Empty,
    /// Reading the file failed.
    #[error("cannot read the key store file: {0}")]
    Io(#[from] std::io::Error),
    /// The key lives on a token, and the token failed.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The key could not be turned into a signer.
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
}

/// Hardware tokens by storage name (`AKKaztokenStore`, …), as the service sees them: no
/// PKCS#11 type crosses this trait. Every call looks at the tokens present now (hot-plug).
pub trait TokenStores: Send + Sync {
    /// Whether `storage` is a token storage name this daemon is configured for.
    fn knows(&self, storage: &StorageName) -> bool;

    /// The storage names with at least one token present now.
    fn present(&self) -> Vec<StorageName>;

    /// The keys of the tokens of `storage`, read without a PIN (certificates are public
    /// objects). Used by `qoltanba keys --store`.
    fn list(&self, storage: &StorageName) -> Result<Vec<KeyEntry>, DeviceError>;

    /// Opens the tokens of `storage` with `pin`: the PIN is checked by a login and a logout
    /// right away (so a wrong PIN is reported before anything is signed) and kept only in the
    /// returned store, whose signers log in afresh for each signature. An empty `pin` uses a
    /// PIN remembered earlier, if any; `remember` keeps this PIN for that long (bounded).
    fn open(
        &self,
        storage: &StorageName,
        pin: &SecretString,
        remember: Option<Duration>,
    ) -> Result<Box<dyn KeyStore>, DeviceError>;

    /// What the store choice says beside `storage` now (read without a PIN), if anything.
    fn notice(&self, _storage: &StorageName) -> Option<StoreNotice> {
        None
    }

    /// The kinds of key the first token of `storage` can make now, read without a PIN
    /// ([`DeviceError::NotPresent`] when no token of `storage` is connected):
    /// [`SignatureAlgorithm::Gost2015_512`] for TC26 512 A keys, [`SignatureAlgorithm::RsaSha256`]
    /// for RSA-2048 ones.
    fn key_algorithms(
        &self,
        _storage: &StorageName,
    ) -> Result<Vec<SignatureAlgorithm>, DeviceError> {
        Ok(Vec::new())
    }

    /// Makes a key pair for `algorithm` on the first token of `storage`, labelled `label`.
    fn generate_key(
        &self,
        _storage: &StorageName,
        _pin: &SecretString,
        _label: &str,
        _algorithm: SignatureAlgorithm,
    ) -> Result<TokenKey, DeviceError> {
        Err(DeviceError::MechanismUnsupported("key generation on this store".into()))
    }

    /// Destroys the key pair `key` made by [`Self::generate_key`], when what was to follow it
    /// (its request) failed.
    fn destroy_key(
        &self,
        _storage: &StorageName,
        _key: &TokenKey,
        _pin: &SecretString,
    ) -> Result<(), DeviceError> {
        Err(DeviceError::MechanismUnsupported("destroying a key on this store".into()))
    }

    /// Signs `message` with `algorithm` (the one the key was made for) and the key `key` made
    /// by [`Self::generate_key`].
    fn sign_message(
        &self,
        _storage: &StorageName,
        _key: &TokenKey,
        _pin: &SecretString,
        _algorithm: SignatureAlgorithm,
        _message: &[u8],
    ) -> Result<Vec<u8>, DeviceError> {
        Err(DeviceError::MechanismUnsupported("signing a request on this store".into()))
    }

    /// Writes `certificate` onto the token next to `key`.
    fn store_certificate(
        &self,
        _storage: &StorageName,
        _key: &TokenKey,
        _pin: &SecretString,
        _certificate: &Certificate,
    ) -> Result<(), DeviceError> {
        Err(DeviceError::MechanismUnsupported("storing a certificate on this store".into()))
    }
}

/// A key made on a token: the token's serial, the key's `CKA_ID`, and its public key (DER
/// SubjectPublicKeyInfo, empty when only the place is known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenKey {
    /// The token's serial number.
    pub serial: String,
    /// The key's `CKA_ID`.
    pub id: Vec<u8>,
    /// The DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
}

/// What the store choice says of a token beside its name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreNotice {
    /// Support for this store is experimental (the ID card, until a real card's trace
    /// confirms what is unknown).
    pub experimental: bool,
    /// The PIN tries left, when the device tells them without a PIN (0: blocked).
    pub pin_tries: Option<u8>,
}

/// Several kinds of token stores as one: each storage name goes to the first that knows it.
pub struct TokenChain(Vec<std::sync::Arc<dyn TokenStores>>);

impl TokenChain {
    /// The stores in order of precedence.
    pub fn new(stores: Vec<std::sync::Arc<dyn TokenStores>>) -> Self {
        Self(stores)
    }

    fn first(&self, storage: &StorageName) -> Result<&dyn TokenStores, DeviceError> {
        let known = self.0.iter().find(|s| s.knows(storage));
        known.map(|s| s.as_ref()).ok_or(DeviceError::NotPresent)
    }
}

impl TokenStores for TokenChain {
    fn knows(&self, storage: &StorageName) -> bool {
        self.0.iter().any(|s| s.knows(storage))
    }

    fn present(&self) -> Vec<StorageName> {
        let mut present: Vec<StorageName> = Vec::new();
        for (index, store) in self.0.iter().enumerate() {
            for name in store.present() {
                // A name an earlier store knows is that store's to report.
                let owner = self.0.iter().position(|s| s.knows(&name));
                if owner == Some(index) && !present.contains(&name) {
                    present.push(name);
                }
            }
        }
        present
    }

    fn list(&self, storage: &StorageName) -> Result<Vec<KeyEntry>, DeviceError> {
        self.first(storage)?.list(storage)
    }

    fn open(
        &self,
        storage: &StorageName,
        pin: &SecretString,
        remember: Option<Duration>,
    ) -> Result<Box<dyn KeyStore>, DeviceError> {
        self.first(storage)?.open(storage, pin, remember)
    }

    fn notice(&self, storage: &StorageName) -> Option<StoreNotice> {
        self.first(storage).ok()?.notice(storage)
    }

    fn key_algorithms(
        &self,
        storage: &StorageName,
    ) -> Result<Vec<SignatureAlgorithm>, DeviceError> {
        self.first(storage)?.key_algorithms(storage)
    }

    fn destroy_key(
        &self,
        storage: &StorageName,
        key: &TokenKey,
        pin: &SecretString,
    ) -> Result<(), DeviceError> {
        self.first(storage)?.destroy_key(storage, key, pin)
    }

    fn generate_key(
        &self,
        storage: &StorageName,
        pin: &SecretString,
        label: &str,
        algorithm: SignatureAlgorithm,
    ) -> Result<TokenKey, DeviceError> {
        self.first(storage)?.generate_key(storage, pin, label, algorithm)
    }

    fn sign_message(
        &self,
        storage: &StorageName,
        key: &TokenKey,
        pin: &SecretString,
        algorithm: SignatureAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, DeviceError> {
        self.first(storage)?.sign_message(storage, key, pin, algorithm, message)
    }

    fn store_certificate(
        &self,
        storage: &StorageName,
        key: &TokenKey,
        pin: &SecretString,
        certificate: &Certificate,
    ) -> Result<(), DeviceError> {
        self.first(storage)?.store_certificate(storage, key, pin, certificate)
    }
}

/// No token support (tests of the service, builds without modules).
#[derive(Debug, Default)]
pub struct NoTokens;

impl TokenStores for NoTokens {
    fn knows(&self, _storage: &StorageName) -> bool {
        false
    }

    fn present(&self) -> Vec<StorageName> {
        Vec::new()
    }

    fn list(&self, _storage: &StorageName) -> Result<Vec<KeyEntry>, DeviceError> {
        Err(DeviceError::NotPresent)
    }

    fn open(
        &self,
        _storage: &StorageName,
        _pin: &SecretString,
        _remember: Option<Duration>,
    ) -> Result<Box<dyn KeyStore>, DeviceError> {
        Err(DeviceError::NotPresent)
    }
}
