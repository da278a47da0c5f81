//! Hardware tokens over PKCS#11 (OASIS PKCS#11 v2.40 base specification and current
//! mechanisms): the module registry ([`registry`]), one worker thread per module
//! ([`worker`]), the token operations ([`token`]), the store and signer the service uses
//! ([`store`], [`signer`]), what each module has now for `qoltanba doctor` ([`survey`]) and the
//! GOST mechanisms ([`gost_mech`], with the two raw calls cryptoki cannot express in
//! `raw`). The service sees only [`crate::keystore::TokenStores`]; no cryptoki type leaves this
//! module. A PIN the user asked to remember is kept only in locked memory
//! ([`crate::platform::locked`]); if memory cannot be locked it is not remembered. See
//! `docs/tokens.md`.

mod errors;
pub mod gost_mech;
mod raw;
pub mod registry;
mod signer;
mod store;
pub mod survey;
mod token;
mod worker;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret as _, SecretString};

pub use registry::ModuleRegistry;
pub(crate) use signer::rsa_plan;
pub use signer::TokenSigner;
pub use store::TokenStore;

use super::{KeyEntry, KeyStore, StorageName, TokenStores};
use crate::crypto::{DeviceError, SignatureAlgorithm};
use crate::platform::locked::LockedSecrets;
use store::KeyRef;
use worker::Worker;

/// The longest a PIN may be remembered ("remember for N minutes" is capped to this).
pub const MAX_REMEMBER: Duration = Duration::from_secs(30 * 60);

/// The token stores of a [`ModuleRegistry`]: one worker per distinct module path.
pub struct Pkcs11Tokens {
    storages: Vec<(String, Vec<Arc<Worker>>)>,
    /// Remembered PINs by (module, token serial), in a page locked against swap; created on
    /// the first "remember", `None` while nothing was remembered or if locking failed.
    pins: Mutex<Option<LockedSecrets<(PathBuf, String)>>>,
}

impl std::fmt::Debug for Pkcs11Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.storages.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Pkcs11Tokens").field("storages", &names).finish_non_exhaustive()
    }
}

impl Pkcs11Tokens {
    /// Starts one worker per module path of `registry` (modules load on first use).
    pub fn new(registry: &ModuleRegistry) -> Self {
        let mut workers: HashMap<PathBuf, Arc<Worker>> = HashMap::new();
        let storages = registry
            .entries()
            .map(|(name, paths)| {
                let list = paths
                    .iter()
                    .map(|p| {
                        Arc::clone(
                            workers.entry(p.clone()).or_insert_with(|| Arc::new(Worker::spawn(p))),
                        )
                    })
                    .collect();
                (name.to_string(), list)
            })
            .collect();
        Self { storages, pins: Mutex::new(None) }
    }

    fn workers(&self, storage: &StorageName) -> Result<&[Arc<Worker>], DeviceError> {
        self.storages
            .iter()
            .find(|(name, _)| name == storage.as_str())
            .map(|(_, workers)| &workers[..])
            .ok_or(DeviceError::NotPresent)
    }

    /// The serial numbers of the tokens a module has now (none if it is absent or failed).
    fn tokens(worker: &Worker) -> Vec<String> {
        worker
            .run(token::present)
            .map(|tokens| tokens.into_iter().map(|(_, t)| t.serial).collect())
            .unwrap_or_default()
    }

    /// The PIN to use: the one given, or a remembered one when the given one is empty.
    fn pin_for(&self, worker: &Worker, serial: &str, given: &SecretString) -> SecretString {
        if !given.expose_secret().is_empty() {
            return given.clone();
        }
        let key = (worker.path().to_path_buf(), serial.to_string());
        let Ok(mut pins) = self.pins.lock() else { return given.clone() };
        let remembered = pins.as_mut().and_then(|p| p.recall(&key, Instant::now()));
        remembered.unwrap_or_else(|| given.clone())
    }

    /// Remembers `pin` in locked memory; if memory cannot be locked, remembers nothing.
    fn remember(&self, worker: &Worker, serial: &str, pin: &SecretString, how_long: Duration) {
        let until = Instant::now() + how_long.min(MAX_REMEMBER);
        let Ok(mut pins) = self.pins.lock() else { return };
        if pins.is_none() {
            *pins = LockedSecrets::new()
                .inspect_err(|e| tracing::warn!("the PIN is not remembered: {e}"))
                .ok();
        }
        let key = (worker.path().to_path_buf(), serial.to_string());
        if let Some(Err(e)) = pins.as_mut().map(|p| p.store(key, pin, until)) {
            tracing::warn!("the PIN is not remembered: {e}");
        }
    }
}

impl Pkcs11Tokens {
    /// Drops a remembered PIN (after any failed unlock, so a stale PIN is never tried again).
    fn forget(&self, worker: &Worker, serial: &str) {
        if let Ok(mut pins) = self.pins.lock() {
            if let Some(pins) = pins.as_mut() {
                pins.forget(&(worker.path().to_path_buf(), serial.to_string()));
            }
        }
    }
}

