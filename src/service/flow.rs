//! The request flow: validate -> queue for the single prompt -> consent + credentials -> open
//! the store -> pick the key -> sign -> report. Prompts are serialised: one open at a time,
//! the others wait in arrival order; a dropped request (client gone) cancels its prompt.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::consent::{
    Cancel, Credentials, Operation, PromptAnswer, PromptOutcome, PromptRequest, Prompter,
    RefusedKey, Retry, Trust,
};
use super::keys::{KeyJudge, KeyRules, Verdict};
use super::revocation::RevocationChecker;
use super::security::{Guest, Security, Standing};
use super::signing;
use super::stamps::TimeStamper;
use super::ChainRule;
use super::{Caller, ServiceError, SignOutcome, SignRequest};
use crate::crypto::DeviceError;
use crate::crypto::{Certificate, Signer};
use crate::keystore::{
    KeyEntry, KeyFilter, KeyStore, KeyStoreError, KeyType, NoTokens, Pkcs12Store, StorageName,
    StoreNotice, TokenStores,
};
use crate::pki::trust::TrustStore;
use crate::platform::clock::Clock;
use crate::sign;

/// How many times one prompt may be answered before the request fails.
const MAX_ATTEMPTS: usize = 10;

/// Settings of the service that come from configuration.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// Default prompt language.
    pub locale: String,
    /// Where the service reads the time (signing time, key validity, journal).
    pub clock: Clock,
    /// Where CAdES-T time-stamps come from (`None`: requests for one fail).
    pub stamper: Option<Arc<TimeStamper>>,
    /// The CAs a signing key's certificate must chain to (default: the NCA's, test CAs too).
    pub trust: Arc<TrustStore>,
    /// Where revocation is asked (`None`: not checked, as in unit tests of other paths).
    pub revocation: Option<Arc<RevocationChecker>>,
    /// Refuse to sign when revocation cannot be learnt (default: allow, with a warning).
    pub refuse_unknown_revocation: bool,
    /// Where keys wait for their certificates (`None`: keys are not made).
    pub waiting: Option<PathBuf>,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        let mut anchors = crate::pki::roots::production();
        anchors.extend(crate::pki::roots::test());
        Self {
            locale: "ru".into(),
            clock: Clock::system(),
            stamper: None,
            trust: Arc::new(TrustStore::new(anchors)),
            revocation: None,
            refuse_unknown_revocation: false,
            waiting: None,
        }
    }
}

/// The signing service shared by every connection.
pub struct Service {
    pub(super) prompter: Arc<dyn Prompter>,
    pub(super) tokens: Arc<dyn TokenStores>,
    prompt_queue: Arc<tokio::sync::Mutex<()>>,
    locale: Mutex<String>,
    picked_files: Mutex<Vec<PathBuf>>,
    security: Security,
    clock: Clock,
    stamper: Option<Arc<TimeStamper>>,
    keys: KeyJudge,
    pub(super) waiting_dir: Option<PathBuf>,
}

/// Sets the cancel flag when the request future is dropped (the client went away).
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

impl Service {
    /// A service asking `prompter`, without token support.
    pub fn new(prompter: Arc<dyn Prompter>, settings: ServiceSettings) -> Arc<Self> {
        Self::with_tokens(prompter, settings, Arc::new(NoTokens))
    }

    /// A service asking `prompter` and reaching hardware tokens through `tokens`.
    pub fn with_tokens(
        prompter: Arc<dyn Prompter>,
        settings: ServiceSettings,
        tokens: Arc<dyn TokenStores>,
    ) -> Arc<Self> {
        Self::with_security(prompter, settings, tokens, Security::default())
    }

    /// A service with its origin policy, prompt limits and journal (`service::security`).
    pub fn with_security(
        prompter: Arc<dyn Prompter>,
        settings: ServiceSettings,
        tokens: Arc<dyn TokenStores>,
        security: Security,
    ) -> Arc<Self> {
        Arc::new(Self {
            prompter,
            tokens,
            prompt_queue: Arc::new(tokio::sync::Mutex::new(())),
            locale: Mutex::new(settings.locale),
            clock: settings.clock,
            stamper: settings.stamper,
            keys: KeyJudge {
                trust: settings.trust,
                revocation: settings.revocation,
                refuse_unknown: settings.refuse_unknown_revocation,
            },
            picked_files: Mutex::new(Vec::new()),
            waiting_dir: settings.waiting,
            security,
        })
    }

