//! The shared budget of bytes held for WebSocket messages: a global total, a total for all
//! untrusted sites together, and a share per trusted origin or untrusted site. Only counts;
//! must not know about frames, connections or what the bytes are.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The sizes of a [`MemoryBudget`], in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetLimits {
    /// All connections together.
    pub total: usize,
    /// All untrusted sites together.
    pub untrusted_total: usize,
    /// One trusted origin.
    pub per_trusted_origin: usize,
    /// One untrusted site (registrable domain).
    pub per_untrusted_site: usize,
}

/// Who a share of the budget belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    untrusted: bool,
    name: Arc<str>,
}

/// Bytes in use, overall, by untrusted sites, and per key (no entry: none).
#[derive(Debug, Default)]
struct Usage {
    total: usize,
    untrusted: usize,
    keys: HashMap<Key, usize>,
}

/// Bytes of WebSocket messages being read or held, shared by every connection.
#[derive(Debug)]
pub struct MemoryBudget {
    limits: BudgetLimits,
    usage: Mutex<Usage>,
}

impl MemoryBudget {
    /// An empty budget with these limits.
    pub fn new(limits: BudgetLimits) -> Arc<Self> {
        Arc::new(Self { limits, usage: Mutex::new(Usage::default()) })
    }

    /// The account of a trusted origin or an untrusted site (`key` names it; each class has
    /// its own keys).
    pub fn account(self: &Arc<Self>, key: String, untrusted: bool) -> Account {
        let key = Key { untrusted, name: key.into() };
        Account { budget: Arc::clone(self), key }
    }

    /// Bytes reserved now, overall.
    pub fn used(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> MutexGuard<'_, Usage> {
        // Nothing panics while the lock is held; a poisoned lock still holds consistent sums.
        self.usage.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes `n` bytes for `key` if its share, its class and the whole budget allow.
    fn take(&self, key: &Key, n: usize) -> bool {
        if n == 0 {
            return true;
        }
        let limits = &self.limits;
        let mut usage = self.lock();
        let mine = usage.keys.get(key).copied().unwrap_or(0);
        let share =
            if key.untrusted { limits.per_untrusted_site } else { limits.per_trusted_origin };
        let fits = fits(mine, n, share)
            && (!key.untrusted || fits(usage.untrusted, n, limits.untrusted_total))
            && fits(usage.total, n, limits.total);
        if fits {
            *usage.keys.entry(key.clone()).or_insert(0) += n;
            usage.total += n;
            if key.untrusted {
                usage.untrusted += n;
            }
        }
        fits
    }

    /// Gives back `n` bytes of `key`; a key left with none is forgotten.
    fn release(&self, key: &Key, n: usize) {
        if n == 0 {
            return;
        }
        let mut usage = self.lock();
        usage.total = usage.total.saturating_sub(n);
        if key.untrusted {
            usage.untrusted = usage.untrusted.saturating_sub(n);
        }
        if let Some(mine) = usage.keys.get_mut(key) {
            *mine = mine.saturating_sub(n);
            if *mine == 0 {
                usage.keys.remove(key);
            }
        }
    }
}

/// Whether `used + n` stays within `cap`.
fn fits(used: usize, n: usize, cap: usize) -> bool {
    used.checked_add(n).is_some_and(|sum| sum <= cap)
}

/// One origin's or site's share of a [`MemoryBudget`]; cheap to clone.
#[derive(Debug, Clone)]
pub struct Account {
    budget: Arc<MemoryBudget>,
    key: Key,
}

impl Account {
    /// `n` bytes, when the share, the class and the whole budget allow.
    pub fn reserve(&self, n: usize) -> Option<Reservation> {
        let taken = self.budget.take(&self.key, n);
        taken.then(|| Reservation { account: self.clone(), bytes: n })
    }
}

/// Bytes taken from an [`Account`], given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    account: Account,
    bytes: usize,
}

impl Reservation {
    /// Takes `n` more bytes; `false` (and nothing taken) when the budget does not allow.
    pub fn grow(&mut self, n: usize) -> bool {
        let taken = self.account.budget.take(&self.account.key, n);
        if taken {
            self.bytes += n;
        }
        taken
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.account.budget.release(&self.account.key, self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(
        total: usize,
        untrusted_total: usize,
        trusted: usize,
        untrusted: usize,
    ) -> BudgetLimits {
        BudgetLimits {
            total,
            untrusted_total,
            per_trusted_origin: trusted,
            per_untrusted_site: untrusted,
        }
    }

    #[test]
    fn shares_are_per_key_and_per_class() {
        let budget = MemoryBudget::new(limits(1000, 1000, 300, 100));
        let site = budget.account("evil.example".into(), true);
        let held = site.reserve(60).expect("within the site's share");
        assert!(site.reserve(41).is_none(), "61 + 41 is over the site's 100");
        let other = site.reserve(40).expect("exactly the share");
        // The same name as a trusted origin is another key, with the trusted share.
        let trusted = budget.account("evil.example".into(), false);
        let big = trusted.reserve(300).expect("trusted share");
        assert!(trusted.reserve(1).is_none());
        assert_eq!(budget.used(), 400);
        drop((held, other, big));
        assert_eq!(budget.used(), 0);
        assert!(budget.lock().keys.is_empty(), "empty keys are forgotten");
    }

    #[test]
    fn untrusted_sites_share_one_class_total() {
        let budget = MemoryBudget::new(limits(1000, 150, 1000, 100));
        let a = budget.account("a.example".into(), true).reserve(100).expect("a");
        let b = budget.account("b.example".into(), true);
        assert!(b.reserve(51).is_none(), "100 + 51 is over the class's 150");
        let b50 = b.reserve(50).expect("b");
        // Trusted origins do not count against the untrusted class.
        let portal = budget.account("https://egov.kz".into(), false).reserve(500).expect("portal");
        drop(a);
        assert!(b.reserve(50).is_some(), "a's bytes came back");
        drop((b50, portal));
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn the_global_total_binds_everyone() {
        let budget = MemoryBudget::new(limits(200, 200, 150, 150));
        let portal = budget.account("https://egov.kz".into(), false);
        let one = portal.reserve(150).expect("one");
        let site = budget.account("a.example".into(), true);
        assert!(site.reserve(51).is_none(), "150 + 51 is over the total 200");
        let mut two = site.reserve(50).expect("two");
        assert!(!two.grow(1), "the total is full");
        assert_eq!(two.bytes(), 50, "a failed grow takes nothing");
        drop(one);
        assert!(two.grow(100));
        assert_eq!((two.bytes(), budget.used()), (150, 150));
        drop(two);
        assert_eq!(budget.used(), 0);
        assert!(portal.reserve(usize::MAX).is_none(), "no overflow");
        assert!(portal.reserve(0).is_some());
        assert!(budget.lock().keys.is_empty());
    }
}
