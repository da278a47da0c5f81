//! Certificates for the card's keys, until the card's own are found (`kz-idcard.md` §2: where
//! the card keeps them is not public): the user imports each once (`qoltanba idcard
//! import-cert`), it is matched to a key of the card by its RSA modulus, and kept in a folder
//! the caller names, one DER file per key, named by the SHA-256 of the modulus. So a card's
//! certificates follow its keys, whichever reader it is in, and a certificate for a key the
//! card does not hold is refused.

use std::path::{Path, PathBuf};

use rsa::traits::PublicKeyParts as _;

use super::CardKey;
use crate::crypto::{Certificate, HashAlgorithm};

/// The folder of imported certificates, in the data directory.
pub const DIR: &str = "idcard";

/// Why a certificate was not imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The certificate's key is not RSA (the card holds RSA keys only).
    #[error("the certificate's key is not an RSA key, and the ID card holds RSA keys only")]
    NotRsa,
    /// No key of the card has the certificate's public key.
    #[error("the certificate is for none of the keys on this ID card")]
    NoMatchingKey,
    /// The folder could not be written.
    #[error("cannot store the certificate: {0}")]
    Io(#[from] std::io::Error),
}

/// The file of the certificate of the key with `modulus`, in `dir`.
pub fn file(dir: &Path, modulus: &[u8]) -> PathBuf {
    let name = crate::crypto::hex(&HashAlgorithm::Sha256.digest(strip(modulus)));
    dir.join(format!("{name}.cer"))
}

/// Stores `certificate` for the key of `keys` it belongs to; that key's slot and the file.
pub fn import(
    dir: &Path,
    certificate: &Certificate,
    keys: &[CardKey],
) -> Result<(u8, PathBuf), ImportError> {
    let modulus = modulus(certificate).ok_or(ImportError::NotRsa)?;
    let key = keys
        .iter()
        .find(|k| strip(&k.modulus) == strip(&modulus))
        .ok_or(ImportError::NoMatchingKey)?;
    std::fs::create_dir_all(dir)?;
    let path = file(dir, &key.modulus);
    std::fs::write(&path, certificate.der())?;
    Ok((key.slot, path))
}

/// The keys of `keys` with a certificate imported for them, each with it.
pub fn matched(dir: &Path, keys: &[CardKey]) -> Vec<(CardKey, Certificate)> {
    keys.iter()
        .filter_map(|key| {
            let der = std::fs::read(file(dir, &key.modulus)).ok()?;
            let certificate = Certificate::from_der(&der).ok()?;
            // A file put there by hand must still be the key's.
            of(&certificate, &key.modulus).then(|| (key.clone(), certificate))
        })
        .collect()
}

/// Whether `certificate` is for the RSA key with `modulus`.
pub fn of(certificate: &Certificate, key_modulus: &[u8]) -> bool {
    modulus(certificate).is_some_and(|m| strip(&m) == strip(key_modulus))
}

/// The RSA modulus of `certificate`'s public key.
fn modulus(certificate: &Certificate) -> Option<Vec<u8>> {
    crate::crypto::rsa::public_key(certificate).ok().map(|key| key.n().to_bytes_be())
}

/// `bytes` without leading zero bytes.
fn strip(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::{import, matched, ImportError};
    use crate::keystore::idcard::sim::{SimCard, SimConfig};
    use crate::keystore::idcard::CardKey;

    #[test]
    fn a_certificate_is_kept_for_its_key_and_refused_for_another_card() {
        let sim = SimCard::new(SimConfig { slots: 2, ..SimConfig::default() });
        let card: Vec<CardKey> = [0x87, 0x88]
            .into_iter()
            .filter_map(|slot| Some(CardKey { slot, modulus: sim.key(slot)?.n().to_vec() }))
            .collect();
        let dir = tempfile::tempdir().expect("dir");
        assert!(matched(dir.path(), &card).is_empty(), "nothing imported yet");

        let second = sim.certificate(0x88).expect("certificate");
        let (slot, _) = import(dir.path(), &second, &card).expect("imported");
        assert_eq!(slot, 0x88);
        let found = matched(dir.path(), &card);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].0.slot, found[0].1.der()), (0x88, second.der()));

        let other = SimCard::new(SimConfig { slots: 1, ..SimConfig::default() });
        let stranger = other.certificate(0x87).expect("certificate");
        assert!(matches!(import(dir.path(), &stranger, &card), Err(ImportError::NoMatchingKey)));

        // A file swapped by hand for another key's certificate is not taken.
        let path = super::file(dir.path(), &card[0].modulus);
        std::fs::write(&path, stranger.der()).expect("write");
        assert_eq!(matched(dir.path(), &card).len(), 1, "only the real one");
    }
}