    /// Admits `caller` once, before any method runs: the [`Guest`] every service call takes,
    /// or the origin policy's refusal.
    pub fn admit(&self, caller: &Caller) -> Result<Guest, ServiceError> {
        self.security.guest(caller)
    }

    /// The caller's standing (trust and the key of its limits), or the policy's refusal; the
    /// transport asks at the handshake.
    pub fn standing(&self, caller: &Caller) -> Result<Standing, ServiceError> {
        self.security.standing(caller)
    }

    /// The current prompt language.
    pub fn locale(&self) -> String {
        self.locale.lock().map(|l| l.clone()).unwrap_or_else(|_| "ru".into())
    }

    /// commonUtils `changeLocale`.
    pub fn set_locale(&self, locale: &str) {
        if let Ok(mut current) = self.locale.lock() {
            *current = locale.to_string();
        }
    }

    /// Storage names of hardware tokens connected now (slots are re-read on every call, so
    /// tokens inserted or removed are seen at once).
    pub async fn active_tokens(self: &Arc<Self>) -> Vec<StorageName> {
        let tokens = Arc::clone(&self.tokens);
        tokio::task::spawn_blocking(move || tokens.present()).await.unwrap_or_default()
    }

    /// The connected tokens among `storages` (`None`: any), for the dialog's store choice,
    /// and what the choice says beside them (experimental, PIN tries left).
    async fn allowed_tokens(
        self: &Arc<Self>,
        storages: Option<&[StorageName]>,
    ) -> (Vec<StorageName>, Vec<(StorageName, StoreNotice)>) {
        let present = self.active_tokens().await;
        let allowed: Vec<StorageName> =
            present.into_iter().filter(|t| storages.is_none_or(|s| s.contains(t))).collect();
        let (tokens, names) = (Arc::clone(&self.tokens), allowed.clone());
        let notices = tokio::task::spawn_blocking(move || {
            let notice = |name: StorageName| Some((name.clone(), tokens.notice(&name)?));
            names.into_iter().filter_map(notice).collect()
        });
        (allowed, notices.await.unwrap_or_default())
    }

    /// Checks a commonUtils storage name: `PKCS12` is served; a token name is served when such
    /// a token is present now (else `storage.empty`); anything else is unknown.
    pub async fn check_storage(self: &Arc<Self>, name: &StorageName) -> Result<(), ServiceError> {
        if name.is_file() {
            return Ok(());
        }
        if !name.is_known_token() && !self.tokens.knows(name) {
            return Err(ServiceError::StorageUnknown);
        }
        match self.active_tokens().await.contains(name) {
            true => Ok(()),
            false => Err(ServiceError::StorageEmpty),
        }
    }

    /// Signs every document of `request` with one key the user approves.
    pub async fn sign(
        self: &Arc<Self>,
        guest: &Guest,
        request: SignRequest,
    ) -> Result<SignOutcome, ServiceError> {
        let standing = guest.standing.clone();
        signing::validate(&request)?;
        let (tokens, notices) = self.allowed_tokens(request.storages.as_deref()).await;
        let trust = standing.trust;
        let prompt =
            PromptRequest { trust, tokens, notices, ..self.prompt_request(guest, &request) };
        let rules = KeyRules {
            allow_expired: request.allow_expired,
            allow_revoked: request.allow_revoked,
            chain: request.chain.clone(),
        };
        self.in_prompt(standing, move |service, cancel| {
            let (signer, keys, alias) = service.choose_signer(&prompt, &rules, &cancel)?;
            let now = service.clock.now();
            let algorithm = signer.algorithm();
            let mut result = signing::sign_all(signer.as_ref(), &request, now);
            if result.is_err() && signer.algorithm() != algorithm {
                // The device refused the hash and named another it takes (an ID card that
                // takes SHA-1 only): the documents are signed again, once, with that one.
                let now_using = signer.algorithm();
                tracing::warn!("the key refused {algorithm:?}; signing again with {now_using:?}");
                result = signing::sign_all(signer.as_ref(), &request, now);
            }
            let result = result
                .map_err(ServiceError::lift_device)
                .and_then(|signatures| service.time_stamped(&request, signatures));
            let recorded =
                service.security.record(&prompt, &alias, signer.certificate(), result.is_ok(), now);
            let result = recorded.and(result);
            let outcome = if result.is_ok() { "signed" } else { "failed" };
            service.prompter.finish(&prompt, &PromptOutcome { keys, result: outcome });
            result.map(|signatures| SignOutcome {
                signatures,
                certificate: signer.certificate().clone(),
            })
        })
        .await
    }

