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
//! The password travels only in an `approve` line, never logged. It is written there as hex of
//! its UTF-8 bytes, so the JSON holds no escapes and the parser hands it over without copying
//! it into a scratch buffer; the line is built in one zeroizing buffer sized up front (no
//! reallocation leaves a copy behind) and read on the daemon's side into one too
//! ([`session`](super::session)). End of file either way means cancel.

use std::path::PathBuf;

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize as _, Zeroizing};

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
    /// What the store choice says beside some tokens (experimental, PIN tries left), worded.
    #[serde(default)]
    pub token_notes: std::collections::BTreeMap<String, String>,
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
    /// Why this key may not sign (shown greyed, not selectable); `None`: it may.
    #[serde(default)]
    pub refused: Option<String>,
    /// What the user should know before signing with it (revocation unknown).
    #[serde(default)]
    pub warning: Option<String>,
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

/// What the key dialog is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssueKind {
    /// Make a key in a folder: the folder and a new password, typed twice.
    NewFileKey,
    /// Make a key on a token: its PIN.
    NewTokenKey,
    /// Install a certificate: the waiting key's password (or the token's PIN).
    Install,
}

/// Everything the key dialog shows (getting a key, `docs/issuance.md`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssueRequest {
    /// What is asked.
    pub kind: IssueKind,
    /// The handshake origin (`None`: a local program).
    pub origin: Option<String>,
    /// Trust standing of the origin.
    pub standing: Standing,
    /// Whom the key is for (the certificate's subject).
    pub subject: String,
    /// Where it goes: the storage name, the token, or the key file; in words.
    pub destination: String,
    /// The certificate's issuer (installation).
    #[serde(default)]
    pub issuer: String,
    /// Why it is asked again, in words.
    #[serde(default)]
    pub problem: Option<String>,
    /// Dialog language.
    pub locale: Locale,
}

/// Daemon -> dialog.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ToDialog {
    /// Show the signing dialog.
    Ask(Box<DialogRequest>),
    /// Show a file chooser for `origin`.
    ChooseFile { origin: Option<String>, extension: String, locale: Locale },
    /// Show the key dialog (a new key, or a certificate to install).
    Issue(Box<IssueRequest>),
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
        /// Hex on the wire (see the module text).
        #[serde(deserialize_with = "secret_from_hex")]
        secret: SecretString,
        /// Trust this site from now on.
        #[serde(default)]
        remember_origin: bool,
    },
    /// This key.
    Key { alias: String },
    /// This file (file chooser).
    File { path: PathBuf },
    /// The key dialog's answer: the folder (a new key in a folder) and the secret.
    Issue {
        folder: Option<PathBuf>,
        /// Hex on the wire (see the module text).
        #[serde(deserialize_with = "secret_from_hex")]
        secret: SecretString,
    },
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
            Self::Issue { folder, .. } => write!(f, "Issue {{ folder: {folder:?}, .. }}"),
            Self::Cancel => f.write_str("Cancel"),
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename = "approve")]
struct ApproveLine<'a> {
    store: &'a str,
    file: Option<&'a std::path::Path>,
    #[serde(serialize_with = "secret_as_hex")]
    secret: &'a SecretString,
    remember_origin: bool,
}

/// The `approve` line, newline-terminated, in one buffer wiped on drop.
pub fn approve_line(
    store: &str,
    file: Option<&std::path::Path>,
    secret: &SecretString,
    remember_origin: bool,
) -> Zeroizing<Vec<u8>> {
    let file_len = file.map_or(0, |f| f.as_os_str().len());
    // JSON escapes at most 6 bytes per byte (`\u00XX`); hex is 2 per byte; 128 for the rest.
    let room = 6 * (store.len() + file_len) + 2 * secret.expose_secret().len() + 128;
    let mut line = Zeroizing::new(Vec::with_capacity(room));
    let approve = ApproveLine { store, file, secret, remember_origin };
    if serde_json::to_writer(&mut *line, &approve).is_err() {
        line.zeroize(); // a file name that is not UTF-8: an empty line, which reads as cancel
    }
    line.push(b'\n');
    line
}

