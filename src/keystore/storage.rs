//! NCALayer's storage names (`ncalayer-protocol.md` §6): `PKCS12` for key files, and one name
//! per kind of hardware token (`AKKaztokenStore`, …; the config may add more). A page sends
//! them as strings; the protocol layer turns each into a [`StorageName`] once, and everything
//! below speaks that type.

use std::fmt;

/// Storage names of hardware stores NCALayer knows.
pub const TOKEN_STORAGES: &[&str] = &[
    "AKKaztokenStore",
    "AKKZIDCardStore",
    "AKEToken72KStore",
    "AKEToken5110Store",
    "AKJaCartaStore",
    "AKAKEYStore",
];

/// The file storage name.
pub const PKCS12: &str = "PKCS12";

/// Longest storage name accepted (the real ones are under 20 characters).
const MAX_LEN: usize = 64;

/// A storage name as a page or the user gave it: non-empty, printable ASCII without spaces,
/// at most 64 characters. Whether a token of that name is configured or present is for the
/// token registry to say.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct StorageName(String);

/// Why a text is no storage name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StorageNameError {
    /// Empty (or only spaces).
    #[error("the storage name is empty")]
    Empty,
    /// Too long, or characters no storage name has.
    #[error("not a storage name")]
    Invalid,
}

impl StorageName {
    /// The key file storage, `PKCS12`.
    pub fn pkcs12() -> Self {
        Self(PKCS12.to_string())
    }

    /// Parses a name; surrounding spaces are dropped.
    pub fn parse(text: &str) -> Result<Self, StorageNameError> {
        let name = text.trim();
        if name.is_empty() {
            return Err(StorageNameError::Empty);
        }
        if name.len() > MAX_LEN || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(StorageNameError::Invalid);
        }
        Ok(Self(name.to_string()))
    }

    /// The name as NCALayer spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the key file storage (`PKCS12`).
    pub fn is_file(&self) -> bool {
        self.0 == PKCS12
    }

    /// Whether NCALayer names a hardware token so (the config may name others).
    pub fn is_known_token(&self) -> bool {
        TOKEN_STORAGES.contains(&self.0.as_str())
    }
}

impl fmt::Display for StorageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::{StorageName, StorageNameError};

    #[test]
    fn names_are_trimmed_and_checked() {
        let name = StorageName::parse(" AKKaztokenStore ").expect("name");
        assert_eq!(name.as_str(), "AKKaztokenStore");
        assert!(name.is_known_token() && !name.is_file());
        assert!(StorageName::parse("PKCS12").expect("name").is_file());
        assert!(!StorageName::parse("MyTokenStore").expect("custom").is_known_token());
        assert_eq!(StorageName::parse("  "), Err(StorageNameError::Empty));
        for bad in ["AK Kaztoken", "PKCS\n12", "Ключ", &"A".repeat(65)] {
            assert_eq!(StorageName::parse(bad), Err(StorageNameError::Invalid), "{bad:?}");
        }
    }
}
