//! One request end to end: choose key -> consent + password -> open -> sign -> respond.
//! Depends on traits only (`Prompter`, `KeyStore`, `Signer`); `main` picks implementations.

pub mod audit;
pub mod error;
pub mod flow;
pub mod limits;
mod origin;
pub mod policy;
pub mod security;

pub use error::{ErrorKind, ServiceError};
pub use flow::{Service, ServiceSettings};
pub use security::Security;

use crate::keystore::KeyFilter;

/// Who is calling: what the transport learned from the handshake, never from the message.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The `Origin` header (`None`: a local program without Origin).
    pub origin: Option<String>,
}

/// The signature format a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignFormat {
    /// CMS/CAdES-BES. `digested`: each document is a digest (detached output).
    Cms { attached: bool, digested: bool },
    /// Enveloped XMLDSig; with `element`, the (tbs XPath, parent XPath) by-element variant.
    Xml { element: Option<(String, String)> },
    /// Raw signature value.
    Raw,
}

/// A validated sign request.
#[derive(Debug, Clone)]
pub struct SignRequest {
    /// The format.
    pub format: SignFormat,
    /// The documents (XML as UTF-8 text, digests as raw bytes).
    pub documents: Vec<Vec<u8>>,
    /// Which keys may sign.
    pub filter: KeyFilter,
    /// Storage names allowed (`None`: any).
    pub storages: Option<Vec<String>>,
    /// Allow a certificate outside its validity period (basics `allowExpired`, testing only).
    pub allow_expired: bool,
    /// Prompt language, when the request names one.
    pub locale: Option<String>,
}

/// The signatures of one request, in document order, with the certificate that made them.
#[derive(Debug, Clone)]
pub struct SignOutcome {
    /// One signature per document: DER CMS, signed XML text, or the raw signature value.
    pub signatures: Vec<Vec<u8>>,
    /// The signer's certificate.
    pub certificate: crate::crypto::Certificate,
}
