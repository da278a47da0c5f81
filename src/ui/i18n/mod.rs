//! User-facing text in Kazakh, Russian and English: a [`Locale`], a [`Msg`] key per sentence
//! and one table per language (`kk.rs`, `ru.rs`, `en.rs`). The dialog, the tray and the
//! notifications take every word from here, `qoltanba doctor` from its own keys ([`doctor`]);
//! the terminal prompter keeps English. Templates name their blanks `{name}`, filled by
//! [`fill`]. Nothing here does I/O except reading the
//! environment in [`Locale::from_system`].

pub mod doctor;
mod en;
mod kk;
mod ru;

use serde::{Deserialize, Serialize};

use crate::crypto::PinTries;
use crate::service::consent::{Operation, Retry};

/// A language of the user interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// Қазақша.
    Kk,
    /// Русский.
    #[default]
    Ru,
    /// English.
    En,
}

impl Locale {
    /// Every locale, in menu order.
    pub const ALL: [Locale; 3] = [Locale::Kk, Locale::Ru, Locale::En];

    /// Reads a locale code as portals send it (`kk`, `kz`, `ru`, `en`, `ru_RU`, `kk-KZ`…).
    pub fn parse(code: &str) -> Option<Self> {
        let lower = code.trim().to_ascii_lowercase();
        let language = lower.split(['_', '-', '.', '@']).next().unwrap_or_default();
        match language {
            "kk" | "kz" | "kaz" => Some(Self::Kk),
            "ru" | "rus" => Some(Self::Ru),
            "en" | "eng" => Some(Self::En),
            _ => None,
        }
    }

    /// [`Locale::parse`], falling back to Russian (NCALayer's most common language).
    pub fn parse_or_default(code: &str) -> Self {
        Self::parse(code).unwrap_or_default()
    }

    /// The language of the system (`LC_ALL`, `LC_MESSAGES`, `LANG`), Russian when unknown.
    pub fn from_system() -> Self {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|var| std::env::var(var).ok())
            .find(|value| !value.is_empty())
            .and_then(|value| Self::parse(&value))
            .unwrap_or_default()
    }

    /// The code used on the wire and in config files.
    pub fn code(self) -> &'static str {
        match self {
            Self::Kk => "kk",
            Self::Ru => "ru",
            Self::En => "en",
        }
    }

    /// The language's own name, for the language menu.
    pub fn native_name(self) -> &'static str {
        match self {
            Self::Kk => "қазақша",
            Self::Ru => "русский",
            Self::En => "English",
        }
    }
}

/// One sentence or label of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Msg {
    /// Window title of the signing dialog (after "Qoltanba — ").
    DialogTitle,
    /// Label before the origin.
    RequestedBy,
    /// Shown instead of an origin for a client without one.
    LocalProgram,
    /// Warning: the site is seen for the first time.
    FirstSeen,
    /// Warning: the site is not on the trusted list.
    NotTrusted,
    /// The site is on the trusted list.
    Trusted,
    /// Checkbox: trust this site from now on.
    RememberSite,
    /// `Document {n}: {size} bytes`.
    DocumentSize,
    /// A digest cannot be shown.
    DigestOnly,
    /// Binary content has no preview.
    BinaryData,
    /// Heading of the key store choice.
    KeyStore,
    /// A key store file.
    StoreFile,
    /// Button opening the file chooser.
    ChooseFile,
    /// Heading of the recently used files.
    RecentFiles,
    /// No token is connected.
    NoTokens,
    /// Password label.
    Password,
    /// PIN label.
    Pin,
    /// Sign button.
    Sign,
    /// Cancel button.
    Cancel,
    /// Button confirming a key choice.
    UseKey,
    /// Wrong password.
    WrongPassword,
    /// `{left}` tries left (tokens).
    TriesLeft,
    /// The store holds no key the site accepts.
    NoMatchingKey,
    /// Wrong PIN, the token does not say how many tries are left.
    WrongPin,
    /// Wrong PIN, the token reports few tries left.
    WrongPinFewTries,
    /// Wrong PIN, one try left before the token locks the PIN.
    WrongPinLastTry,
    /// `Wrong PIN. {n} tries left before the card blocks the PIN.`
    WrongPinTriesLeft,
    /// `The PIN must be 4 to 8 digits.` (the ID card; nothing was sent)
    PinFormat,
    /// The NCA's rule for a new key's password.
    NewPasswordRule,
    /// `asks to make a new key for a certificate`
    AsksNewKey,
    /// `brings the certificate of your new key`
    AsksInstall,
    /// `For`
    KeyFor,
    /// `Key store`
    KeyGoesTo,
    /// `Folder for the key file`
    KeyFolder,
    /// `Choose folder…`
    ChooseFolder,
    /// `Choose the folder for the key first.`
    ChooseFolderFirst,
    /// `New password`
    NewPassword,
    /// `The same password again`
    RepeatPassword,
    /// `The two passwords differ.`
    PasswordsDiffer,
    /// `Enter the password or PIN.`
    EnterSecret,
    /// `Create key`
    CreateKey,
    /// `Install`
    InstallCertificate,
    /// `experimental` beside a store whose support is experimental.
    ExperimentalStore,
    /// `PIN: {n} tries left` beside a store.
    StorePinTries,
    /// `PIN blocked` beside a store.
    StorePinBlocked,
    /// `The key {alias} is not one the site accepts.`
    KeyNotAccepted,
    /// `The site does not accept keys from {store}.`
    StorageNotAllowed,
    /// `No {store} token is connected.`
    NoToken,
    /// `The certificate of this key is not accepted: {reason}`.
    KeyNotTrusted,
    /// `The certificate of this key was revoked on {at}{reason}.`
    Revoked,
    /// `It is not known whether the certificate of this key is revoked ({reason}).`
    RevocationUnknown,
    /// A key store file is needed.
    ChooseStoreFile,
    /// `Cannot read {path}: {reason}`.
    Unreadable,
    /// `The key store cannot be used: {reason}`.
    StoreUnusable,
    /// Heading of the key list.
    Keys,
    /// Key owner label.
    Owner,
    /// IIN/BIN label.
    IinBin,
    /// Role label.
    Role,
    /// Issuer label.
    Issuer,
    /// Validity label.
    Validity,
    /// Certificate expired.
    Expired,
    /// Certificate not yet valid.
    NotYetValid,
    /// Signature role.
    RoleSignature,
    /// Authentication role.
    RoleAuthentication,
    /// The site asks the user to pick a file of `{extension}`.
    AsksForFile,
    /// The site wants only keys of this kind: `{what}`.
    KeysWanted,
    /// Choose a key store first.
    ChooseStoreFirst,
    /// Tray tooltip / status: waiting for portals.
    StateIdle,
    /// Tray status: a request is waiting for the user.
    StateWaiting,
    /// Tray status: something went wrong.
    StateError,
    /// Tray: `Listening on {address}`.
    Listening,
    /// Tray: key stores seen.
    StoresSeen,
    /// Tray: open the signing history.
    OpenHistory,
    /// Tray: trust the local certificate in browsers.
    TrustCertificate,
    /// Tray: language submenu.
    Language,
    /// Tray: settings.
    Settings,
    /// Tray: quit.
    Quit,
    /// Notification title: a certificate expires soon.
    ExpiringTitle,
    /// `The certificate of {owner} expires in {days} days ({date}).`
    ExpiringBody,
    /// Notification title: a request was refused.
    RefusedTitle,
    /// `{origin} was refused: {reason}`.
    RefusedBody,
}

