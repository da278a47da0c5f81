//! The line protocol between the daemon's [`GuiPrompter`](super::GuiPrompter) and the
//! `qoltanba prompt` child: one JSON object per line, both ways, over the child's stdin/stdout.
//!
//! ```text
//! daemon -> dialog: ask | choose-file      first line: what to show
//!                   retry                  the answer did not work (wrong password, …)
//!                   keys                   the store opened: pick one of these keys
//!                   done                   the request ended; close
//! dialog -> daemon: approve | key | file | cancel
//! ```
//!
//! The password travels only in an `approve` line, built in a zeroizing buffer and never logged.
//! End of file either way means cancel.

use std::path::PathBuf;

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::ui::i18n::Locale;

/// How far the user can trust the origin shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standing {
    /// On the trusted list.
    Trusted,
    /// Not on the list, but the user signed for it before.
    Known,
    /// Never seen before (or no web origin at all): shown with a warning colour.
    FirstSeen,
}

/// One document as the dialog shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DocumentView {
    /// Size in bytes.
    pub size: usize,
    /// SHA-256 hex.
    pub sha256: String,
    /// The first lines of XML/text.
    pub preview: Option<String>,
    /// Only a digest was sent.
    pub digest_only: bool,
}

/// Everything the signing dialog shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DialogRequest {
    /// The handshake origin (`None`: a local program).
    pub origin: Option<String>,
    /// Trust standing of the origin.
    pub standing: Standing,
    /// The operation in words, in `locale`.
    pub operation: String,
    /// What is signed.
    pub documents: Vec<DocumentView>,
    /// What kind of key the site accepts, in words (empty: any).
    pub wanted: String,
    /// Storage names allowed (`None`: any).
    pub storages: Option<Vec<String>>,
    /// Connected token storage names.
    pub tokens: Vec<String>,
    /// The portal's logo, base64 PNG (size-limited by the protocol layer).
    #[serde(default)]
    pub logo: Option<String>,
    /// Key files used recently, newest first.
    pub recent: Vec<PathBuf>,
    /// Dialog language.
    pub locale: Locale,
}

/// One key of an opened store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyView {
    /// Alias to answer with.
    pub alias: String,
    /// Owner (subject CN).
    pub owner: String,
    /// IIN and/or BIN.
    pub iin_bin: String,
    /// `signature`, `authentication`, both.
    pub role: String,
    /// Issuer CN.
    pub issuer: String,
    /// `YYYY-MM-DD – YYYY-MM-DD`.
    pub validity: String,
    /// `valid`, `expired` or `not-yet-valid`.
    pub status: String,
}

/// Why the dialog asks again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RetryView {
    /// Wrong password / PIN; tries left when the token says.
    WrongPassword { left: Option<u32> },
    /// No key of the store matches.
    NoMatchingKey,
    /// Any other problem, already in words.
    Problem { text: String },
}

/// Daemon -> dialog.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ToDialog {
    /// Show the signing dialog.
    Ask(Box<DialogRequest>),
    /// Show a file chooser for `origin`.
    ChooseFile { origin: Option<String>, extension: String, locale: Locale },
    /// The answer did not work.
    Retry { retry: RetryView },
    /// Choose one of these keys.
    Keys { keys: Vec<KeyView> },
    /// Close.
    Done,
}

/// Dialog -> daemon.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FromDialog {
    /// Sign with the store, file and secret.
    Approve {
        store: String,
        file: Option<PathBuf>,
        secret: SecretString,
        /// Trust this site from now on.
        #[serde(default)]
        remember_origin: bool,
    },
    /// This key.
    Key { alias: String },
    /// This file (file chooser).
    File { path: PathBuf },
    /// The user cancelled.
    Cancel,
}

impl std::fmt::Debug for FromDialog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Approve { store, file, .. } => {
                write!(f, "Approve {{ store: {store:?}, file: {file:?}, .. }}")
            }
            Self::Key { alias } => write!(f, "Key {{ alias: {alias:?} }}"),
            Self::File { path } => write!(f, "File {{ path: {path:?} }}"),
            Self::Cancel => f.write_str("Cancel"),
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename = "approve")]
struct ApproveLine<'a> {
    store: &'a str,
    file: Option<&'a std::path::Path>,
    secret: &'a str,
    remember_origin: bool,
}

/// The `approve` line, newline-terminated, in a buffer wiped on drop.
pub fn approve_line(
    store: &str,
    file: Option<&std::path::Path>,
    secret: &SecretString,
    remember_origin: bool,
) -> Zeroizing<String> {
    let line = ApproveLine { store, file, secret: secret.expose_secret(), remember_origin };
    let mut text = Zeroizing::new(serde_json::to_string(&line).unwrap_or_default());
    text.push('\n');
    text
}

/// A non-secret line (`key`, `file`, `cancel`), newline-terminated.
pub fn plain_line(value: &serde_json::Value) -> String {
    format!("{value}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approve_round_trips_without_showing_the_secret_in_debug() {
        let secret = SecretString::from("Qwerty12");
        let line = approve_line("PKCS12", Some(std::path::Path::new("/k.p12")), &secret, true);
        let parsed: FromDialog = serde_json::from_str(line.trim_end()).expect("approve line");
        let shown = format!("{parsed:?}");
        assert!(!shown.contains("Qwerty12"), "{shown}");
        match parsed {
            FromDialog::Approve { store, file, secret, remember_origin } => {
                assert!(remember_origin);
                assert_eq!(store, "PKCS12");
                assert_eq!(file.as_deref(), Some(std::path::Path::new("/k.p12")));
                assert_eq!(secret.expose_secret(), "Qwerty12");
            }
            other => panic!("not approve: {other:?}"),
        }
    }

    #[test]
    fn daemon_lines_round_trip() {
        let retry = ToDialog::Retry { retry: RetryView::WrongPassword { left: Some(2) } };
        let text = serde_json::to_string(&retry).expect("json");
        assert_eq!(text, r#"{"type":"retry","retry":{"wrong-password":{"left":2}}}"#);
        let back: ToDialog = serde_json::from_str(&text).expect("parse");
        assert!(matches!(back, ToDialog::Retry { .. }));
    }
}
