//! Getting a key (`kz-issuance.md`): a new GOST-2015-512 key for a file store and its PKCS#10
//! request, the key kept until its certificate comes, and the certificate installed next to
//! it as `GOST512_<ski>.p12` in the layout of the NCA's own files.
//!
//! A waiting key lives in a folder of its own (the daemon's data directory `waiting/`): the
//! key encrypted with the user's new password (an EncryptedPrivateKeyInfo, PBES2/AES-256, which
//! `openssl pkcs8` also reads), named by its key identifier, and a small text file saying
//! where the key goes. A certificate is matched to its waiting key by public key (the NCA's key
//! identifier of the certificate's key names the file); the key is never written anywhere
//! unencrypted, and it leaves the waiting folder only once its `.p12` has been written, read
//! back and found to sign. A wrong password leaves everything as it was.
//!
//! Must not: write a key unencrypted, overwrite an existing key file, or log a password.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret as _, SecretString};

use std::sync::Arc;

use super::pkcs12::{self, writer};
use super::{KeyStore as _, KeyStoreError, Pkcs12Store, StorageName, TokenKey, TokenStores};
use crate::crypto::csr::{self, CsrError, RequestFields};
use crate::crypto::gost::{keys, GostCurve, GostPublicKey};
use crate::crypto::{Certificate, CryptoError, HashAlgorithm, SignatureAlgorithm};

/// The folder of waiting keys in the daemon's data directory.
pub const DIR: &str = "waiting";

/// Why a key was not made or a certificate not installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssuanceError {
    /// The new password breaks the NCA's rule.
    #[error("the password does not follow the rule: {0}")]
    PasswordRule(PasswordRule),
    /// The password does not open the waiting key.
    #[error("wrong password for the key waiting for this certificate")]
    WrongPassword,
    /// The input holds no certificate.
    #[error("not a certificate (DER, PEM or base64 expected): {0}")]
    NotACertificate(String),
    /// No waiting key has the certificate's public key.
    #[error("the certificate is for none of the keys waiting for one")]
    NoWaitingKey,
    /// A key file of that name exists already.
    #[error("{} exists already; it was left as it is", .0.display())]
    Exists(PathBuf),
    /// The request could not be made.
    #[error(transparent)]
    Csr(#[from] CsrError),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The key or certificate is unusable.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The token failed.
    #[error(transparent)]
    Device(#[from] crate::crypto::DeviceError),
    /// The written file did not open again.
    #[error("the new key file does not open: {0}")]
    Store(#[from] KeyStoreError),
    /// The store cannot make the kind of key asked for.
    #[error("{0}")]
    CannotMake(String),
}

/// Why no key is made on the ID card.
pub const IDCARD_KEYS: &str = "keys are not made on the ID card: its key generation command \
    also erases the card's keys, and Qoltanba never sends it (docs/idcard.md)";

/// The NCA's password rule for new keys (`kz-issuance.md` §1): at least 6 characters, with a
/// Latin capital, a Latin small letter and a digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRule {
    /// Under 6 characters.
    #[error("at least 6 characters")]
    TooShort,
    /// Lacks a Latin capital, small letter or digit.
    #[error("Latin capital and small letters and digits")]
    Mix,
}

/// Checks `password` against [`PasswordRule`].
pub fn check_password(password: &str) -> Result<(), PasswordRule> {
    if password.chars().count() < 6 {
        return Err(PasswordRule::TooShort);
    }
    let has = |f: fn(&char) -> bool| password.chars().any(|c| f(&c));
    match has(char::is_ascii_uppercase)
        && has(char::is_ascii_lowercase)
        && has(char::is_ascii_digit)
    {
        true => Ok(()),
        false => Err(PasswordRule::Mix),
    }
}

/// A request made for a new key.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// The DER PKCS#10.
    pub request: Vec<u8>,
    /// The key identifier (SKI) in lowercase hex: the waiting key's name and the alias.
    pub key_id: String,
}

/// Where a certificate is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A key file (`GOST512_<ski>.p12`).
    File(PathBuf),
    /// A token of this storage, with this serial number.
    Token {
        /// The storage name.
        storage: StorageName,
        /// The token's serial number.
        serial: String,
    },
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Token { storage, serial } => write!(f, "{storage} token {serial}"),
        }
    }
}

