//! Desktop notifications: what is said ([`Notification`], in the user's language) and who says
//! it ([`Notifier`]: `notify-send` on Linux desktops, a JSON-lines file for tests). Two sources:
//! the [`ExpiryWatch`] (a recently used key whose certificate expires within 30 days, at most
//! once a day per certificate) and [`Notifications::policy_refused`], the hook the origin policy
//! calls when it refuses a request. Never carries a document or a secret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

use super::i18n::{fill, text, Locale, Msg};
use crate::crypto::Certificate;

/// A certificate expiring within this many days is announced.
pub const EXPIRY_WARNING_DAYS: i64 = 30;
/// A key used within this many days counts as recently used.
const RECENT_USE_DAYS: i64 = 90;

/// Something the user is told outside a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// A recently used key's certificate expires soon.
    CertificateExpiring { owner: String, days: i64, date: Date },
    /// The policy refused a request.
    PolicyRefused { origin: Option<String>, reason: String },
}

impl Notification {
    /// The title in `locale`.
    pub fn title(&self, locale: Locale) -> &'static str {
        match self {
            Self::CertificateExpiring { .. } => text(Msg::ExpiringTitle, locale),
            Self::PolicyRefused { .. } => text(Msg::RefusedTitle, locale),
        }
    }

    /// The body in `locale`.
    pub fn body(&self, locale: Locale) -> String {
        match self {
            Self::CertificateExpiring { owner, days, date } => fill(
                text(Msg::ExpiringBody, locale),
                &[("owner", owner), ("days", &days.to_string()), ("date", &date.to_string())],
            ),
            Self::PolicyRefused { origin, reason } => {
                let origin = origin.as_deref().unwrap_or(text(Msg::LocalProgram, locale));
                fill(text(Msg::RefusedBody, locale), &[("origin", origin), ("reason", reason)])
            }
        }
    }
}

/// Shows notifications to the user.
pub trait Notifier: Send + Sync {
    /// Shows `title` / `body`; failures are logged, never raised.
    fn show(&self, title: &str, body: &str);
}

/// `notify-send` (libnotify) when present; otherwise the notification is only logged.
#[derive(Debug, Default)]
pub struct DesktopNotifier;

impl Notifier for DesktopNotifier {
    fn show(&self, title: &str, body: &str) {
        let shown = std::process::Command::new("notify-send")
            .args(["--app-name=Qoltanba", "--icon=dialog-warning", title, body])
            .status();
        if !matches!(shown, Ok(status) if status.success()) {
            tracing::info!("notification (no notification service): {title}: {body}");
        }
    }
}

/// Appends each notification as a JSON line to a file (tests; `QOLTANBA_NOTIFY_LOG` in
/// `test-support` builds).
#[cfg(any(test, feature = "test-support"))]
#[derive(Debug)]
pub struct FileNotifier(pub PathBuf);

#[cfg(any(test, feature = "test-support"))]
impl Notifier for FileNotifier {
    fn show(&self, title: &str, body: &str) {
        use std::io::Write as _;
        let line = serde_json::json!({"title": title, "body": body});
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.0)
            .and_then(|mut file| writeln!(file, "{line}"));
        if let Err(e) = written {
            tracing::warn!("cannot write {}: {e}", self.0.display());
        }
    }
}

/// Sends notifications in the current language.
#[derive(Clone)]
pub struct Notifications {
    notifier: Arc<dyn Notifier>,
    locale: Arc<Mutex<Locale>>,
}

impl Notifications {
    /// Notifications through `notifier`.
    pub fn new(notifier: Arc<dyn Notifier>, locale: Locale) -> Self {
        Self { notifier, locale: Arc::new(Mutex::new(locale)) }
    }

    /// The notifier for this machine: the desktop's; in test builds (`test-support`) the file
    /// named by `QOLTANBA_NOTIFY_LOG` when set, so a release build cannot be made to write
    /// notifications to a file someone else names.
    pub fn for_desktop(locale: Locale) -> Self {
        #[cfg(feature = "test-support")]
        if let Some(file) = std::env::var_os("QOLTANBA_NOTIFY_LOG") {
            return Self::new(Arc::new(FileNotifier(file.into())), locale);
        }
        Self::new(Arc::new(DesktopNotifier), locale)
    }

    /// Changes the language of later notifications.
    pub fn set_locale(&self, locale: Locale) {
        if let Ok(mut current) = self.locale.lock() {
            *current = locale;
        }
    }

    /// Shows `notification`.
    pub fn send(&self, notification: &Notification) {
        let locale = self.locale.lock().map(|l| *l).unwrap_or_default();
        self.notifier.show(notification.title(locale), &notification.body(locale));
    }

    /// The policy hook: a request from `origin` was refused because of `reason` (in words).
    pub fn policy_refused(&self, origin: Option<&str>, reason: &str) {
        let origin = origin.map(str::to_string);
        self.send(&Notification::PolicyRefused { origin, reason: reason.to_string() });
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct UsedKey {
    owner: String,
    not_after: i64,
    last_used: i64,
    notified_on: Option<String>,
}

/// Remembers the certificates of keys used for signing (`expiry.json` in the data directory)
/// and announces the ones expiring soon, once a day each.
pub struct ExpiryWatch {
    file: PathBuf,
    keys: Mutex<BTreeMap<String, UsedKey>>,
}

impl ExpiryWatch {
    /// Loads `dir/expiry.json` (unreadable: empty).
    pub fn load(dir: &Path) -> Self {
        let file = dir.join("expiry.json");
        let keys = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Self { file, keys: Mutex::new(keys) }
    }

    /// Records that the key of `certificate` was used at `now`.
    pub fn record_use(&self, certificate: &Certificate, now: OffsetDateTime) {
        let Ok(mut keys) = self.keys.lock() else { return };
        let entry = keys.entry(certificate.serial_hex()).or_insert_with(|| UsedKey {
            owner: certificate.subject_cn().unwrap_or_default(),
            not_after: certificate.not_after().unix_timestamp(),
            last_used: 0,
            notified_on: None,
        });
        entry.last_used = now.unix_timestamp();
        self.save(&keys);
    }

    /// The notifications due at `now`; each certificate at most once per day.
    pub fn due(&self, now: OffsetDateTime) -> Vec<Notification> {
        let Ok(mut keys) = self.keys.lock() else { return Vec::new() };
        let today = now.date();
        let stamp = today.to_string();
        let mut due = Vec::new();
        for key in keys.values_mut() {
            let recent = now.unix_timestamp() - key.last_used
                <= Duration::days(RECENT_USE_DAYS).whole_seconds();
            let left = Duration::seconds(key.not_after - now.unix_timestamp()).whole_days();
            let soon = key.not_after > now.unix_timestamp() && left <= EXPIRY_WARNING_DAYS;
            if recent && soon && key.notified_on.as_deref() != Some(stamp.as_str()) {
                key.notified_on = Some(stamp.clone());
                let date = OffsetDateTime::from_unix_timestamp(key.not_after).map(|t| t.date());
                let date = date.unwrap_or(today);
                due.push(Notification::CertificateExpiring {
                    owner: key.owner.clone(),
                    days: left,
                    date,
                });
            }
        }
        if !due.is_empty() {
            self.save(&keys);
        }
        due
    }

    fn save(&self, keys: &BTreeMap<String, UsedKey>) {
        let written = serde_json::to_vec_pretty(keys).map_err(std::io::Error::other);
        if let Err(e) = written.and_then(|text| std::fs::write(&self.file, text)) {
            tracing::warn!("cannot write {}: {e}", self.file.display());
        }
    }
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
