//! Configuration: the TOML file (`--config FILE`, or `config.toml` in the config directory)
//! read into validated [`Settings`]. The only reader of config files. Every key is documented
//! in `docs/configuration.md`; unknown keys are an error, so a typo never passes silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::platform::registry;

mod services;

pub use services::{
    ItTsaSettings, NetworkSettings, RevocationSettings, TrustSettings, TsaSettings,
    DEFAULT_TSA_RETRIES, DEFAULT_TSA_TIMEOUT_SECONDS, DEFAULT_TSA_URL,
};

/// Default listen address, as NCALayer.
pub const DEFAULT_LISTEN: &str = "wss://127.0.0.1:13579";
/// Default cap on one WebSocket message (320 MiB: a 200 MiB document in base64 fits).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 320 * 1024 * 1024;
/// Default cap on simultaneous connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
/// Default cap on connections of one site that is not trusted yet.
pub const DEFAULT_MAX_SITE_CONNECTIONS: usize = 16;
/// Default memory budget for message bytes read or held, all connections (640 MiB).
pub const DEFAULT_MEMORY_BUDGET_BYTES: usize = 640 * 1024 * 1024;
/// Default part of it for sites not trusted yet, all together (64 MiB; half for one site).
pub const DEFAULT_UNTRUSTED_MEMORY_BYTES: usize = 64 * 1024 * 1024;

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
    /// `[tsa]`: where CAdES-T time-stamps come from.
    pub tsa: TsaSettings,
    /// `[trust]`: CAs trusted beyond the built-in NCA ones.
    pub trust: TrustSettings,
    /// `[revocation]`: OCSP and CRL checks before signing.
    pub revocation: RevocationSettings,
    /// `[network]`: how the TSA, OCSP and CRL services are reached.
    pub network: NetworkSettings,
    /// `[features]`: parts that are off until they are confirmed in the field.
    pub features: FeatureSettings,
}

/// `[features]`: experimental parts, each off by default.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureSettings {
    /// `experimental-idcard`: offer the Kazakh ID card (`AKKZIDCardStore`) through PC/SC
    /// (`docs/idcard.md`); the dialog marks it experimental.
    #[serde(rename = "experimental-idcard")]
    pub experimental_idcard: bool,
}

/// `[pkcs11]`: hardware tokens.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Pkcs11Settings {
    /// `[pkcs11.modules]`: storage name -> PKCS#11 module paths, replacing the built-in
    /// defaults for that name (an empty list switches the storage off). One path may be
    /// written as a plain string (what a Group Policy list of name/value pairs writes).
    #[serde(deserialize_with = "module_lists")]
    pub modules: BTreeMap<String, Vec<PathBuf>>,
}

fn module_lists<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Vec<PathBuf>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Paths {
        One(PathBuf),
        Many(Vec<PathBuf>),
        Other(serde::de::IgnoredAny),
    }
    let map = BTreeMap::<String, Paths>::deserialize(d)?;
    map.into_iter()
        .map(|(name, paths)| match paths {
            Paths::One(path) => Ok((name, vec![path])),
            Paths::Many(paths) => Ok((name, paths)),
            Paths::Other(_) => Err(serde::de::Error::custom(format!(
                "pkcs11.modules.{name}: expected a module path or a list of them"
            ))),
        })
        .collect()
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
    /// `[tsa]`: the TSA URL, when IT sets one for every user.
    pub tsa: ItTsaSettings,
}

