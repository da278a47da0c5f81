//! `AKKZIDCardStore`: the ID card as a token store the service sees like any other
//! ([`TokenStores`]). The card is found in the readers by its ATR (known Kazakh ATRs) or, for
//! another ATR, by its key directory answering. Its keys are the RSA keys the card shows, each
//! with the certificate the card keeps ([`IdCard::certificates`]) or else the one the user
//! imported (`qoltanba idcard import-cert`); a key without a certificate is left out with a
//! warning saying how to import it. Opening the store verifies the PIN once (the retry counter
//! read first) and keeps the card connection, exclusive, for the store's life: every signature
//! goes through that one session, one at a time, and the PIN is not kept at all. When the store
//! is dropped the card is reset, so the PIN does not stay verified. The store choice says the
//! store is experimental and shows the tries left ([`TokenStores::notice`]); the daemon offers
//! the store only with the `experimental-idcard` setting.
//!
//! Must not: keep or log the PIN, or verify it more than once per opening.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};

use super::pcsc::{self, PcscCard, Present};
use super::{certs, IdCard, IdCardError, PinState, Transmit};
use crate::crypto::{
    Certificate, CryptoError, DeviceError, HashAlgorithm, PinTries, SignatureAlgorithm, Signer,
};
use crate::keystore::{
    find_key, KeyEntry, KeyStore, KeyStoreError, StorageName, StoreNotice, TokenStores,
};

/// NCALayer's storage name of the ID card.
pub const STORAGE: &str = "AKKZIDCardStore";

/// The card readers of the machine, as the store uses them.
pub trait Readers: Send + Sync {
    /// The readers holding a card now.
    fn cards(&self) -> Result<Vec<Present>, IdCardError>;

    /// An exclusive connection to the card in `reader`.
    fn connect(&self, reader: &str) -> Result<Box<dyn Transmit + Send>, IdCardError>;
}

/// The readers of the PC/SC service.
#[derive(Debug, Default)]
pub struct PcscReaders;

impl Readers for PcscReaders {
    fn cards(&self) -> Result<Vec<Present>, IdCardError> {
        pcsc::cards()
    }

    fn connect(&self, reader: &str) -> Result<Box<dyn Transmit + Send>, IdCardError> {
        Ok(Box::new(PcscCard::connect(reader)?))
    }
}

/// A card connected and its key directory selected.
type Card = IdCard<Box<dyn Transmit + Send>>;

/// The ID card store.
pub struct IdCardStores {
    readers: Arc<dyn Readers>,
    imported: PathBuf,
    /// Moduli of keys whose card refused a SHA-256 DigestInfo: they sign with SHA-1.
    sha1_only: Sha1Only,
}

/// The keys that sign with SHA-1, shared by the store and its signers.
type Sha1Only = Arc<Mutex<BTreeSet<Vec<u8>>>>;

impl IdCardStores {
    /// The store over `readers`, with imported certificates kept in `imported`.
    pub fn new(readers: Arc<dyn Readers>, imported: PathBuf) -> Self {
        Self { readers, imported, sha1_only: Sha1Only::default() }
    }

    /// The store over the PC/SC readers.
    pub fn pcsc(imported: PathBuf) -> Self {
        Self::new(Arc::new(PcscReaders), imported)
    }

    /// The first ID card in a reader, connected, its key directory selected; cards with a
    /// known ATR are tried first.
    fn card(&self) -> Result<Card, DeviceError> {
        self.card_among(self.readers.cards().map_err(device)?)
    }

    /// The first ID card among the readers `cards`, as [`Self::card`].
    fn card_among(&self, mut cards: Vec<Present>) -> Result<Card, DeviceError> {
        cards.sort_by_key(|c| !pcsc::known_atr(&c.atr));
        let mut in_use = false;
        for present in cards {
            match self.readers.connect(&present.reader).and_then(IdCard::open) {
                Ok(card) => return Ok(card),
                Err(IdCardError::InUse) => in_use = true,
                Err(e) => tracing::debug!(reader = present.reader, "not an ID card: {e}"),
            }
        }
        Err(match in_use {
            true => device(IdCardError::InUse),
            false => DeviceError::NotPresent,
        })
    }

    /// The keys of `card` that have a certificate, each with its slot.
    fn entries(&self, card: &mut Card) -> Result<Vec<(KeyEntry, Slot)>, IdCardError> {
        let keys = card.keys()?;
        let on_card = card.certificates()?;
        let imported = certs::matched(&self.imported, &keys);
        let mut entries = Vec::new();
        for key in keys {
            let found = on_card.iter().map(|c| &c.certificate).find(|c| certs::of(c, &key.modulus));
            let imported = imported.iter().find(|(k, _)| k.slot == key.slot).map(|(_, c)| c);
            match found.or(imported) {
                Some(certificate) => entries.push((entry(certificate, &key.modulus), key.into())),
                None => tracing::warn!(
                    slot = key.slot,
                    "an ID card key without a certificate on the card; import it once with \
                     `qoltanba idcard import-cert FILE`"
                ),
            }
        }
        Ok(entries)
    }
}

/// Where a key is on the card: its slot and modulus.
#[derive(Debug, Clone)]
struct Slot {
    slot: u8,
    modulus: Vec<u8>,
}

impl From<super::CardKey> for Slot {
    fn from(key: super::CardKey) -> Self {
        Self { slot: key.slot, modulus: key.modulus }
    }
}

