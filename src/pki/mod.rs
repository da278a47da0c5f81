//! Trust and time: certificate validity against the (test) clock. Chain building, CRL/OCSP
//! status and the RFC 3161 client arrive with the `tsaProfile`/`chain` issue.

use time::OffsetDateTime;

use crate::crypto::Certificate;

/// Where a certificate stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Inside notBefore..=notAfter.
    Valid,
    /// Before notBefore.
    NotYetValid,
    /// After notAfter.
    Expired,
}

/// The validity of `certificate` at `now`.
pub fn validity(certificate: &Certificate, now: OffsetDateTime) -> Validity {
    if now < certificate.not_before() {
        Validity::NotYetValid
    } else if now > certificate.not_after() {
        Validity::Expired
    } else {
        Validity::Valid
    }
}
