//! [`TokenSigner`]: a key on a token as a [`Signer`]. Each signature is one worker job with a
//! fresh login and a logout (PKCS#11 v2.40 §5.6), so the key never leaves the token and no
//! session stays logged in. RSA uses `CKM_SHA256_RSA_PKCS` on the message, or `CKM_RSA_PKCS`
//! on a DigestInfo (RFC 8017 §9.2) when the token lacks the combined mechanism
//! (Current Mechanisms §2.1.6, §2.1.8).

use std::sync::Arc;

use cryptoki::mechanism::{Mechanism, MechanismType};
use secrecy::SecretString;

use super::token::{self, Payload};
use super::worker::Worker;
use crate::crypto::rsa::SHA256_DIGEST_INFO;
use crate::crypto::{Certificate, CryptoError, DeviceError, SignatureAlgorithm, Signer};

/// A key on a token with its certificate and the PIN the user gave for this prompt.
pub struct TokenSigner {
    pub(crate) worker: Arc<Worker>,
    pub(crate) serial: String,
    pub(crate) id: Vec<u8>,
    pub(crate) pin: SecretString,
    pub(crate) certificate: Certificate,
    pub(crate) algorithm: SignatureAlgorithm,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("module", &self.worker.path())
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    fn sign(&self, payload: Payload) -> Result<Vec<u8>, CryptoError> {
        let (serial, id, pin) = (self.serial.clone(), self.id.clone(), self.pin.clone());
        let algorithm = self.algorithm;
        let signed = self
            .worker
            .run(move |module| token::sign(module, &serial, &id, &pin, algorithm, &payload));
        if let Err(e) = &signed {
            tracing::warn!("token signature failed: {e}");
        }
        Ok(signed?)
    }
}

impl Signer for TokenSigner {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let expected = self.algorithm.hash().output_len();
        if digest.len() != expected {
            return Err(CryptoError::DigestLength { expected, got: digest.len() });
        }
        self.sign(Payload::Digest(digest.to_vec()))
    }

    fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self.algorithm {
            SignatureAlgorithm::RsaSha256 => self.sign(Payload::Message(message.to_vec())),
            _ => self.sign_digest(&self.algorithm.hash().digest(message)),
        }
    }
}

/// The RSA mechanism and its input: the combined mechanism on the message when the token has
/// it, else `CKM_RSA_PKCS` over the SHA-256 DigestInfo.
pub(crate) fn rsa_plan(
    mechanisms: &[MechanismType],
    payload: &Payload,
) -> Result<(Mechanism<'static>, Vec<u8>), DeviceError> {
    if let Payload::Message(message) = payload {
        if mechanisms.contains(&MechanismType::SHA256_RSA_PKCS) {
            return Ok((Mechanism::Sha256RsaPkcs, message.clone()));
        }
    }
    if !mechanisms.contains(&MechanismType::RSA_PKCS) {
        return Err(DeviceError::MechanismUnsupported(
            "CKM_SHA256_RSA_PKCS or CKM_RSA_PKCS".into(),
        ));
    }
    let digest = match payload {
        Payload::Message(message) => SignatureAlgorithm::RsaSha256.hash().digest(message),
        Payload::Digest(digest) => digest.clone(),
    };
    Ok((Mechanism::RsaPkcs, [&SHA256_DIGEST_INFO[..], &digest].concat()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_prefers_the_combined_mechanism_and_falls_back_to_digest_info() {
        let message = Payload::Message(b"signed attributes".to_vec());
        let both = [MechanismType::RSA_PKCS, MechanismType::SHA256_RSA_PKCS];
        let (mechanism, data) = rsa_plan(&both, &message).expect("plan");
        assert_eq!(mechanism.mechanism_type(), MechanismType::SHA256_RSA_PKCS);
        assert_eq!(data, b"signed attributes");
        let (mechanism, data) = rsa_plan(&[MechanismType::RSA_PKCS], &message).expect("plan");
        assert_eq!(mechanism.mechanism_type(), MechanismType::RSA_PKCS);
        let digest = SignatureAlgorithm::RsaSha256.hash().digest(b"signed attributes");
        assert_eq!(data, [&SHA256_DIGEST_INFO[..], &digest].concat());
        let (_, data) = rsa_plan(&both, &Payload::Digest(digest.clone())).expect("digest");
        assert_eq!(data.len(), 19 + 32);
        let none = rsa_plan(&[MechanismType::SHA256_RSA_PKCS_PSS], &message);
        assert!(matches!(none, Err(DeviceError::MechanismUnsupported(_))));
    }
}
