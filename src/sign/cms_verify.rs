//! Verification of CMS SignedData (RFC 5652 §5.6): ours and Kalkan's, attached or detached.

use super::SignError;
use crate::crypto::Certificate;

/// One signer that verified.
#[derive(Debug, Clone)]
pub struct VerifiedSigner {
    /// The signer's certificate, taken from the CMS.
    pub certificate: Certificate,
    /// signingTime, when present.
    pub signing_time: Option<time::OffsetDateTime>,
}

/// Verifies every SignerInfo of a CMS (DER or BER). `detached` supplies the content when the
/// CMS does not carry it. Returns the signers.
pub fn verify(_cms: &[u8], _detached: Option<&[u8]>) -> Result<Vec<VerifiedSigner>, SignError> {
    todo!("cms verify")
}
