//! PKCS#12 key store (RFC 7292): the NCA's BER files (indefinite lengths, 3DES key bag,
//! RC2-40 certificate bag, MAC over the original bytes — `kz-pki.md` §3) and files written by
//! OpenSSL 3 (PBES2/AES, PBKDF2) or `openssl pkcs12 -legacy`.
//!
//! This module owns opening a file and pairing keys with certificates; [`bags`] walks the
//! container, [`pbe`] checks the MAC and decrypts, [`kdf`] derives keys. Decrypted keys stay
//! in zeroizing buffers and are never printed.

mod bags;
mod kdf;
mod pbe;
pub mod writer;

use const_oid::ObjectIdentifier;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::ber::{self, BerError, Tlv};
use super::{KeyEntry, KeyStore, KeyStoreError};
use crate::crypto::algorithm::RSA_ENCRYPTION;
use crate::crypto::gost::keys::{KEY_2004, KEY_2015_256, KEY_2015_512};
use crate::crypto::gost::GostSigner;
use crate::crypto::hex;
use crate::crypto::rsa::RsaSigner;
use crate::crypto::{Certificate, Signer};
use bags::{BagAttributes, CertBag, Contents, KeyBag};

/// An unlocked PKCS#12 file.
pub struct Pkcs12Store {
    keys: Vec<KeyEntry>,
    /// The private key of `keys[i]`, same order.
    private_keys: Vec<PrivateKey>,
}

/// A decrypted private key: PKCS#8 DER and its algorithm.
struct PrivateKey {
    pkcs8: Zeroizing<Vec<u8>>,
    algorithm: ObjectIdentifier,
}

impl std::fmt::Debug for Pkcs12Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let aliases: Vec<&str> = self.keys.iter().map(|k| k.alias.as_str()).collect();
        f.debug_struct("Pkcs12Store").field("aliases", &aliases).finish_non_exhaustive()
    }
}

impl From<BerError> for KeyStoreError {
    fn from(err: BerError) -> Self {
        KeyStoreError::Corrupt(err.to_string())
    }
}

/// The PKCS#8 inside an EncryptedPrivateKeyInfo ([`writer::shrouded_key`], or any PBES2 or
/// PKCS#12 PBE one); a wrong password is [`KeyStoreError::WrongPassword`].
pub fn decrypt_private_key(
    der: &[u8],
    password: &SecretString,
) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
    let info = Tlv::parse_all(der)?;
    let [algorithm, data] = info
        .sequence()?
        .try_into()
        .map_err(|_| KeyStoreError::Corrupt("not an encrypted private key".into()))?;
    let plain = pbe::Unlock::new(password.expose_secret()).decrypt(&algorithm, &data.octets()?)?;
    // A wrong password can pad correctly by chance: the result must still be a PKCS#8.
    match Tlv::parse_all(&plain).and_then(|t| t.sequence()) {
        Ok(_) => Ok(plain),
        Err(_) => Err(KeyStoreError::WrongPassword),
    }
}

impl Pkcs12Store {
    /// Checks the MAC with `password`, decrypts the bags and pairs each key with its certificate.
    pub fn open(bytes: &[u8], password: &SecretString) -> Result<Self, KeyStoreError> {
        let pfx = bags::parse_pfx(bytes)?;
        let mut unlock = pbe::Unlock::new(password.expose_secret());
        if let Some(mac_data) = &pfx.mac_data {
            unlock.verify_mac(mac_data, &pfx.auth_safe)?;
        }
        let contents = bags::read_auth_safe(&pfx.auth_safe, &unlock)?;
        Self::from_contents(contents)
    }

    /// Reads a file from disk and opens it.
    pub fn open_file(
        path: &std::path::Path,
        password: &SecretString,
    ) -> Result<Self, KeyStoreError> {
        Self::open(&std::fs::read(path)?, password)
    }

    /// The decrypted PKCS#8 of key number `index`, for tests that pair keys by hand.
    #[cfg(test)]
    pub(crate) fn private_key_der(&self, index: usize) -> Option<Zeroizing<Vec<u8>>> {
        self.private_keys.get(index).map(|key| key.pkcs8.clone())
    }

    fn from_contents(contents: Contents) -> Result<Self, KeyStoreError> {
        let certs = parse_certificates(contents.certs)?;
        let single_pair = contents.keys.len() == 1 && certs.len() == 1;
        let mut store = Self { keys: Vec::new(), private_keys: Vec::new() };
        for key in contents.keys {
            let private = private_key(&key)?;
            let Some((certificate, cert_attributes)) =
                find_certificate(&key, &private, &certs, single_pair)
            else {
                tracing::warn!("a private key in the PKCS#12 file has no certificate; skipped");
                continue;
            };
            let alias = alias(certificate, &key.attributes, cert_attributes, store.keys.len());
            store.keys.push(KeyEntry { alias, certificate: certificate.clone() });
            store.private_keys.push(private);
        }
        match store.keys.is_empty() {
            true => Err(KeyStoreError::Empty),
            false => Ok(store),
        }
    }
}

