//! The consent vocabulary: what the service asks the user ([`PromptRequest`], [`Retry`]), what
//! the user answers ([`PromptAnswer`], [`Credentials`]) and the [`Prompter`] trait the service
//! asks through. The service owns these types; `ui` implements the trait (terminal, script,
//! desktop dialog). Nothing here holds a word shown to the user: every sentence, in every
//! language, is built by `ui` from these typed values.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use secrecy::SecretString;
use serde::Serialize;

use crate::crypto::PinTries;
use crate::keystore::{KeyEntry, KeyFilter, StorageName, StoreNotice};

/// What the user is asked to approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    /// CMS with the document inside.
    CmsAttached,
    /// CMS without the document.
    CmsDetached,
    /// Detached CMS over digests the page computed.
    CmsDigest,
    /// A signature added to a CMS others signed (co-signing).
    CmsCoSign,
    /// Enveloped XML signature over whole documents.
    Xml,
    /// XML signature over one element of each document.
    XmlElement,
    /// Raw signature values.
    Raw,
    /// Choose a key and show its certificate to the page (getKeyInfo).
    KeyInfo,
}

/// What the prompt shows of one document. `Debug` leaves the preview out: document content
/// must never reach a log.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct DocumentSummary {
    /// Size in bytes of what is signed.
    pub size: usize,
    /// SHA-256 hex of what is signed.
    pub sha256: String,
    /// A short readable preview, or `None` for digests and binary data.
    #[serde(skip)]
    pub preview: Option<String>,
    /// The content is a digest: it cannot be shown.
    pub digest_only: bool,
}

impl DocumentSummary {
    /// Summarises `data`; text-like content gets a preview of its first lines.
    pub fn new(data: &[u8], digest_only: bool) -> Self {
        use sha2::Digest as _;
        let text = (!digest_only)
            .then(|| std::str::from_utf8(data).ok())
            .flatten()
            .filter(|text| Self::readable(text));
        Self { digest_only, ..Self::from_parts(data.len(), &sha2::Sha256::digest(data), text) }
    }

    /// The summary of a document of `size` bytes with this SHA-256, given its start when it is
    /// readable text (at least the preview's worth of it).
    pub fn from_parts(size: usize, sha256: &[u8], text: Option<&str>) -> Self {
        let preview = text.map(|text| {
            text.lines().take(12).collect::<Vec<_>>().join("\n").chars().take(800).collect()
        });
        Self { size, sha256: crate::crypto::hex(sha256), preview, digest_only: false }
    }

    /// Whether `text` is shown as text: no control characters but whitespace.
    pub fn readable(text: &str) -> bool {
        !text.chars().any(|c| c.is_control() && !c.is_whitespace())
    }
}

impl std::fmt::Debug for DocumentSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentSummary")
            .field("size", &self.size)
            .field("sha256", &self.sha256)
            .field("digest_only", &self.digest_only)
            .finish_non_exhaustive()
    }
}

/// How far the caller's origin is trusted, as the prompt shows it (`docs/security.md`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trust {
    /// Listed: the built-in portals, `allowed_origins`, or remembered by the user.
    Trusted,
    /// A site not seen before: the dialog says so and offers to remember it.
    #[default]
    New,
    /// No `Origin` header: "a program on this computer".
    Local,
}

/// Everything one prompt shows.
#[derive(Debug, Clone)]
pub struct PromptRequest {
    /// The origin from the WebSocket handshake (`None`: a program on this computer).
    pub origin: Option<super::Origin>,
    /// How far the origin is trusted.
    pub trust: Trust,
    /// The operation.
    pub operation: Operation,
    /// What is signed.
    pub documents: Vec<DocumentSummary>,
    /// The key filter the request asks for.
    pub filter: KeyFilter,
    /// Storage names the request allows (`None`: any).
    pub storages: Option<Vec<StorageName>>,
    /// Language of the prompt (`kk`, `ru`, `en`).
    pub locale: String,
    /// Storage names of the tokens connected now that the request allows, for the store choice.
    pub tokens: Vec<StorageName>,
    /// What the store choice says beside some of `tokens` (experimental, PIN tries left).
    pub notices: Vec<(StorageName, StoreNotice)>,
    /// The portal's logo (PNG bytes), when the request sent one.
    pub logo: Option<Vec<u8>>,
    /// The moment keys are judged at (valid, expired), from the service's clock.
    pub now: time::OffsetDateTime,
    /// Keys of the opened store that match the page's filter but may not sign, each with the
    /// reason (not trusted, revoked): the key chooser shows them greyed.
    pub refused_keys: Vec<RefusedKey>,
    /// Keys that may sign but come with a warning (revocation unknown, offline): the chooser
    /// shows the warning next to them.
    pub warned_keys: Vec<RefusedKey>,
}

