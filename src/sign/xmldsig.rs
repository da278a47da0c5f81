//! Enveloped XMLDSig in the NCALayer shape (`kz-pki.md` §5.2, `ncalayer-protocol.md` §10.2) and
//! the by-element variant of `signXml` (Reference to `#Id`, exclusive C14N).

use super::SignError;
use crate::crypto::Signer;

/// Signs the whole document: `ds:Signature` appended as the last child of the root.
pub fn sign_enveloped(_signer: &dyn Signer, _xml: &str) -> Result<String, SignError> {
    todo!("xmldsig")
}

/// Signs the element selected by `tbs_xpath` (it must carry an `Id`) and places `ds:Signature`
/// in the element selected by `parent_xpath`.
pub fn sign_element(
    _signer: &dyn Signer,
    _xml: &str,
    _tbs_xpath: &str,
    _parent_xpath: &str,
) -> Result<String, SignError> {
    todo!("xmldsig")
}

/// Parses `xml` as signing would, so a malformed document is refused before any prompt.
pub fn check_document(_xml: &str) -> Result<(), SignError> {
    todo!("xmldsig")
}