/// The key chooser's entry: the alias is the certificate's SubjectKeyIdentifier in hex, as for
/// every store, or the SHA-256 of the modulus when it has none.
fn entry(certificate: &Certificate, modulus: &[u8]) -> KeyEntry {
    let alias = certificate
        .subject_key_id()
        .map(|ski| crate::crypto::hex(&ski))
        .unwrap_or_else(|| crate::crypto::hex(&HashAlgorithm::Sha256.digest(modulus)));
    KeyEntry { alias, certificate: certificate.clone() }
}

impl TokenStores for IdCardStores {
    fn knows(&self, storage: &StorageName) -> bool {
        storage.as_str() == STORAGE
    }

    fn present(&self) -> Vec<StorageName> {
        // A known ATR is enough (the card may be held by a request signing now); another
        // card is asked whether it has the key directory.
        let Ok(cards) = self.readers.cards() else { return Vec::new() };
        let known = cards.iter().any(|c| pcsc::known_atr(&c.atr));
        let found = known || self.card_among(cards).is_ok();
        found.then(|| StorageName::parse(STORAGE).ok()).flatten().into_iter().collect()
    }

    fn list(&self, _storage: &StorageName) -> Result<Vec<KeyEntry>, DeviceError> {
        let mut card = self.card()?;
        let entries = self.entries(&mut card).map_err(device)?;
        Ok(entries.into_iter().map(|(entry, _)| entry).collect())
    }

    fn open(
        &self,
        _storage: &StorageName,
        pin: &SecretString,
        _remember: Option<Duration>,
    ) -> Result<Box<dyn KeyStore>, DeviceError> {
        let mut card = self.card()?;
        card.verify(pin.expose_secret()).map_err(device)?;
        let (keys, slots) = self.entries(&mut card).map_err(device)?.into_iter().unzip();
        let card = Arc::new(Mutex::new(card));
        Ok(Box::new(CardStore { keys, slots, card, sha1_only: Arc::clone(&self.sha1_only) }))
    }

    fn notice(&self, _storage: &StorageName) -> Option<StoreNotice> {
        let pin_tries = self.card().and_then(|mut c| c.pin_state().map_err(device));
        let pin_tries = match pin_tries {
            Ok(PinState::TriesLeft(n)) => Some(n),
            Ok(PinState::Blocked) => Some(0),
            Ok(PinState::Verified) | Err(_) => None,
        };
        Some(StoreNotice { experimental: true, pin_tries })
    }
}

/// The card opened with its PIN.
struct CardStore {
    keys: Vec<KeyEntry>,
    slots: Vec<Slot>,
    card: Arc<Mutex<Card>>,
    sha1_only: Sha1Only,
}

impl KeyStore for CardStore {
    fn keys(&self) -> &[KeyEntry] {
        &self.keys
    }

    fn signer(&self, alias: &str) -> Result<Box<dyn Signer>, KeyStoreError> {
        let (entry, slot) = find_key(&self.keys, &self.slots, alias)?;
        Ok(Box::new(CardSigner {
            certificate: entry.certificate.clone(),
            key: slot.clone(),
            card: Arc::clone(&self.card),
            sha1_only: Arc::clone(&self.sha1_only),
        }))
    }
}

/// One key of the card: RSA with SHA-256 (SHA-1 once the card has refused SHA-256), signed by
/// the card, one signature at a time.
struct CardSigner {
    certificate: Certificate,
    key: Slot,
    card: Arc<Mutex<Card>>,
    sha1_only: Sha1Only,
}

impl CardSigner {
    fn sha1_only(&self) -> bool {
        self.sha1_only.lock().is_ok_and(|keys| keys.contains(&self.key.modulus))
    }
}

impl Signer for CardSigner {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        match self.sha1_only() {
            true => SignatureAlgorithm::RsaSha1,
            false => SignatureAlgorithm::RsaSha256,
        }
    }

    /// Signs a SHA-256 or SHA-1 digest (told apart by length). When the card refuses SHA-256,
    /// the key is marked to sign with SHA-1 from now on ([`Signer::algorithm`] says so, and the
    /// service signs the request again once) and the refusal is reported.
    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let hash = match digest.len() {
            20 => HashAlgorithm::Sha1,
            _ => HashAlgorithm::Sha256,
        };
        let mut card = self.card.lock().map_err(|_| device(IdCardError::InUse))?;
        let signed = card.sign(self.key.slot, hash, digest);
        if let (Err(IdCardError::HashRefused(..)), HashAlgorithm::Sha256) = (&signed, hash) {
            tracing::warn!(
                slot = self.key.slot,
                "the ID card refuses SHA-256 DigestInfos: this key signs with SHA-1 from now on"
            );
            if let Ok(mut keys) = self.sha1_only.lock() {
                keys.insert(self.key.modulus.clone());
            }
        }
        Ok(signed.map_err(device)?)
    }
}

/// The card's error as the service's device vocabulary.
fn device(error: IdCardError) -> DeviceError {
    match error {
        IdCardError::Removed(why) => {
            tracing::warn!("the ID card: {why}");
            DeviceError::Removed
        }
        IdCardError::WrongPin { tries_left } => DeviceError::WrongPin(PinTries::Count(tries_left)),
        IdCardError::PinBlocked => DeviceError::PinLocked,
        IdCardError::PinFormat => DeviceError::PinFormat("4 to 8 digits"),
        IdCardError::NoKey(_) => DeviceError::NoSuchKey,
        IdCardError::HashRefused(hash, sw) => DeviceError::MechanismUnsupported(format!(
            "a {hash} DigestInfo, refused by the ID card (status {sw:04X})"
        )),
        other => DeviceError::Failed(other.to_string()),
    }
}
