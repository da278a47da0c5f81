//! Whether a signer's certificate is revoked, asked before it signs: OCSP first (the responder
//! of the certificate's AIA, or `[revocation] ocsp_url`), then the CRLs of its distribution
//! points, each CRL kept on disk until its nextUpdate. Every answer is checked (`pki::ocsp`,
//! `pki::crl`) before it is believed. When neither can be had the status is unknown, and
//! `[revocation] offline` decides (`docs/decisions.md`, "Revocation").

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand_core::{OsRng, RngCore as _};
use time::OffsetDateTime;

use crate::crypto::{hex, Certificate, HashAlgorithm};
use crate::pki::crl::{self, Crl, CrlStatus};
use crate::pki::ocsp::{self, OcspStatus};
use crate::platform::http::Fetch;

/// Largest OCSP answer read.
const MAX_OCSP: usize = 1024 * 1024;
/// Largest CRL read (the NCA's are a few hundred KiB).
const MAX_CRL: usize = 64 * 1024 * 1024;

/// What is known of a certificate's revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// Not revoked, by the source named.
    Good {
        /// `OCSP <url>` or `CRL <url>`.
        source: String,
    },
    /// Revoked.
    Revoked {
        /// When.
        at: OffsetDateTime,
        /// The CRL/OCSP reason, when given.
        reason: Option<String>,
    },
    /// Neither OCSP nor a CRL could be had (offline, or answers that did not check out).
    Unknown {
        /// What was tried and why it failed.
        why: String,
    },
}

/// How long an answer is remembered in memory: a good or revoked status for 5 minutes (a
/// portal signing 100 documents a minute asks once), an unknown one for 1 minute (an offline
/// daemon does not wait on the network for every signature).
const KNOWN_FOR: Duration = Duration::from_secs(300);
const UNKNOWN_FOR: Duration = Duration::from_secs(60);

/// Asks OCSP responders and CRL distribution points.
pub struct RevocationChecker {
    fetch: Arc<dyn Fetch>,
    ocsp_url: Option<String>,
    cache: Option<PathBuf>,
    recent: Mutex<HashMap<Vec<u8>, (Revocation, Instant)>>,
}

impl std::fmt::Debug for RevocationChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationChecker")
            .field("ocsp_url", &self.ocsp_url)
            .finish_non_exhaustive()
    }
}

impl RevocationChecker {
    /// A checker fetching through `fetch`; `ocsp_url` replaces the certificates' own
    /// responders; CRLs are kept in `cache` (a directory) when given.
    pub fn new(fetch: Arc<dyn Fetch>, ocsp_url: Option<String>, cache: Option<PathBuf>) -> Self {
        Self { fetch, ocsp_url, cache, recent: Mutex::default() }
    }

    /// The revocation of `certificate` issued by `issuer`, as of `now`: remembered for a
    /// while ([`KNOWN_FOR`], [`UNKNOWN_FOR`]), else asked. Blocking.
    pub fn status(
        &self,
        certificate: &Certificate,
        issuer: &Certificate,
        now: OffsetDateTime,
    ) -> Revocation {
        let key = HashAlgorithm::Sha256.digest(&[certificate.der(), issuer.der()].concat());
        let remembered = self.recent.lock().ok().and_then(|recent| {
            recent.get(&key).filter(|(_, until)| Instant::now() < *until).map(|(r, _)| r.clone())
        });
        if let Some(revocation) = remembered {
            return revocation;
        }
        let revocation = self.ask(certificate, issuer, now);
        let keep = match revocation {
            Revocation::Unknown { .. } => UNKNOWN_FOR,
            _ => KNOWN_FOR,
        };
        if let Ok(mut recent) = self.recent.lock() {
            recent.retain(|_, (_, until)| Instant::now() < *until);
            recent.insert(key, (revocation.clone(), Instant::now() + keep));
        }
        revocation
    }

    fn ask(
        &self,
        certificate: &Certificate,
        issuer: &Certificate,
        now: OffsetDateTime,
    ) -> Revocation {
        let mut failures = Vec::new();
        match self.by_ocsp(certificate, issuer, now) {
            Ok(Some(found)) => return found,
            Ok(None) => {}
            Err(why) => failures.push(why),
        }
        for url in crl::distribution_points(certificate) {
            match self.by_crl(&url, certificate, issuer, now) {
                Ok(found) => return found,
                Err(why) => failures.push(why),
            }
        }
        if failures.is_empty() {
            failures.push("the certificate names no OCSP responder and no CRL".into());
        }
        let why = failures.join("; ");
        tracing::warn!(serial = %certificate.serial_hex(), "revocation unknown: {why}");
        Revocation::Unknown { why }
    }

