//! What a request signs, typed per format: bytes for CMS and raw signatures, digests of a length
//! a key can sign for CMS over a digest, UTF-8 text for XML. The protocol layer builds these
//! once from the message, so a digest no key could sign is refused before any dialog opens;
//! each document's bytes are a [`Content`], which a large document keeps undecoded.
//! `Debug` shows sizes only: document content never reaches a log.

use super::consent::{DocumentSummary, Operation};
use super::Content;
use super::ServiceError;

/// Digest lengths a key can sign: 32 bytes (SHA-256, GOST 34.311, Streebog-256) or 64
/// (Streebog-512). The key's own length is checked again when it signs.
const DIGEST_LENGTHS: [usize; 2] = [32, 64];

/// A digest the page computed, of a length some key can sign.
#[derive(Clone, PartialEq, Eq)]
pub struct Digest(Vec<u8>);

impl Digest {
    /// The digest, if it is 32 or 64 bytes.
    pub fn new(bytes: Vec<u8>) -> Result<Self, ServiceError> {
        if DIGEST_LENGTHS.contains(&bytes.len()) {
            return Ok(Self(bytes));
        }
        Err(ServiceError::BadRequest(format!(
            "the digest is {} bytes; a digest to sign is 32 bytes (SHA-256, GOST 34.311, \
             Streebog-256) or 64 bytes (Streebog-512)",
            bytes.len()
        )))
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// The documents of one request, with the format they are signed in.
#[derive(Clone, PartialEq, Eq)]
pub enum Documents {
    /// CMS/CAdES-BES over whole documents, with the document inside (`attached`) or not.
    Cms {
        /// Whether the CMS carries the document.
        attached: bool,
        /// The documents.
        data: Vec<Content>,
    },
    /// Detached CMS over digests the page computed.
    Digests(Vec<Digest>),
    /// Enveloped XMLDSig over whole documents, or, with `element` (the XPaths of the element
    /// to sign and of its parent), over one element of each.
    Xml {
        /// `(tbs XPath, parent XPath)` of the by-element variant.
        element: Option<(String, String)>,
        /// The XML documents.
        texts: Vec<String>,
    },
    /// Raw signature values over the bytes.
    Raw(Vec<Content>),
    /// A signer added to an existing CMS SignedData that carries its document (co-signing).
    CoSign {
        /// The DER CMS.
        cms: Vec<u8>,
    },
}

impl Documents {
    /// Digests from raw bytes, each checked ([`Digest::new`]).
    pub fn digests(raw: Vec<Vec<u8>>) -> Result<Self, ServiceError> {
        raw.into_iter().map(Digest::new).collect::<Result<_, _>>().map(Self::Digests)
    }

    /// How many documents there are.
    pub fn len(&self) -> usize {
        match self {
            Self::Cms { data, .. } | Self::Raw(data) => data.len(),
            Self::Digests(digests) => digests.len(),
            Self::Xml { texts, .. } => texts.len(),
            Self::CoSign { .. } => 1,
        }
    }

    /// Whether there is nothing to sign.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the user is asked to approve.
    pub fn operation(&self) -> Operation {
        match self {
            Self::Cms { attached: true, .. } => Operation::CmsAttached,
            Self::Cms { attached: false, .. } => Operation::CmsDetached,
            Self::Digests(_) => Operation::CmsDigest,
            Self::Xml { element: None, .. } => Operation::Xml,
            Self::Xml { element: Some(_), .. } => Operation::XmlElement,
            Self::Raw(_) => Operation::Raw,
            Self::CoSign { .. } => Operation::CmsCoSign,
        }
    }

    /// What the prompt shows of each document.
    pub fn summaries(&self) -> Vec<DocumentSummary> {
        match self {
            Self::Cms { data, .. } | Self::Raw(data) => data.iter().map(Content::summary).collect(),
            Self::Digests(digests) => {
                digests.iter().map(|d| DocumentSummary::new(d.as_bytes(), true)).collect()
            }
            Self::Xml { texts, .. } => {
                texts.iter().map(|t| DocumentSummary::new(t.as_bytes(), false)).collect()
            }
            Self::CoSign { cms } => {
                let content = crate::sign::cosign::attached_content(cms).ok().flatten();
                vec![DocumentSummary::new(content.as_deref().unwrap_or(cms), false)]
            }
        }
    }

    /// The size in bytes of each document.
    pub fn sizes(&self) -> Vec<usize> {
        match self {
            Self::Cms { data, .. } | Self::Raw(data) => data.iter().map(Content::len).collect(),
            Self::Digests(digests) => digests.iter().map(|d| d.0.len()).collect(),
            Self::Xml { texts, .. } => texts.iter().map(String::len).collect(),
            Self::CoSign { cms } => vec![cms.len()],
        }
    }
}

impl std::fmt::Debug for Documents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Documents")
            .field("operation", &self.operation())
            .field("sizes", &self.sizes())
            .finish()
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digest({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::{Digest, Documents};
    use crate::service::consent::Operation;

    #[test]
    fn digests_of_a_length_no_key_signs_are_refused() {
        for len in [32, 64] {
            assert!(Digest::new(vec![7; len]).is_ok(), "{len}");
        }
        for len in [0, 20, 31, 48, 65] {
            let error = Digest::new(vec![7; len]).expect_err("refused");
            assert!(error.to_string().contains(&format!("is {len} bytes")), "{error}");
        }
        assert!(
            Documents::digests(vec![vec![1; 32], vec![1; 20]]).is_err(),
            "one bad, all refused"
        );
    }

    #[test]
    fn each_format_names_its_operation_and_hides_its_content() {
        let xml = Documents::Xml { element: None, texts: vec!["<secret/>".into()] };
        assert_eq!(xml.operation(), Operation::Xml);
        let digests = Documents::digests(vec![vec![1; 64]]).expect("digest");
        assert_eq!(digests.operation(), Operation::CmsDigest);
        assert!(digests.summaries()[0].digest_only);
        let cms = Documents::Cms { attached: true, data: vec![b"TOP-SECRET".to_vec().into()] };
        let shown = format!("{xml:?}{digests:?}{cms:?}");
        assert!(!shown.contains("secret") && !shown.contains("TOP-SECRET"), "{shown}");
        assert!(shown.contains("sizes: [9]") && shown.contains("sizes: [10]"), "{shown}");
    }
}
