//! The open WebSocket connections of the daemon, all listeners together, and who may open one
//! more: at most `max_connections` in all and `max_site_connections` for one site not trusted
//! yet; a trusted origin (or a local program) can always connect: when the daemon is full, the
//! oldest idle connection of a site not trusted yet gives way (or, when none is idle, the
//! oldest of them). The registry only counts and signals; the connection task closes itself
//! when it is told to make room. No I/O here.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Why a connection may not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// The site (not trusted yet) has its maximum of connections.
    Site,
    /// Every place is taken, and none by a site that could give way.
    Daemon,
}

struct Entry {
    site: String,
    trusted: bool,
    idle: Arc<AtomicBool>,
    evict: Arc<Notify>,
}

/// The open connections, in the order they opened.
pub(crate) struct Connections {
    max: usize,
    per_site: usize,
    state: Mutex<(u64, BTreeMap<u64, Entry>)>,
}

/// One open connection's place; the place is freed when it drops.
pub(crate) struct Member {
    id: u64,
    registry: Arc<Connections>,
    idle: Arc<AtomicBool>,
    evict: Arc<Notify>,
}

impl Connections {
    /// A registry for at most `max` connections, `per_site` for one site not trusted yet.
    pub fn new(max: usize, per_site: usize) -> Arc<Self> {
        Arc::new(Self { max: max.max(1), per_site: per_site.max(1), state: Mutex::default() })
    }

    /// Takes a place for a connection of `site`, making room when a trusted caller finds the
    /// daemon full.
    pub fn join(self: &Arc<Self>, site: &str, trusted: bool) -> Result<Member, Full> {
        let mut guard = self.state.lock().map_err(|_| Full::Daemon)?;
        let (next, open) = &mut *guard;
        if !trusted {
            let same = open.values().filter(|e| !e.trusted && e.site == site).count();
            if same >= self.per_site {
                return Err(Full::Site);
            }
        }
        if open.len() >= self.max {
            if !trusted {
                return Err(Full::Daemon);
            }
            let id = make_room(open).ok_or(Full::Daemon)?;
            if let Some(entry) = open.remove(&id) {
                tracing::warn!(
                    site = entry.site,
                    "daemon full: an untrusted site's connection makes room"
                );
                entry.evict.notify_one();
            }
        }
        *next += 1;
        let (idle, evict) = (Arc::new(AtomicBool::new(true)), Arc::new(Notify::new()));
        let entry =
            Entry { site: site.to_string(), trusted, idle: idle.clone(), evict: evict.clone() };
        open.insert(*next, entry);
        Ok(Member { id: *next, registry: Arc::clone(self), idle, evict })
    }

    /// How many connections are open.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.state.lock().map(|s| s.1.len()).unwrap_or(0)
    }
}

/// The connection that gives way: the oldest idle one of a site not trusted yet, else the
/// oldest of those.
fn make_room(open: &BTreeMap<u64, Entry>) -> Option<u64> {
    let mut untrusted = open.iter().filter(|(_, e)| !e.trusted);
    let oldest = untrusted.clone().next().map(|(id, _)| *id);
    untrusted.find(|(_, e)| e.idle.load(Ordering::SeqCst)).map(|(id, _)| *id).or(oldest)
}

impl Member {
    /// Marks the connection idle (no request unanswered) or busy.
    pub fn set_idle(&self, idle: bool) {
        self.idle.store(idle, Ordering::SeqCst);
    }

    /// Resolves when the connection must close to make room.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if let Ok(mut state) = self.registry.state.lock() {
            state.1.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untrusted_site_is_capped_and_others_still_connect() {
        let conns = Connections::new(64, 16);
        let evil: Vec<Member> =
            (0..16).map(|_| conns.join("evil.example", false).expect("ok")).collect();
        assert_eq!(conns.join("evil.example", false).err(), Some(Full::Site));
        assert!(conns.join("other.example", false).is_ok(), "another site");
        assert!(conns.join("https://egov.kz", true).is_ok(), "a trusted origin");
        drop(evil);
        assert!(conns.join("evil.example", false).is_ok(), "places are freed");
    }

    #[tokio::test]
    async fn a_full_daemon_makes_room_for_a_trusted_origin() {
        let conns = Connections::new(4, 16);
        let busy = conns.join("evil.example", false).expect("ok");
        busy.set_idle(false);
        let idle = conns.join("evil.example", false).expect("ok");
        let _trusted = conns.join("https://a.kz", true).expect("ok");
        let _more = conns.join("evil.example", false).expect("ok");
        assert_eq!(conns.join("evil2.example", false).err(), Some(Full::Daemon));
        let portal = conns.join("https://egov.kz", true).expect("room is made");
        assert_eq!(conns.len(), 4);
        tokio::time::timeout(std::time::Duration::from_secs(1), idle.evicted())
            .await
            .expect("the oldest idle untrusted connection is told to close");
        drop(idle);
        assert_eq!(conns.len(), 4, "its place went to the portal");
        let _second = conns.join("https://egov.kz", true).expect("room again");
        tokio::time::timeout(std::time::Duration::from_secs(1), _more.evicted())
            .await
            .expect("then the next idle one");
        drop((busy, portal));
    }

    #[test]
    fn trusted_origins_alone_can_fill_the_daemon() {
        let conns = Connections::new(2, 16);
        let _a = conns.join("https://a.kz", true).expect("ok");
        let _b = conns.join("https://b.kz", true).expect("ok");
        assert_eq!(conns.join("https://c.kz", true).err(), Some(Full::Daemon));
    }
}
