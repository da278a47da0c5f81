//! Time-stamps from the TSA for CAdES-T (`docs/decisions.md`, "Time-stamps"): each signer of a
//! CMS that has none gets a token over its signature value from the configured TSA (RFC 3161
//! over HTTP), checked before it is added: the token's own signature and ESS, the TSA
//! certificate's chain to a trusted CA at genTime, and that it answers this query (imprint,
//! nonce, policy). Any failure is an error: a signature is never returned unstamped when a
//! stamp was asked for.

use std::sync::Arc;

use rand_core::{OsRng, RngCore as _};

use super::ServiceError;
use crate::pki::trust::TrustStore;
use crate::platform::http::Fetch;
use crate::sign::cades_t::{self, Unstamped};
use crate::sign::tsp::{self, Query};

/// Largest TSA answer read (a token with its certificate chain is a few KiB).
const MAX_ANSWER: usize = 256 * 1024;
/// At most this many time-stamp exchanges at once, all callers together.
const MAX_AT_ONCE: usize = 4;

/// Where time-stamps come from and what they must chain to.
pub struct TimeStamper {
    url: String,
    fetch: Arc<dyn Fetch>,
    trust: Arc<TrustStore>,
    slots: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

impl std::fmt::Debug for TimeStamper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeStamper").field("url", &self.url).finish_non_exhaustive()
    }
}

impl TimeStamper {
    /// Stamps from the TSA at `url`, fetched through `fetch`, its certificate checked by `trust`.
    pub fn new(url: &str, fetch: Arc<dyn Fetch>, trust: Arc<TrustStore>) -> Self {
        let slots = std::sync::Mutex::new(MAX_AT_ONCE);
        Self { url: url.to_string(), fetch, trust, slots, freed: std::sync::Condvar::new() }
    }

    /// The TSA's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `cms` with a verified time-stamp on every signer that had none. Blocking: call it from
    /// a blocking thread.
    pub fn stamp(&self, cms: &[u8]) -> Result<Vec<u8>, ServiceError> {
        let mut stamped = cms.to_vec();
        for signer in cades_t::unstamped(cms)? {
            let token = self.token_for(&signer)?;
            stamped = cades_t::add_time_stamp(&stamped, signer.index, &token)?;
        }
        Ok(stamped)
    }

    /// `cms` with a verified time-stamp on its last signer (the one just added), leaving the
    /// other signers as they are.
    pub fn stamp_newest(&self, cms: &[u8]) -> Result<Vec<u8>, ServiceError> {
        match cades_t::unstamped(cms)?.into_iter().find(|s| s.newest) {
            Some(newest) => {
                let token = self.token_for(&newest)?;
                Ok(cades_t::add_time_stamp(cms, newest.index, &token)?)
            }
            None => Ok(cms.to_vec()),
        }
    }

    /// A checked token over one signer's signature.
    fn token_for(&self, signer: &Unstamped) -> Result<Vec<u8>, ServiceError> {
        let mut nonce = [0_u8; 8];
        OsRng.fill_bytes(&mut nonce);
        let hash = signer.algorithm.hash();
        let query = Query::new(&signer.signature, hash, tsp::policy_for(signer.algorithm), nonce)?;
        let answer = self.exchange(&query.der)?;
        let token = tsp::token_of_response(&answer).map_err(|e| failed(&self.url, e))?;
        let stamp = tsp::verify_token(&token).map_err(|e| failed(&self.url, e))?;
        stamp.answers(&query).map_err(|e| failed(&self.url, e))?;
        self.trust.chain(&stamp.tsa, &[], stamp.gen_time).map_err(|e| failed(&self.url, e))?;
        tracing::info!(tsa = %self.url, gen_time = %stamp.gen_time, "time-stamp received");
        Ok(token)
    }

    /// POSTs the query, at most [`MAX_AT_ONCE`] at a time.
    fn exchange(&self, query: &[u8]) -> Result<Vec<u8>, ServiceError> {
        let _slot = self.slot();
        self.fetch
            .post(&self.url, "application/timestamp-query", query, MAX_ANSWER)
            .map_err(|e| failed(&self.url, e))
    }

    fn slot(&self) -> Slot<'_> {
        let mut free = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *free -= 1;
        Slot(self)
    }
}

/// One of the [`MAX_AT_ONCE`] exchanges; given back when dropped.
struct Slot<'a>(&'a TimeStamper);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut free = self.0.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *free += 1;
        self.0.freed.notify_one();
    }
}

fn failed(url: &str, error: impl std::fmt::Display) -> ServiceError {
    tracing::warn!(tsa = url, "time-stamp failed: {error}");
    ServiceError::TimeStamp(format!("{url}: {error}"))
}
