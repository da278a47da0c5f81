//! Abuse limits on dialogs, built so that they stop attackers and never a user who keeps
//! approving (docs/security.md, "Dialog flooding"):
//!
//! - **Approved dialogs never count.** A dialog takes its place in the counts when it opens and
//!   gives it back when the user approves (or when the dialog could not be shown at all).
//! - **Trusted callers** (listed or built-in portals, sites the user chose to trust, local
//!   programs) are never refused for volume: only their unapproved dialogs (cancelled, closed,
//!   timed out) count, and `rejections_per_minute` of those start the cool-down.
//! - **Sites not trusted yet** are counted per registrable domain (the caller gives the key,
//!   [`super::origin::Origin::site`]), at most `prompts_per_minute` open dialogs a minute each,
//!   and all of them together share one budget of the same size, so a pool of domains gets no
//!   more dialogs than one site. Their unapproved dialogs start the cool-down as above.
//! - **The queue** of requests waiting for the dialog: trusted callers may queue
//!   `max_queued_requests`, sites not trusted yet a quarter of it between them, so a hostile
//!   page can never fill the queue in front of a portal.
//!
//! Time is a monotonic [`Instant`] passed in, so tests are deterministic. No I/O, no JSON.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::policy::RateLimits;

/// The window of the per-minute counts.
const WINDOW: Duration = Duration::from_secs(60);
/// Keys tracked at most; idle ones are forgotten first.
const MAX_TRACKED: usize = 1024;

/// Why a dialog is not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// This not-yet-trusted site opened its dialogs for this minute.
    TooManyPrompts,
    /// Not-yet-trusted sites together opened their dialogs for this minute.
    NewSitesBusy,
    /// The caller had too many unapproved dialogs and is cooling down.
    CoolingDown,
    /// Too many requests already wait for the dialog.
    QueueFull,
}

/// Who a limit counts: a trusted caller by its origin, a not-yet-trusted one by its site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitKey {
    /// The origin (trusted), the registrable domain (not trusted yet), or the local-program key.
    pub name: String,
    /// Whether the caller is not trusted yet (every dialog counts).
    pub untrusted: bool,
}

/// How a dialog ended, as the limits see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The user approved: the dialog gives its place back.
    Approved,
    /// Cancelled, closed, timed out or abandoned by the page: counts towards the cool-down.
    Unapproved,
    /// The dialog could not be shown: it gives its place back and counts for nothing.
    Failed,
}

/// A dialog counted when it opened, to be closed with [`PromptLimiter::close`].
#[derive(Debug)]
pub struct Opened {
    key: LimitKey,
    at: Instant,
}

#[derive(Debug, Default)]
struct Record {
    prompts: VecDeque<Instant>,
    rejections: VecDeque<Instant>,
    cooling_until: Option<Instant>,
}

/// Drops the instants of `window` that are a [`WINDOW`] old at `now`.
fn slide(window: &mut VecDeque<Instant>, now: Instant) {
    while window.front().is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW) {
        window.pop_front();
    }
}

/// Gives back the place `at` took in `window`.
fn give_back(window: &mut VecDeque<Instant>, at: Instant) {
    if let Some(index) = window.iter().position(|t| *t == at) {
        window.remove(index);
    }
}

impl Record {
    fn forget_before(&mut self, now: Instant) {
        slide(&mut self.prompts, now);
        slide(&mut self.rejections, now);
        if self.cooling_until.is_some_and(|until| until <= now) {
            self.cooling_until = None;
        }
    }

    fn idle(&self) -> bool {
        self.prompts.is_empty() && self.rejections.is_empty() && self.cooling_until.is_none()
    }
}

#[derive(Debug, Default)]
struct State {
    records: HashMap<String, Record>,
    /// Dialogs of all not-yet-trusted sites in the last minute (the shared budget).
    new_sites: VecDeque<Instant>,
    queued_trusted: usize,
    queued_untrusted: usize,
}

impl State {
    fn record(&mut self, name: &str, now: Instant) -> &mut Record {
        if self.records.len() >= MAX_TRACKED && !self.records.contains_key(name) {
            self.records.retain(|_, r| {
                r.forget_before(now);
                !r.idle()
            });
        }
        let record = self.records.entry(name.to_string()).or_default();
        record.forget_before(now);
        record
    }
}

