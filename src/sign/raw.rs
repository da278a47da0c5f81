//! Raw signatures: the bare signature value over the data, as basics `format:"raw"` returns it.

use super::SignError;
use crate::crypto::Signer;

/// Hashes `data` with the key's hash and returns the signature value.
pub fn sign(signer: &dyn Signer, data: &[u8]) -> Result<Vec<u8>, SignError> {
    Ok(signer.sign_message(data)?)
}

/// Verifies a raw signature made by [`sign`] with the certificate's key.
pub fn verify(
    certificate: &crate::crypto::Certificate,
    algorithm: crate::crypto::SignatureAlgorithm,
    data: &[u8],
    signature: &[u8],
) -> Result<(), SignError> {
    let digest = algorithm.hash().digest(data);
    Ok(crate::crypto::verify::verify_digest(certificate, algorithm, &digest, signature)?)
}
