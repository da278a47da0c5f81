//! The trust store: the CAs whose certificates a chain may end at, and the chain from a
//! certificate to one of them. A chain is built by issuer name and checked link by link: each
//! certificate's signature verifies with the next one's key and each is valid at the moment
//! asked about (a time-stamp's genTime, a signature's time). An anchor may be an intermediate
//! CA (the NCA's test CAs are published without their roots). Revocation is not judged here.

use time::OffsetDateTime;

use super::{validity, Validity};
use crate::crypto::{verify, Certificate};

/// Longest chain followed (NCA chains are two or three certificates).
const MAX_DEPTH: usize = 6;

/// Why a certificate does not chain to a trusted CA.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// No trusted CA issued it (nor any CA given along with it).
    #[error("{subject} does not chain to a trusted CA (issuer {issuer})")]
    Untrusted {
        /// The certificate whose issuer is unknown.
        subject: String,
        /// Its issuer's name.
        issuer: String,
    },
    /// A certificate of the chain was not valid at the moment asked about.
    #[error("{subject} was not valid at {at}")]
    NotValidAt {
        /// The certificate.
        subject: String,
        /// The moment.
        at: OffsetDateTime,
    },
}

/// The CAs a chain may end at.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    anchors: Vec<Certificate>,
}

impl TrustStore {
    /// A store trusting `anchors`.
    pub fn new(anchors: Vec<Certificate>) -> Self {
        Self { anchors }
    }

    /// The trusted CAs.
    pub fn anchors(&self) -> &[Certificate] {
        &self.anchors
    }

    /// The chain from `certificate` to a trusted CA, the anchor last, using `others` (e.g.
    /// the certificates a CMS carries) for the links between; every certificate valid at `at`.
    pub fn chain(
        &self,
        certificate: &Certificate,
        others: &[Certificate],
        at: OffsetDateTime,
    ) -> Result<Vec<Certificate>, TrustError> {
        let mut chain = vec![certificate.clone()];
        for _ in 0..MAX_DEPTH {
            let current = chain.last().unwrap_or(certificate).clone();
            valid_at(&current, at)?;
            if let Some(anchor) = self.issuer_in(&self.anchors, &current) {
                if anchor.der() != current.der() {
                    valid_at(&anchor, at)?;
                    chain.push(anchor);
                }
                return Ok(chain);
            }
            match self.issuer_in(others, &current) {
                Some(next) if !chain.iter().any(|c| c.der() == next.der()) => chain.push(next),
                _ => break,
            }
        }
        let last = chain.last().unwrap_or(certificate);
        Err(TrustError::Untrusted { subject: last.subject_dn(), issuer: last.issuer_dn() })
    }

    /// The certificate of `candidates` that issued `certificate` (name and signature), or the
    /// certificate itself when it is one of the trusted CAs.
    fn issuer_in(
        &self,
        candidates: &[Certificate],
        certificate: &Certificate,
    ) -> Option<Certificate> {
        if candidates.iter().any(|c| c.der() == certificate.der()) && self.trusts(certificate) {
            return Some(certificate.clone());
        }
        candidates
            .iter()
            .filter(|c| {
                c.inner().tbs_certificate.subject == certificate.inner().tbs_certificate.issuer
            })
            .find(|c| verify::verify_issued_by(certificate, c).is_ok())
            .cloned()
    }

    fn trusts(&self, certificate: &Certificate) -> bool {
        self.anchors.iter().any(|a| a.der() == certificate.der())
    }
}

fn valid_at(certificate: &Certificate, at: OffsetDateTime) -> Result<(), TrustError> {
    match validity(certificate, at) {
        Validity::Valid => Ok(()),
        _ => Err(TrustError::NotValidAt { subject: certificate.subject_dn(), at }),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use time::macros::datetime;

    use super::*;

    fn nca(path: &str) -> Certificate {
        let file =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/nca").join(path);
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        Certificate::from_pem_or_der(&bytes).expect("certificate")
    }

    #[test]
    fn a_certificate_chains_to_its_ca_while_valid_only() {
        let gost_ca = nca("ncanode-2022/ca/nca_gost_test.crt");
        let store = TrustStore::new(vec![gost_ca.clone(), nca("ncanode-2022/ca/nca_rsa_test.crt")]);
        let ceo = nca("ncanode-2022/certs/ceo_valid_sign_2004_gost.cer");
        let chain = store.chain(&ceo, &[], datetime!(2022-06-01 00:00:00 UTC)).expect("chains");
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[1].der(), gost_ca.der());
        let later = store.chain(&ceo, &[], datetime!(2025-01-01 00:00:00 UTC));
        assert!(matches!(later, Err(TrustError::NotValidAt { .. })), "{later:?}");
        let rsa_only = TrustStore::new(vec![nca("ncanode-2022/ca/nca_rsa_test.crt")]);
        let foreign = rsa_only.chain(&ceo, &[], datetime!(2022-06-01 00:00:00 UTC));
        assert!(matches!(foreign, Err(TrustError::Untrusted { .. })), "{foreign:?}");
        let given = TrustStore::default().chain(&ceo, &[gost_ca], datetime!(2022-06-01 0:00 UTC));
        assert!(given.is_err(), "a CA given along with the certificate is not trusted for it");
    }

    #[test]
    fn an_intermediate_given_along_links_to_a_trusted_root() {
        let root = nca("gost2015-2026/root_test_gost_2022.cer");
        let intermediate = nca("gost2015-2026/nca_gost2022_test.cer");
        let store = TrustStore::new(vec![root.clone()]);
        let chain = store.chain(&intermediate, &[], datetime!(2026-01-01 00:00:00 UTC));
        assert_eq!(chain.expect("chains").len(), 2);
    }

    #[test]
    fn a_trusted_ca_chains_to_itself() {
        let ca = nca("ncanode-2022/ca/nca_gost_test.crt");
        let store = TrustStore::new(vec![ca.clone()]);
        let chain = store.chain(&ca, &[], ca.not_before()).expect("itself");
        assert_eq!(chain.len(), 1);
    }
}
