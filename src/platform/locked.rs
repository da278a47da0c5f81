//! Secrets kept for minutes in memory the OS may not swap out: [`LockedSecrets`], one page
//! (4 KiB, page-aligned, in its own heap allocation) locked with `region::lock` (`mlock` on
//! Unix, `VirtualLock` on Windows), holding [`SLOTS`] fixed slots of at most [`SLOT_LEN`]
//! bytes, each with an expiry. Slots are zeroed when forgotten or expired, and the whole page
//! when dropped, before it is unlocked and freed. If the page cannot be locked (for example
//! `RLIMIT_MEMLOCK` is too low) there is no store at all: callers then remember nothing.
//! Used by `keystore::pkcs11` for "remember the PIN" (`docs/tokens.md`, `docs/security.md`).
//! This module must not log, print or `Debug` a secret; a secret leaves it only as a
//! short-lived [`SecretString`] copy.

use std::time::Instant;

use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroize;

/// How many secrets one store holds.
pub const SLOTS: usize = 16;
/// The longest secret a slot holds, in bytes (UTF-8).
pub const SLOT_LEN: usize = 255;
/// The size of the locked page.
pub const PAGE: usize = 4096;

/// The locked page: the lengths, then the slot bytes; exactly [`PAGE`] bytes, page-aligned so
/// that locking it locks nothing else (on 4 KiB-page systems).
#[repr(C, align(4096))]
struct Page {
    lengths: [u8; SLOTS],
    bytes: [[u8; SLOT_LEN]; SLOTS],
}

const _: () = assert!(std::mem::size_of::<Page>() == PAGE);

impl Page {
    fn wipe(&mut self, slot: usize) {
        if let (Some(length), Some(bytes)) = (self.lengths.get_mut(slot), self.bytes.get_mut(slot))
        {
            length.zeroize();
            bytes.zeroize();
        }
    }
}

/// Why a secret was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotStored {
    /// The page could not be locked in memory (the OS limit on locked memory).
    #[error("memory cannot be locked against swap")]
    NotLocked,
    /// The secret is longer than [`SLOT_LEN`] bytes.
    #[error("the secret is longer than {SLOT_LEN} bytes")]
    TooLong,
}

/// Up to [`SLOTS`] secrets, each under a key `K` (not secret, but not shown in `Debug` either) and with
/// an expiry, in one page locked in RAM. When every slot is in use, storing a new key replaces
/// the secret that would expire first.
pub struct LockedSecrets<K> {
    /// Declared first so it is dropped (the page unlocked) before the page is freed.
    _guard: region::LockGuard,
    page: Box<Page>,
    slots: [Option<(K, Instant)>; SLOTS],
}

impl<K> std::fmt::Debug for LockedSecrets<K> {
    /// Only how many slots are in use: never a key's secret, not even its length.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let used = self.slots.iter().filter(|s| s.is_some()).count();
        f.debug_struct("LockedSecrets").field("used", &used).finish_non_exhaustive()
    }
}

impl<K: Eq> LockedSecrets<K> {
    /// A new, empty store with its page locked; [`NotStored::NotLocked`] if the OS refuses.
    pub fn new() -> Result<Self, NotStored> {
        let page = Box::new(Page { lengths: [0; SLOTS], bytes: [[0; SLOT_LEN]; SLOTS] });
        let guard = region::lock(&raw const *page, PAGE).map_err(|_| NotStored::NotLocked)?;
        Ok(Self { _guard: guard, page, slots: std::array::from_fn(|_| None) })
    }

    /// Stores `secret` under `key` until `until`. What `key` had is wiped first, even when the
    /// new secret cannot be stored, so a stale secret is never recalled after a change.
    pub fn store(
        &mut self,
        key: K,
        secret: &SecretString,
        until: Instant,
    ) -> Result<(), NotStored> {
        self.forget(&key);
        let bytes = secret.expose_secret().as_bytes();
        let length = u8::try_from(bytes.len()).map_err(|_| NotStored::TooLong)?;
        let slot = self.free_slot();
        self.page.lengths[slot] = length;
        self.page.bytes[slot][..bytes.len()].copy_from_slice(bytes);
        self.slots[slot] = Some((key, until));
        Ok(())
    }

    /// A copy of the secret under `key` if it has not expired at `now`; expired slots are wiped.
    pub fn recall(&mut self, key: &K, now: Instant) -> Option<SecretString> {
        self.expire(now);
        let slot = self.slot_of(key)?;
        let length = usize::from(self.page.lengths[slot]);
        let text = std::str::from_utf8(self.page.bytes[slot].get(..length)?).ok()?;
        Some(SecretString::from(text))
    }

    /// Wipes the secret under `key`, if any.
    pub fn forget(&mut self, key: &K) {
        if let Some(slot) = self.slot_of(key) {
            self.clear(slot);
        }
    }

    /// Wipes every secret whose time ran out at `now`.
    pub fn expire(&mut self, now: Instant) {
        for slot in 0..SLOTS {
            if self.slots[slot].as_ref().is_some_and(|(_, until)| *until <= now) {
                self.clear(slot);
            }
        }
    }

