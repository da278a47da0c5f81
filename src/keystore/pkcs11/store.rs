//! [`TokenStore`]: the keys of the tokens of one storage name, opened with a PIN, as a
//! [`KeyStore`]. Aliases are the lowercase hex SubjectKeyIdentifier, as for files, or the
//! `CKA_ID` in hex when the certificate has none; certificate and private key are paired by
//! `CKA_ID` (PKCS#11 v2.40 §4.4, §4.9).

use std::sync::Arc;

use secrecy::SecretString;

use super::signer::TokenSigner;
use super::token::CertObject;
use super::worker::Worker;
use crate::crypto::{Certificate, SignatureAlgorithm, Signer};
use crate::keystore::{KeyEntry, KeyStore, KeyStoreError};

/// Where a listed key lives.
#[derive(Debug, Clone)]
pub(crate) struct KeyRef {
    pub worker: Arc<Worker>,
    pub serial: String,
    pub id: Vec<u8>,
    pub pin: SecretString,
}

/// The keys of the tokens of one storage name.
pub struct TokenStore {
    keys: Vec<KeyEntry>,
    refs: Vec<KeyRef>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let aliases: Vec<&str> = self.keys.iter().map(|k| k.alias.as_str()).collect();
        f.debug_struct("TokenStore").field("aliases", &aliases).finish_non_exhaustive()
    }
}

impl TokenStore {
    pub(crate) fn new() -> Self {
        Self { keys: Vec::new(), refs: Vec::new() }
    }

    /// Adds the certificates of one token; unreadable certificates are skipped with a warning.
    pub(crate) fn add(&mut self, objects: Vec<CertObject>, key: &KeyRef) {
        for object in objects {
            if let Some(entry) = entry(&object) {
                self.keys.push(entry);
                self.refs.push(KeyRef { id: object.id, ..key.clone() });
            }
        }
    }
}

/// A key entry of a certificate object.
pub(crate) fn entry(object: &CertObject) -> Option<KeyEntry> {
    let certificate = match Certificate::from_der(&object.der) {
        Ok(certificate) => certificate,
        Err(e) => {
            tracing::warn!("skipping a certificate on the token: {e}");
            return None;
        }
    };
    let alias = certificate
        .subject_key_id()
        .map(|ski| crate::crypto::hex(&ski))
        .unwrap_or_else(|| crate::crypto::hex(&object.id));
    Some(KeyEntry { alias, certificate })
}

impl KeyStore for TokenStore {
    fn keys(&self) -> &[KeyEntry] {
        &self.keys
    }

    fn signer(&self, alias: &str) -> Result<Box<dyn Signer>, KeyStoreError> {
        let (entry, key) = crate::keystore::find_key(&self.keys, &self.refs, alias)?;
        let spki = &entry.certificate.inner().tbs_certificate.subject_public_key_info;
        let algorithm = SignatureAlgorithm::for_public_key(spki).ok_or_else(|| {
            KeyStoreError::Unsupported(format!("key algorithm {}", spki.algorithm.oid))
        })?;
        Ok(Box::new(TokenSigner {
            worker: Arc::clone(&key.worker),
            serial: key.serial.clone(),
            id: key.id.clone(),
            pin: key.pin.clone(),
            certificate: entry.certificate.clone(),
            algorithm,
        }))
    }
}
