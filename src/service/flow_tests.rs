//! In-process tests of the request flow (issue 11): every path of a prompt, with an in-process
//! scripted user, a real NCA key file, and a token stand-in that fails the way tokens do. Each
//! test also checks that the prompt ended exactly once, with the outcome the user saw.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::*;
use crate::crypto::PinTries;
use crate::service::audit::Journal;
use crate::service::policy::OriginPolicy;
use crate::service::{Caller, Documents, ErrorKind, Guest};

const PASSWORD: &str = "Qwerty12";
const PIN: &str = "1234";
const TOKEN: &str = "AKKaztokenStore";
const PKCS12: &str = crate::keystore::storage::PKCS12;

fn name(text: &str) -> StorageName {
    StorageName::parse(text).expect("storage name")
}

fn key_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "../shared/fixtures/nca/legacy-2020/personal/active/\
         RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9.p12",
    )
}

/// What the scripted user does at one prompt.
enum Step {
    /// Approves the key file with this password.
    File(&'static str),
    /// Approves the token with this PIN.
    Pin(&'static str),
    /// Approves the ID card with this PIN.
    Card(&'static str),
    /// Waits (up to 10 s) until the request is cancelled, then answers Cancel.
    WaitForCancel,
}

/// An in-process user: answers from a script, records why it was asked again and how each
/// prompt ended.
#[derive(Default)]
struct User {
    steps: Mutex<VecDeque<Step>>,
    retries: Mutex<Vec<Option<Retry>>>,
    outcomes: Mutex<Vec<&'static str>>,
}

impl User {
    fn with(steps: Vec<Step>) -> Arc<Self> {
        Arc::new(Self { steps: Mutex::new(steps.into()), ..Self::default() })
    }

    fn outcomes(&self) -> Vec<&'static str> {
        self.outcomes.lock().expect("lock").clone()
    }

    fn retries(&self) -> Vec<Option<Retry>> {
        self.retries.lock().expect("lock").clone()
    }
}

fn approve(store: &str, file: Option<PathBuf>, secret: &str) -> PromptAnswer {
    PromptAnswer::Approve(Credentials::chosen(name(store), file, SecretString::from(secret), false))
}

impl Prompter for User {
    fn ask(&self, _: &PromptRequest, retry: Option<&Retry>, cancel: &Cancel) -> PromptAnswer {
        self.retries.lock().expect("lock").push(retry.cloned());
        match self.steps.lock().expect("lock").pop_front() {
            Some(Step::File(password)) => approve(PKCS12, Some(key_file()), password),
            Some(Step::Pin(pin)) => approve(TOKEN, None, pin),
            Some(Step::Card(pin)) => approve(crate::keystore::idcard::store::STORAGE, None, pin),
            Some(Step::WaitForCancel) => {
                for _ in 0..1000 {
                    if cancel.is_cancelled() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                PromptAnswer::Cancel
            }
            None => PromptAnswer::Cancel,
        }
    }

    fn choose_key(&self, _: &PromptRequest, keys: &[KeyEntry], _: &Cancel) -> Option<String> {
        keys.first().map(|k| k.alias.clone())
    }

    fn choose_file(
        &self,
        _: Option<&crate::service::Origin>,
        _: &str,
        _: &Cancel,
    ) -> Option<PathBuf> {
        None
    }

    fn finish(&self, _: &PromptRequest, outcome: &PromptOutcome) {
        self.outcomes.lock().expect("lock").push(outcome.result);
    }
}

/// How the token stand-in fails.
#[derive(Clone, Copy, PartialEq)]
enum Token {
    /// Opens with [`PIN`]; a wrong PIN leaves few tries.
    Works,
    /// Every login is refused: the PIN is locked.
    Locked,
    /// Opens and lists its key, but the token is gone when the key is opened for signing.
    RemovedBeforeSigning,
}

/// A token whose key is the NCA key file's, opened with [`PIN`].
struct Tokens(Token);

/// The key store a token opens to.
struct TokenStore {
    inner: Pkcs12Store,
    removed: bool,
}

impl KeyStore for TokenStore {
    fn keys(&self) -> &[KeyEntry] {
        self.inner.keys()
    }

    fn signer(&self, alias: &str) -> Result<Box<dyn Signer>, KeyStoreError> {
        if self.removed {
            return Err(KeyStoreError::Device(DeviceError::Removed));
        }
        self.inner.signer(alias)
    }
}

impl TokenStores for Tokens {
    fn knows(&self, storage: &StorageName) -> bool {
        storage.as_str() == TOKEN
    }

    fn present(&self) -> Vec<StorageName> {
        vec![name(TOKEN)]
    }

    fn list(&self, _: &StorageName) -> Result<Vec<KeyEntry>, DeviceError> {
        Ok(Vec::new())
    }

    fn open(
        &self,
        _: &StorageName,
        pin: &SecretString,
        _: Option<Duration>,
    ) -> Result<Box<dyn KeyStore>, DeviceError> {
        match self.0 {
            Token::Locked => return Err(DeviceError::PinLocked),
            _ if pin.expose_secret() != PIN => return Err(DeviceError::WrongPin(PinTries::Few)),
            _ => {}
        }
        let bytes = std::fs::read(key_file()).map_err(|e| DeviceError::Failed(e.to_string()))?;
        let inner = Pkcs12Store::open(&bytes, &SecretString::from(PASSWORD))
            .map_err(|e| DeviceError::Failed(e.to_string()))?;
        Ok(Box::new(TokenStore { inner, removed: self.0 == Token::RemovedBeforeSigning }))
    }
}

/// A service over `user` and `tokens`, journaling into `journal`.
fn service(user: &Arc<User>, tokens: Token, journal: PathBuf) -> (Arc<Service>, Guest) {
    let security = Security::new(OriginPolicy::default(), Some(Journal::new(journal)));
    let prompter: Arc<dyn Prompter> = user.clone();
    let service = Service::with_security(
        prompter,
        ServiceSettings::default(),
        Arc::new(Tokens(tokens)),
        security,
    );
    let caller = Caller::from_header(Some("https://egov.kz"));
    let guest = service.admit(&caller).expect("a built-in portal is admitted");
    (service, guest)
}

fn request(storage: &str) -> SignRequest {
    SignRequest {
        documents: Documents::Cms { attached: false, data: vec![b"invoice".to_vec().into()] },
        filter: KeyFilter::default(),
        storages: Some(vec![name(storage)]),
        allow_expired: true,
        locale: None,
        logo: None,
        time_stamp: false,
        chain: crate::service::ChainRule::Trusted,
        allow_revoked: false,
    }
}

fn journal_lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map(|t| t.lines().count()).unwrap_or(0)
}

#[tokio::test]
async fn a_wrong_password_is_asked_again_then_the_right_one_signs() {
    let dir = tempfile::tempdir().expect("dir");
    let journal = dir.path().join("journal.jsonl");
    let user = User::with(vec![Step::File("wrong"), Step::File(PASSWORD)]);
    let (service, guest) = service(&user, Token::Works, journal.clone());
    let outcome = service.sign(&guest, request(PKCS12)).await.expect("signed");
    assert_eq!(outcome.signatures.len(), 1);
    assert_eq!(user.retries(), vec![None, Some(Retry::WrongPassword)]);
    assert_eq!(user.outcomes(), vec!["signed"], "one outcome for the prompt");
    assert_eq!(journal_lines(&journal), 1);
}

#[tokio::test]
async fn a_wrong_pin_with_tries_left_is_asked_again_then_the_right_one_signs() {
    let dir = tempfile::tempdir().expect("dir");
    let user = User::with(vec![Step::Pin("0000"), Step::Pin(PIN)]);
    let (service, guest) = service(&user, Token::Works, dir.path().join("j"));
    service.sign(&guest, request(TOKEN)).await.expect("signed on the token");
    assert_eq!(user.retries(), vec![None, Some(Retry::WrongPin(PinTries::Few))]);
    assert_eq!(user.outcomes(), vec!["signed"]);
}

#[tokio::test]
async fn a_locked_pin_ends_the_request_without_asking_again() {
    let dir = tempfile::tempdir().expect("dir");
    let journal = dir.path().join("journal.jsonl");
    let user = User::with(vec![Step::Pin(PIN), Step::Pin(PIN)]);
    let (service, guest) = service(&user, Token::Locked, journal.clone());
    let error = service.sign(&guest, request(TOKEN)).await.expect_err("locked");
    assert_eq!(error.kind(), ErrorKind::PinLocked, "{error}");
    assert_eq!(user.retries(), vec![None], "asked once");
    assert_eq!(user.outcomes(), vec!["failed"]);
    assert_eq!(journal_lines(&journal), 0, "nothing was signed");
}

#[tokio::test]
async fn a_token_removed_between_listing_and_signing_fails_clearly() {
    let dir = tempfile::tempdir().expect("dir");
    let journal = dir.path().join("journal.jsonl");
    let user = User::with(vec![Step::Pin(PIN)]);
    let (service, guest) = service(&user, Token::RemovedBeforeSigning, journal.clone());
    let error = service.sign(&guest, request(TOKEN)).await.expect_err("removed");
    assert_eq!(error.kind(), ErrorKind::TokenRemoved, "{error}");
    assert_eq!(user.outcomes(), vec!["failed"]);
    assert_eq!(journal_lines(&journal), 0);
}

#[tokio::test]
async fn no_signature_leaves_when_the_journal_cannot_be_written() {
    let dir = tempfile::tempdir().expect("dir");
    let journal = dir.path().join("no-such-directory").join("journal.jsonl");
    let user = User::with(vec![Step::File(PASSWORD)]);
    let (service, guest) = service(&user, Token::Works, journal);
    let error = service.sign(&guest, request(PKCS12)).await.expect_err("withheld");
    assert!(matches!(error, ServiceError::Journal(_)), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Internal);
    assert_eq!(user.outcomes(), vec!["failed"], "the user is told it failed");
}

#[tokio::test]
async fn a_client_gone_cancels_its_open_prompt_once() {
    let dir = tempfile::tempdir().expect("dir");
    let user = User::with(vec![Step::WaitForCancel]);
    let (service, guest) = service(&user, Token::Works, dir.path().join("j"));
    let task = tokio::spawn(async move { service.sign(&guest, request(PKCS12)).await });
    while user.retries().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    task.abort();
    for _ in 0..500 {
        if !user.outcomes().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(user.outcomes(), vec!["cancelled"], "the prompt ended once, as cancelled");
}

#[tokio::test]
async fn a_cancelled_prompt_is_one_cancelled_outcome() {
    let dir = tempfile::tempdir().expect("dir");
    let user = User::with(Vec::new());
    let (service, guest) = service(&user, Token::Works, dir.path().join("j"));
    let error = service.sign(&guest, request(PKCS12)).await.expect_err("cancelled");
    assert_eq!(error.kind(), ErrorKind::Cancelled);
    assert_eq!(user.outcomes(), vec!["cancelled"]);
}

#[tokio::test]
async fn a_card_that_refuses_sha256_signs_the_request_again_with_sha1() {
    use crate::keystore::idcard::sim::{Kept, SimCard, SimConfig, SimReaders};
    use crate::keystore::idcard::store::IdCardStores;
    let config = SimConfig { sha256: false, certificates: Kept::Pkcs15, ..SimConfig::default() };
    let readers = SimReaders::new(SimCard::new(config));
    let dir = tempfile::tempdir().expect("dir");
    let tokens = IdCardStores::new(Arc::new(readers.clone()), dir.path().join("idcard"));
    let user = User::with(vec![Step::Card(PIN)]);
    let prompter: Arc<dyn Prompter> = user.clone();
    let security = Security::new(OriginPolicy::default(), None);
    let service =
        Service::with_security(prompter, ServiceSettings::default(), Arc::new(tokens), security);
    let guest = service.admit(&Caller::from_header(Some("https://egov.kz"))).expect("admitted");
    let document = b"invoice on the card".to_vec();
    let request = SignRequest {
        documents: Documents::Cms { attached: true, data: vec![document.clone().into()] },
        chain: crate::service::ChainRule::Any,
        ..request(crate::keystore::idcard::store::STORAGE)
    };
    let outcome = service.sign(&guest, request).await.expect("signed with SHA-1");
    assert_eq!(user.outcomes(), vec!["signed"]);

    // libcrypto verifies the CMS against the card's certificate, and its digest is SHA-1.
    let certificate = openssl::x509::X509::from_der(outcome.certificate.der()).expect("cert");
    let mut trusted = openssl::x509::store::X509StoreBuilder::new().expect("store");
    trusted.add_cert(certificate).expect("add");
    let trusted = trusted.build();
    let der = &outcome.signatures[0];
    let mut cms = openssl::cms::CmsContentInfo::from_der(der).expect("CMS");
    let mut inside = Vec::new();
    let flags = openssl::cms::CMSOptions::BINARY;
    cms.verify(None, Some(&trusted), None, Some(&mut inside), flags).expect("libcrypto verifies");
    assert_eq!(inside, document);
    let sha1 = [0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A];
    assert!(der.windows(sha1.len()).any(|w| w == sha1), "SHA-1 named in the CMS");
    let pins =
        readers.with_card(|c| c.received.iter().filter(|c| c[1] == 0x20 && c.len() > 4).count());
    assert_eq!(pins, Some(1), "signed again without asking the PIN again");
}
