//! Key filters: commonUtils `keyType` and basics `signerParams` (`ncalayer-protocol.md` §2.2, §6).

use crate::crypto::Certificate;

/// commonUtils key type. Anything other than the two names means "all keys".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// `SIGNATURE`.
    Signature,
    /// `AUTHENTICATION`.
    Authentication,
}

impl KeyType {
    /// Parses the wire name; unknown names (`ALL`, `ANY`, …) give `None` = no filter.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "SIGNATURE" => Some(Self::Signature),
            "AUTHENTICATION" => Some(Self::Authentication),
            _ => None,
        }
    }
}

/// Which keys a request may use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFilter {
    /// Key role, when the request names one.
    pub key_type: Option<KeyType>,
    /// Every OID listed must be in the certificate's ExtendedKeyUsage.
    pub ext_key_usage_oids: Vec<String>,
    /// Owner IIN (empty = any).
    pub iin: Option<String>,
    /// Organisation BIN (empty = any).
    pub bin: Option<String>,
    /// Certificate serial number, hex, case-insensitive (empty = any).
    pub serial_number: Option<String>,
}

impl KeyFilter {
    /// Whether the certificate passes every condition of the filter.
    pub fn matches(&self, certificate: &Certificate) -> bool {
        let roles = certificate.roles();
        let role_ok = match self.key_type {
            None => true,
            Some(KeyType::Signature) => roles.signature,
            Some(KeyType::Authentication) => roles.authentication,
        };
        let eku = certificate.ext_key_usage();
        let eku_ok = self.ext_key_usage_oids.iter().all(|oid| eku.iter().any(|e| e == oid));
        let iin_ok =
            self.iin.as_deref().is_none_or(|iin| certificate.iin().as_deref() == Some(iin));
        let bin_ok =
            self.bin.as_deref().is_none_or(|bin| certificate.bin().as_deref() == Some(bin));
        let serial_ok = self.serial_number.as_deref().is_none_or(|serial| {
            normalize_serial(serial) == normalize_serial(&certificate.serial_hex())
        });
        role_ok && eku_ok && iin_ok && bin_ok && serial_ok
    }
}

fn normalize_serial(serial: &str) -> String {
    serial.trim().trim_start_matches('0').to_ascii_lowercase()
}