/// A key shown but not selectable, and why.
#[derive(Debug, Clone)]
pub struct RefusedKey {
    /// The key.
    pub key: KeyEntry,
    /// Why it may not sign.
    pub why: Retry,
}

/// The user's choice of store, key and secret.
pub struct Credentials {
    /// Storage name (`PKCS12`, `AKKaztokenStore`, …).
    pub store: StorageName,
    /// The key store file, for file stores.
    pub file: Option<PathBuf>,
    /// Password or PIN.
    pub secret: SecretString,
    /// Key alias, when the user picked it up front.
    pub key: Option<String>,
    /// Tokens: keep this PIN for so long ("remember for N minutes"; off by default, capped by
    /// the token layer). An empty PIN later uses the remembered one.
    pub remember: Option<std::time::Duration>,
    /// "Trust this site from now on" (prompt mode, a new origin; ignored otherwise).
    pub remember_origin: bool,
}

impl Credentials {
    /// What a dialog answers: a store, its file for file stores, the password or PIN, and
    /// whether to trust the site from now on; no key picked up front, no PIN remembered.
    pub fn chosen(
        store: StorageName,
        file: Option<PathBuf>,
        secret: SecretString,
        remember_origin: bool,
    ) -> Self {
        Self { store, file, secret, key: None, remember: None, remember_origin }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("store", &self.store)
            .field("file", &self.file)
            .field("key", &self.key)
            .field("remember", &self.remember)
            .field("remember_origin", &self.remember_origin)
            .finish_non_exhaustive()
    }
}

/// The answer to a prompt.
#[derive(Debug)]
pub enum PromptAnswer {
    /// The user pressed Cancel (or closed the dialog, or the client went away).
    Cancel,
    /// The user approved with these credentials.
    Approve(Credentials),
    /// The dialog could not be shown (the reason, for the log and the page).
    Failed(String),
}

/// Why the prompt is shown again. Typed, not worded: `ui` says it in the user's language.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retry {
    /// The password did not open the store.
    WrongPassword,
    /// The token refused the PIN; the token's flags say how many tries are left.
    WrongPin(PinTries),
    /// The PIN is not in the form the device takes (nothing was sent to it).
    PinFormat,
    /// The store opened but holds no key that matches the request.
    NoMatchingKey,
    /// The key the user picked (its alias) is not one the request accepts.
    KeyNotAccepted(String),
    /// The request does not allow keys from this storage (its name).
    StorageNotAllowed(StorageName),
    /// No token of this storage (its name) is connected.
    NoToken(StorageName),
    /// The key's certificate does not chain to a CA the request accepts (why).
    NotTrusted(String),
    /// The key's certificate was revoked (when, as RFC 3339; the reason when known).
    Revoked {
        /// When.
        at: String,
        /// The CRL/OCSP reason.
        reason: Option<String>,
    },
    /// Whether the key's certificate is revoked could not be learnt, and the settings refuse
    /// to sign then (what was tried).
    RevocationUnknown(String),
    /// A key store file is needed and none was chosen.
    ChooseFile,
    /// The key store file could not be read.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why (the operating system's error).
        reason: String,
    },
    /// The store or its key cannot be used (damaged file, unsupported key, …): the key store
    /// layer's reason.
    StoreUnusable(String),
}

/// How a prompt ended, recorded by [`Prompter::finish`].
#[derive(Debug, Clone)]
pub struct PromptOutcome {
    /// Aliases of the keys offered (matching the filter) in the last store opened.
    pub keys: Vec<String>,
    /// `signed`, `cancelled` or `failed`.
    pub result: &'static str,
}