/// Where the IT policy file lives: a system-wide path; in test builds (`test-support`)
/// `QOLTANBA_POLICY` may name another, so that a user cannot point a release build elsewhere.
pub fn policy_path() -> PathBuf {
    #[cfg(feature = "test-support")]
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
        let table = policy_file_table(path)?.unwrap_or_default();
        Self::from_table(table, &path.display().to_string())
    }

    /// The IT policy of this computer: the policy file ([`policy_path`]) and, on Windows, the
    /// registry key `HKLM\SOFTWARE\Policies\Qoltanba`, whose values win over the file's key
    /// by key. Each source is checked on its own first, so an error names the one at fault.
    pub fn load_system() -> Result<(Self, PolicySources), ConfigError> {
        let path = policy_path();
        let file_shown = path.display().to_string();
        let read = policy_file_table(&path)?;
        let present = read.is_some();
        let file = read.unwrap_or_default();
        let from_file = Self::from_table(file.clone(), &file_shown)?;
        let shown = registry::POLICY_KEY_SHOWN;
        let key = registry::read_policy()
            .map_err(|message| ConfigError::Invalid { path: shown.to_string(), message })?;
        let sources = PolicySources {
            file: present.then_some(path),
            registry: key.as_ref().map(|_| shown.to_string()),
        };
        let Some(key) = key else { return Ok((from_file, sources)) };
        let table = registry_table(&key)
            .map_err(|message| ConfigError::Invalid { path: shown.to_string(), message })?;
        Self::from_table(table.clone(), shown)?;
        let mut merged = file;
        merge_tables(&mut merged, table);
        Ok((Self::from_table(merged, &format!("{file_shown} + {shown}"))?, sources))
    }

    fn from_table(table: toml::Table, shown: &str) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid { path: shown.to_string(), message };
        let policy: Self =
            toml::Value::Table(table).try_into().map_err(|e| invalid(format!("{e}")))?;
        validate_modules(&policy.pkcs11)
            .and_then(|()| policy.policy.validate())
            .and_then(|()| policy.tsa.validate())
            .map_err(invalid)?;
        Ok(policy)
    }
}

/// Where the IT policy in force was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySources {
    /// The policy file, when it exists.
    pub file: Option<PathBuf>,
    /// The registry key, when it exists.
    pub registry: Option<String>,
}

/// One place settings are read from, as `qoltanba policy` and `qoltanba doctor` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePlace {
    /// What it is.
    pub kind: SourceKind,
    /// The file or registry key, for display.
    pub place: String,
    /// Whether it was there and read.
    pub read: bool,
}

/// The kinds of [`SourcePlace`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// The IT policy file.
    ItFile,
    /// The IT policy registry key (shown on Windows, or wherever it was read).
    ItRegistry,
    /// The user's config file.
    UserConfig,
}

impl PolicySources {
    /// The IT policy file, the registry key (Windows) and the user's `config`, each with
    /// whether it was read.
    pub fn places(&self, config: &Path) -> Vec<SourcePlace> {
        let place = |kind, place: String, read| SourcePlace { kind, place, read };
        let file = self.file.clone().unwrap_or_else(policy_path).display().to_string();
        let mut places = vec![place(SourceKind::ItFile, file, self.file.is_some())];
        if cfg!(windows) || self.registry.is_some() {
            let key = self.registry.clone().unwrap_or_else(|| registry::POLICY_KEY_SHOWN.into());
            places.push(place(SourceKind::ItRegistry, key, self.registry.is_some()));
        }
        let user = config.display().to_string();
        places.push(place(SourceKind::UserConfig, user, config.exists()));
        places
    }
}

/// The policy file as a TOML table; `None` when there is no file.
fn policy_file_table(path: &Path) -> Result<Option<toml::Table>, ConfigError> {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ConfigError::Read { path: shown, source }),
    };
    let table = text.parse().map_err(|e: toml::de::Error| ConfigError::Invalid {
        path: shown,
        message: e.to_string(),
    })?;
    Ok(Some(table))
}