/// The text of `msg` in `locale`.
pub fn text(msg: Msg, locale: Locale) -> &'static str {
    match locale {
        Locale::Kk => kk::text(msg),
        Locale::Ru => ru::text(msg),
        Locale::En => en::text(msg),
    }
}

/// Replaces each `{name}` in `template` with its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_string(), |out, (name, value)| out.replace(&format!("{{{name}}}"), value))
}

/// The operation in words, e.g. "Sign 3 XML documents".
pub fn operation(op: Operation, count: usize, locale: Locale) -> String {
    let n = count.to_string();
    let template = match locale {
        Locale::Kk => kk::operation(op),
        Locale::Ru => ru::operation(op, count),
        Locale::En => en::operation(op, count),
    };
    fill(template, &[("n", &n)])
}

/// What the store choice says beside a token's name (empty: nothing), e.g. "experimental ·
/// PIN: 3 tries left".
pub fn store_notice(notice: &crate::keystore::StoreNotice, locale: Locale) -> String {
    let experimental = notice.experimental.then(|| text(Msg::ExperimentalStore, locale).into());
    let tries = notice.pin_tries.map(|n| match n {
        0 => text(Msg::StorePinBlocked, locale).to_string(),
        n => fill(text(Msg::StorePinTries, locale), &[("n", &n.to_string())]),
    });
    experimental.into_iter().chain(tries).collect::<Vec<String>>().join(" · ")
}

/// Why a new-key or install prompt asks again, in words.
pub fn issuance_retry(why: crate::service::consent::IssuanceRetry, locale: Locale) -> String {
    use crate::service::consent::IssuanceRetry;
    match why {
        IssuanceRetry::PasswordRule(_) => text(Msg::NewPasswordRule, locale).into(),
        IssuanceRetry::WrongPassword => text(Msg::WrongPassword, locale).into(),
        IssuanceRetry::WrongPin(tries) => retry(&Retry::WrongPin(tries), locale),
    }
}

/// Why the prompt asks again, in words.
pub fn retry(retry: &Retry, locale: Locale) -> String {
    let say = |msg| text(msg, locale).to_string();
    let with = |msg, name: &str, value: &str| fill(text(msg, locale), &[(name, value)]);
    match retry {
        Retry::WrongPassword => say(Msg::WrongPassword),
        Retry::WrongPin(PinTries::Unknown) => say(Msg::WrongPin),
        Retry::WrongPin(PinTries::Few) => say(Msg::WrongPinFewTries),
        Retry::WrongPin(PinTries::Last) => say(Msg::WrongPinLastTry),
        Retry::WrongPin(PinTries::Count(n)) => with(Msg::WrongPinTriesLeft, "n", &n.to_string()),
        Retry::PinFormat => say(Msg::PinFormat),
        Retry::NoMatchingKey => say(Msg::NoMatchingKey),
        Retry::KeyNotAccepted(alias) => with(Msg::KeyNotAccepted, "alias", alias),
        Retry::StorageNotAllowed(store) => with(Msg::StorageNotAllowed, "store", store.as_str()),
        Retry::NoToken(store) => with(Msg::NoToken, "store", store.as_str()),
        Retry::NotTrusted(reason) => with(Msg::KeyNotTrusted, "reason", reason),
        Retry::Revoked { at, reason } => fill(
            text(Msg::Revoked, locale),
            &[
                ("at", at),
                ("reason", &reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()),
            ],
        ),
        Retry::RevocationUnknown(reason) => with(Msg::RevocationUnknown, "reason", reason),
        Retry::ChooseFile => say(Msg::ChooseStoreFile),
        Retry::Unreadable { path, reason } => fill(
            text(Msg::Unreadable, locale),
            &[("path", &path.display().to_string()), ("reason", reason)],
        ),
        Retry::StoreUnusable(reason) => with(Msg::StoreUnusable, "reason", reason),
    }
}

#[cfg(test)]
mod tests;
