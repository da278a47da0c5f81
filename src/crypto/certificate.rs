//! The certificate wrapper: one parsed X.509 certificate with the views NCALayer shows —
//! DN in Kalkan text form, IIN/BIN, roles, key usage, validity — and nothing that does I/O.

use const_oid::{AssociatedOid, ObjectIdentifier};
use der::{asn1::Any, Decode, Encode, Tag, Tagged};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};
use x509_cert::name::Name;

/// A parsed X.509 certificate together with its DER bytes.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    inner: x509_cert::Certificate,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate").field("subject", &self.subject_dn()).finish()
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

/// What a key may be used for, as NCALayer's `keyType` filter sees it (`kz-pki.md` §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyRoles {
    /// SIGNATURE: nonRepudiation key usage or the emailProtection EKU.
    pub signature: bool,
    /// AUTHENTICATION: the clientAuth EKU, or keyEncipherment / keyAgreement key usage.
    pub authentication: bool,
}

impl KeyRoles {
    /// The roles in the NCA's words: `SIGNATURE`, `AUTHENTICATION`,
    /// `SIGNATURE+AUTHENTICATION`, or `-` for neither.
    pub fn label(&self) -> &'static str {
        match (self.signature, self.authentication) {
            (true, true) => "SIGNATURE+AUTHENTICATION",
            (true, false) => "SIGNATURE",
            (false, true) => "AUTHENTICATION",
            (false, false) => "-",
        }
    }
}

impl Certificate {
    /// Parses a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, super::CryptoError> {
        let inner = x509_cert::Certificate::from_der(der)
            .map_err(|e| super::CryptoError::InvalidCertificate(e.to_string()))?;
        // Keep the DER exactly as re-encoded so hashes over it match what we embed.
        let der =
            inner.to_der().map_err(|e| super::CryptoError::InvalidCertificate(e.to_string()))?;
        Ok(Self { der, inner })
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The parsed structure.
    pub fn inner(&self) -> &x509_cert::Certificate {
        &self.inner
    }

    /// PEM with `-----BEGIN CERTIFICATE-----` armour, 64-column lines, `\n` line ends, no final
    /// newline.
    pub fn pem(&self) -> String {
        let mut out = super::pem("CERTIFICATE", &self.der);
        out.pop(); // NCALayer's `pem` has no final newline
        out
    }

    /// Parses a certificate given as PEM (`-----BEGIN CERTIFICATE-----`) or DER.
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Self, super::CryptoError> {
        match pem_body(bytes) {
            Some(der) => Self::from_der(&der?),
            None => Self::from_der(bytes),
        }
    }

    /// Every certificate of a PEM file (one or more `CERTIFICATE` blocks), or the one DER
    /// certificate of a binary file.
    pub fn all_from_pem_or_der(bytes: &[u8]) -> Result<Vec<Self>, super::CryptoError> {
        const END: &str = "-----END CERTIFICATE-----";
        let Some(text) = std::str::from_utf8(bytes).ok().filter(|t| t.contains(END)) else {
            return Self::from_der(bytes).map(|c| vec![c]);
        };
        text.split_inclusive(END)
            .filter(|block| block.contains(END))
            .map(|block| Self::from_pem_or_der(block.as_bytes()))
            .collect()
    }

    /// Subject DN in Kalkan/BouncyCastle text form: RDNs in encoded order, `,` without spaces,
    /// e.g. `CN=ТЕСТОВ ТЕСТ,SURNAME=ТЕСТОВ,SERIALNUMBER=IIN123456789011,C=KZ,G=ТЕСТОВИЧ`.
    pub fn subject_dn(&self) -> String {
        dn_text(&self.inner.tbs_certificate.subject)
    }

    /// Issuer DN in the same form as [`Certificate::subject_dn`].
    pub fn issuer_dn(&self) -> String {
        dn_text(&self.inner.tbs_certificate.issuer)
    }

    /// Subject common name.
    pub fn subject_cn(&self) -> Option<String> {
        attribute_values(&self.inner.tbs_certificate.subject, &COMMON_NAME).next()
    }