impl Pkcs11Tokens {
    /// The first token of `storage` present now, with its worker: where new keys are made.
    fn first_token(&self, storage: &StorageName) -> Option<(&Arc<Worker>, String)> {
        self.workers(storage)
            .ok()?
            .iter()
            .find_map(|w| Some((w, Self::tokens(w).into_iter().next()?)))
    }

    /// The worker whose module has the token `serial` of `storage` now.
    fn worker_of(&self, storage: &StorageName, serial: &str) -> Result<&Arc<Worker>, DeviceError> {
        self.workers(storage)?
            .iter()
            .find(|w| Self::tokens(w).iter().any(|s| s == serial))
            .ok_or(DeviceError::Removed)
    }
}

impl TokenStores for Pkcs11Tokens {
    fn key_algorithms(
        &self,
        storage: &StorageName,
    ) -> Result<Vec<SignatureAlgorithm>, DeviceError> {
        let (worker, serial) = self.first_token(storage).ok_or(DeviceError::NotPresent)?;
        worker.run(move |m| token::key_algorithms(m, &serial))
    }

    fn destroy_key(
        &self,
        storage: &StorageName,
        key: &super::TokenKey,
        pin: &SecretString,
    ) -> Result<(), DeviceError> {
        let worker = self.worker_of(storage, &key.serial)?;
        let (serial, id, pin) = (key.serial.clone(), key.id.clone(), pin.clone());
        worker.run(move |m| token::destroy(m, &serial, &pin, &id))
    }

    fn generate_key(
        &self,
        storage: &StorageName,
        pin: &SecretString,
        label: &str,
        algorithm: SignatureAlgorithm,
    ) -> Result<super::TokenKey, DeviceError> {
        let (worker, serial) = self.first_token(storage).ok_or(DeviceError::NotPresent)?;
        let (s, p, l) = (serial.clone(), pin.clone(), label.to_string());
        let made = worker.run(move |m| token::generate(m, &s, &p, &l, algorithm))?;
        Ok(super::TokenKey { serial, id: made.id, spki: made.spki })
    }

    fn sign_message(
        &self,
        storage: &StorageName,
        key: &super::TokenKey,
        pin: &SecretString,
        algorithm: SignatureAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, DeviceError> {
        let worker = self.worker_of(storage, &key.serial)?;
        let (serial, id, pin) = (key.serial.clone(), key.id.clone(), pin.clone());
        let payload = token::Payload::Message(message.to_vec());
        worker.run(move |m| token::sign(m, &serial, &id, &pin, algorithm, &payload))
    }

    fn store_certificate(
        &self,
        storage: &StorageName,
        key: &super::TokenKey,
        pin: &SecretString,
        certificate: &crate::crypto::Certificate,
    ) -> Result<(), DeviceError> {
        use der::Encode as _;
        let worker = self.worker_of(storage, &key.serial)?;
        let subject = certificate
            .inner()
            .tbs_certificate
            .subject
            .to_der()
            .map_err(|e| DeviceError::Failed(format!("the certificate's subject: {e}")))?;
        let (serial, id, pin, der) =
            (key.serial.clone(), key.id.clone(), pin.clone(), certificate.der().to_vec());
        worker.run(move |m| token::store_certificate(m, &serial, &pin, &id, &der, &subject))
    }

    fn knows(&self, storage: &StorageName) -> bool {
        self.storages.iter().any(|(name, _)| name == storage.as_str())
    }

    fn present(&self) -> Vec<StorageName> {
        self.storages
            .iter()
            .filter(|(_, workers)| workers.iter().any(|w| !Self::tokens(w).is_empty()))
            .filter_map(|(name, _)| StorageName::parse(name).ok())
            .collect()
    }

    fn list(&self, storage: &StorageName) -> Result<Vec<KeyEntry>, DeviceError> {
        let mut entries = Vec::new();
        let mut any = false;
        for worker in self.workers(storage)? {
            for serial in Self::tokens(worker) {
                any = true;
                let objects = worker.run(move |m| token::public_certificates(m, &serial))?;
                entries.extend(objects.iter().filter_map(store::entry));
            }
        }
        any.then_some(entries).ok_or(DeviceError::NotPresent)
    }

    fn open(
        &self,
        storage: &StorageName,
        pin: &SecretString,
        remember: Option<Duration>,
    ) -> Result<Box<dyn KeyStore>, DeviceError> {
        let mut store = TokenStore::new();
        let mut any = false;
        for worker in self.workers(storage)? {
            for serial in Self::tokens(worker) {
                any = true;
                let pin = self.pin_for(worker, &serial, pin);
                let (s, p) = (serial.clone(), pin.clone());
                let objects = worker.run(move |m| token::unlock(m, &s, &p)).inspect_err(|_| {
                    self.forget(worker, &serial);
                })?;
                if let Some(how_long) = remember.filter(|d| !d.is_zero()) {
                    self.remember(worker, &serial, &pin, how_long);
                }
                let key = KeyRef { worker: Arc::clone(worker), serial, id: Vec::new(), pin };
                store.add(objects, &key);
            }
        }
        if !any {
            return Err(DeviceError::NotPresent);
        }
        Ok(Box::new(store))
    }
}