    /// The signatures with a TSA time-stamp on each, when the request asks for one.
    fn time_stamped(
        &self,
        request: &SignRequest,
        signatures: Vec<Vec<u8>>,
    ) -> Result<Vec<Vec<u8>>, ServiceError> {
        if !request.time_stamp {
            return Ok(signatures);
        }
        let stamper = self.stamper()?;
        signatures.iter().map(|cms| stamper.stamp_newest(cms)).collect()
    }

    fn stamper(&self) -> Result<&TimeStamper, ServiceError> {
        self.stamper
            .as_deref()
            .ok_or_else(|| ServiceError::TimeStamp("no TSA is configured".into()))
    }

    /// commonUtils `applyCAdEST`: a time-stamp on every signer of `cms` that has none. No key
    /// is used, so no dialog is shown; the TSA exchanges are bounded ([`TimeStamper`]).
    pub async fn apply_time_stamps(
        self: &Arc<Self>,
        guest: &Guest,
        cms: Vec<u8>,
    ) -> Result<Vec<u8>, ServiceError> {
        tracing::info!(site = guest.standing.site(), "time-stamping a CMS (applyCAdEST)");
        let service = Arc::clone(self);
        tokio::task::spawn_blocking(move || service.stamper()?.stamp(&cms))
            .await
            .map_err(|e| ServiceError::Internal(format!("time-stamp task failed: {e}")))?
    }

    /// Applet `verifyXml`: how many signatures the document holds, all verified (no dialog).
    pub async fn verify_xml(self: &Arc<Self>, xml: String) -> Result<usize, ServiceError> {
        blocking(move || Ok(sign::xml_verify::verify(&xml)?.len())).await
    }

    /// Applet `verifyCMSSignature`: how many signers the CMS has, all verified (no dialog).
    pub async fn verify_cms(
        self: &Arc<Self>,
        cms: Vec<u8>,
        content: Option<Vec<u8>>,
    ) -> Result<usize, ServiceError> {
        blocking(move || Ok(sign::cms_verify::verify(&cms, content.as_deref())?.len())).await
    }

    /// commonUtils `getKeyInfo`: the user picks a key; its certificate is returned.
    pub async fn key_info(
        self: &Arc<Self>,
        guest: &Guest,
        storage: &StorageName,
        key_type: Option<KeyType>,
    ) -> Result<Certificate, ServiceError> {
        let standing = guest.standing.clone();
        let (tokens, notices) = self.allowed_tokens(Some(std::slice::from_ref(storage))).await;
        let prompt = PromptRequest {
            origin: guest.origin.clone(),
            trust: standing.trust,
            operation: Operation::KeyInfo,
            documents: Vec::new(),
            filter: KeyFilter { key_type, ..KeyFilter::default() },
            storages: Some(vec![storage.clone()]),
            locale: self.locale(),
            tokens,
            notices,
            logo: None,
            now: self.clock.now(),
            refused_keys: Vec::new(),
            warned_keys: Vec::new(),
        };
        self.in_prompt(standing, move |service, cancel| {
            // The page only reads the certificate: any key the user picks may show it.
            let rules =
                KeyRules { allow_expired: true, allow_revoked: true, chain: ChainRule::Any };
            let (signer, keys, _) = service.choose_signer(&prompt, &rules, &cancel)?;
            service.prompter.finish(&prompt, &PromptOutcome { keys, result: "selected" });
            Ok(signer.certificate().clone())
        })
        .await
    }

    /// commonUtils `showFileChooser`: the path the user picked.
    pub async fn choose_file(
        self: &Arc<Self>,
        guest: &Guest,
        extension: String,
    ) -> Result<PathBuf, ServiceError> {
        let standing = guest.standing.clone();
        let origin = guest.origin.clone();
        self.in_prompt(standing, move |service, cancel| {
            let path = service
                .prompter
                .choose_file(origin.as_ref(), &extension, &cancel)
                .ok_or(ServiceError::Cancelled)?;
            if let Ok(mut files) = service.picked_files.lock() {
                files.push(path.clone());
            }
            Ok(path)
        })
        .await
    }

    /// Whether the user picked `path` in a file chooser since the daemon started.
    pub fn was_picked(&self, path: &Path) -> bool {
        self.picked_files.lock().map(|files| files.iter().any(|p| p == path)).unwrap_or(false)
    }

    /// Reads a file the user picked with `showFileChooser` in this run; any other path is
    /// `file.not_found`, so a page cannot make us read files it names itself.
    pub async fn read_picked(&self, path: &Path) -> Result<Vec<u8>, ServiceError> {
        if !self.was_picked(path) {
            return Err(ServiceError::FileNotFound);
        }
        tokio::fs::read(path).await.map_err(|_| ServiceError::FileNotFound)
    }