    /// Issuer common name.
    pub fn issuer_cn(&self) -> Option<String> {
        attribute_values(&self.inner.tbs_certificate.issuer, &COMMON_NAME).next()
    }

    /// The owner's IIN: the 12 digits after `IIN` in the subject SERIALNUMBER.
    pub fn iin(&self) -> Option<String> {
        attribute_values(&self.inner.tbs_certificate.subject, &SERIAL_NUMBER)
            .find_map(|value| twelve_digits_after(&value, "IIN"))
    }

    /// The organisation's BIN: the 12 digits after `BIN` in the subject OU.
    pub fn bin(&self) -> Option<String> {
        attribute_values(&self.inner.tbs_certificate.subject, &ORGANIZATIONAL_UNIT)
            .find_map(|value| twelve_digits_after(&value, "BIN"))
    }

    /// The serial number as lowercase hex without leading zeros (Java `BigInteger.toString(16)`).
    pub fn serial_hex(&self) -> String {
        java_big_integer_hex(self.inner.tbs_certificate.serial_number.as_bytes())
    }

    /// The SubjectKeyIdentifier bytes.
    pub fn subject_key_id(&self) -> Option<Vec<u8>> {
        let ski: SubjectKeyIdentifier = self.extension()?;
        Some(ski.0.as_bytes().to_vec())
    }

    /// The AuthorityKeyIdentifier keyIdentifier bytes.
    pub fn authority_key_id(&self) -> Option<Vec<u8>> {
        let aki: AuthorityKeyIdentifier = self.extension()?;
        Some(aki.key_identifier?.as_bytes().to_vec())
    }

    /// Dotted OIDs of the ExtendedKeyUsage extension (purposes and NCA role OIDs).
    pub fn ext_key_usage(&self) -> Vec<String> {
        self.extension::<ExtendedKeyUsage>()
            .map(|eku| eku.0.iter().map(|oid| oid.to_string()).collect())
            .unwrap_or_default()
    }

    /// SIGNATURE / AUTHENTICATION classification (`kz-pki.md` §6).
    pub fn roles(&self) -> KeyRoles {
        let ku: Option<KeyUsage> = self.extension();
        let eku = self.ext_key_usage();
        let has_eku = |oid: &str| eku.iter().any(|e| e == oid);
        let ku_has = |f: fn(&KeyUsage) -> bool| ku.as_ref().is_some_and(f);
        KeyRoles {
            signature: ku_has(KeyUsage::non_repudiation) || has_eku(EKU_EMAIL_PROTECTION),
            authentication: has_eku(EKU_CLIENT_AUTH)
                || ku_has(KeyUsage::key_encipherment)
                || ku_has(KeyUsage::key_agreement),
        }
    }

    /// Validity start.
    pub fn not_before(&self) -> time::OffsetDateTime {
        to_offset_date_time(self.inner.tbs_certificate.validity.not_before)
    }

    /// Validity end.
    pub fn not_after(&self) -> time::OffsetDateTime {
        to_offset_date_time(self.inner.tbs_certificate.validity.not_after)
    }

    /// The decoded extension of type `T`, if present and well-formed.
    fn extension<T: AssociatedOid + for<'a> Decode<'a>>(&self) -> Option<T> {
        let extensions = self.inner.tbs_certificate.extensions.as_ref()?;
        let ext = extensions.iter().find(|ext| ext.extn_id == T::OID)?;
        T::from_der(ext.extn_value.as_bytes()).ok()
    }
}

const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
const ORGANIZATIONAL_UNIT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
const EKU_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
const EKU_EMAIL_PROTECTION: &str = "1.3.6.1.5.5.7.3.4";

