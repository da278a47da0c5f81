//! The Windows registry as a source of IT policy: the key `HKLM\SOFTWARE\Policies\Qoltanba`
//! (where Group Policy and `reg add` put machine policy) read into a plain [`Key`] tree. The
//! value decoding ([`decode`]) is platform-independent and unit-tested everywhere; only the
//! enumeration ([`read_policy`]) touches the registry, through `winreg`, and exists on Windows
//! only (elsewhere it reports no key); it is tested on the real (Wine) registry in
//! `tests/it/windows.rs`, never through a stand-in. `config.rs` turns the tree into the same tables as the
//! policy file; the layout is documented in `docs/configuration.md`. This module only reads:
//! it never writes the registry, never reads a key outside the policy key, and never drops a
//! value it cannot decode (that is an error naming it, so a policy is never half-applied).

/// The policy key under `HKEY_LOCAL_MACHINE`.
pub const POLICY_KEY: &str = r"SOFTWARE\Policies\Qoltanba";
/// The policy key as shown to people (in errors and `qoltanba policy`).
pub const POLICY_KEY_SHOWN: &str = r"HKLM\SOFTWARE\Policies\Qoltanba";
/// Subkeys nested deeper than this under the policy key are an error (the policy uses three).
#[cfg(windows)]
const MAX_DEPTH: usize = 4;

/// One registry value, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// `REG_SZ` or `REG_EXPAND_SZ` (not expanded: the policy holds no variables).
    Text(String),
    /// `REG_MULTI_SZ`.
    List(Vec<String>),
    /// `REG_DWORD`, `REG_DWORD_BIG_ENDIAN` or `REG_QWORD`.
    Number(u64),
}

/// The registry value types the policy understands; any other is an error naming the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `REG_SZ`
    Text,
    /// `REG_EXPAND_SZ`
    ExpandText,
    /// `REG_MULTI_SZ`
    MultiText,
    /// `REG_DWORD` (little-endian)
    Dword,
    /// `REG_DWORD_BIG_ENDIAN`
    DwordBigEndian,
    /// `REG_QWORD`
    Qword,
    /// `REG_BINARY`, `REG_NONE` and the rest.
    Other,
}

/// A registry key: its values and subkeys, in the order the registry gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Key {
    /// `(value name, data)`.
    pub values: Vec<(String, Data)>,
    /// `(subkey name, subkey)`.
    pub subkeys: Vec<(String, Key)>,
}

/// Decodes a value's bytes as the registry stores them (strings in UTF-16LE, NUL-terminated;
/// lists as NUL-separated strings ending in two NULs).
pub fn decode(kind: Kind, bytes: &[u8]) -> Result<Data, String> {
    let number = |n: usize| -> Result<[u8; 8], String> {
        let mut out = [0u8; 8];
        let given = bytes.get(..n).filter(|_| bytes.len() == n);
        let given =
            given.ok_or_else(|| format!("a {}-byte number has {} bytes", n, bytes.len()))?;
        out[..n].copy_from_slice(given);
        Ok(out)
    };
    match kind {
        Kind::Text | Kind::ExpandText => {
            Ok(Data::Text(utf16(bytes)?.trim_end_matches('\0').to_string()))
        }
        Kind::MultiText => {
            let text = utf16(bytes)?;
            let items = text.trim_end_matches('\0').split('\0');
            Ok(Data::List(items.filter(|s| !s.is_empty()).map(str::to_string).collect()))
        }
        Kind::Dword => Ok(Data::Number(u64::from_le_bytes(number(4)?))),
        Kind::DwordBigEndian => {
            let [a, b, c, d, ..] = number(4)?;
            Ok(Data::Number(u64::from(u32::from_be_bytes([a, b, c, d]))))
        }
        Kind::Qword => Ok(Data::Number(u64::from_le_bytes(number(8)?))),
        Kind::Other => Err("this value type is not used by the policy (use REG_SZ, \
             REG_MULTI_SZ or REG_DWORD)"
            .into()),
    }
}

fn utf16(bytes: &[u8]) -> Result<String, String> {
    // An odd trailing byte is what some writers leave after the NUL; it carries nothing.
    let units = bytes.chunks_exact(2).filter_map(|pair| <[u8; 2]>::try_from(pair).ok());
    let units = units.map(u16::from_le_bytes);
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| "the text is not valid UTF-16".to_string())
}

