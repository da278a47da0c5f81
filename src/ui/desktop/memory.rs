//! What the desktop remembers between runs, in `desktop.json` in the data directory: the origins
//! the user has signed for (so a first-seen site gets the warning colour) and the key files used
//! last (offered in the dialog). Also the trusted-origin rule until the policy issue replaces it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::wire::Standing;

/// How many recent key files are kept.
const RECENT: usize = 5;

/// Hosts trusted out of the box: the state portals (`*.gov.kz`, `egov.kz`). The policy issue
/// replaces this with the configurable allow-list.
const TRUSTED_SUFFIXES: &[&str] = &[".gov.kz", ".egov.kz"];
const TRUSTED_HOSTS: &[&str] = &["egov.kz", "gov.kz"];

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    #[serde(default)]
    origins: Vec<String>,
    #[serde(default)]
    recent: Vec<PathBuf>,
}

/// The remembered origins and files, kept in one JSON file.
#[derive(Debug)]
pub struct Memory {
    file: PathBuf,
    stored: Mutex<Stored>,
}

impl Memory {
    /// Loads `dir/desktop.json` (an unreadable file is an empty memory).
    pub fn load(dir: &Path) -> Self {
        let file = dir.join("desktop.json");
        let stored = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Self { file, stored: Mutex::new(stored) }
    }

    /// How far `origin` can be trusted.
    pub fn standing(&self, origin: Option<&str>) -> Standing {
        let Some(origin) = origin else { return Standing::FirstSeen };
        if is_trusted(origin) {
            return Standing::Trusted;
        }
        let known = self.stored.lock().map(|s| s.origins.iter().any(|o| o == origin));
        if known.unwrap_or(false) {
            Standing::Known
        } else {
            Standing::FirstSeen
        }
    }

    /// Key files used recently, newest first.
    pub fn recent(&self) -> Vec<PathBuf> {
        self.stored.lock().map(|s| s.recent.clone()).unwrap_or_default()
    }

    /// Remembers a successful signature for `origin` with `file`.
    pub fn remember(&self, origin: Option<&str>, file: Option<&Path>) {
        let Ok(mut stored) = self.stored.lock() else { return };
        if let Some(origin) = origin.filter(|o| !stored.origins.iter().any(|s| s == o)) {
            stored.origins.push(origin.to_string());
        }
        if let Some(file) = file {
            stored.recent.retain(|f| f != file);
            stored.recent.insert(0, file.to_path_buf());
            stored.recent.truncate(RECENT);
        }
        if let Ok(text) = serde_json::to_vec_pretty(&*stored) {
            if let Err(e) = std::fs::write(&self.file, text) {
                tracing::warn!("cannot write {}: {e}", self.file.display());
            }
        }
    }
}

/// `https://` and a host on the built-in trusted list.
fn is_trusted(origin: &str) -> bool {
    let Some(rest) = origin.strip_prefix("https://") else { return false };
    let host = rest.split([':', '/']).next().unwrap_or_default().to_ascii_lowercase();
    TRUSTED_HOSTS.contains(&host.as_str()) || TRUSTED_SUFFIXES.iter().any(|s| host.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_known_and_first_seen() {
        let dir = tempfile::tempdir().expect("dir");
        let memory = Memory::load(dir.path());
        assert_eq!(memory.standing(Some("https://egov.kz")), Standing::Trusted);
        assert_eq!(memory.standing(Some("https://cabinet.kgd.gov.kz:443")), Standing::Trusted);
        assert_eq!(memory.standing(Some("http://egov.kz")), Standing::FirstSeen);
        assert_eq!(memory.standing(Some("https://egov.kz.evil.com")), Standing::FirstSeen);
        assert_eq!(memory.standing(None), Standing::FirstSeen);
        memory.remember(Some("https://bank.kz"), Some(Path::new("/k.p12")));
        let again = Memory::load(dir.path());
        assert_eq!(again.standing(Some("https://bank.kz")), Standing::Known);
        assert_eq!(again.recent(), vec![PathBuf::from("/k.p12")]);
    }
}