#[derive(Serialize)]
#[serde(tag = "type", rename = "issue")]
struct IssueLine<'a> {
    folder: Option<&'a std::path::Path>,
    #[serde(serialize_with = "secret_as_hex")]
    secret: &'a SecretString,
}

/// The key dialog's answer line, newline-terminated, in one buffer wiped on drop.
pub fn issue_line(folder: Option<&std::path::Path>, secret: &SecretString) -> Zeroizing<Vec<u8>> {
    let folder_len = folder.map_or(0, |f| f.as_os_str().len());
    let room = 6 * folder_len + 2 * secret.expose_secret().len() + 64;
    let mut line = Zeroizing::new(Vec::with_capacity(room));
    if serde_json::to_writer(&mut *line, &IssueLine { folder, secret }).is_err() {
        line.zeroize();
    }
    line.push(b'\n');
    line
}

fn secret_as_hex<S: serde::Serializer>(secret: &&SecretString, s: S) -> Result<S::Ok, S::Error> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let bytes = secret.expose_secret().as_bytes();
    let mut hex = Zeroizing::new(String::with_capacity(2 * bytes.len()));
    for byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    s.serialize_str(&hex)
}

fn secret_from_hex<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
    struct Hex;
    impl serde::de::Visitor<'_> for Hex {
        type Value = SecretString;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("the secret as hex")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<SecretString, E> {
            let bytes = decode_hex(text).ok_or_else(|| E::custom("the secret is not hex"))?;
            let text =
                std::str::from_utf8(&bytes).map_err(|_| E::custom("the secret is not UTF-8"))?;
            Ok(SecretString::from(text))
        }
    }
    d.deserialize_str(Hex)
}

/// Hex digits to bytes, in a buffer wiped on drop (also when the text is not hex).
fn decode_hex(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let digit = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut bytes = Zeroizing::new(Vec::with_capacity(text.len() / 2));
    for pair in text.as_bytes().chunks(2) {
        match pair {
            [high, low] => bytes.push((digit(*high)? << 4) | digit(*low)?),
            _ => return None,
        }
    }
    Some(bytes)
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
        let parsed: FromDialog = serde_json::from_slice(&line).expect("approve line");
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

    /// Issue 10, item 5: the password left unwiped copies on its way to the daemon.
    #[test]
    fn approve_line_holds_the_secret_as_hex_in_one_allocation() {
        let password = "пароль \"quoted\" \\ back\u{1}slash";
        let secret = SecretString::from(password);
        let long_path = format!("/{}/key.p12", "\u{1}каталог".repeat(40));
        let file = std::path::Path::new(&long_path);
        let line = approve_line("PKCS12", Some(file), &secret, false);
        let text = std::str::from_utf8(&line).expect("UTF-8");
        assert!(!text.contains("quoted") && !text.contains("пароль"), "{text}");
        let hex: String = password.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(text.contains(&format!(r#""secret":"{hex}""#)), "{text}");
        let room = 6 * ("PKCS12".len() + long_path.len()) + 2 * password.len() + 128;
        assert_eq!(line.capacity(), room, "the line was reallocated");
        match serde_json::from_slice(&line).expect("approve line") {
            FromDialog::Approve { secret, file: Some(back), .. } => {
                assert_eq!(secret.expose_secret(), password);
                assert_eq!(back, file);
            }
            other => panic!("not approve: {other:?}"),
        }
    }

    #[test]
    fn a_secret_that_is_not_hex_is_refused() {
        for bad in ["abc", "zz", "c3"] {
            let line =
                format!(r#"{{"type":"approve","store":"PKCS12","file":null,"secret":"{bad}"}}"#);
            assert!(serde_json::from_str::<FromDialog>(&line).is_err(), "{bad}");
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
