//! Configuration: the TOML file (`--config FILE`, or `config.toml` in the config directory)
//! read into validated [`Settings`]. The only reader of config files. Every key is documented
//! in `docs/configuration.md`; unknown keys are an error, so a typo never passes silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Default listen address, as NCALayer.
pub const DEFAULT_LISTEN: &str = "wss://127.0.0.1:13579";
/// Default cap on one WebSocket message (256 MiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
/// Default cap on simultaneous connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;

/// Errors reading the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    /// The file is not valid TOML or has unknown keys or wrong types.
    #[error("invalid config file {path}: {message}")]
    Invalid { path: String, message: String },
}

/// All settings, with defaults for every key.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// `[server]`
    pub server: ServerSettings,
    /// `[ui]`
    pub ui: UiSettings,
    /// `[log]`
    pub log: LogSettings,
    /// `[pkcs11]`
    pub pkcs11: Pkcs11Settings,
    /// `[policy]`: origin policy and prompt limits (`docs/security.md`).
    pub policy: crate::service::policy::PolicySettings,
}

/// `[pkcs11]`: hardware tokens.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Pkcs11Settings {
    /// `[pkcs11.modules]`: storage name -> PKCS#11 module paths, replacing the built-in
    /// defaults for that name (an empty list switches the storage off).
    pub modules: BTreeMap<String, Vec<PathBuf>>,
}

/// The IT policy file: `[pkcs11]`, whose `modules` entries win over the user's config, and
/// `[policy]`, which the user's config can only tighten.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// `[pkcs11]`
    pub pkcs11: Pkcs11Settings,
    /// `[policy]`
    pub policy: crate::service::policy::PolicySettings,
}

/// Where the IT policy file lives: `QOLTANBA_POLICY` if set, else a system-wide path.
pub fn policy_path() -> PathBuf {
    if let Some(path) = std::env::var_os("QOLTANBA_POLICY") {
        return PathBuf::from(path);
    }
    if cfg!(windows) {
        let base = std::env::var_os("ProgramData").unwrap_or_else(|| "C:\\ProgramData".into());
        PathBuf::from(base).join("Qoltanba").join("policy.toml")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/Qoltanba/policy.toml")
    } else {
        PathBuf::from("/etc/qoltanba/policy.toml")
    }
}

impl Policy {
    /// Reads the policy file; a missing file is an empty policy.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => return Err(ConfigError::Read { path: shown, source }),
        };
        let policy: Self = toml::from_str(&text)
            .map_err(|e| ConfigError::Invalid { path: shown.clone(), message: e.to_string() })?;
        validate_modules(&policy.pkcs11)
            .and_then(|()| policy.policy.validate())
            .map_err(|message| ConfigError::Invalid { path: shown, message })?;
        Ok(policy)
    }
}

fn validate_modules(pkcs11: &Pkcs11Settings) -> Result<(), String> {
    for name in pkcs11.modules.keys() {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("pkcs11.modules: {name:?} is not a storage name"));
        }
    }
    Ok(())
}

/// `[server]`: where and how the daemon listens.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Listen URLs (`wss://127.0.0.1:13579`, `ws://127.0.0.1:PORT`); loopback only.
    pub listen: Vec<String>,
    /// Largest accepted WebSocket message, in bytes.
    pub max_message_bytes: usize,
    /// Most simultaneous connections.
    pub max_connections: usize,
}

/// `[ui]`: how the user is asked.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UiSettings {
    /// `auto` (the dialog when a display is present, else the terminal), `gui`, `tty` or, in
    /// test builds, `script:FILE`.
    pub mode: String,
    /// Default prompt language: `kk`, `ru` or `en` (default: the system's, else `ru`).
    pub locale: String,
}

/// `[log]`: logging.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// A `tracing` filter such as `info` or `qoltanba=debug`.
    pub level: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: vec![DEFAULT_LISTEN.to_string()],
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl Default for UiSettings {
    fn default() -> Self {
        let locale = crate::ui::i18n::Locale::from_system().code().into();
        Self { mode: "auto".into(), locale }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { level: "info".into() }
    }
}