    /// Runs `work` as the only open prompt, on a blocking thread, within the prompt limits of
    /// the caller's `standing`. Dropping the returned future cancels the prompt; the queue slot
    /// is released when the prompt has really ended.
    pub(super) async fn in_prompt<T, F>(
        self: &Arc<Self>,
        standing: Standing,
        work: F,
    ) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&Service, Cancel) -> Result<T, ServiceError> + Send + 'static,
    {
        let place = self.security.queue(&standing)?;
        let cancel = Cancel::default();
        let _on_drop = CancelOnDrop(cancel.clone());
        let slot = self.prompt_queue.clone().lock_owned().await;
        let service = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let (_slot, _place) = (slot, place);
            if cancel.is_cancelled() {
                return Err(ServiceError::Cancelled);
            }
            let opened = service.security.open(&standing)?;
            let result = work(&service, cancel);
            service.security.closed(opened, &result);
            result
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("prompt task failed: {e}")))?
    }

    fn prompt_request(&self, guest: &Guest, request: &SignRequest) -> PromptRequest {
        PromptRequest {
            origin: guest.origin.clone(),
            trust: Trust::default(),
            operation: request.documents.operation(),
            documents: request.documents.summaries(),
            filter: request.filter.clone(),
            storages: request.storages.clone(),
            locale: request.locale.clone().unwrap_or_else(|| self.locale()),
            tokens: Vec::new(),
            notices: Vec::new(),
            logo: request.logo.clone(),
            now: self.clock.now(),
            refused_keys: Vec::new(),
            warned_keys: Vec::new(),
        }
    }

    /// Asks until the user cancels or gives credentials that open a matching key.
    fn choose_signer(
        &self,
        prompt: &PromptRequest,
        rules: &KeyRules,
        cancel: &Cancel,
    ) -> Result<Chosen, ServiceError> {
        let mut retry = None;
        for _ in 0..MAX_ATTEMPTS {
            let credentials = match self.prompter.ask(prompt, retry.as_ref(), cancel) {
                PromptAnswer::Cancel => return Err(self.cancelled(prompt, Vec::new())),
                PromptAnswer::Failed(reason) => {
                    tracing::error!("the dialog could not be shown: {reason}");
                    self.prompter
                        .finish(prompt, &PromptOutcome { keys: Vec::new(), result: "failed" });
                    return Err(ServiceError::Dialog(reason));
                }
                PromptAnswer::Approve(credentials) => credentials,
            };
            if cancel.is_cancelled() {
                return Err(self.cancelled(prompt, Vec::new()));
            }
            let remember_origin = credentials.remember_origin;
            match self.try_credentials(prompt, credentials, rules, cancel) {
                Ok(chosen) => {
                    if remember_origin {
                        self.security.remember(prompt);
                    }
                    return Ok(chosen);
                }
                Err(Attempt::Retry(reason)) => retry = Some(reason),
                Err(Attempt::Cancel(keys)) => return Err(self.cancelled(prompt, keys)),
                Err(Attempt::Fail(error)) => {
                    let outcome = PromptOutcome { keys: Vec::new(), result: "failed" };
                    self.prompter.finish(prompt, &outcome);
                    return Err(error);
                }
            }
        }
        self.prompter.finish(prompt, &PromptOutcome { keys: Vec::new(), result: "failed" });
        Err(ServiceError::TooManyAttempts)
    }

    fn cancelled(&self, prompt: &PromptRequest, keys: Vec<String>) -> ServiceError {
        self.prompter.finish(prompt, &PromptOutcome { keys, result: "cancelled" });
        ServiceError::Cancelled
    }

    fn try_credentials(
        &self,
        prompt: &PromptRequest,
        credentials: Credentials,
        rules: &KeyRules,
        cancel: &Cancel,
    ) -> Result<Chosen, Attempt> {
        let store = self.open_store(prompt, &credentials)?;
        let now = prompt.now;
        let matching: Vec<&KeyEntry> = store
            .keys()
            .iter()
            .filter(|k| prompt.filter.matches(&k.certificate))
            .filter(|k| {
                rules.allow_expired
                    || crate::pki::validity(&k.certificate, now) == crate::pki::Validity::Valid
            })
            .collect();
        let (mut refused_keys, mut warned_keys, mut offered) = (Vec::new(), Vec::new(), Vec::new());
        for key in matching {
            match self.keys.verdict(&key.certificate, rules, now) {
                Verdict::Refused(why) => refused_keys.push(RefusedKey { key: key.clone(), why }),
                Verdict::Warned(why) => {
                    warned_keys.push(RefusedKey { key: key.clone(), why });
                    offered.push(key.clone());
                }
                Verdict::Usable => offered.push(key.clone()),
            }
        }
        if offered.is_empty() {
            let why = refused_keys.pop().map(|r| r.why);
            return Err(Attempt::Retry(why.unwrap_or(Retry::NoMatchingKey)));
        }
        let alias = match credentials.key {
            Some(alias) => alias,
            None => {
                let shown = PromptRequest { refused_keys, warned_keys, ..prompt.clone() };
                self.prompter
                    .choose_key(&shown, &offered, cancel)
                    .ok_or_else(|| Attempt::Cancel(aliases(&offered)))?
            }
        };
        let alias = alias.to_ascii_lowercase();
        if !offered.iter().any(|k| k.alias == alias) {
            return Err(Attempt::Retry(Retry::KeyNotAccepted(alias)));
        }
        let signer = store.signer(&alias).map_err(|e| match e {
            KeyStoreError::Device(device) => device_attempt(&credentials.store, device),
            other => Attempt::Retry(Retry::StoreUnusable(other.to_string())),
        })?;
        Ok((signer, aliases(&offered), alias))
    }

    fn open_store(
        &self,
        prompt: &PromptRequest,
        credentials: &Credentials,
    ) -> Result<Box<dyn KeyStore>, Attempt> {
        let allowed =
            prompt.storages.as_ref().is_none_or(|s| s.iter().any(|n| n == &credentials.store));
        if !allowed {
            let store = credentials.store.clone();
            return Err(Attempt::Retry(Retry::StorageNotAllowed(store)));
        }
        if credentials.store.is_file() {
            return open_file(credentials);
        }
        if !self.tokens.knows(&credentials.store) {
            return Err(Attempt::Retry(Retry::NoToken(credentials.store.clone())));
        }
        self.tokens
            .open(&credentials.store, &credentials.secret, credentials.remember)
            .map_err(|e| device_attempt(&credentials.store, e))
    }
}