/// A certificate installed.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The key's identifier in hex: the alias the key chooser shows.
    pub key_id: String,
    /// Where it went.
    pub destination: Destination,
    /// The certificate.
    pub certificate: Certificate,
}

/// The keys waiting for their certificates, in one folder; token keys wait on their tokens,
/// with a note here saying which.
#[derive(Clone)]
pub struct Waiting {
    dir: PathBuf,
    tokens: Arc<dyn TokenStores>,
}

impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting").field("dir", &self.dir).finish_non_exhaustive()
    }
}

/// A waiting key as its note says.
struct Note {
    /// The key identifier, and its hex (the files' names).
    id: Vec<u8>,
    key_id: String,
    text: String,
}

impl Note {
    fn field(&self, name: &str) -> Option<&str> {
        self.text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
    }
}

impl Waiting {
    /// The waiting keys kept in `dir` (file keys only).
    pub fn new(dir: PathBuf) -> Self {
        Self::with_tokens(dir, Arc::new(super::NoTokens))
    }

    /// The waiting keys kept in `dir`, and on the tokens of `tokens`.
    pub fn with_tokens(dir: PathBuf, tokens: Arc<dyn TokenStores>) -> Self {
        Self { dir, tokens }
    }

    /// Whether `storage` can make a key for `algorithm`, asked before any password or PIN: a
    /// key file holds GOST-2015-512 only; a token makes what its mechanisms allow (read without
    /// a PIN), and an absent one says so.
    pub fn can_make(
        &self,
        storage: &StorageName,
        algorithm: SignatureAlgorithm,
    ) -> Result<(), IssuanceError> {
        let kind = match algorithm {
            SignatureAlgorithm::Gost2015_512 => "GOST-2015-512",
            SignatureAlgorithm::RsaSha256 => "RSA-2048",
            other => return Err(IssuanceError::CannotMake(format!("no {other:?} keys are made"))),
        };
        if storage.as_str() == super::idcard::store::STORAGE {
            return Err(IssuanceError::CannotMake(IDCARD_KEYS.into()));
        }
        if storage.is_file() {
            return match algorithm {
                SignatureAlgorithm::Gost2015_512 => Ok(()),
                _ => Err(IssuanceError::CannotMake(format!(
                    "a key file holds a GOST-2015-512 key; {kind} keys are made on tokens: \
                     choose a token, or a GOST-2015-512 key"
                ))),
            };
        }
        if self.tokens.key_algorithms(storage)?.contains(&algorithm) {
            return Ok(());
        }
        let instead = match algorithm {
            SignatureAlgorithm::RsaSha256 => "ask for a GOST-2015-512 key instead",
            _ => "use a token that makes GOST keys, or a key file (PKCS12)",
        };
        Err(IssuanceError::CannotMake(format!(
            "the token in {storage} cannot make {kind} keys (its PKCS#11 module offers no such key \
             generation mechanism): {instead}"
        )))
    }

    /// A new key for `algorithm` (GOST-2015-512 or RSA-2048) on the first token of `storage`
    /// (made by the token, opened with `pin`), and its request signed on the token. If the
    /// request or the note cannot be made, the key pair is destroyed again: no key is left on
    /// the token that nothing waits for.
    pub fn new_token_key(
        &self,
        fields: &RequestFields,
        storage: &StorageName,
        pin: &SecretString,
        algorithm: SignatureAlgorithm,
    ) -> Result<NewRequest, IssuanceError> {
        let label = format!("Qoltanba {}", fields.subject.chars().take(40).collect::<String>());
        let key = self.tokens.generate_key(storage, pin, &label, algorithm)?;
        let made = (|| {
            let fields =
                RequestFields { storage: storage.to_string(), folder: None, ..fields.clone() };
            let sign = |info: &[u8]| {
                let signature = self.tokens.sign_message(storage, &key, pin, algorithm, info);
                signature.map_err(CryptoError::from)
            };
            let request = csr::build(&fields, &key.spki, algorithm, sign)?;
            let key_id = crate::crypto::hex(&key.id);
            std::fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
            let note =
                format!("storage={storage}\nserial={}\nsubject={}\n", key.serial, fields.subject);
            write_private(&self.note_file(&key_id), note.as_bytes())?;
            Ok(NewRequest { request, key_id })
        })();
        if made.is_err() {
            if let Err(e) = self.tokens.destroy_key(storage, &key, pin) {
                tracing::warn!(
                    key = crate::crypto::hex(&key.id),
                    "a key made on the token for a \
                    request that failed is left there: {e}"
                );
            }
        }
        made
    }