/// A cancellation flag shared between a request and its prompt.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Marks the prompt as cancelled (the client went away).
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the prompt was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A page asks for a new key (basics `generateCsr`): who asks, for whom, and where.
#[derive(Debug, Clone)]
pub struct KeyPrompt {
    /// The origin from the WebSocket handshake (`None`: a program on this computer).
    pub origin: Option<super::Origin>,
    /// How far the origin is trusted.
    pub trust: Trust,
    /// Language of the prompt.
    pub locale: String,
    /// The subject the certificate is asked for.
    pub subject: String,
    /// The storage the page asks for (`PKCS12`: a folder on this computer).
    pub storage: StorageName,
}

/// The answer to a [`KeyPrompt`].
pub enum KeyAnswer {
    /// The user cancelled.
    Cancel,
    /// Make the key: its folder and the new password (typed twice and equal).
    Create {
        /// The folder the key file goes to.
        folder: PathBuf,
        /// The new password.
        password: SecretString,
    },
    /// Make the key on the token the prompt names, opened with this PIN.
    CreateOnToken(SecretString),
    /// The dialog could not be shown (why).
    Failed(String),
}

/// A page brings the certificate for a waiting key (basics `importCertificate`).
#[derive(Debug, Clone)]
pub struct InstallPrompt {
    /// The origin from the WebSocket handshake (`None`: a program on this computer).
    pub origin: Option<super::Origin>,
    /// How far the origin is trusted.
    pub trust: Trust,
    /// Language of the prompt.
    pub locale: String,
    /// The certificate's subject and issuer, as the dialog shows them.
    pub subject: String,
    /// The issuer.
    pub issuer: String,
    /// Where it goes: the key file, or the token.
    pub destination: crate::keystore::waiting::Destination,
}

/// The answer to an [`InstallPrompt`].
pub enum InstallAnswer {
    /// The user cancelled.
    Cancel,
    /// Install, opening the waiting key with this password.
    Install(SecretString),
    /// The dialog could not be shown (why).
    Failed(String),
}

/// Why a key or install prompt is shown again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuanceRetry {
    /// The new password breaks the NCA's rule.
    PasswordRule(crate::keystore::waiting::PasswordRule),
    /// The password does not open the waiting key.
    WrongPassword,
    /// The token refused the PIN.
    WrongPin(crate::crypto::PinTries),
}

/// The user, as the service sees them. Calls block until the user answers; implementations
/// poll `cancel` and return a cancelling answer soon after it is set.
pub trait Prompter: Send + Sync {
    /// Asks for consent and credentials; `retry` says why it is asked again.
    fn ask(&self, request: &PromptRequest, retry: Option<&Retry>, cancel: &Cancel) -> PromptAnswer;

    /// Lets the user pick one of `keys` (already filtered); `None` cancels.
    fn choose_key(
        &self,
        request: &PromptRequest,
        keys: &[KeyEntry],
        cancel: &Cancel,
    ) -> Option<String>;

    /// Asks for a file (commonUtils `showFileChooser`); `None` cancels.
    fn choose_file(
        &self,
        origin: Option<&super::Origin>,
        extension: &str,
        cancel: &Cancel,
    ) -> Option<PathBuf>;

    /// Called once when a prompt ends, before the reply is sent.
    fn finish(&self, request: &PromptRequest, outcome: &PromptOutcome);

    /// Asks whether to make a new key, where, and its password.
    fn new_key(
        &self,
        prompt: &KeyPrompt,
        retry: Option<IssuanceRetry>,
        cancel: &Cancel,
    ) -> KeyAnswer {
        let _ = (prompt, retry, cancel);
        KeyAnswer::Failed("this dialog cannot make keys yet".into())
    }

    /// Asks whether to install a certificate, and the waiting key's password.
    fn install_certificate(
        &self,
        prompt: &InstallPrompt,
        retry: Option<IssuanceRetry>,
        cancel: &Cancel,
    ) -> InstallAnswer {
        let _ = (prompt, retry, cancel);
        InstallAnswer::Failed("this dialog cannot install certificates yet".into())
    }
}
