//! Certificate requests as the NCA takes them (`kz-issuance.md` §3): PKCS#10 (RFC 2986) signed
//! with the new key, the subject as given, and one `extensionRequest` attribute holding the
//! e-mail as SubjectAltName (non-critical) and the NCA key-store extension `1.2.398.3.3.5`
//! (`KeyStoreInfo ::= SEQUENCE { keyStoreId OBJECT IDENTIFIER, keyStorePath UTF8String
//! OPTIONAL }`, non-critical), without which the CA refuses the request. The subject is written
//! in the order given (the order of the NCA's own certificates: `CN=…,SURNAME=…,
//! SERIALNUMBER=IIN…,C=KZ,G=…`). The key signs through a closure, so a file key and a token key
//! build the same request. No I/O.

use crate::crypto::der_build::{
    bits, explicit, implicit_primitive, octets, oid, seq, set, tlv, utf8,
};
use crate::crypto::{CryptoError, SignatureAlgorithm};

/// The NCA key-store extension.
pub const KEY_STORE_EXTENSION: &str = "1.2.398.3.3.5";

/// The NCA's key-store OIDs by storage name (`kz-issuance.md` §3).
pub const STORAGE_OIDS: [(&str, &str); 7] = [
    ("PKCS12", "1.2.398.3.3.5.1.1"),
    ("AKKZIDCardStore", "1.2.398.3.3.5.2.1"),
    ("AKKaztokenStore", "1.2.398.3.3.5.2.2"),
    ("AKEToken72KStore", "1.2.398.3.3.5.2.3"),
    ("AKEToken5110Store", "1.2.398.3.3.5.2.4"),
    ("AKJaCartaStore", "1.2.398.3.3.5.2.5"),
    ("AKAKEYStore", "1.2.398.3.3.5.2.6"),
];

/// The key-store OID of a storage name.
pub fn storage_oid(storage: &str) -> Option<&'static str> {
    STORAGE_OIDS.iter().find(|(name, _)| *name == storage).map(|(_, oid)| *oid)
}

/// Why a request cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CsrError {
    /// The subject is not a distinguished name this builder writes.
    #[error("the subject {0:?} is not a distinguished name (e.g. CN=…,SERIALNUMBER=IIN…,C=KZ)")]
    Subject(String),
    /// The storage has no NCA key-store OID.
    #[error("the NCA knows no key store named {0}")]
    Storage(String),
    /// The e-mail address cannot be written.
    #[error("not an e-mail address: {0:?}")]
    Email(String),
    /// The key could not sign.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// What the request asks for besides the key.
#[derive(Debug, Clone)]
pub struct RequestFields {
    /// The subject, e.g. `CN=ТЕСТОВ ТЕСТ,SURNAME=ТЕСТОВ,SERIALNUMBER=IIN123456789011,C=KZ`.
    pub subject: String,
    /// The e-mail for SubjectAltName, if any.
    pub email: Option<String>,
    /// The storage name where the key lives (`PKCS12`, `AKKaztokenStore`, …).
    pub storage: String,
    /// The folder of a file store (absent for tokens).
    pub folder: Option<String>,
}

/// The DER of a PKCS#10 request for the key `spki` (DER SubjectPublicKeyInfo) signing with
/// `algorithm`; `sign` signs the DER CertificationRequestInfo and returns the signature value
/// as the key's signer gives it (RSA PKCS#1 v1.5; GOST `r‖s` little-endian, as NCA
/// certificates carry it).
pub fn build(
    fields: &RequestFields,
    spki: &[u8],
    algorithm: SignatureAlgorithm,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, CryptoError>,
) -> Result<Vec<u8>, CsrError> {
    let subject = name(&fields.subject)?;
    let storage =
        storage_oid(&fields.storage).ok_or_else(|| CsrError::Storage(fields.storage.clone()))?;
    let mut key_store = vec![oid(storage)];
    key_store.extend(fields.folder.as_deref().map(utf8));
    let mut extensions = Vec::new();
    if let Some(email) = &fields.email {
        if email.is_empty() || !email.is_ascii() || !email.contains('@') {
            return Err(CsrError::Email(email.clone()));
        }
        // GeneralNames: rfc822Name [1] IMPLICIT IA5String.
        let names = seq(&[implicit_primitive(1, email.as_bytes())]);
        extensions.push(seq(&[oid("2.5.29.17"), octets(&names)]));
    }
    extensions.push(seq(&[oid(KEY_STORE_EXTENSION), octets(&seq(&key_store))]));
    let extension_request = seq(&[oid("1.2.840.113549.1.9.14"), set(&[seq(&extensions)])]);
    let attributes = explicit(0, &extension_request);
    let info = seq(&[crate::crypto::der_build::integer(0), subject, spki.to_vec(), attributes]);
    let signature = sign(&info)?;
    let algorithm = seq(&[oid(&algorithm.oid().to_string()), crate::crypto::der_build::null()]);
    Ok(seq(&[info, algorithm, bits(&signature)]))
}

