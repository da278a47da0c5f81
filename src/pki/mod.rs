//! Trust and time: certificate validity against the injected clock, the NCA's CA certificates
//! shipped with the program (`roots.rs`), the trust store (`trust.rs`) a certificate's chain
//! must end in, and revocation: OCSP (`ocsp.rs`) and CRLs
//! (`crl.rs`), with what they share (`revocation.rs`). Nothing here does I/O: callers fetch
//! the bytes and read the clock.

pub mod crl;
pub mod ocsp;
mod revocation;
pub mod roots;
pub mod trust;

#[cfg(test)]
mod test_fixtures;

pub use revocation::{reason_name, RevocationError};

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