    /// A new GOST-2015-512 key for a file store in `folder`, its request (`fields`, with the
    /// folder as the key-store path) signed by it, and the key kept encrypted with `password`
    /// until its certificate is installed.
    pub fn new_file_key(
        &self,
        fields: &RequestFields,
        folder: &Path,
        password: &SecretString,
    ) -> Result<NewRequest, IssuanceError> {
        check_password(password.expose_secret()).map_err(IssuanceError::PasswordRule)?;
        // The note keeps the folder whole: a relative one would move with the daemon's
        // working directory.
        let folder = &std::path::absolute(folder).map_err(|e| io(folder, e))?;
        let curve = GostCurve::Tc26_512A;
        let (d, xy) = curve.generate()?;
        let spki = keys::subject_public_key_info(curve, &xy)?;
        let fields = RequestFields {
            storage: super::storage::PKCS12.into(),
            folder: Some(folder.display().to_string()),
            ..fields.clone()
        };
        let sign = |info: &[u8]| curve.sign_digest(&d, &HashAlgorithm::Streebog512.digest(info));
        let request = csr::build(&fields, &spki, SignatureAlgorithm::Gost2015_512, sign)?;
        let key_id = crate::crypto::hex(&keys::key_identifier(&xy));
        let pkcs8 = keys::private_key_info(curve, &d)?;
        let encrypted = writer::shrouded_key(&pkcs8, password.expose_secret());
        std::fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
        write_private(&self.key_file(&key_id), &encrypted)?;
        let note = format!("folder={}\nsubject={}\n", folder.display(), fields.subject);
        write_private(&self.note_file(&key_id), note.as_bytes())?;
        Ok(NewRequest { request, key_id })
    }

