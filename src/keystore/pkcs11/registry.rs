//! The module registry: storage name -> PKCS#11 module paths. Built-in defaults per OS for the
//! vendors whose module names are public (sources in `docs/tokens.md`), replaced per storage
//! name by the config file's `[pkcs11.modules]` and then by the IT policy file's. An empty list
//! switches a storage off. PKCS#11 v2.40 §5.2 (`C_GetFunctionList`): a module is one library.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Storage name -> module paths, in the order they are tried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleRegistry {
    modules: BTreeMap<String, Vec<PathBuf>>,
}

/// SafeNet Authentication Client (eToken 72K/5110, IDPrime).
#[cfg(target_os = "linux")]
const SAFENET: &[&str] =
    &["/usr/lib/libeTPkcs11.so", "/usr/lib64/libeTPkcs11.so", "/usr/lib/libIDPrimePKCS11.so"];
#[cfg(windows)]
const SAFENET: &[&str] = &["eTPKCS11.dll", "IDPrimePKCS11.dll"];
#[cfg(target_os = "macos")]
const SAFENET: &[&str] =
    &["/usr/local/lib/libeTPkcs11.dylib", "/usr/local/lib/libIDPrimePKCS11.dylib"];
#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
const SAFENET: &[&str] = &[];

/// Aladdin R.D. JaCarta (JC-Client).
#[cfg(target_os = "linux")]
const JACARTA: &[&str] =
    &["/usr/lib/libjcPKCS11-2.so", "/usr/lib/x86_64-linux-gnu/libjcPKCS11-2.so"];
#[cfg(windows)]
const JACARTA: &[&str] = &["jcPKCS11-2.dll"];
#[cfg(target_os = "macos")]
const JACARTA: &[&str] = &["/Library/AladdinRD/JaCartaClient/lib/libjcPKCS11-2.dylib"];
#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
const JACARTA: &[&str] = &[];

impl ModuleRegistry {
    /// The built-in defaults of this OS. Kaztoken, aKey and the ID card have no public PKCS#11
    /// module name (`kz-pki.md` §4): they have no default and need a config entry.
    pub fn defaults() -> Self {
        let list = |paths: &[&str]| paths.iter().map(PathBuf::from).collect::<Vec<_>>();
        let mut modules = BTreeMap::new();
        modules.insert("AKEToken72KStore".to_string(), list(SAFENET));
        modules.insert("AKEToken5110Store".to_string(), list(SAFENET));
        modules.insert("AKJaCartaStore".to_string(), list(JACARTA));
        Self { modules }
    }

    /// The defaults with `config`, then `policy`, replacing whole entries by storage name.
    pub fn with_overrides(
        config: &BTreeMap<String, Vec<PathBuf>>,
        policy: &BTreeMap<String, Vec<PathBuf>>,
    ) -> Self {
        let mut registry = Self::defaults();
        for (name, paths) in config.iter().chain(policy) {
            registry.modules.insert(name.clone(), paths.clone());
        }
        registry
    }

    /// Storage names with their module paths (empty lists left out).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &[PathBuf])> {
        self.modules.iter().filter(|(_, p)| !p.is_empty()).map(|(n, p)| (n.as_str(), &p[..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_then_policy_replace_defaults() {
        let mut config = BTreeMap::new();
        config.insert("AKKaztokenStore".to_string(), vec![PathBuf::from("/a.so")]);
        config.insert("AKJaCartaStore".to_string(), vec![]);
        let mut policy = BTreeMap::new();
        policy.insert("AKKaztokenStore".to_string(), vec![PathBuf::from("/policy.so")]);
        let registry = ModuleRegistry::with_overrides(&config, &policy);
        let entries: BTreeMap<&str, &[PathBuf]> = registry.entries().collect();
        assert_eq!(entries.get("AKKaztokenStore"), Some(&&[PathBuf::from("/policy.so")][..]));
        assert!(!entries.contains_key("AKJaCartaStore"), "an empty list switches it off");
        let defaults = ModuleRegistry::defaults();
        assert!(defaults.entries().all(|(name, _)| name != "AKKaztokenStore"));
    }
}