    fn slot_of(&self, key: &K) -> Option<usize> {
        self.slots.iter().position(|s| s.as_ref().is_some_and(|(k, _)| k == key))
    }

    /// A free slot, or else the one expiring first (wiped).
    fn free_slot(&mut self) -> usize {
        let slot = self.slots.iter().position(Option::is_none).unwrap_or_else(|| {
            (0..SLOTS).min_by_key(|&i| self.slots[i].as_ref().map(|(_, until)| *until)).unwrap_or(0)
        });
        self.clear(slot);
        slot
    }

    fn clear(&mut self, slot: usize) {
        self.page.wipe(slot);
        if let Some(entry) = self.slots.get_mut(slot) {
            *entry = None;
        }
    }

    /// The raw page, for tests that check wiping.
    #[cfg(test)]
    fn raw(&self) -> (&[u8; SLOTS], &[[u8; SLOT_LEN]; SLOTS]) {
        (&self.page.lengths, &self.page.bytes)
    }
}

impl<K> Drop for LockedSecrets<K> {
    /// Wipes the whole page; then the guard unlocks it and the page is freed.
    fn drop(&mut self) {
        self.page.lengths.zeroize();
        self.page.bytes.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text)
    }

    fn shown(secret: Option<SecretString>) -> Option<String> {
        secret.map(|s| s.expose_secret().to_string())
    }

    fn all_zero(store: &LockedSecrets<&str>) -> bool {
        let (lengths, bytes) = store.raw();
        lengths.iter().all(|&b| b == 0) && bytes.iter().flatten().all(|&b| b == 0)
    }

    #[test]
    fn stores_recalls_and_forgets_with_the_slot_wiped() {
        let mut store = LockedSecrets::new().expect("lock one page");
        let (now, later) = (Instant::now(), Instant::now() + Duration::from_secs(60));
        store.store("a", &secret("1234"), later).expect("store a");
        store.store("b", &secret("пин-5678"), later).expect("store b");
        assert_eq!(shown(store.recall(&"a", now)).as_deref(), Some("1234"));
        assert_eq!(shown(store.recall(&"b", now)).as_deref(), Some("пин-5678"));
        assert!(store.recall(&"c", now).is_none());
        store.store("a", &secret("99"), later).expect("replace a");
        assert_eq!(shown(store.recall(&"a", now)).as_deref(), Some("99"));
        store.forget(&"a");
        store.forget(&"b");
        assert!(store.recall(&"a", now).is_none());
        assert!(all_zero(&store), "forgotten slots are zeroed");
    }

    #[test]
    fn expired_secrets_are_wiped_and_not_returned() {
        let mut store = LockedSecrets::new().expect("lock one page");
        let start = Instant::now();
        store.store("short", &secret("1111"), start + Duration::from_secs(1)).expect("short");
        store.store("long", &secret("2222"), start + Duration::from_secs(60)).expect("long");
        let after = start + Duration::from_secs(2);
        assert!(store.recall(&"short", after).is_none());
        assert_eq!(shown(store.recall(&"long", after)).as_deref(), Some("2222"));
        store.expire(start + Duration::from_secs(61));
        assert!(all_zero(&store), "expired slots are zeroed");
    }

    #[test]
    fn a_full_store_replaces_the_secret_expiring_first_and_refuses_long_ones() {
        let mut store = LockedSecrets::new().expect("lock one page");
        let now = Instant::now();
        let keys: Vec<String> = (0..=SLOTS).map(|i| format!("k{i}")).collect();
        for (i, key) in keys.iter().enumerate() {
            let until = now + Duration::from_secs(100 + i as u64);
            store.store(key.clone(), &secret(&format!("{i}")), until).expect("store");
        }
        assert!(store.recall(&keys[0], now).is_none(), "the earliest went");
        assert_eq!(shown(store.recall(&keys[SLOTS], now)).as_deref(), Some("16"));
        let long = "x".repeat(SLOT_LEN + 1);
        assert_eq!(store.store("k".into(), &secret(&long), now), Err(NotStored::TooLong));
        assert!(store.store("k".into(), &secret(&long[1..]), now).is_ok(), "255 bytes fit");
        let kept = keys[SLOTS].clone();
        assert_eq!(store.store(kept.clone(), &secret(&long), now), Err(NotStored::TooLong));
        assert!(store.recall(&kept, now).is_none(), "a failed replacement wipes the old secret");
    }

    #[test]
    fn debug_shows_no_secret() {
        let mut store = LockedSecrets::new().expect("lock one page");
        store.store("token", &secret("73519"), Instant::now() + Duration::from_secs(9)).expect("a");
        let text = format!("{store:?}");
        assert!(!text.contains("73519") && !text.contains("token"), "{text}");
        assert!(text.contains("used: 1"), "{text}");
    }

    /// `VmLck` of `/proc/self/status`, in kB.
    #[cfg(target_os = "linux")]
    fn locked_kb() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmLck:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmLck line")
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_page_is_locked_in_ram_while_the_store_lives() {
        let store = LockedSecrets::<&str>::new().expect("lock one page");
        let locked = locked_kb();
        assert!(locked >= 4, "VmLck {locked} kB while the page exists");
        drop(store);
    }
}
