//! What the service checks around every prompt: the origin policy (who may ask, and how far
//! they are trusted), the prompt limits (rate, cool-down, queue) and the journal. The flow
//! calls [`Security::admit`] before anything else, [`Security::queue`] before waiting for the
//! prompt, [`Security::open`] when the prompt opens, [`Security::closed`] when it ends, and
//! [`Security::record`] after signing and before the reply.

use std::sync::Arc;
use std::time::Instant;

use super::audit::{Entry, Journal};
use super::limits::{PromptLimiter, QueuePlace};
use super::policy::{OriginPolicy, Refusal, Trust};
use super::{Caller, ServiceError};
use crate::crypto::Certificate;
use crate::ui::PromptRequest;

/// The policy, the limiter and the journal of one daemon.
#[derive(Debug)]
pub struct Security {
    policy: OriginPolicy,
    limiter: Arc<PromptLimiter>,
    journal: Option<Journal>,
    on_refusal: Option<RefusalHook>,
}

/// Called when the origin policy refuses a request: (origin, reason in words), e.g. to notify.
#[derive(Clone)]
pub struct RefusalHook(pub Arc<RefusalFn>);

/// The function of a [`RefusalHook`].
pub type RefusalFn = dyn Fn(Option<&str>, &str) + Send + Sync;

impl std::fmt::Debug for RefusalHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefusalHook")
    }
}

impl Default for Security {
    fn default() -> Self {
        Self::new(OriginPolicy::default(), None)
    }
}

/// The limiter's key of a caller: its origin, or one key for all local programs.
fn key(caller: &Caller) -> &str {
    caller.origin.as_deref().unwrap_or("(local program)")
}

impl Security {
    /// Checks with `policy`, journals into `journal` (`None`: no journal, unit tests only).
    pub fn new(policy: OriginPolicy, journal: Option<Journal>) -> Self {
        let limiter = Arc::new(PromptLimiter::new(policy.limits()));
        Self { policy, limiter, journal, on_refusal: None }
    }

    /// Calls `hook` for every request the origin policy refuses.
    pub fn with_refusal_hook(mut self, hook: RefusalHook) -> Self {
        self.on_refusal = Some(hook);
        self
    }

    /// How far the caller is trusted, or the refusal (logged; no prompt is shown).
    pub fn admit(&self, caller: &Caller) -> Result<Trust, ServiceError> {
        self.policy.decide(caller.origin.as_deref()).map_err(|refusal| {
            let origin = match refusal {
                Refusal::Origin(origin) => origin,
                Refusal::LocalPrograms => "(local program)".to_string(),
            };
            tracing::warn!(origin, "refused by the origin policy");
            if let Some(RefusalHook(hook)) = &self.on_refusal {
                hook(caller.origin.as_deref(), "not allowed by the origin policy");
            }
            ServiceError::OriginRefused(origin)
        })
    }

    /// A place in the prompt queue, unless the caller is cooling down or the queue is full.
    pub fn queue(&self, caller: &Caller) -> Result<QueuePlace, ServiceError> {
        let refuse = |limited| {
            tracing::warn!(origin = key(caller), ?limited, "request refused by a prompt limit");
            ServiceError::TooManyRequests(limited)
        };
        self.limiter.may_queue(key(caller), Instant::now()).map_err(refuse)?;
        self.limiter.enqueue().map_err(refuse)
    }

    /// Counts the prompt that is about to open, or refuses it (rate limit, cool-down).
    pub fn open(&self, caller: &Caller) -> Result<(), ServiceError> {
        self.limiter.open(key(caller), Instant::now()).map_err(|limited| {
            tracing::warn!(origin = key(caller), ?limited, "prompt refused by a prompt limit");
            ServiceError::TooManyRequests(limited)
        })
    }

    /// Notes how a prompt ended: a cancelled one counts towards the cool-down.
    pub fn closed<T>(&self, caller: &Caller, result: &Result<T, ServiceError>) {
        if matches!(result, Err(ServiceError::Cancelled)) {
            self.limiter.rejected(key(caller), Instant::now());
        }
    }

    /// The user chose to trust the prompt's origin from now on.
    pub fn remember(&self, prompt: &PromptRequest) {
        if let (Trust::New, Some(origin)) = (prompt.trust, prompt.origin.as_deref()) {
            tracing::info!(origin, "the user trusts this origin from now on");
            self.policy.remember(origin);
        }
    }

    /// Appends the journal line of one signing with a chosen key, synced before the reply.
    pub fn record(
        &self,
        prompt: &PromptRequest,
        alias: &str,
        certificate: &Certificate,
        signed: bool,
    ) -> Result<(), ServiceError> {
        let Some(journal) = &self.journal else { return Ok(()) };
        let time = crate::platform::clock::now()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let operation = serde_json::to_value(prompt.operation)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let entry = Entry {
            time,
            origin: prompt.origin.clone(),
            operation,
            documents: prompt.documents.iter().map(|d| d.sha256.clone()).collect(),
            key: alias.to_string(),
            subject: certificate.subject_dn(),
            serial: certificate.serial_hex(),
            outcome: if signed { "signed" } else { "failed" }.to_string(),
        };
        journal.append(&entry).map_err(|e| {
            tracing::error!("{e}");
            ServiceError::Journal(e)
        })
    }
}