/// The registry tree as the policy file's tables: each subkey a table, `REG_SZ` a string,
/// `REG_MULTI_SZ` a list, `REG_DWORD`/`REG_QWORD` a number. A subkey holding only values named
/// `1`, `2`, … (what a Group Policy list element writes) is a list in that order. A subkey
/// without any value under it is absent (Group Policy empties a list's key when the policy is
/// disabled, but leaves the key). A value and a subkey of the same name are an error, never
/// one silently chosen.
fn registry_table(key: &registry::Key) -> Result<toml::Table, String> {
    let mut table = toml::Table::new();
    for (name, data) in &key.values {
        table.insert(name.clone(), registry_value(data));
    }
    for (name, sub) in &key.subkeys {
        let value = match numbered_list(sub) {
            Some(list) => toml::Value::Array(list),
            None => {
                let inner = registry_table(sub).map_err(|e| format!(r"{name}\{e}"))?;
                if inner.is_empty() {
                    continue;
                }
                toml::Value::Table(inner)
            }
        };
        if table.insert(name.clone(), value).is_some() {
            return Err(format!("{name} is both a value and a subkey; keep one of them"));
        }
    }
    Ok(table)
}

fn registry_value(data: &registry::Data) -> toml::Value {
    match data {
        registry::Data::Text(text) => toml::Value::String(text.clone()),
        registry::Data::List(items) => {
            toml::Value::Array(items.iter().cloned().map(toml::Value::String).collect())
        }
        registry::Data::Number(n) => toml::Value::Integer(i64::try_from(*n).unwrap_or(i64::MAX)),
    }
}

fn numbered_list(key: &registry::Key) -> Option<Vec<toml::Value>> {
    if key.values.is_empty() || !key.subkeys.is_empty() {
        return None;
    }
    let mut numbered: Vec<(u32, toml::Value)> = key
        .values
        .iter()
        .map(|(name, data)| name.parse().ok().map(|n| (n, registry_value(data))))
        .collect::<Option<_>>()?;
    numbered.sort_by_key(|(n, _)| *n);
    Some(numbered.into_iter().map(|(_, v)| v).collect())
}

/// `over`'s keys replace `base`'s; tables present in both are merged key by key.
fn merge_tables(base: &mut toml::Table, over: toml::Table) {
    for (name, value) in over {
        match (base.get_mut(&name), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => {
                merge_tables(inner, value)
            }
            (_, value) => {
                base.insert(name, value);
            }
        }
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
    /// Most simultaneous connections of one site not trusted yet.
    pub max_site_connections: usize,
    /// Message bytes read or held at most, all connections together.
    pub memory_budget_bytes: usize,
    /// The part of the budget for sites not trusted yet, together (one site: half of it).
    pub untrusted_memory_bytes: usize,
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
            max_site_connections: DEFAULT_MAX_SITE_CONNECTIONS,
            memory_budget_bytes: DEFAULT_MEMORY_BUDGET_BYTES,
            untrusted_memory_bytes: DEFAULT_UNTRUSTED_MEMORY_BYTES,
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
        if self.server.max_connections == 0 || self.server.max_site_connections == 0 {
            return Err("server.max_connections and max_site_connections must be at least 1".into());
        }
        let server = &self.server;
        if server.untrusted_memory_bytes < 2048
            || server.memory_budget_bytes < server.untrusted_memory_bytes
        {
            return Err("server.untrusted_memory_bytes must be at least 2048 and at most \
                        server.memory_budget_bytes"
                .into());
        }
        if !["allow", "refuse"].contains(&self.revocation.offline.as_str()) {
            return Err("revocation.offline must be \"allow\" or \"refuse\"".into());
        }
        let tsa = &self.tsa;
        if !tsa.url.starts_with("http://") {
            return Err(format!("tsa.url must be an http:// URL, not {:?}", tsa.url));
        }
        if !(1..=120).contains(&tsa.timeout_seconds) || tsa.retries > 5 {
            return Err("tsa.timeout_seconds must be 1..120 and tsa.retries 0..5".into());
        }
        if self.server.listen.is_empty() {
            return Err("server.listen must name at least one address".into());
        }
        validate_modules(&self.pkcs11)?;
        self.policy.validate()
    }
}

