//! Trust and time: certificate validity against the injected clock, and the trust store
//! (`trust.rs`) a certificate's chain must end in. Revocation arrives with the `chain` work of
//! the same issue.

pub mod roots;
pub mod trust;

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