impl KeyStore for Pkcs12Store {
    fn keys(&self) -> &[KeyEntry] {
        &self.keys
    }

    /// Aliases compare case-insensitively (they are hex).
    fn signer(&self, alias: &str) -> Result<Box<dyn Signer>, KeyStoreError> {
        let (entry, key) = super::find_key(&self.keys, &self.private_keys, alias)?;
        signer(key, entry.certificate.clone())
    }
}

/// The signer of a decrypted key, by its PKCS#8 algorithm OID.
fn signer(key: &PrivateKey, certificate: Certificate) -> Result<Box<dyn Signer>, KeyStoreError> {
    match key.algorithm {
        RSA_ENCRYPTION => Ok(Box::new(RsaSigner::from_pkcs8(&key.pkcs8, certificate)?)),
        KEY_2015_512 | KEY_2015_256 | KEY_2004 => {
            Ok(Box::new(GostSigner::from_pkcs8(&key.pkcs8, certificate)?))
        }
        other => Err(KeyStoreError::Unsupported(format!("private key algorithm {other}"))),
    }
}

fn parse_certificates(
    bags: Vec<CertBag>,
) -> Result<Vec<(Certificate, BagAttributes)>, KeyStoreError> {
    bags.into_iter().map(|bag| Ok((certificate(&bag.der)?, bag.attributes))).collect()
}

/// A certificate from a certBag; BER is normalised to DER first if strict parsing fails.
fn certificate(bytes: &[u8]) -> Result<Certificate, KeyStoreError> {
    let bad =
        |e: crate::crypto::CryptoError| KeyStoreError::Corrupt(format!("certificate bag: {e}"));
    match Certificate::from_der(bytes) {
        Ok(cert) => Ok(cert),
        Err(err) => match ber::to_der(bytes) {
            Ok(der) => Certificate::from_der(&der).map_err(bad),
            Err(_) => Err(bad(err)),
        },
    }
}

/// Normalises the PrivateKeyInfo to DER and reads its algorithm (RFC 5958 §2).
fn private_key(bag: &KeyBag) -> Result<PrivateKey, KeyStoreError> {
    let pkcs8 = Zeroizing::new(ber::to_der(&bag.pkcs8)?);
    let fields = Tlv::parse_all(&pkcs8)?.sequence()?;
    let algorithm = fields
        .get(1)
        .ok_or_else(|| KeyStoreError::Corrupt("PrivateKeyInfo is incomplete".into()))?
        .sequence()?
        .first()
        .ok_or_else(|| KeyStoreError::Corrupt("empty key AlgorithmIdentifier".into()))?
        .oid()?;
    Ok(PrivateKey { pkcs8, algorithm })
}

/// The certificate of a key: same localKeyID, else the same public key, else the only one.
fn find_certificate<'c>(
    key: &KeyBag,
    private: &PrivateKey,
    certs: &'c [(Certificate, BagAttributes)],
    single_pair: bool,
) -> Option<(&'c Certificate, &'c BagAttributes)> {
    let by_id = key
        .attributes
        .local_key_id
        .as_ref()
        .and_then(|id| certs.iter().find(|(_, attrs)| attrs.local_key_id.as_ref() == Some(id)));
    let by_public_key = || certs.iter().find(|(cert, _)| signer(private, cert.clone()).is_ok());
    let only = || certs.first().filter(|_| single_pair);
    by_id.or_else(by_public_key).or_else(only).map(|(cert, attrs)| (cert, attrs))
}

/// SKI hex, else a friendlyName, else the localKeyID hex, else the position.
fn alias(
    cert: &Certificate,
    key: &BagAttributes,
    cert_attrs: &BagAttributes,
    index: usize,
) -> String {
    let names = || key.friendly_name.clone().or_else(|| cert_attrs.friendly_name.clone());
    cert.subject_key_id()
        .map(|ski| hex(&ski))
        .or_else(names)
        .or_else(|| key.local_key_id.as_deref().map(hex))
        .unwrap_or_else(|| format!("key{index}"))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod nca_layout_tests;

#[cfg(test)]
#[path = "nca_tests.rs"]
pub(crate) mod nca;

#[cfg(test)]
#[path = "gost_oracle_tests.rs"]
mod gost_oracle;
