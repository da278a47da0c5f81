//! Getting a key through a page (basics `generateCsr` and `importCertificate`,
//! `kz-issuance.md` §2): the user consents in a dialog that shows who asks, for whom and where
//! the key goes, picks the folder and types the new password twice; the key is made and waits
//! (`keystore::waiting`), and the page gets the request. Later the page brings the certificate:
//! it is matched to its waiting key before anyone is asked, the dialog shows what is installed
//! where, and the key's password opens it; a wrong password is asked again and nothing is lost.
//! A file store gets a GOST-2015-512 key; a token makes the key itself, opened with its PIN:
//! GOST-2015-512 (the NCA's only kind since 2024), or RSA-2048 when the request asks for it; a
//! token that cannot make the kind asked is refused before anyone is asked. The certificate is
//! written next to the key.

use std::path::PathBuf;
use std::sync::Arc;

use super::consent::{InstallAnswer, InstallPrompt, IssuanceRetry, KeyAnswer, KeyPrompt};
use super::{Guest, Service, ServiceError};
use crate::crypto::csr::RequestFields;
use crate::crypto::{DeviceError, SignatureAlgorithm};
use crate::keystore::waiting::{self, IssuanceError, Waiting};
use crate::keystore::StorageName;

/// Asks more than this many times in one request only if the user keeps trying.
const MAX_ATTEMPTS: usize = 5;

/// What a page asks for with `generateCsr`.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// Where the key goes (`PKCS12`: a folder on this computer).
    pub storage: StorageName,
    /// The subject DN, in the NCA's order.
    pub subject: String,
    /// The e-mail for the certificate.
    pub email: Option<String>,
    /// The prompt's language (else the daemon's).
    pub locale: Option<String>,
    /// The kind of key asked for (else GOST-2015-512): `Gost2015_512`, or `RsaSha256` for an
    /// RSA-2048 key on a token.
    pub algorithm: Option<SignatureAlgorithm>,
}

impl Service {
    /// basics `generateCsr`: the DER PKCS#10 of a new key the user consented to.
    pub async fn generate_csr(
        self: &Arc<Self>,
        guest: &Guest,
        request: NewKey,
    ) -> Result<Vec<u8>, ServiceError> {
        if request.storage.as_str() == crate::keystore::idcard::store::STORAGE {
            return Err(ServiceError::Unsupported(waiting::IDCARD_KEYS.into()));
        }
        if !request.storage.is_file() && !self.tokens.knows(&request.storage) {
            return Err(ServiceError::StorageUnknown);
        }
        // The subject, then whether the store can make the key, are checked before anyone is
        // asked; the second asks the token (off the async threads).
        crate::crypto::csr::name(&request.subject)
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let waiting = self.waiting()?;
        let algorithm = request.algorithm.unwrap_or(SignatureAlgorithm::Gost2015_512);
        let (check, storage) = (waiting.clone(), request.storage.clone());
        tokio::task::spawn_blocking(move || check.can_make(&storage, algorithm))
            .await
            .map_err(|e| ServiceError::Internal(format!("the store check stopped: {e}")))?
            .map_err(|e| match e {
                IssuanceError::Device(device) => ServiceError::Token(device),
                other => ServiceError::CsrFailed(other.to_string()),
            })?;
        let prompt = KeyPrompt {
            origin: guest.origin.clone(),
            trust: guest.standing.trust,
            locale: request.locale.clone().unwrap_or_else(|| self.locale()),
            subject: request.subject.clone(),
            storage: request.storage.clone(),
        };
        let fields = RequestFields {
            subject: request.subject,
            email: request.email,
            storage: request.storage.to_string(),
            folder: None,
        };
        self.in_prompt(guest.standing.clone(), move |service, cancel| {
            let mut retry = None;
            for _ in 0..MAX_ATTEMPTS {
                let made = match service.prompter.new_key(&prompt, retry, &cancel) {
                    KeyAnswer::Create { folder, password } if prompt.storage.is_file() => {
                        waiting.new_file_key(&fields, &folder, &password)
                    }
                    KeyAnswer::CreateOnToken(pin) if !prompt.storage.is_file() => {
                        waiting.new_token_key(&fields, &prompt.storage, &pin, algorithm)
                    }
                    KeyAnswer::Create { .. } | KeyAnswer::CreateOnToken(_) => {
                        return Err(ServiceError::Dialog("the answer does not fit the store".into()))
                    }
                    KeyAnswer::Cancel => return Err(ServiceError::Cancelled),
                    KeyAnswer::Failed(why) => return Err(ServiceError::Dialog(why)),
                };
                match made {
                    Ok(made) => {
                        tracing::info!(key = made.key_id, origin = ?prompt.origin, "a key was made");
                        return Ok(made.request);
                    }
                    Err(IssuanceError::PasswordRule(rule)) => {
                        retry = Some(IssuanceRetry::PasswordRule(rule));
                    }
                    Err(IssuanceError::Device(DeviceError::WrongPin(tries))) => {
                        retry = Some(IssuanceRetry::WrongPin(tries));
                    }
                    Err(IssuanceError::Device(device)) => return Err(ServiceError::Token(device)),
                    Err(other) => return Err(ServiceError::CsrFailed(other.to_string())),
                }
            }
            Err(ServiceError::TooManyAttempts)
        })
        .await
    }

