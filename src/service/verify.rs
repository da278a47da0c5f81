//! Verification reports for `qoltanba verify` and the applet's `verifyXml` /
//! `verifyCMSSignature`: per signer, whether the signature holds, who signed and when, its
//! time-stamp, and whether the certificate chains to a trusted CA at the moment that counts
//! (the time-stamp's time, else the signing time, else now), and whether it is revoked (OCSP,
//! then CRL, when asked). A report is valid only when every signature holds and every signer's
//! chain is trusted and not revoked (a revocation that cannot be learnt is reported, not
//! counted against it).

use serde::Serialize;
use time::OffsetDateTime;

use super::revocation::{Revocation, RevocationChecker};
use super::ServiceError;
use crate::crypto::Certificate;
use crate::pki::trust::TrustStore;
use crate::sign::{cms_verify, xml_verify};

/// What was verified.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Every signature holds and every signer chains to a trusted CA.
    pub valid: bool,
    /// One entry per signer, in the order of the signature.
    pub signers: Vec<SignerReport>,
}

/// One signer.
#[derive(Debug, Clone, Serialize)]
pub struct SignerReport {
    /// The signer's subject DN.
    pub subject: String,
    /// The certificate's serial number (hex).
    pub serial: String,
    /// signingTime, when the signature has one (RFC 3339).
    pub signing_time: Option<String>,
    /// The signature time-stamp, when present (it was verified with the signature).
    pub time_stamp: Option<StampReport>,
    /// Whether the certificate chains to a trusted CA.
    pub chain: ChainReport,
    /// Whether it is revoked (OCSP, then CRL), when revocation was asked.
    pub revocation: RevocationReport,
}

/// The revocation of a signer's certificate.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum RevocationReport {
    /// Not asked (`--offline`, or no CA to ask about).
    NotChecked,
    /// Not revoked, by this source.
    Good {
        /// `OCSP <url>` or `CRL <url>`.
        source: String,
    },
    /// Revoked.
    Revoked {
        /// When (RFC 3339).
        at: String,
        /// The reason, when given.
        reason: Option<String>,
    },
    /// Neither OCSP nor a CRL answered.
    Unknown {
        /// What was tried.
        why: String,
    },
}

/// Where trust and revocation are judged.
pub struct Judges<'a> {
    /// The trusted CAs.
    pub trust: &'a TrustStore,
    /// Where revocation is asked (`None`: not asked).
    pub revocation: Option<&'a RevocationChecker>,
    /// The time when a signature carries none.
    pub now: OffsetDateTime,
}

/// A verified signature time-stamp.
#[derive(Debug, Clone, Serialize)]
pub struct StampReport {
    /// genTime (RFC 3339).
    pub time: String,
    /// The TSA certificate's subject.
    pub tsa: String,
    /// The TSA policy.
    pub policy: String,
    /// Whether the TSA's certificate chains to a trusted CA at genTime.
    pub tsa_trusted: bool,
}

/// The chain of a signer's certificate.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ChainReport {
    /// It chains; the subjects from the signer up to the trusted CA.
    Trusted {
        /// Subject DNs, signer first.
        path: Vec<String>,
    },
    /// It does not.
    Untrusted {
        /// Why.
        reason: String,
    },
}

/// Verifies a DER CMS (with `content` when detached) and reports on each signer.
pub fn cms(
    der: &[u8],
    content: Option<&[u8]>,
    judges: &Judges<'_>,
) -> Result<Report, ServiceError> {
    let Judges { trust, now, .. } = *judges;
    let signers = cms_verify::verify(der, content)?;
    let carried = cms_verify::certificates(der);
    let reports = signers
        .iter()
        .map(|signer| {
            let at = signer.time_stamp.as_ref().map(|s| s.gen_time).or(signer.signing_time);
            let stamp = signer.time_stamp.as_ref().map(|stamp| StampReport {
                time: rfc3339(stamp.gen_time),
                tsa: stamp.tsa.subject_dn(),
                policy: stamp.policy.to_string(),
                tsa_trusted: trust.chain(&stamp.tsa, &carried, stamp.gen_time).is_ok(),
            });
            report(
                &signer.certificate,
                signer.signing_time,
                stamp,
                judges,
                &carried,
                at.unwrap_or(now),
            )
        })
        .collect();
    Ok(finish(reports))
}

/// Verifies signed XML and reports on each signature.
pub fn xml(text: &str, judges: &Judges<'_>) -> Result<Report, ServiceError> {
    let certificates = xml_verify::verify(text)?;
    let reports = certificates
        .iter()
        .map(|certificate| report(certificate, None, None, judges, &certificates, judges.now))
        .collect();
    Ok(finish(reports))
}

fn report(
    certificate: &Certificate,
    signing_time: Option<OffsetDateTime>,
    time_stamp: Option<StampReport>,
    judges: &Judges<'_>,
    carried: &[Certificate],
    at: OffsetDateTime,
) -> SignerReport {
    let path = judges.trust.chain(certificate, carried, at);
    let revocation = match (&path, judges.revocation) {
        (Ok(path), Some(checker)) if path.len() > 1 => {
            match checker.status(certificate, &path[1], at) {
                Revocation::Good { source } => RevocationReport::Good { source },
                Revocation::Revoked { at, reason } => {
                    RevocationReport::Revoked { at: rfc3339(at), reason }
                }
                Revocation::Unknown { why } => RevocationReport::Unknown { why },
            }
        }
        _ => RevocationReport::NotChecked,
    };
    let chain = match path {
        Ok(path) => {
            ChainReport::Trusted { path: path.iter().map(Certificate::subject_dn).collect() }
        }
        Err(e) => ChainReport::Untrusted { reason: e.to_string() },
    };
    SignerReport {
        subject: certificate.subject_dn(),
        serial: certificate.serial_hex(),
        signing_time: signing_time.map(rfc3339),
        time_stamp,
        chain,
        revocation,
    }
}

fn finish(signers: Vec<SignerReport>) -> Report {
    let trusted = |s: &SignerReport| {
        matches!(s.chain, ChainReport::Trusted { .. })
            && !matches!(s.revocation, RevocationReport::Revoked { .. })
            && s.time_stamp.as_ref().is_none_or(|stamp| stamp.tsa_trusted)
    };
    Report { valid: !signers.is_empty() && signers.iter().all(trusted), signers }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
