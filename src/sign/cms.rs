//! CAdES-BES CMS SignedData (RFC 5652 §5, ETSI EN 319 122-1 §5.2): attached, detached, and over
//! a given digest, with contentType, signingTime, messageDigest and signingCertificateV2 as
//! Kalkan writes them (`ncalayer-protocol.md` §10.1, `kz-pki.md` §5.1).

use time::OffsetDateTime;

use super::SignError;
use crate::crypto::Signer;

/// Signs `content`; `attached` embeds it in encapContentInfo. Returns the DER ContentInfo.
pub fn sign_data(
    _signer: &dyn Signer,
    _content: &[u8],
    _attached: bool,
    _signing_time: OffsetDateTime,
) -> Result<Vec<u8>, SignError> {
    todo!("cms")
}

/// Detached signature over a digest computed elsewhere (its length must match the key's hash).
pub fn sign_digest(
    _signer: &dyn Signer,
    _digest: &[u8],
    _signing_time: OffsetDateTime,
) -> Result<Vec<u8>, SignError> {
    todo!("cms")
}