    /// basics `importCertificate`: installs the certificate in `input` for its waiting key;
    /// the key's id (the alias the key chooser will show).
    pub async fn import_certificate(
        self: &Arc<Self>,
        guest: &Guest,
        input: Vec<u8>,
        locale: Option<String>,
    ) -> Result<String, ServiceError> {
        let waiting = self.waiting()?;
        let (certificate, destination) = waiting.destination(&input).map_err(|e| match e {
            IssuanceError::NotACertificate(_) | IssuanceError::NoWaitingKey => {
                ServiceError::InvalidCertificate(e.to_string())
            }
            other => ServiceError::ImportFailed(other.to_string()),
        })?;
        let prompt = InstallPrompt {
            origin: guest.origin.clone(),
            trust: guest.standing.trust,
            locale: locale.unwrap_or_else(|| self.locale()),
            subject: certificate.subject_dn(),
            issuer: certificate.issuer_dn(),
            destination,
        };
        self.in_prompt(guest.standing.clone(), move |service, cancel| {
            let mut retry = None;
            for _ in 0..MAX_ATTEMPTS {
                let password = match service.prompter.install_certificate(&prompt, retry, &cancel) {
                    InstallAnswer::Install(password) => password,
                    InstallAnswer::Cancel => return Err(ServiceError::Cancelled),
                    InstallAnswer::Failed(why) => return Err(ServiceError::Dialog(why)),
                };
                match waiting.install(&input, &password) {
                    Ok(installed) => {
                        let to = installed.destination.to_string();
                        tracing::info!(to, "a certificate was installed");
                        return Ok(installed.key_id);
                    }
                    Err(IssuanceError::WrongPassword) => retry = Some(IssuanceRetry::WrongPassword),
                    Err(IssuanceError::Device(device)) => return Err(ServiceError::Token(device)),
                    Err(e @ (IssuanceError::NotACertificate(_) | IssuanceError::NoWaitingKey)) => {
                        return Err(ServiceError::InvalidCertificate(e.to_string()))
                    }
                    Err(other) => return Err(ServiceError::ImportFailed(other.to_string())),
                }
            }
            Err(ServiceError::TooManyAttempts)
        })
        .await
    }

    /// The waiting keys, when the daemon has a data directory for them.
    fn waiting(&self) -> Result<Waiting, ServiceError> {
        let dir: Option<PathBuf> = self.waiting_dir.clone();
        dir.map(|dir| Waiting::with_tokens(dir, Arc::clone(&self.tokens)))
            .ok_or_else(|| ServiceError::Unsupported("no folder for new keys is configured".into()))
    }
}
