//! Verification of XMLDSig signatures: ours and Kalkan's (enveloped and by-Id references).

use super::SignError;
use crate::crypto::Certificate;

/// Verifies every `ds:Signature` in the document; returns the signer certificates.
pub fn verify(_xml: &str) -> Result<Vec<Certificate>, SignError> {
    todo!("xml verify")
}
