//! Which of a store's keys may sign a request, beyond the page's filter and the validity
//! period: the certificate must chain to a CA the request accepts (the trust store, any, or
//! the request's own list), and must not be revoked (OCSP, then CRL) unless the request allows
//! it. A key that may not sign gives the reason the prompt shows.

use std::sync::Arc;

use time::OffsetDateTime;

use super::consent::Retry;
use super::revocation::{Revocation, RevocationChecker};
use super::ChainRule;
use crate::crypto::Certificate;
use crate::pki::trust::TrustStore;

/// What one request accepts.
#[derive(Debug, Clone)]
pub struct KeyRules {
    /// Certificates outside their validity period too.
    pub allow_expired: bool,
    /// Revoked certificates too.
    pub allow_revoked: bool,
    /// The CAs the certificate must chain to.
    pub chain: ChainRule,
}

/// The service's trust store and revocation checker.
#[derive(Debug)]
pub struct KeyJudge {
    /// The daemon's trusted CAs.
    pub trust: Arc<TrustStore>,
    /// Where revocation is asked (`None`: not checked).
    pub revocation: Option<Arc<RevocationChecker>>,
    /// Refuse when revocation cannot be learnt.
    pub refuse_unknown: bool,
}

/// What the judge says of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It may sign.
    Usable,
    /// It may sign, but the user is told this first (revocation unknown, offline).
    Warned(Retry),
    /// It may not sign, for this reason.
    Refused(Retry),
}

impl KeyJudge {
    /// Whether `certificate` may sign under `rules` at `now`. Blocking: it may ask an OCSP
    /// responder or fetch a CRL.
    pub fn verdict(
        &self,
        certificate: &Certificate,
        rules: &KeyRules,
        now: OffsetDateTime,
    ) -> Verdict {
        match self.refusal(certificate, rules, now) {
            Some(why @ Retry::RevocationUnknown(_)) if !self.refuse_unknown => Verdict::Warned(why),
            Some(why) => Verdict::Refused(why),
            None => Verdict::Usable,
        }
    }

    /// Why `certificate` may not sign (or, for an unknown revocation, what to warn of).
    fn refusal(
        &self,
        certificate: &Certificate,
        rules: &KeyRules,
        now: OffsetDateTime,
    ) -> Option<Retry> {
        // An expired key the request allows is judged as of a moment it was valid.
        let at = match rules.allow_expired
            && crate::pki::validity(certificate, now) != crate::pki::Validity::Valid
        {
            true => certificate.not_before(),
            false => now,
        };
        let chain = match &rules.chain {
            ChainRule::Trusted => self.trust.chain(certificate, &[], at).map(Some),
            ChainRule::Only(cas) => {
                TrustStore::new(cas.clone()).chain(certificate, &[], at).map(Some)
            }
            ChainRule::Any => Ok(self.trust.chain(certificate, &[], at).ok()),
        };
        let chain = match chain {
            Ok(chain) => chain,
            Err(e) => return Some(Retry::NotTrusted(e.to_string())),
        };
        if rules.allow_revoked {
            return None;
        }
        let checker = self.revocation.as_ref()?;
        let Some(issuer) = chain.as_ref().and_then(|c| c.get(1)) else {
            return self
                .unknown("the certificate's CA is not known, so its revocation cannot be asked");
        };
        match checker.status(certificate, issuer, at) {
            Revocation::Good { .. } => None,
            Revocation::Revoked { at, reason } => Some(Retry::Revoked {
                at: at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                reason,
            }),
            Revocation::Unknown { why } => self.unknown(&why),
        }
    }

    fn unknown(&self, why: &str) -> Option<Retry> {
        tracing::warn!("the certificate's revocation is unknown: {why}");
        Some(Retry::RevocationUnknown(why.to_string()))
    }
}