    /// `Ok(None)`: no responder to ask, or one that does not know the certificate.
    fn by_ocsp(
        &self,
        certificate: &Certificate,
        issuer: &Certificate,
        now: OffsetDateTime,
    ) -> Result<Option<Revocation>, String> {
        let Some(url) = self.ocsp_url.clone().or_else(|| ocsp::responder_url(certificate)) else {
            return Ok(None);
        };
        let mut nonce = [0_u8; 16];
        OsRng.fill_bytes(&mut nonce);
        let failed = |e: &dyn std::fmt::Display| format!("OCSP {url}: {e}");
        let request = ocsp::request(certificate, issuer, nonce).map_err(|e| failed(&e))?;
        let answer = self
            .fetch
            .post(&url, "application/ocsp-request", &request.der, MAX_OCSP)
            .map_err(|e| failed(&e))?;
        let answer =
            ocsp::check(&answer, certificate, issuer, Some(&nonce), now).map_err(|e| failed(&e))?;
        Ok(match answer.status {
            OcspStatus::Good => Some(Revocation::Good { source: format!("OCSP {url}") }),
            OcspStatus::Revoked { at, reason } => Some(Revocation::Revoked { at, reason }),
            OcspStatus::Unknown => None,
        })
    }

    fn by_crl(
        &self,
        url: &str,
        certificate: &Certificate,
        issuer: &Certificate,
        now: OffsetDateTime,
    ) -> Result<Revocation, String> {
        let crl = match self.cached(url, issuer, now) {
            Some(crl) => crl,
            None => self.download(url, issuer, now)?,
        };
        Ok(match crl.status(certificate) {
            CrlStatus::Good => Revocation::Good { source: format!("CRL {url}") },
            CrlStatus::Revoked { at, reason } => Revocation::Revoked { at, reason },
        })
    }

    /// A CRL fetched from `url`, checked to be `issuer`'s and current, and kept on disk.
    fn download(
        &self,
        url: &str,
        issuer: &Certificate,
        now: OffsetDateTime,
    ) -> Result<Crl, String> {
        let failed = |e: &dyn std::fmt::Display| format!("CRL {url}: {e}");
        let bytes = self.fetch.get(url, MAX_CRL).map_err(|e| failed(&e))?;
        let crl = Crl::from_pem_or_der(&bytes).map_err(|e| failed(&e))?;
        usable(&crl, issuer, now).map_err(|e| failed(&e))?;
        if let Some(file) = self.cache_file(url) {
            let written = file
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&file, crl.der()));
            if let Err(e) = written {
                tracing::warn!("cannot keep the CRL in {}: {e}", file.display());
            }
        }
        Ok(crl)
    }

    /// The CRL of `url` kept on disk, while it is current and `issuer`'s.
    fn cached(&self, url: &str, issuer: &Certificate, now: OffsetDateTime) -> Option<Crl> {
        let bytes = std::fs::read(self.cache_file(url)?).ok()?;
        let crl = Crl::from_der(&bytes).ok()?;
        usable(&crl, issuer, now).ok().map(|()| crl)
    }

    fn cache_file(&self, url: &str) -> Option<PathBuf> {
        let name = hex(&HashAlgorithm::Sha256.digest(url.as_bytes()));
        self.cache.as_ref().map(|dir| dir.join(format!("{name}.crl")))
    }
}

/// A CRL may be believed for `issuer`'s certificates at `now`.
fn usable(crl: &Crl, issuer: &Certificate, now: OffsetDateTime) -> Result<(), String> {
    if !crl.is_for(issuer) {
        return Err("the CRL is not the certificate's CA's".into());
    }
    crl.verify_signed_by(issuer).map_err(|e| e.to_string())?;
    match crl.is_current(now) {
        true => Ok(()),
        false => Err("the CRL is out of date (past its nextUpdate)".into()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::platform::http::FetchError;

    /// A network that is down, counting what is asked of it.
    #[derive(Default)]
    struct Down(AtomicUsize);

    impl Fetch for Down {
        fn post(&self, url: &str, _: &str, _: &[u8], _: usize) -> Result<Vec<u8>, FetchError> {
            self.get(url, 0)
        }

        fn get(&self, url: &str, _: usize) -> Result<Vec<u8>, FetchError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Err(FetchError::Status { code: 503, url: url.to_string() })
        }
    }

    fn certificate(path: &str) -> Certificate {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/nca")
            .join(path);
        Certificate::from_pem_or_der(&std::fs::read(file).expect("fixture")).expect("certificate")
    }

    #[test]
    fn an_unknown_status_is_remembered_so_a_burst_does_not_wait_on_the_network() {
        let down = Arc::new(Down::default());
        let checker = RevocationChecker::new(down.clone(), None, None);
        let key = certificate("ncanode-2022/certs/ceo_valid_sign_2004_gost.cer");
        let ca = certificate("ncanode-2022/ca/nca_gost_test.crt");
        let now = key.not_before() + time::Duration::days(1);
        let first = checker.status(&key, &ca, now);
        assert!(
            matches!(&first, Revocation::Unknown { why } if why.contains("OCSP") && why.contains("CRL")),
            "{first:?}"
        );
        let asked = down.0.load(Ordering::SeqCst);
        assert!(asked >= 2, "OCSP and the CRL were tried: {asked}");
        for _ in 0..100 {
            assert_eq!(checker.status(&key, &ca, now), first);
        }
        assert_eq!(down.0.load(Ordering::SeqCst), asked, "100 more signatures asked nothing");
    }
}
