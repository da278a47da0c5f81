//! The desktop (feature `desktop`, `docs/desktop.md`): the consent dialog, run as a short-lived
//! `qoltanba prompt` child process ([`prompt::main`], [`dialog`]) that the daemon's
//! [`GuiPrompter`] drives over a line protocol ([`wire`]); and the tray icon ([`tray`]) on the
//! main thread. The [`Board`] carries state from the service side to the tray.

pub mod dialog;
mod fonts;
mod home;
pub mod issue_dialog;
mod logo;
pub mod memory;
mod open;
pub mod prompt;
pub mod prompter;
mod secret_text;
pub mod session;
#[cfg(feature = "test-support")]
mod testlog;
pub mod tray;
#[cfg(not(target_os = "linux"))]
mod tray_pump;
pub mod wire;

use std::sync::{Arc, Mutex};

pub use prompter::GuiPrompter;

/// What the tray icon shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrayState {
    /// Waiting for portals.
    #[default]
    Idle,
    /// A dialog is open.
    Waiting,
    /// The last request failed on our side, or a listener stopped.
    Error,
}

/// State shared by the service side (writers) and the tray (reader, polling).
#[derive(Debug, Clone, Default)]
pub struct Board(Arc<Mutex<BoardState>>);

/// What the [`Board`] holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoardState {
    /// Icon state.
    pub state: TrayState,
    /// Listening addresses.
    pub listening: Vec<String>,
    /// Key stores seen (storage names, files used).
    pub stores: Vec<String>,
}

impl Board {
    /// A copy of the state.
    pub fn snapshot(&self) -> BoardState {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Changes the state with `change`.
    pub fn update(&self, change: impl FnOnce(&mut BoardState)) {
        if let Ok(mut state) = self.0.lock() {
            change(&mut state);
        }
    }

    /// Sets the icon state.
    pub fn set_state(&self, state: TrayState) {
        self.update(|s| s.state = state);
    }
}
