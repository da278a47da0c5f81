//! Abuse limits on prompts, per origin (a client without `Origin` counts as one origin): at
//! most `prompts_per_minute` prompts in any 60 s, and after `rejections_per_minute` cancelled
//! prompts in 60 s the origin is refused without a prompt for the cool-down. Also the cap on
//! requests waiting for the prompt, all connections together. Time is a monotonic
//! [`Instant`] passed in, so tests are deterministic.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::policy::RateLimits;

/// The window of the per-minute counts.
const WINDOW: Duration = Duration::from_secs(60);
/// Origins tracked at most; idle ones are forgotten first.
const MAX_TRACKED: usize = 1024;

/// Why a prompt is not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// The origin opened its prompts for this minute.
    TooManyPrompts,
    /// The origin had too many cancelled prompts and is cooling down.
    CoolingDown,
    /// Too many requests already wait for the prompt.
    QueueFull,
}

#[derive(Debug, Default)]
struct Record {
    prompts: VecDeque<Instant>,
    rejections: VecDeque<Instant>,
    cooling_until: Option<Instant>,
}

impl Record {
    fn forget_before(&mut self, now: Instant) {
        let old = |t: &Instant| now.saturating_duration_since(*t) >= WINDOW;
        while self.prompts.front().is_some_and(old) {
            self.prompts.pop_front();
        }
        while self.rejections.front().is_some_and(old) {
            self.rejections.pop_front();
        }
        if self.cooling_until.is_some_and(|until| until <= now) {
            self.cooling_until = None;
        }
    }

    fn idle(&self) -> bool {
        self.prompts.is_empty() && self.rejections.is_empty() && self.cooling_until.is_none()
    }
}

/// Per-origin prompt counters and the queue count.
#[derive(Debug)]
pub struct PromptLimiter {
    limits: RateLimits,
    records: Mutex<HashMap<String, Record>>,
    queued: Mutex<usize>,
}

impl PromptLimiter {
    /// A limiter with these limits.
    pub fn new(limits: RateLimits) -> Self {
        Self { limits, records: Mutex::default(), queued: Mutex::new(0) }
    }

    /// Whether `key` may wait for the prompt now (cooling down: no).
    pub fn may_queue(&self, key: &str, now: Instant) -> Result<(), Limited> {
        let mut records = self.records.lock().map_err(|_| Limited::QueueFull)?;
        match records.get_mut(key) {
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

    /// Counts a prompt of `key` opening at `now`, or says why it may not open.
    pub fn open(&self, key: &str, now: Instant) -> Result<(), Limited> {
        let mut records = self.records.lock().map_err(|_| Limited::QueueFull)?;
        if records.len() >= MAX_TRACKED && !records.contains_key(key) {
            records.retain(|_, r| {
                r.forget_before(now);
                !r.idle()
            });
        }
        let record = records.entry(key.to_string()).or_default();
        record.forget_before(now);
        if record.cooling_until.is_some() {
            return Err(Limited::CoolingDown);
        }
        if record.prompts.len() >= self.limits.prompts_per_minute as usize {
            return Err(Limited::TooManyPrompts);
        }
        record.prompts.push_back(now);
        Ok(())
    }

    /// Counts a cancelled prompt of `key`; enough of them start the cool-down.
    pub fn rejected(&self, key: &str, now: Instant) {
        let Ok(mut records) = self.records.lock() else { return };
        let record = records.entry(key.to_string()).or_default();
        record.forget_before(now);
        record.rejections.push_back(now);
        if record.rejections.len() >= self.limits.rejections_per_minute as usize {
            tracing::warn!(origin = key, "too many cancelled prompts; cooling down");
            record.cooling_until = Some(now + self.limits.cooldown);
            record.rejections.clear();
        }
    }

    /// Takes a place in the queue for the prompt; the place is freed when the guard drops.
    pub fn enqueue(self: &Arc<Self>) -> Result<QueuePlace, Limited> {
        let mut queued = self.queued.lock().map_err(|_| Limited::QueueFull)?;
        if *queued >= self.limits.max_queued {
            return Err(Limited::QueueFull);
        }
        *queued += 1;
        Ok(QueuePlace(Arc::clone(self)))
    }
}

/// A place in the prompt queue.
#[derive(Debug)]
pub struct QueuePlace(Arc<PromptLimiter>);

impl Drop for QueuePlace {
    fn drop(&mut self) {
        if let Ok(mut queued) = self.0.queued.lock() {
            *queued = queued.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> PromptLimiter {
        PromptLimiter::new(RateLimits::default())
    }

    #[test]
    fn at_most_n_prompts_per_minute_per_origin() {
        let l = limiter();
        let t = Instant::now();
        for i in 0..5 {
            assert_eq!(l.open("https://a.kz", t + Duration::from_secs(i)), Ok(()));
        }
        assert_eq!(
            l.open("https://a.kz", t + Duration::from_secs(10)),
            Err(Limited::TooManyPrompts)
        );
        assert_eq!(l.open("https://b.kz", t + Duration::from_secs(10)), Ok(()), "per origin");
        assert_eq!(l.open("https://a.kz", t + Duration::from_secs(60)), Ok(()), "window slides");
    }

    #[test]
    fn rejections_start_a_cooldown_that_ends() {
        let l = limiter();
        let t = Instant::now();
        for i in 0..3 {
            assert_eq!(l.open("o", t + Duration::from_secs(i)), Ok(()));
            l.rejected("o", t + Duration::from_secs(i));
        }
        assert_eq!(l.may_queue("o", t + Duration::from_secs(5)), Err(Limited::CoolingDown));
        assert_eq!(l.open("o", t + Duration::from_secs(299)), Err(Limited::CoolingDown));
        assert_eq!(l.open("o", t + Duration::from_secs(303)), Ok(()));
    }

    #[test]
    fn rejections_spread_over_more_than_a_minute_do_not_cool_down() {
        let l = limiter();
        let t = Instant::now();
        for i in 0..3 {
            l.rejected("o", t + Duration::from_secs(i * 40));
        }
        assert_eq!(l.open("o", t + Duration::from_secs(81)), Ok(()));
    }

    #[test]
    fn the_queue_is_capped_and_places_are_freed() {
        let l = Arc::new(PromptLimiter::new(RateLimits { max_queued: 2, ..RateLimits::default() }));
        let a = l.enqueue().expect("first");
        let _b = l.enqueue().expect("second");
        assert_eq!(l.enqueue().err(), Some(Limited::QueueFull));
        drop(a);
        assert!(l.enqueue().is_ok());
    }
}