/// The dialog counters and the queue count of one daemon.
#[derive(Debug)]
pub struct PromptLimiter {
    limits: RateLimits,
    state: Mutex<State>,
}

impl PromptLimiter {
    /// A limiter with these limits.
    pub fn new(limits: RateLimits) -> Self {
        Self { limits, state: Mutex::default() }
    }

    /// Requests that sites not trusted yet may have waiting for the dialog, all together.
    pub fn untrusted_queue(&self) -> usize {
        (self.limits.max_queued / 4).max(1)
    }

    /// Whether `key` may wait for the dialog now (cooling down: no).
    pub fn may_queue(&self, key: &LimitKey, now: Instant) -> Result<(), Limited> {
        let mut state = self.state.lock().map_err(|_| Limited::QueueFull)?;
        match state.records.get_mut(&key.name) {
            Some(record) => {
                record.forget_before(now);
                match record.cooling_until {
                    Some(_) => Err(Limited::CoolingDown),
                    None => Ok(()),
                }
            }
            None => Ok(()),
        }
    }

    /// Counts a dialog of `key` opening at `now`, or says why it may not open.
    pub fn open(&self, key: &LimitKey, now: Instant) -> Result<Opened, Limited> {
        let per_minute = self.limits.prompts_per_minute as usize;
        let mut state = self.state.lock().map_err(|_| Limited::QueueFull)?;
        slide(&mut state.new_sites, now);
        let shared_full = state.new_sites.len() >= per_minute;
        let record = state.record(&key.name, now);
        if record.cooling_until.is_some() {
            return Err(Limited::CoolingDown);
        }
        if key.untrusted {
            if record.prompts.len() >= per_minute {
                return Err(Limited::TooManyPrompts);
            }
            if shared_full {
                return Err(Limited::NewSitesBusy);
            }
            record.prompts.push_back(now);
            state.new_sites.push_back(now);
        }
        Ok(Opened { key: key.clone(), at: now })
    }

    /// Notes how the dialog `opened` ended at `now`: approved and failed dialogs give their
    /// place back; enough unapproved ones start the cool-down.
    pub fn close(&self, opened: Opened, ending: Ending, now: Instant) {
        let Ok(mut state) = self.state.lock() else { return };
        if ending != Ending::Unapproved {
            if opened.key.untrusted {
                give_back(&mut state.new_sites, opened.at);
                give_back(&mut state.record(&opened.key.name, now).prompts, opened.at);
            }
            return;
        }
        let (rejections, cooldown) = (self.limits.rejections_per_minute, self.limits.cooldown);
        let record = state.record(&opened.key.name, now);
        record.rejections.push_back(now);
        if record.rejections.len() >= rejections as usize {
            tracing::warn!(site = opened.key.name, "too many unapproved dialogs; cooling down");
            record.cooling_until = Some(now + cooldown);
            record.rejections.clear();
        }
    }

    /// Takes a place in the queue for the dialog; the place is freed when the guard drops.
    pub fn enqueue(self: &Arc<Self>, untrusted: bool) -> Result<QueuePlace, Limited> {
        let mut state = self.state.lock().map_err(|_| Limited::QueueFull)?;
        let (count, cap) = match untrusted {
            true => (&mut state.queued_untrusted, self.untrusted_queue()),
            false => (&mut state.queued_trusted, self.limits.max_queued),
        };
        if *count >= cap {
            return Err(Limited::QueueFull);
        }
        *count += 1;
        Ok(QueuePlace { limiter: Arc::clone(self), untrusted })
    }
}

/// A place in the dialog queue.
#[derive(Debug)]
pub struct QueuePlace {
    limiter: Arc<PromptLimiter>,
    untrusted: bool,
}

impl Drop for QueuePlace {
    fn drop(&mut self) {
        if let Ok(mut state) = self.limiter.state.lock() {
            let count = match self.untrusted {
                true => &mut state.queued_untrusted,
                false => &mut state.queued_trusted,
            };
            *count = count.saturating_sub(1);
        }
    }
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