/// A distinguished name written in the order given: `TYPE=value` pairs separated by commas
/// (a comma in a value escaped as `\,`). Types: CN, SURNAME (SN), SERIALNUMBER, C, G
/// (GN, GIVENNAME), O, OU, L, ST, E (EMAILADDRESS), STREET, T (TITLE), DC.
pub fn name(dn: &str) -> Result<Vec<u8>, CsrError> {
    let bad = || CsrError::Subject(dn.to_string());
    let mut rdns = Vec::new();
    for part in split_unescaped(dn) {
        let (kind, value) = part.split_once('=').ok_or_else(bad)?;
        let value = value.trim().replace("\\,", ",");
        let (attribute, string_tag) = attribute(kind.trim()).ok_or_else(bad)?;
        if value.is_empty() {
            return Err(bad());
        }
        let tag = match string_tag {
            0x13 if !printable(&value) => 0x0C,
            0x16 if !value.is_ascii() => return Err(bad()),
            tag => tag,
        };
        rdns.push(set(&[seq(&[oid(attribute), tlv(tag, value.as_bytes())])]));
    }
    if rdns.is_empty() {
        return Err(bad());
    }
    Ok(seq(&rdns))
}

/// The parts of `dn` between commas that are not escaped.
fn split_unescaped(dn: &str) -> Vec<String> {
    let (mut parts, mut current, mut escaped) = (Vec::new(), String::new(), false);
    for c in dn.chars() {
        match (c, escaped) {
            (',', false) => parts.push(std::mem::take(&mut current)),
            ('\\', false) => {
                escaped = true;
                current.push(c);
                continue;
            }
            _ => current.push(c),
        }
        escaped = false;
    }
    parts.push(current);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// The attribute OID of a DN type and the string type its values take (PrintableString
/// 0x13, IA5String 0x16, UTF8String 0x0C).
fn attribute(kind: &str) -> Option<(&'static str, u8)> {
    Some(match kind.to_ascii_uppercase().as_str() {
        "CN" => ("2.5.4.3", 0x0C),
        "SURNAME" | "SN" => ("2.5.4.4", 0x0C),
        "SERIALNUMBER" => ("2.5.4.5", 0x13),
        "C" => ("2.5.4.6", 0x13),
        "L" => ("2.5.4.7", 0x0C),
        "ST" => ("2.5.4.8", 0x0C),
        "STREET" => ("2.5.4.9", 0x0C),
        "O" => ("2.5.4.10", 0x0C),
        "OU" => ("2.5.4.11", 0x0C),
        "T" | "TITLE" => ("2.5.4.12", 0x0C),
        "G" | "GN" | "GIVENNAME" => ("2.5.4.42", 0x0C),
        "E" | "EMAILADDRESS" => ("1.2.840.113549.1.9.1", 0x16),
        "DC" => ("0.9.2342.19200300.100.1.25", 0x16),
        _ => return None,
    })
}

/// Whether `text` fits a PrintableString.
fn printable(text: &str) -> bool {
    text.chars().all(|c| c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c))
}

#[cfg(test)]
mod tests {
    use super::{name, storage_oid};

    #[test]
    fn names_are_written_in_order_with_the_nca_string_types() {
        let der =
            name("CN=ТЕСТОВ ТЕСТ,SURNAME=ТЕСТОВ,SERIALNUMBER=IIN123456789011,C=KZ,G=ТЕСТОВИЧ")
                .expect("name");
        let parsed = <x509_cert::name::Name as der::Decode>::from_der(&der).expect("a Name");
        let types: Vec<String> =
            parsed.0.iter().map(|rdn| rdn.0.get(0).expect("one").oid.to_string()).collect();
        assert_eq!(types, ["2.5.4.3", "2.5.4.4", "2.5.4.5", "2.5.4.6", "2.5.4.42"]);
        let tags: Vec<u8> = parsed
            .0
            .iter()
            .map(|rdn| der::Tagged::tag(&rdn.0.get(0).expect("one").value).octet())
            .collect();
        assert_eq!(tags, [0x0C, 0x0C, 0x13, 0x13, 0x0C]);
        assert!(name("O=ТОО \"Рога\\, копыта\",OU=BIN123456789012").is_ok());
        for bad in ["", "CN", "XX=1", "CN=", "E=тест@mail.kz"] {
            assert!(name(bad).is_err(), "{bad}");
        }
        assert_eq!(storage_oid("PKCS12"), Some("1.2.398.3.3.5.1.1"));
        assert_eq!(storage_oid("AKKaztokenStore"), Some("1.2.398.3.3.5.2.2"));
        assert_eq!(storage_oid("JKS"), None);
    }
}
