//! One request end to end: choose key -> consent + password -> open -> sign -> respond.
//! Depends on traits only (`Prompter`, `KeyStore`, `Signer`); `main` picks implementations.
//! The consent vocabulary (`consent.rs`) is the service's: `ui` implements it, the service never
//! names `ui` and builds no sentence for the user.

pub mod audit;
pub mod consent;
pub mod content;
pub mod documents;
pub mod error;
pub mod flow;
pub mod issuance;
mod keys;
pub mod limits;
pub mod origin;
pub mod policy;
pub mod revocation;
pub mod security;
mod signing;
pub mod stamps;
pub mod verify;

pub use content::{Content, SharedText};
pub use documents::{Digest, Documents};
pub use error::{ErrorKind, ServiceError};
pub use flow::{Service, ServiceSettings};
pub use origin::Origin;
pub use security::{Guest, Security, Standing};

use crate::keystore::{KeyFilter, StorageName};

/// Who is calling: what the transport learned from the handshake, never from the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The handshake's `Origin` header, parsed once.
    pub origin: HeaderOrigin,
}

impl Caller {
    /// The caller whose handshake carried this `Origin` header (`None`: no header).
    pub fn from_header(header: Option<&str>) -> Self {
        Self { origin: HeaderOrigin::parse(header) }
    }
}

/// The `Origin` header of a handshake, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum HeaderOrigin {
    /// No header: a program on this computer, not a browser page.
    #[default]
    Absent,
    /// A web origin.
    Web(Origin),
    /// A header that is no origin (`null`, a path, a bad port), as sent (at most 200
    /// characters): the origin policy refuses it.
    Malformed(String),
}

impl HeaderOrigin {
    /// Parses the header (`None`: absent).
    pub fn parse(header: Option<&str>) -> Self {
        match header {
            None => Self::Absent,
            Some(text) => match Origin::parse(text) {
                Some(origin) => Self::Web(origin),
                None => Self::Malformed(text.chars().take(200).collect()),
            },
        }
    }

    /// The header as logs and notifications name it (`None`: absent).
    pub fn shown(&self) -> Option<String> {
        match self {
            Self::Absent => None,
            Self::Web(origin) => Some(origin.to_string()),
            Self::Malformed(text) => Some(text.clone()),
        }
    }
}

/// A validated sign request. `Debug` shows the documents' sizes only, never their content.
#[derive(Clone)]
pub struct SignRequest {
    /// The documents, typed per format.
    pub documents: Documents,
    /// Which keys may sign.
    pub filter: KeyFilter,
    /// Storage names allowed (`None`: any).
    pub storages: Option<Vec<StorageName>>,
    /// Allow a certificate outside its validity period (basics `allowExpired`, testing only).
    pub allow_expired: bool,
    /// Prompt language, when the request names one.
    pub locale: Option<String>,
    /// The portal's logo (basics `logo`, decoded, at most [`MAX_LOGO_BYTES`]), for the dialog.
    pub logo: Option<Vec<u8>>,
    /// Add a TSA time-stamp to each CMS signature (CAdES-T); CMS formats only.
    pub time_stamp: bool,
    /// Which CAs the key's certificate must chain to (basics `signerParams.chain`).
    pub chain: ChainRule,
    /// Allow a revoked certificate (basics `allowRevoked`, testing only).
    pub allow_revoked: bool,
}

/// Which CAs a signing key's certificate must chain to.
#[derive(Debug, Clone, Default)]
pub enum ChainRule {
    /// The daemon's trust store: the NCA's CAs and `[trust]` (basics: `chain` absent).
    #[default]
    Trusted,
    /// Any certificate (basics: `chain: []`).
    Any,
    /// Only these CAs (basics: `chain` a list of PEM certificates).
    Only(Vec<crate::crypto::Certificate>),
}

impl std::fmt::Debug for SignRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignRequest")
            .field("documents", &self.documents)
            .field("filter", &self.filter)
            .field("storages", &self.storages)
            .field("allow_expired", &self.allow_expired)
            .field("locale", &self.locale)
            .field("time_stamp", &self.time_stamp)
            .field("chain", &self.chain)
            .field("allow_revoked", &self.allow_revoked)
            .finish_non_exhaustive()
    }
}

/// Largest logo shown (basics `logo` is documented as at most 50,000 base64 characters).
pub const MAX_LOGO_BYTES: usize = 37_500;

/// The signatures of one request, in document order, with the certificate that made them.
#[derive(Debug, Clone)]
pub struct SignOutcome {
    /// One signature per document: DER CMS, signed XML text, or the raw signature value.
    pub signatures: Vec<Vec<u8>>,
    /// The signer's certificate.
    pub certificate: crate::crypto::Certificate,
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_output_holds_no_document_content() {
        let request = super::SignRequest {
            documents: super::Documents::Raw(vec![b"TOP-SECRET-CONTENT".to_vec().into()]),
            filter: crate::keystore::KeyFilter::default(),
            storages: None,
            allow_expired: false,
            locale: None,
            logo: None,
            time_stamp: false,
            chain: super::ChainRule::default(),
            allow_revoked: false,
        };
        let summary = super::consent::DocumentSummary::new(b"TOP-SECRET-CONTENT", false);
        for text in [format!("{request:?}"), format!("{summary:?}")] {
            assert!(!text.contains("TOP-SECRET") && !text.contains("84, 79, 80"), "{text}");
        }
    }
}

#[cfg(test)]
mod nca_tests;
