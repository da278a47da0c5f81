//! Signature formats over the [`Signer`](crate::crypto::Signer) trait: CMS/CAdES, XMLDSig and
//! raw. Pure functions: bytes in, bytes out; no I/O, no JSON, no UI.

pub mod c14n;
pub mod cades_t;
pub mod cms;
mod cms_attrs;
pub mod cms_verify;
pub mod cosign;
pub mod raw;
mod tlv;
pub mod tsp;
mod xml_parse;
pub mod xml_verify;
pub mod xmldsig;
mod xpath;

use crate::crypto::CryptoError;

/// Errors of the signature formats. Messages are meant for the person reading the reply.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The XML document could not be parsed. The text follows the Java parser where clients
    /// compare it (`ncalayer-protocol.md` §3.2).
    #[error("{0}")]
    XmlParse(String),
    /// An XPath given for by-element signing selects nothing, or the element lacks an `Id`.
    #[error("{0}")]
    XmlTarget(String),
    /// The CMS could not be parsed.
    #[error("invalid CMS: {0}")]
    CmsParse(String),
    /// A given digest has the wrong length for the key's hash algorithm.
    #[error("the digest is {got} bytes long, the key's hash needs {expected}")]
    DigestLength { expected: usize, got: usize },
    /// Encoding the output failed.
    #[error("encoding failed: {0}")]
    Encoding(String),
    /// A time-stamp could not be had: the TSA refused, or its answer does not answer the query.
    #[error("time-stamp: {0}")]
    TimeStamp(String),
    /// A signature does not verify; the text says which check failed.
    #[error("signature is not valid: {0}")]
    Invalid(String),
    /// The key failed to sign.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}