impl Settings {
    /// Reads `path`; a missing file gives the defaults only when `required` is false.
    pub fn load(path: &Path, required: bool) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(Self::default())
            }
            Err(source) => return Err(ConfigError::Read { path: shown, source }),
        };
        Self::parse(&text).map_err(|message| ConfigError::Invalid { path: shown, message })
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let settings: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), String> {
        if !["kk", "ru", "en"].contains(&self.ui.locale.as_str()) {
            return Err(format!("ui.locale must be kk, ru or en, not {:?}", self.ui.locale));
        }
        if self.server.max_message_bytes < 1024 {
            return Err("server.max_message_bytes must be at least 1024".into());
        }
        if self.server.max_connections == 0 {
            return Err("server.max_connections must be at least 1".into());
        }
        if self.server.listen.is_empty() {
            return Err("server.listen must name at least one address".into());
        }
        validate_modules(&self.pkcs11)?;
        self.policy.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(Settings::parse("").ok(), Some(Settings::default()));
    }

    #[test]
    fn keys_are_read() {
        let text = "[server]\nlisten = [\"ws://127.0.0.1:0\"]\nmax_message_bytes = 4096\n[ui]\nlocale = \"kk\"\n";
        let settings = Settings::parse(text).expect("valid config");
        assert_eq!(settings.server.listen, vec!["ws://127.0.0.1:0".to_string()]);
        assert_eq!(settings.server.max_message_bytes, 4096);
        assert_eq!(settings.ui.locale, "kk");
        assert_eq!(settings.server.max_connections, DEFAULT_MAX_CONNECTIONS);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(Settings::parse("[server]\nlisen = []\n").is_err());
        assert!(Settings::parse("[ui]\nlocale = \"de\"\n").is_err());
        assert!(Settings::parse("[server]\nmax_connections = 0\n").is_err());
    }

    #[test]
    fn pkcs11_modules_are_read() {
        let text = "[pkcs11.modules]\nAKKaztokenStore = [\"/usr/lib/softhsm/libsofthsm2.so\"]\n";
        let settings = Settings::parse(text).expect("valid config");
        let paths = settings.pkcs11.modules.get("AKKaztokenStore").expect("entry");
        assert_eq!(paths, &vec![PathBuf::from("/usr/lib/softhsm/libsofthsm2.so")]);
        assert!(Settings::parse("[pkcs11]\nmodule = {}\n").is_err());
        assert!(Settings::parse("[pkcs11.modules]\n\"a b\" = []\n").is_err());
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(Policy::load(&dir.path().join("none.toml")).ok(), Some(Policy::default()));
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, "[server]\nlisten = []\n").expect("write");
        assert!(Policy::load(&path).is_err(), "a policy holds only [pkcs11] and [policy]");
        std::fs::write(
            &path,
            "[policy]\nmode = \"allowlist\"\nallowed_origins = [\"https://portal.test.kz\"]\n",
        )
        .expect("write");
        let policy = Policy::load(&path).expect("valid policy");
        assert_eq!(policy.policy.mode, Some(crate::service::policy::Mode::Allowlist));
    }

    #[test]
    fn policy_table_is_read_and_checked() {
        let text =
            "[policy]\nmode = \"allowlist\"\nallowed_origins = [\"https://portal.test.kz\"]\n";
        let settings = Settings::parse(text).expect("valid config");
        assert_eq!(settings.policy.mode, Some(crate::service::policy::Mode::Allowlist));
        assert!(Settings::parse("[policy]\nmode = \"open\"\n").is_err());
        assert!(Settings::parse("[policy]\nallowed_origins = [\"portal.kz\"]\n").is_err());
        assert!(Settings::parse("[policy]\nprompts_per_minute = 1000\n").is_err());
        assert!(Settings::parse("[policy]\nallow_everything = true\n").is_err());
    }

    #[test]
    fn missing_optional_file_is_defaults_but_required_is_an_error() {
        let path = Path::new("/nonexistent/qoltanba/config.toml");
        assert!(Settings::load(path, false).is_ok());
        assert!(Settings::load(path, true).is_err());
    }
}