/// Attribute names as Kalkan (BouncyCastle `X500Name.toString` with Kalkan's symbols) prints them.
const ATTRIBUTE_NAMES: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.4", "SURNAME"),
    ("2.5.4.5", "SERIALNUMBER"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.9", "STREET"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.12", "T"),
    ("2.5.4.15", "BusinessCategory"),
    ("2.5.4.17", "PostalCode"),
    ("2.5.4.42", "G"),
    ("2.5.4.43", "INITIALS"),
    ("2.5.4.44", "GENERATION"),
    ("2.5.4.46", "DN"),
    ("2.5.4.65", "Pseudonym"),
    ("1.2.840.113549.1.9.1", "E"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("0.9.2342.19200300.100.1.25", "DC"),
];

fn attribute_name(oid: &ObjectIdentifier) -> String {
    let dotted = oid.to_string();
    ATTRIBUTE_NAMES
        .iter()
        .find(|(known, _)| *known == dotted)
        .map_or(dotted, |(_, name)| (*name).to_owned())
}

/// The DN as text: RDNs in encoded order joined by `,`, multi-valued RDNs joined by `+`.
fn dn_text(name: &Name) -> String {
    let rdns: Vec<String> = name
        .0
        .iter()
        .map(|rdn| {
            let parts: Vec<String> = rdn.0.iter().map(attribute_text).collect();
            parts.join("+")
        })
        .collect();
    rdns.join(",")
}

fn attribute_text(atv: &AttributeTypeAndValue) -> String {
    format!("{}={}", attribute_name(&atv.oid), escape_value(&value_text(&atv.value)))
}

/// Values of attribute `oid` in `name`, decoded to text, in encoded order.
fn attribute_values<'a>(
    name: &'a Name,
    oid: &'a ObjectIdentifier,
) -> impl Iterator<Item = String> + 'a {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(move |atv| atv.oid == *oid)
        .map(|atv| value_text(&atv.value))
}

/// Decodes a directory string; values of other types print as `#` + hex of their DER, as
/// BouncyCastle does.
fn value_text(value: &Any) -> String {
    let bytes = value.value();
    match value.tag() {
        Tag::Utf8String => String::from_utf8_lossy(bytes).into_owned(),
        Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString
        | Tag::TeletexString => bytes.iter().map(|b| char::from(*b)).collect(),
        Tag::BmpString => utf16_be(bytes),
        _ => format!("#{}", crate::crypto::hex(&value.to_der().unwrap_or_default())),
    }
}

/// Decodes big-endian UTF-16 (BMPString), replacing invalid units.
pub(crate) fn utf16_be(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .filter_map(|pair| <[u8; 2]>::try_from(pair).ok())
        .map(u16::from_be_bytes)
        .collect();
    String::from_utf16_lossy(&units)
}

/// BouncyCastle `IETFUtils.valueToString` escaping: specials get a backslash, as do a leading
/// `#` and leading or trailing spaces.
fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '"' | '\\' | '+' | '=' | '<' | '>' | ';');
        if special || (i == 0 && c == '#') {
            out.push('\\');
        }
        out.push(c);
    }
    escape_edge_spaces(&out)
}

fn escape_edge_spaces(value: &str) -> String {
    let body = value.trim_matches(' ');
    if body.is_empty() {
        return "\\ ".repeat(value.len());
    }
    let leading = value.len() - value.trim_start_matches(' ').len();
    let trailing = value.len() - value.trim_end_matches(' ').len();
    format!("{}{}{}", "\\ ".repeat(leading), body, "\\ ".repeat(trailing))
}

/// The 12 digits right after `prefix` in `value`.
fn twelve_digits_after(value: &str, prefix: &str) -> Option<String> {
    let start = value.find(prefix)? + prefix.len();
    let digits: String = value.get(start..)?.chars().take(12).collect();
    let valid = digits.len() == 12 && digits.chars().all(|c| c.is_ascii_digit());
    valid.then_some(digits)
}

/// Two's-complement big-endian integer bytes as Java `BigInteger.toString(16)` prints them.
fn java_big_integer_hex(bytes: &[u8]) -> String {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    if !negative {
        return minimal_hex(bytes);
    }
    // Magnitude of a negative number: invert and add one.
    let mut magnitude: Vec<u8> = bytes.iter().map(|b| !b).collect();
    for byte in magnitude.iter_mut().rev() {
        let (sum, carry) = byte.overflowing_add(1);
        *byte = sum;
        if !carry {
            break;
        }
    }
    format!("-{}", minimal_hex(&magnitude))
}