/// The signer the user chose, the aliases offered, and the alias chosen.
type Chosen = (Box<dyn Signer>, Vec<String>, String);

/// Result of one answer that did not produce a signer.
enum Attempt {
    /// Ask again, saying why.
    Retry(Retry),
    /// The user cancelled (with the keys that were offered).
    Cancel(Vec<String>),
    /// A failure asking again cannot fix (PIN locked, token removed, …).
    Fail(ServiceError),
}

/// A token failure in the prompt: a wrong PIN or a missing token is asked again (as NCALayer's
/// dialog does); a locked PIN, a removed token or a missing mechanism ends the request.
fn device_attempt(store: &StorageName, error: DeviceError) -> Attempt {
    match error {
        DeviceError::WrongPin(tries) => Attempt::Retry(Retry::WrongPin(tries)),
        DeviceError::PinFormat(_) => Attempt::Retry(Retry::PinFormat),
        DeviceError::NotPresent => Attempt::Retry(Retry::NoToken(store.clone())),
        DeviceError::NoSuchKey => Attempt::Retry(Retry::NoMatchingKey),
        other => {
            tracing::warn!("token {store}: {other}");
            Attempt::Fail(ServiceError::Token(other))
        }
    }
}

fn open_file(credentials: &Credentials) -> Result<Box<dyn KeyStore>, Attempt> {
    let Some(path) = credentials.file.as_ref() else {
        return Err(Attempt::Retry(Retry::ChooseFile));
    };
    let bytes = std::fs::read(path).map_err(|e| {
        Attempt::Retry(Retry::Unreadable { path: path.clone(), reason: e.to_string() })
    })?;
    match Pkcs12Store::open(&bytes, &credentials.secret) {
        Ok(store) => Ok(Box::new(store)),
        Err(KeyStoreError::WrongPassword) => Err(Attempt::Retry(Retry::WrongPassword)),
        Err(e) => Err(Attempt::Retry(Retry::StoreUnusable(e.to_string()))),
    }
}

fn aliases(keys: &[KeyEntry]) -> Vec<String> {
    keys.iter().map(|k| k.alias.clone()).collect()
}

/// Runs CPU-bound work (verification) off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ServiceError::Internal(format!("verification task failed: {e}")))?
}

#[cfg(test)]
#[path = "flow_tests.rs"]
mod tests;