#[cfg(test)]
#[path = "config_admx_tests.rs"]
mod admx_tests;

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
        let one =
            Settings::parse("[pkcs11.modules]\nAKJaCartaStore = \"/opt/jc.so\"\n").expect("one");
        assert_eq!(one.pkcs11.modules["AKJaCartaStore"], vec![PathBuf::from("/opt/jc.so")]);
        let err = Settings::parse("[pkcs11.modules]\nAKJaCartaStore = 5\n").expect_err("number");
        assert!(err.contains("pkcs11.modules.AKJaCartaStore"), "{err}");
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

    fn text(s: &str) -> registry::Data {
        registry::Data::Text(s.into())
    }

    /// `HKLM\SOFTWARE\Policies\Qoltanba` as `reg add` or a Group Policy template writes it.
    fn registry_tree() -> registry::Key {
        let origins = registry::Key {
            values: vec![
                ("2".into(), text("https://*.example.kz")),
                ("1".into(), text("https://portal.test.kz")),
            ],
            subkeys: vec![],
        };
        let policy = registry::Key {
            values: vec![
                ("mode".into(), text("allowlist")),
                ("allow_local_programs".into(), registry::Data::Number(0)),
                ("prompts_per_minute".into(), registry::Data::Number(2)),
            ],
            subkeys: vec![("allowed_origins".into(), origins)],
        };
        let modules = registry::Key {
            values: vec![(
                "AKKaztokenStore".into(),
                registry::Data::List(vec![r"C:\Windows\System32\kztoken.dll".into()]),
            )],
            subkeys: vec![],
        };
        let pkcs11 = registry::Key { values: vec![], subkeys: vec![("modules".into(), modules)] };
        registry::Key {
            values: vec![],
            subkeys: vec![("policy".into(), policy), ("pkcs11".into(), pkcs11)],
        }
    }

    #[test]
    fn registry_key_reads_as_the_policy_file_would() {
        let policy = Policy::from_table(registry_table(&registry_tree()).expect("table"), "reg")
            .expect("valid");
        let p = &policy.policy;
        assert_eq!(p.mode, Some(crate::service::policy::Mode::Allowlist));
        let expected = vec!["https://portal.test.kz".to_string(), "https://*.example.kz".into()];
        assert_eq!(p.allowed_origins, Some(expected), "numbered values in their order");
        assert_eq!(p.allow_local_programs, Some(false), "REG_DWORD 0 switches off");
        assert_eq!(p.prompts_per_minute, Some(2));
        let paths = policy.pkcs11.modules.get("AKKaztokenStore").expect("module entry");
        assert_eq!(paths, &vec![PathBuf::from(r"C:\Windows\System32\kztoken.dll")]);
    }

    #[test]
    fn registry_values_win_over_the_file_key_by_key() {
        let mut file: toml::Table =
            "[policy]\nmode = \"prompt\"\ncooldown_seconds = 600\n[pkcs11.modules]\nAKJaCartaStore = []\n"
                .parse()
                .expect("toml");
        merge_tables(&mut file, registry_table(&registry_tree()).expect("table"));
        let merged = Policy::from_table(file, "both").expect("valid");
        assert_eq!(merged.policy.mode, Some(crate::service::policy::Mode::Allowlist));
        assert_eq!(merged.policy.cooldown_seconds, Some(600), "the file's other keys stay");
        assert!(merged.pkcs11.modules.contains_key("AKJaCartaStore"));
        assert!(merged.pkcs11.modules.contains_key("AKKaztokenStore"));
    }

    #[test]
    fn bad_registry_values_are_errors_that_name_the_value() {
        let bad = |name: &str, data: registry::Data| {
            let policy = registry::Key { values: vec![(name.into(), data)], subkeys: vec![] };
            let root = registry::Key { values: vec![], subkeys: vec![("policy".into(), policy)] };
            let table = registry_table(&root).expect("table");
            let err = Policy::from_table(table, "reg").expect_err(name).to_string();
            assert!(err.contains(name), "{err}");
            err
        };
        bad("mode", text("open"));
        assert!(bad("Mode", text("allowlist")).contains("unknown field"));
        bad("allow_local_programs", registry::Data::Number(2));
        bad("allow_local_programs", text("yes"));
        bad("prompts_per_minute", registry::Data::Number(1000));
        // One string is a list of origins (an installer property); each must be an origin.
        bad("allowed_origins", text("https://portal.test.kz, portal.test.kz/login"));
    }

    #[test]
    fn empty_subkeys_are_absent_and_a_value_beside_a_same_named_subkey_is_an_error() {
        let empty = registry::Key::default();
        let policy = registry::Key {
            values: vec![("mode".into(), text("prompt"))],
            subkeys: vec![("allowed_origins".into(), empty.clone())],
        };
        let modules =
            registry::Key { values: vec![], subkeys: vec![("AKKaztokenStore".into(), empty)] };
        let pkcs11 = registry::Key { values: vec![], subkeys: vec![("modules".into(), modules)] };
        let root = registry::Key {
            values: vec![],
            subkeys: vec![("policy".into(), policy.clone()), ("pkcs11".into(), pkcs11)],
        };
        let read = Policy::from_table(registry_table(&root).expect("table"), "reg").expect("valid");
        assert_eq!(read.policy.allowed_origins, None, "a disabled Group Policy list is absent");
        assert!(read.pkcs11.modules.is_empty());
        let list =
            registry::Key { values: vec![("1".into(), text("https://a.kz"))], subkeys: vec![] };
        let mut both = policy;
        both.values.push(("allowed_origins".into(), registry::Data::List(vec![])));
        both.subkeys = vec![("allowed_origins".into(), list)];
        let root = registry::Key { values: vec![], subkeys: vec![("policy".into(), both)] };
        let err = registry_table(&root).expect_err("value and subkey");
        assert!(err.contains(r"policy\allowed_origins is both"), "{err}");
    }

    #[test]
    fn installer_properties_read_as_policy() {
        // What `msiexec /qn TSA_URL=… ALLOWED_ORIGINS=…` writes: plain REG_SZ values.
        let text = |s: &str| registry::Data::Text(s.into());
        let policy = registry::Key {
            values: vec![(
                "allowed_origins".into(),
                text("https://a.kz, https://*.b.kz;https://c.kz"),
            )],
            subkeys: vec![],
        };
        let tsa = registry::Key {
            values: vec![("url".into(), text("http://tsa.corp.kz/"))],
            subkeys: vec![],
        };
        let root = registry::Key {
            values: vec![],
            subkeys: vec![("policy".into(), policy), ("tsa".into(), tsa)],
        };
        let read = Policy::from_table(registry_table(&root).expect("table"), "reg").expect("valid");
        let origins = read.policy.allowed_origins.expect("origins");
        assert_eq!(origins, ["https://a.kz", "https://*.b.kz", "https://c.kz"]);
        assert_eq!(read.tsa.url_over(&TsaSettings::default()), "http://tsa.corp.kz/");
        assert_eq!(Policy::default().tsa.url_over(&TsaSettings::default()), DEFAULT_TSA_URL);
        let bad = "[tsa]\nurl = \"https://tsa.corp.kz/\"\n".parse().expect("toml");
        let err = Policy::from_table(bad, "file").expect_err("https TSA");
        assert!(err.to_string().contains("tsa.url"), "{err}");
    }

    #[test]
    fn missing_optional_file_is_defaults_but_required_is_an_error() {
        let path = Path::new("/nonexistent/qoltanba/config.toml");
        assert!(Settings::load(path, false).is_ok());
        assert!(Settings::load(path, true).is_err());
    }
}