fn minimal_hex(bytes: &[u8]) -> String {
    let hex = crate::crypto::hex(bytes);
    let trimmed = hex.trim_start_matches('0');
    match trimmed.is_empty() {
        true => "0".to_owned(),
        false => trimmed.to_owned(),
    }
}

fn to_offset_date_time(t: x509_cert::time::Time) -> time::OffsetDateTime {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// The DER inside a PEM `CERTIFICATE` block, if `bytes` is PEM.
fn pem_body(bytes: &[u8]) -> Option<Result<Vec<u8>, super::CryptoError>> {
    use base64::Engine as _;
    let text = std::str::from_utf8(bytes).ok()?;
    let begin = text.find("-----BEGIN CERTIFICATE-----")?;
    let body = text.get(begin + "-----BEGIN CERTIFICATE-----".len()..)?;
    let end = body.find("-----END CERTIFICATE-----")?;
    let b64: String = body.get(..end)?.split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| super::CryptoError::InvalidCertificate(format!("bad PEM: {e}")));
    Some(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEGACY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/nca/legacy-2020");

    fn cert(relative: &str) -> Certificate {
        let bytes = std::fs::read(format!("{LEGACY}/{relative}")).expect("fixture");
        Certificate::from_pem_or_der(&bytes).expect("certificate")
    }

    fn org_auth() -> Certificate {
        cert("organization/active/AUTH_RSA256_d682726b55b3e62600ea8fe1c74e75fc96f47790.cer")
    }

    /// `openssl x509 -noout -subject -nameopt RFC2253,-esc_msb` prints, in reverse order:
    /// `OU=BIN123456789021,GN=ТЕСТОВИЧ,O=АО \"ТЕСТ\",ST=НУР-СУЛТАН,L=НУР-СУЛТАН,C=KZ,
    /// serialNumber=IIN123456789011,SN=ТЕСТОВ,CN=ТЕСТОВ ТЕСТ`; issuer `CN=ҰКО 3.0 (RSA TEST),C=KZ`.
    #[test]
    fn dn_text_is_kalkan_style_in_encoded_order() {
        let c = org_auth();
        assert_eq!(
            c.subject_dn(),
            "CN=ТЕСТОВ ТЕСТ,SURNAME=ТЕСТОВ,SERIALNUMBER=IIN123456789011,C=KZ,L=НУР-СУЛТАН,\
             ST=НУР-СУЛТАН,O=АО \\\"ТЕСТ\\\",G=ТЕСТОВИЧ,OU=BIN123456789021"
        );
        assert_eq!(c.issuer_dn(), "C=KZ,CN=ҰКО 3.0 (RSA TEST)");
        assert_eq!(c.subject_cn().as_deref(), Some("ТЕСТОВ ТЕСТ"));
        assert_eq!(c.issuer_cn().as_deref(), Some("ҰКО 3.0 (RSA TEST)"));
        assert_eq!(format!("{c:?}"), format!("Certificate {{ subject: {:?} }}", c.subject_dn()));
    }

    #[test]
    fn identifiers_serial_and_dates() {
        let c = org_auth();
        assert_eq!(c.iin().as_deref(), Some("123456789011"));
        assert_eq!(c.bin().as_deref(), Some("123456789021"));
        assert_eq!(c.serial_hex(), "35588a098dbab52c87a442605f6daac22c823c6f");
        let ski = c.subject_key_id().map(|k| crate::crypto::hex(&k));
        assert_eq!(ski.as_deref(), Some("d682726b55b3e62600ea8fe1c74e75fc96f47790"));
        let aki = c.authority_key_id().map(|k| crate::crypto::hex(&k));
        assert_eq!(aki.as_deref(), Some("a68c16337cb8e83567063e5e415755a2af345068"));
        assert_eq!(
            c.ext_key_usage(),
            ["1.3.6.1.5.5.7.3.2", "1.2.398.3.3.4.1.2", "1.2.398.3.3.4.1.2.1"]
        );
        assert_eq!(c.not_before(), time::macros::datetime!(2020-01-28 06:23:34 UTC));
        assert_eq!(c.not_after(), time::macros::datetime!(2021-01-27 06:23:34 UTC));
        let personal = cert("personal/active/RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9.cer");
        assert_eq!(personal.bin(), None);
        assert_eq!(personal.serial_hex(), "1c1c4adb45086b3529e004c96302ae974d4f09a4");
    }

    #[test]
    fn roles_follow_key_usage_and_eku() {
        let auth = KeyRoles { signature: false, authentication: true };
        let sign = KeyRoles { signature: true, authentication: false };
        let cases = [
            ("personal/active/AUTH_RSA256_b2c70a9ff7a5dc59de0ccc3c0ddde3437cc1f12d.cer", auth),
            ("organization/active/AUTH_RSA256_d682726b55b3e62600ea8fe1c74e75fc96f47790.cer", auth),
            ("personal/active/RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9.cer", sign),
            ("organization/active/GOSTKNCA_13a3741b52d7bf860aab199b56fad1f4652e357b.cer", sign),
        ];
        for (relative, roles) in cases {
            assert_eq!(cert(relative).roles(), roles, "{relative}");
        }
    }

    #[test]
    fn pem_and_der_give_the_same_certificate() {
        let c = org_auth();
        let from_der = Certificate::from_pem_or_der(c.der()).expect("der");
        let from_pem = Certificate::from_pem_or_der(c.pem().as_bytes()).expect("pem");
        assert_eq!(from_der, c);
        assert_eq!(from_pem, c);
        assert!(Certificate::from_pem_or_der(b"-----BEGIN CERTIFICATE-----\n!!\n").is_err());
        assert!(Certificate::from_pem_or_der(b"\x30\x80\x00\x00").is_err());
    }

    #[test]
    fn values_are_escaped_like_bouncy_castle() {
        assert_eq!(escape_value(r#"a,b+c"d\e<f>g;h=i"#), r#"a\,b\+c\"d\\e\<f\>g\;h\=i"#);
        assert_eq!(escape_value("#x"), "\\#x");
        assert_eq!(escape_value(" x  "), "\\ x\\ \\ ");
        assert_eq!(escape_value("ТОО \"Ы\""), "ТОО \\\"Ы\\\"");
    }

    #[test]
    fn serials_print_like_java_big_integer() {
        assert_eq!(java_big_integer_hex(&[0x00, 0x8f, 0x01]), "8f01");
        assert_eq!(java_big_integer_hex(&[0x00]), "0");
        assert_eq!(java_big_integer_hex(&[0xff]), "-1");
        assert_eq!(java_big_integer_hex(&[0x80, 0x00]), "-8000");
    }

    #[test]
    fn iin_and_bin_need_twelve_digits() {
        assert_eq!(twelve_digits_after("IIN123456789012", "IIN").as_deref(), Some("123456789012"));
        assert_eq!(twelve_digits_after("IIN12345", "IIN"), None);
        assert_eq!(twelve_digits_after("IIN12345678901X", "IIN"), None);
        assert_eq!(twelve_digits_after("BIN", "BIN"), None);
    }

    #[test]
    fn a_pem_file_may_hold_several_certificates() {
        let ca = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/fixtures/nca/ncanode-2022/ca/nca_2004_gost_cert.pem"
        ))
        .expect("fixture");
        let one = Certificate::all_from_pem_or_der(&ca).expect("one");
        assert_eq!(one.len(), 1);
        let two = [ca.clone(), b"\n".to_vec(), ca].concat();
        assert_eq!(Certificate::all_from_pem_or_der(&two).expect("two").len(), 2);
        let der = one[0].der().to_vec();
        assert_eq!(Certificate::all_from_pem_or_der(&der).expect("DER").len(), 1);
        assert!(Certificate::all_from_pem_or_der(b"not a certificate").is_err());
    }
}