    /// The key identifiers of the keys waiting now.
    pub fn keys(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".txt").map(String::from))
            .collect();
        ids.sort();
        ids
    }

    /// Installs the certificate in `input` (DER, PEM or base64; a chain may come with it) for
    /// the waiting key it belongs to, opened with `secret` (the new password of a file key, the
    /// PIN of a token): for a file key `GOST512_<ski>.p12` in the key's folder, in the NCA's
    /// layout; for a token key the certificate written next to the key. Then the key no longer
    /// waits.
    pub fn install(&self, input: &[u8], secret: &SecretString) -> Result<Installed, IssuanceError> {
        let (certificate, note) = self.matching(input)?;
        let destination = match self.destination_of(&note)? {
            Destination::File(path) => {
                self.install_file(&certificate, &note, &path, secret)?;
                Destination::File(path)
            }
            Destination::Token { storage, serial } => {
                let key =
                    TokenKey { serial: serial.clone(), id: note.id.clone(), spki: Vec::new() };
                self.tokens.store_certificate(&storage, &key, secret, &certificate).map_err(
                    |e| match e {
                        crate::crypto::DeviceError::WrongPin(_) => IssuanceError::WrongPassword,
                        other => IssuanceError::Device(other),
                    },
                )?;
                Destination::Token { storage, serial }
            }
        };
        for done in [self.key_file(&note.key_id), self.note_file(&note.key_id)] {
            if let Err(e) = std::fs::remove_file(&done) {
                if done.exists() {
                    tracing::warn!("cannot remove {}: {e}", done.display());
                }
            }
        }
        Ok(Installed { key_id: note.key_id.clone(), destination, certificate })
    }

    fn install_file(
        &self,
        certificate: &Certificate,
        note: &Note,
        path: &Path,
        password: &SecretString,
    ) -> Result<(), IssuanceError> {
        let key_id = &note.key_id;
        let encrypted = std::fs::read(self.key_file(key_id)).map_err(|e| io(&self.dir, e))?;
        let pkcs8 = match pkcs12::decrypt_private_key(&encrypted, password) {
            Ok(pkcs8) => pkcs8,
            Err(KeyStoreError::WrongPassword) => return Err(IssuanceError::WrongPassword),
            Err(other) => return Err(other.into()),
        };
        let (curve, d) = keys::private_key_from_pkcs8(&pkcs8)?;
        let xy = GostPublicKey::from_certificate(certificate)?.xy;
        if curve.public_key(&d)? != xy {
            return Err(IssuanceError::NoWaitingKey);
        }
        if path.exists() {
            return Err(IssuanceError::Exists(path.to_path_buf()));
        }
        let ski = keys::key_identifier(&xy);
        let p12 = writer::write_nca(&pkcs8, certificate.der(), &ski, password.expose_secret());
        // Read back: the file must open with the password and its key sign.
        let store = Pkcs12Store::open(&p12, password)?;
        store.signer(key_id)?.sign_message(b"Qoltanba: the installed key signs")?;
        let folder = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(folder).map_err(|e| io(folder, e))?;
        let partial = folder.join(format!(".GOST512_{key_id}.p12.part"));
        write_private(&partial, &p12)?;
        std::fs::rename(&partial, path).map_err(|e| io(path, e))
    }

    /// The certificate of `input` that a key waits for, and where it would be installed
    /// (what the dialog shows before the password is asked).
    pub fn destination(&self, input: &[u8]) -> Result<(Certificate, Destination), IssuanceError> {
        let (certificate, note) = self.matching(input)?;
        Ok((certificate, self.destination_of(&note)?))
    }

    fn destination_of(&self, note: &Note) -> Result<Destination, IssuanceError> {
        let missing =
            || IssuanceError::Io(format!("{}: damaged", self.note_file(&note.key_id).display()));
        if let Some(folder) = note.field("folder") {
            return Ok(Destination::File(
                Path::new(folder).join(format!("GOST512_{}.p12", note.key_id)),
            ));
        }
        let storage = note.field("storage").and_then(|s| StorageName::parse(s).ok());
        let serial = note.field("serial").map(str::to_string);
        match (storage, serial) {
            (Some(storage), Some(serial)) => Ok(Destination::Token { storage, serial }),
            _ => Err(missing()),
        }
    }

    /// The certificate of `input` a key waits for (its key identifier names a note), with the
    /// note.
    fn matching(&self, input: &[u8]) -> Result<(Certificate, Note), IssuanceError> {
        certificates(input)?
            .into_iter()
            .find_map(|certificate| {
                let spki = &certificate.inner().tbs_certificate.subject_public_key_info;
                let id = {
                    use sha1::Digest as _;
                    sha1::Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec()
                };
                let key_id = crate::crypto::hex(&id);
                let text = std::fs::read_to_string(self.note_file(&key_id)).ok()?;
                Some((certificate, Note { id, key_id, text }))
            })
            .ok_or(IssuanceError::NoWaitingKey)
    }

    fn key_file(&self, key_id: &str) -> PathBuf {
        self.dir.join(format!("{key_id}.key"))
    }

    fn note_file(&self, key_id: &str) -> PathBuf {
        self.dir.join(format!("{key_id}.txt"))
    }
}

/// The certificates of `input`: DER, PEM, or base64 of DER.
fn certificates(input: &[u8]) -> Result<Vec<Certificate>, IssuanceError> {
    if let Ok(all) = Certificate::all_from_pem_or_der(input) {
        if !all.is_empty() {
            return Ok(all);
        }
    }
    let text = String::from_utf8_lossy(input);
    let der = crate::crypto::base64_stream::decode(text.trim().as_bytes())
        .map_err(|e| IssuanceError::NotACertificate(e.to_string()))?;
    Certificate::all_from_pem_or_der(&der)
        .map_err(|e| IssuanceError::NotACertificate(e.to_string()))
}

/// Writes `bytes` to `path`, readable by the user only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), IssuanceError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| io(path, e))?;
    std::io::Write::write_all(&mut file, bytes).map_err(|e| io(path, e))
}

fn io(path: &Path, error: std::io::Error) -> IssuanceError {
    IssuanceError::Io(format!("{}: {error}", path.display()))
}
