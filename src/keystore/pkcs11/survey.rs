//! What each configured PKCS#11 module has now, for `qoltanba doctor`: whether it is installed
//! and loads, its slots (readers) and the initialised tokens in them (label and serial). No
//! session is opened and no PIN asked.

use std::path::PathBuf;

use super::worker::Worker;
use super::{token, ModuleRegistry};
use crate::crypto::DeviceError;

/// One module of one storage name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSurvey {
    /// The storage name (`AKKaztokenStore`).
    pub storage: String,
    /// The module file.
    pub path: PathBuf,
    /// What was found.
    pub state: ModuleState,
}

/// The state of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleState {
    /// The file is not there.
    NotInstalled,
    /// The file is there but does not load or initialise.
    Unusable,
    /// Loaded: its slots (readers) and the tokens present (`label (serial)`).
    Loaded {
        /// The number of slots the module reports.
        readers: usize,
        /// The initialised tokens present.
        tokens: Vec<String>,
    },
}

/// Surveys every module of `registry`, one worker thread each (stopped when done).
pub fn survey(registry: &ModuleRegistry) -> Vec<ModuleSurvey> {
    let mut found = Vec::new();
    for (storage, paths) in registry.entries() {
        for path in paths {
            let state = state_of(path);
            found.push(ModuleSurvey { storage: storage.to_string(), path: path.clone(), state });
        }
    }
    found
}

fn state_of(path: &std::path::Path) -> ModuleState {
    if path.is_absolute() && !path.exists() {
        return ModuleState::NotInstalled;
    }
    let worker = Worker::spawn(path);
    let listed = worker.run(|module| {
        let tokens = token::present(module)?;
        let readers = module.ctx.get_all_slots().map_err(|e| DeviceError::Failed(e.to_string()))?;
        let tokens = tokens.into_iter().map(|(_, t)| format!("{} ({})", t.label, t.serial));
        Ok((readers.len(), tokens.collect::<Vec<String>>()))
    });
    match listed {
        Ok((readers, tokens)) => ModuleState::Loaded { readers, tokens },
        Err(DeviceError::NotPresent) if !path.is_absolute() => ModuleState::NotInstalled,
        Err(_) => ModuleState::Unusable,
    }
}
