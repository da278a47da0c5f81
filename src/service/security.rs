//! What the service checks around every prompt: the origin policy (who may ask, and how far
//! they are trusted), the prompt limits (rate, cool-down, queue) and the journal. The flow
//! calls [`Security::standing`] before anything else, [`Security::queue`] before waiting for
//! the prompt, [`Security::open`] when the prompt opens, [`Security::closed`] when it ends, and
//! [`Security::record`] after signing and before the reply. The transport asks for the
//! standing at the handshake too, to refuse origins before reading any message and to size
//! connection and memory shares.

use std::sync::Arc;
use std::time::Instant;

use super::audit::{Entry, Journal};
use super::consent::PromptRequest;
use super::limits::{Ending, LimitKey, Opened, PromptLimiter, QueuePlace};
use super::origin::Origin;
use super::policy::{OriginPolicy, Refusal, Trust};
use super::{Caller, HeaderOrigin, ServiceError};
use crate::crypto::Certificate;

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

/// The limiter's key for all programs on this computer (clients without `Origin`).
const LOCAL_KEY: &str = "(local program)";

/// How the daemon stands towards a caller the origin policy admits: its trust and the key its
/// dialogs are counted under (the origin when trusted, the registrable domain when not yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// How far the caller is trusted.
    pub trust: Trust,
    /// Who the limits count.
    pub key: LimitKey,
}

impl Standing {
    fn of(trust: Trust, origin: Option<&Origin>) -> Self {
        let (name, untrusted) = match (trust, origin) {
            (Trust::New, Some(origin)) => (origin.site(), true),
            (_, Some(origin)) => (origin.to_string(), false),
            (_, None) => (LOCAL_KEY.to_string(), trust == Trust::New),
        };
        Self { trust, key: LimitKey { name, untrusted } }
    }

    /// Whether the caller is not trusted yet (a new site).
    pub fn untrusted(&self) -> bool {
        self.key.untrusted
    }

    /// The key the limits count the caller under: a trusted origin, a new site's registrable
    /// domain, or one key for all local programs.
    pub fn site(&self) -> &str {
        &self.key.name
    }
}

/// A caller the origin policy admitted: what the dispatcher hands to every service call, so
/// admission happens once per request, before any method runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guest {
    /// The handshake's origin (`None`: a program on this computer).
    pub origin: Option<Origin>,
    /// How far it is trusted and how its dialogs are counted.
    pub standing: Standing,
}

/// The caller's web origin (`None`: a local program; a malformed header is never admitted).
fn web_origin(caller: &Caller) -> Option<&Origin> {
    match &caller.origin {
        HeaderOrigin::Web(origin) => Some(origin),
        HeaderOrigin::Absent | HeaderOrigin::Malformed(_) => None,
    }
}

/// How the limits see the end of a dialog: approved (even if signing then failed), not
/// approved, or never shown.
fn ending<T>(result: &Result<T, ServiceError>) -> Ending {
    match result {
        Ok(_) => Ending::Approved,
        Err(ServiceError::Cancelled | ServiceError::TooManyAttempts) => Ending::Unapproved,
        Err(ServiceError::Dialog(_)) => Ending::Failed,
        Err(_) => Ending::Approved,
    }
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
        self.policy.decide(&caller.origin).map_err(|refusal| {
            let origin = match refusal {
                Refusal::Origin(origin) => origin,
                Refusal::LocalPrograms => LOCAL_KEY.to_string(),
            };
            tracing::warn!(origin, "refused by the origin policy");
            if let Some(RefusalHook(hook)) = &self.on_refusal {
                hook(caller.origin.shown().as_deref(), "not allowed by the origin policy");
            }
            ServiceError::OriginRefused(origin)
        })
    }

    /// How the caller stands: the origin policy's decision and the key of its limits.
    pub fn standing(&self, caller: &Caller) -> Result<Standing, ServiceError> {
        let trust = self.admit(caller)?;
        Ok(Standing::of(trust, web_origin(caller)))
    }

    /// Admits `caller` as a [`Guest`], or refuses it (logged and notified; no prompt shown).
    pub fn guest(&self, caller: &Caller) -> Result<Guest, ServiceError> {
        let standing = self.standing(caller)?;
        Ok(Guest { origin: web_origin(caller).cloned(), standing })
    }

    /// A place in the dialog queue, unless the caller is cooling down or the queue is full.
    pub fn queue(&self, standing: &Standing) -> Result<QueuePlace, ServiceError> {
        let refuse = |limited| {
            tracing::warn!(site = standing.site(), ?limited, "request refused by a prompt limit");
            ServiceError::TooManyRequests(limited)
        };
        self.limiter.may_queue(&standing.key, Instant::now()).map_err(refuse)?;
        self.limiter.enqueue(standing.untrusted()).map_err(refuse)
    }

    /// Counts the dialog that is about to open, or refuses it (rate limit, cool-down).
    pub fn open(&self, standing: &Standing) -> Result<Opened, ServiceError> {
        self.limiter.open(&standing.key, Instant::now()).map_err(|limited| {
            tracing::warn!(site = standing.site(), ?limited, "dialog refused by a prompt limit");
            ServiceError::TooManyRequests(limited)
        })
    }

    /// Notes how a dialog ended: approved and failed ones give their place back, unapproved
    /// ones count towards the cool-down.
    pub fn closed<T>(&self, opened: Opened, result: &Result<T, ServiceError>) {
        self.limiter.close(opened, ending(result), Instant::now());
    }

    /// The user chose to trust the prompt's origin from now on.
    pub fn remember(&self, prompt: &PromptRequest) {
        if let (Trust::New, Some(origin)) = (prompt.trust, &prompt.origin) {
            tracing::info!(%origin, "the user trusts this origin from now on");
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
        at: time::OffsetDateTime,
    ) -> Result<(), ServiceError> {
        let Some(journal) = &self.journal else { return Ok(()) };
        let time = at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let operation = serde_json::to_value(prompt.operation)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let entry = Entry {
            time,
            origin: prompt.origin.as_ref().map(ToString::to_string),
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
