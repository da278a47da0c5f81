//! The KeyInfo object of commonUtils `getKeyInfo` (`ncalayer-protocol.md` §3.4): the Java bean
//! `kz.gov.pki.knca.types.KeyInfo` as org.json writes it — every value a string, fields in the
//! recorded HashMap order, absent values omitted.
//!
//! | field | value |
//! |---|---|
//! | `certNotBefore`, `certNotAfter` | epoch milliseconds as a decimal string |
//! | `issuerCn`, `subjectCn` | common names (omitted when the DN has none) |
//! | `authorityKeyIdentifier` | lowercase hex of the AKI keyIdentifier (omitted when absent) |
//! | `serialNumber` | lowercase hex, no leading zeros (`BigInteger.toString(16)`) |
//! | `issuerDn`, `subjectDn` | Kalkan-style DN text |
//! | `keyId`, `alias` | lowercase hex of the SubjectKeyIdentifier (omitted when absent) |
//! | `pem` | `-----BEGIN CERTIFICATE-----` … `-----END CERTIFICATE-----`, no final newline |
//! | `algorithm` | `RSA`, `ECGOST3410-2015-512`, `ECGOST3410-2015-256`, `ECGOST34310` (GOST 34.310-2004), else the SPKI algorithm OID in dotted form |

use serde::Serialize;

use crate::crypto::{Certificate, SignatureAlgorithm};

/// `getKeyInfo.responseObject`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    cert_not_before: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer_cn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authority_key_identifier: Option<String>,
    serial_number: String,
    cert_not_after: String,
    issuer_dn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alias: Option<String>,
    pem: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject_cn: Option<String>,
    algorithm: String,
    subject_dn: String,
}

impl KeyInfo {
    /// The KeyInfo of `certificate`.
    pub fn of(certificate: &Certificate) -> Self {
        let key_id = certificate.subject_key_id().map(|ski| crate::crypto::hex(&ski));
        Self {
            cert_not_before: epoch_millis(certificate.not_before()),
            issuer_cn: certificate.issuer_cn(),
            authority_key_identifier: certificate
                .authority_key_id()
                .map(|aki| crate::crypto::hex(&aki)),
            serial_number: certificate.serial_hex(),
            cert_not_after: epoch_millis(certificate.not_after()),
            issuer_dn: certificate.issuer_dn(),
            alias: key_id.clone(),
            key_id,
            pem: certificate.pem(),
            subject_cn: certificate.subject_cn(),
            algorithm: algorithm(certificate),
            subject_dn: certificate.subject_dn(),
        }
    }
}

/// Java `Date.getTime()` as text.
fn epoch_millis(at: time::OffsetDateTime) -> String {
    (at.unix_timestamp_nanos() / 1_000_000).to_string()
}

/// The key algorithm name from the certificate's SubjectPublicKeyInfo.
fn algorithm(certificate: &Certificate) -> String {
    let spki = &certificate.inner().tbs_certificate.subject_public_key_info;
    match SignatureAlgorithm::for_public_key(spki) {
        Some(algorithm) => algorithm.key_algorithm_name().to_string(),
        None => spki.algorithm.oid.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_millis_is_java_get_time() {
        let at = time::macros::datetime!(2023-10-24 03:47:08 UTC);
        assert_eq!(epoch_millis(at), "1698119228000");
    }
}
