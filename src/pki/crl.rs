//! CRLs (RFC 5280 §5) for a signer's certificate: where its CA publishes them (the CRL
//! Distribution Points and Freshest CRL extensions, §4.2.1.13 and §4.2.1.15), and a parsed
//! CRL that says whether it is the CA's, whether the CA signed it, whether it is still current
//! and whether it lists a certificate. Pure: the caller downloads the CRL (through
//! `crate::platform::http::Fetch`), keeps it on disk until its nextUpdate, and gives the bytes
//! and its own clock's time here.
//!
//! The NCA's CRLs are complete CRLs of one CA each (no partitions, no indirect entries); its
//! certificates name one `http://` CRL and one `http://` delta CRL (Freshest CRL, `…_d_…`).
//! Delta CRLs parse as CRLs too; an entry with reason removeFromCRL (only meaningful in a
//! delta) is not a revocation.

use std::collections::HashMap;

use base64::Engine as _;
use const_oid::AssociatedOid;
use der::Decode;
use time::OffsetDateTime;
use x509_cert::crl::{CertificateList, RevokedCert};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::DistributionPointName;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlDistributionPoints, CrlReason, FreshestCrl};
use x509_cert::name::Name;

use super::revocation::{date_time, extension, http_uri, reason_name, serial_key};
use super::RevocationError;
use crate::crypto::{verify, Certificate};

/// The `http://` URIs of the certificate's CRL Distribution Points: where its full CRL is.
pub fn distribution_points(certificate: &Certificate) -> Vec<String> {
    extension::<CrlDistributionPoints>(certificate).map(|e| uris(&e.0)).unwrap_or_default()
}

/// The `http://` URIs of the certificate's Freshest CRL extension: where the delta CRL is.
pub fn delta_distribution_points(certificate: &Certificate) -> Vec<String> {
    extension::<FreshestCrl>(certificate).map(|e| uris(&e.0)).unwrap_or_default()
}

fn uris(points: &[DistributionPoint]) -> Vec<String> {
    points
        .iter()
        .filter_map(|point| match &point.distribution_point {
            Some(DistributionPointName::FullName(names)) => Some(names),
            _ => None,
        })
        .flatten()
        .filter_map(http_uri)
        .collect()
}

/// A certificate's status in a CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlStatus {
    /// Not listed.
    Good,
    /// Listed as revoked at `at`, for `reason` (RFC 5280 §5.3.1 name) when given.
    Revoked {
        /// revocationDate.
        at: OffsetDateTime,
        /// The reasonCode entry extension, e.g. `superseded`.
        reason: Option<String>,
    },
}

/// A parsed CRL, its revoked serials kept in a map for cheap look-ups.
#[derive(Clone)]
pub struct Crl {
    der: Vec<u8>,
    issuer: Name,
    authority_key_id: Option<Vec<u8>>,
    this_update: OffsetDateTime,
    next_update: Option<OffsetDateTime>,
    revoked: HashMap<Vec<u8>, CrlStatus>,
}

impl std::fmt::Debug for Crl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crl")
            .field("this_update", &self.this_update)
            .field("next_update", &self.next_update)
            .field("revoked", &self.revoked.len())
            .finish()
    }
}

impl Crl {
    /// Parses a DER CRL.
    pub fn from_der(der: &[u8]) -> Result<Self, RevocationError> {
        let malformed = |e: der::Error| RevocationError::MalformedCrl(e.to_string());
        let list = CertificateList::from_der(der).map_err(malformed)?;
        let tbs = list.tbs_cert_list;
        let out_of_range = || RevocationError::MalformedCrl("a time out of range".into());
        let this_update = date_time(tbs.this_update.to_unix_duration()).ok_or_else(out_of_range)?;
        let next_update = match tbs.next_update {
            Some(time) => Some(date_time(time.to_unix_duration()).ok_or_else(out_of_range)?),
            None => None,
        };
        let authority_key_id = tbs
            .crl_extensions
            .iter()
            .flatten()
            .find(|ext| ext.extn_id == AuthorityKeyIdentifier::OID)
            .and_then(|ext| AuthorityKeyIdentifier::from_der(ext.extn_value.as_bytes()).ok())
            .and_then(|aki| Some(aki.key_identifier?.as_bytes().to_vec()));
        let mut revoked = HashMap::new();
        for entry in tbs.revoked_certificates.iter().flatten() {
            if let Some(status) = entry_status(entry)? {
                let key = serial_key(entry.serial_number.as_bytes()).to_vec();
                revoked.entry(key).or_insert(status);
            }
        }
        Ok(Self {
            der: der.to_vec(),
            issuer: tbs.issuer,
            authority_key_id,
            this_update,
            next_update,
            revoked,
        })
    }

