//! The certificate wrapper: one parsed X.509 certificate with the views NCALayer shows —
//! DN in Kalkan text form, IIN/BIN, roles, key usage, validity — and nothing that does I/O.

use der::{Decode, Encode};

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

    /// PEM with `-----BEGIN CERTIFICATE-----` armour, 64-column lines, `\n` line ends.
    pub fn pem(&self) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.der);
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----");
        out
    }

    /// Subject DN in Kalkan/BouncyCastle text form: RDNs in encoded order, `,` without spaces,
    /// e.g. `CN=ТЕСТОВ ТЕСТ,SURNAME=ТЕСТОВ,SERIALNUMBER=IIN123456789011,C=KZ,G=ТЕСТОВИЧ`.
    pub fn subject_dn(&self) -> String {
        todo!("certificate text views")
    }

    /// Issuer DN in the same form as [`Certificate::subject_dn`].
    pub fn issuer_dn(&self) -> String {
        todo!("certificate text views")
    }

    /// Subject common name.
    pub fn subject_cn(&self) -> Option<String> {
        todo!("certificate text views")
    }

    /// Issuer common name.
    pub fn issuer_cn(&self) -> Option<String> {
        todo!("certificate text views")
    }

    /// The owner's IIN: the 12 digits after `IIN` in the subject SERIALNUMBER.
    pub fn iin(&self) -> Option<String> {
        todo!("certificate text views")
    }

    /// The organisation's BIN: the 12 digits after `BIN` in the subject OU.
    pub fn bin(&self) -> Option<String> {
        todo!("certificate text views")
    }

    /// The serial number as lowercase hex without leading zeros (Java `BigInteger.toString(16)`).
    pub fn serial_hex(&self) -> String {
        todo!("certificate text views")
    }

    /// The SubjectKeyIdentifier bytes.
    pub fn subject_key_id(&self) -> Option<Vec<u8>> {
        todo!("certificate text views")
    }

    /// The AuthorityKeyIdentifier keyIdentifier bytes.
    pub fn authority_key_id(&self) -> Option<Vec<u8>> {
        todo!("certificate text views")
    }

    /// Dotted OIDs of the ExtendedKeyUsage extension (purposes and NCA role OIDs).
    pub fn ext_key_usage(&self) -> Vec<String> {
        todo!("certificate text views")
    }

    /// SIGNATURE / AUTHENTICATION classification (`kz-pki.md` §6).
    pub fn roles(&self) -> KeyRoles {
        todo!("certificate text views")
    }

    /// Validity start.
    pub fn not_before(&self) -> time::OffsetDateTime {
        todo!("certificate text views")
    }

    /// Validity end.
    pub fn not_after(&self) -> time::OffsetDateTime {
        todo!("certificate text views")
    }
}
