//! What the desktop remembers between runs, in `desktop.json` in the data directory: the origins
//! the user has signed for (so a first-seen site gets the warning colour) and the key files used
//! last (offered in the dialog). Whether an origin is trusted is not decided here: the origin
//! policy (`service::policy`) decides it and the prompt request carries it as `Trust`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// How many recent key files are kept.
const RECENT: usize = 5;

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

    /// Whether the user has signed for `origin` before (never for no origin).
    pub fn knows(&self, origin: Option<&str>) -> bool {
        let Some(origin) = origin else { return false };
        let known = self.stored.lock().map(|s| s.origins.iter().any(|o| o == origin));
        known.unwrap_or(false)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_for_origins_and_files_are_remembered_across_runs() {
        let dir = tempfile::tempdir().expect("dir");
        let memory = Memory::load(dir.path());
        assert!(!memory.knows(Some("https://bank.kz")));
        assert!(!memory.knows(Some("https://egov.kz")), "trust is the policy's, not a rule here");
        assert!(!memory.knows(None));
        memory.remember(Some("https://bank.kz"), Some(Path::new("/k.p12")));
        let again = Memory::load(dir.path());
        assert!(again.knows(Some("https://bank.kz")));
        assert!(!again.knows(Some("https://bank.kz.evil.com")));
        assert_eq!(again.recent(), vec![PathBuf::from("/k.p12")]);
    }
}