    /// Parses a CRL given as PEM (`-----BEGIN X509 CRL-----`) or DER.
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Self, RevocationError> {
        match pem_body(bytes) {
            Some(der) => Self::from_der(&der?),
            None => Self::from_der(bytes),
        }
    }

    /// The DER bytes, as parsed (for the caller's cache).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The CA that issued the CRL.
    pub fn issuer(&self) -> &Name {
        &self.issuer
    }

    /// When the CRL was issued.
    pub fn this_update(&self) -> OffsetDateTime {
        self.this_update
    }

    /// When the next CRL is due, if the CA says.
    pub fn next_update(&self) -> Option<OffsetDateTime> {
        self.next_update
    }

    /// How many certificates it lists as revoked.
    pub fn len(&self) -> usize {
        self.revoked.len()
    }

    /// Whether it lists none.
    pub fn is_empty(&self) -> bool {
        self.revoked.is_empty()
    }

    /// Whether the CRL names `issuer` as its CA: the issuer name, and the key identifier when
    /// both the CRL (AuthorityKeyIdentifier) and the CA (SubjectKeyIdentifier) carry one.
    pub fn is_for(&self, issuer: &Certificate) -> bool {
        let name = self.issuer == issuer.inner().tbs_certificate.subject;
        let key = match (&self.authority_key_id, issuer.subject_key_id()) {
            (Some(crl), Some(ca)) => *crl == ca,
            _ => true,
        };
        name && key
    }

    /// Checks that `issuer` issued and signed the CRL.
    pub fn verify_signed_by(&self, issuer: &Certificate) -> Result<(), RevocationError> {
        if !self.is_for(issuer) {
            return Err(RevocationError::CrlNotSignedByCa);
        }
        verify::verify_crl_signed_by(&self.der, issuer)
            .map_err(|_| RevocationError::CrlNotSignedByCa)
    }

    /// Whether `now` is before the CRL's nextUpdate. A CRL without one is never current:
    /// nothing says how long it may be trusted, so it is fetched again.
    pub fn is_current(&self, now: OffsetDateTime) -> bool {
        self.next_update.is_some_and(|next_update| now < next_update)
    }

    /// Whether the CRL lists `certificate`. Meaningful only for a CRL [`Crl::is_for`] the
    /// certificate's CA and verified with [`Crl::verify_signed_by`].
    pub fn status(&self, certificate: &Certificate) -> CrlStatus {
        self.status_of(certificate.inner().tbs_certificate.serial_number.as_bytes())
    }

    fn status_of(&self, serial: &[u8]) -> CrlStatus {
        self.revoked.get(serial_key(serial)).cloned().unwrap_or(CrlStatus::Good)
    }
}

/// The status an entry gives its serial; `None` for removeFromCRL.
fn entry_status(entry: &RevokedCert) -> Result<Option<CrlStatus>, RevocationError> {
    let at = date_time(entry.revocation_date.to_unix_duration())
        .ok_or_else(|| RevocationError::MalformedCrl("a time out of range".into()))?;
    let reason = entry.crl_entry_extensions.iter().flatten().find_map(|ext| {
        (ext.extn_id == CrlReason::OID)
            .then(|| CrlReason::from_der(ext.extn_value.as_bytes()).ok())
            .flatten()
    });
    if reason == Some(CrlReason::RemoveFromCRL) {
        return Ok(None);
    }
    Ok(Some(CrlStatus::Revoked { at, reason: reason.map(|r| reason_name(r).to_owned()) }))
}

/// The DER inside `-----BEGIN X509 CRL-----` armour; `None` when `bytes` is not PEM.
fn pem_body(bytes: &[u8]) -> Option<Result<Vec<u8>, RevocationError>> {
    const BEGIN: &str = "-----BEGIN X509 CRL-----";
    const END: &str = "-----END X509 CRL-----";
    let text = std::str::from_utf8(bytes).ok()?;
    let after = text.get(text.find(BEGIN)? + BEGIN.len()..)?;
    let body: String = after.get(..after.find(END)?)?.split_whitespace().collect();
    let decoded = base64::engine::general_purpose::STANDARD.decode(body);
    Some(decoded.map_err(|e| RevocationError::MalformedCrl(format!("PEM: {e}"))))
}

#[cfg(test)]
#[path = "crl_tests.rs"]
mod tests;