/// Reads `HKLM\SOFTWARE\Policies\Qoltanba`: `Ok(None)` when the key does not exist (or on a
/// system without a registry); a value that cannot be read or decoded is an error naming it,
/// so a broken policy is never half-applied.
#[cfg(windows)]
pub fn read_policy() -> Result<Option<Key>, String> {
    use winreg::enums::HKEY_LOCAL_MACHINE;
    let root = winreg::RegKey::predef(HKEY_LOCAL_MACHINE);
    match root.open_subkey(POLICY_KEY) {
        Ok(key) => read_key(&key, POLICY_KEY_SHOWN, 0).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot open {POLICY_KEY_SHOWN}: {e}")),
    }
}

/// No registry here: there is never a policy key.
#[cfg(not(windows))]
pub fn read_policy() -> Result<Option<Key>, String> {
    Ok(None)
}

#[cfg(windows)]
fn read_key(key: &winreg::RegKey, shown: &str, depth: usize) -> Result<Key, String> {
    use winreg::enums::RegType;
    let mut out = Key::default();
    for item in key.enum_values() {
        let (name, value) = item.map_err(|e| format!("cannot read a value of {shown}: {e}"))?;
        let kind = match value.vtype {
            RegType::REG_SZ => Kind::Text,
            RegType::REG_EXPAND_SZ => Kind::ExpandText,
            RegType::REG_MULTI_SZ => Kind::MultiText,
            RegType::REG_DWORD => Kind::Dword,
            RegType::REG_DWORD_BIG_ENDIAN => Kind::DwordBigEndian,
            RegType::REG_QWORD => Kind::Qword,
            _ => Kind::Other,
        };
        let data = decode(kind, &value.bytes).map_err(|e| format!(r"{shown}\{name}: {e}"))?;
        out.values.push((name, data));
    }
    for name in key.enum_keys() {
        let name = name.map_err(|e| format!("cannot list the subkeys of {shown}: {e}"))?;
        if depth == MAX_DEPTH {
            return Err(format!(r"{shown}\{name}: nested deeper than any policy key"));
        }
        let sub = key.open_subkey(&name).map_err(|e| format!(r"{shown}\{name}: {e}"))?;
        let sub = read_key(&sub, &format!(r"{shown}\{name}"), depth + 1)?;
        out.subkeys.push((name, sub));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn strings_and_lists_decode_from_utf16() {
        assert_eq!(decode(Kind::Text, &utf16le("allowlist\0")), Ok(Data::Text("allowlist".into())));
        let cyrillic = utf16le("C:\\Токен\\kz.dll\0");
        assert_eq!(decode(Kind::ExpandText, &cyrillic), Ok(Data::Text("C:\\Токен\\kz.dll".into())));
        let list = utf16le("https://a.kz\0https://b.kz\0\0");
        let expected = Data::List(vec!["https://a.kz".into(), "https://b.kz".into()]);
        assert_eq!(decode(Kind::MultiText, &list), Ok(expected));
        assert_eq!(decode(Kind::MultiText, &utf16le("\0")), Ok(Data::List(vec![])));
        assert_eq!(decode(Kind::MultiText, &[]), Ok(Data::List(vec![])));
        let mut odd = utf16le("x\0");
        odd.push(0);
        assert_eq!(decode(Kind::Text, &odd), Ok(Data::Text("x".into())));
        assert!(decode(Kind::Text, &[0x00, 0xD8]).is_err(), "a lone surrogate is refused");
    }

    #[test]
    fn numbers_decode_in_their_byte_order_and_size() {
        assert_eq!(decode(Kind::Dword, &[10, 0, 0, 0]), Ok(Data::Number(10)));
        assert_eq!(decode(Kind::DwordBigEndian, &[0, 0, 1, 0]), Ok(Data::Number(256)));
        assert_eq!(decode(Kind::Qword, &[0, 0, 0, 0, 1, 0, 0, 0]), Ok(Data::Number(1 << 32)));
        assert!(decode(Kind::Dword, &[1, 0, 0]).is_err());
        assert!(decode(Kind::Dword, &[1, 0, 0, 0, 0]).is_err());
        assert!(decode(Kind::Qword, &[1, 0, 0, 0]).is_err());
        assert!(decode(Kind::Other, &[1]).is_err());
    }
}
