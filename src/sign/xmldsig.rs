//! Enveloped XMLDSig in the NCALayer shape (`kz-pki.md` §5.2, `ncalayer-protocol.md` §10.2) and
//! the by-element variant of `signXml` (Reference to `#Id`, exclusive C14N).
//!
//! The input text is kept as written; only the XML declaration is replaced by NCALayer's and the
//! `ds:Signature` text is inserted before the end tag of its parent. Digests are computed over
//! the C14N of the parsed document (W3C XMLDSig §4.3.3), so the output verifies regardless of how
//! the input was formatted.
//!
//! Comments: a same-document Reference (`URI=""` or `URI="#id"`) selects the node-set *minus
//! comment nodes* (XMLDSig §4.3.3.3), so the `c14n#WithComments` transform NCALayer lists has no
//! comments to keep. xmlsec1 and Apache Santuario (which Kalkan builds on) both behave this way,
//! and so do the digests made here.

use base64::Engine as _;
use roxmltree::{Document, Node};

use super::c14n::{self, canonicalize, Method};
use super::xml_parse::parse;
use super::{xpath, SignError};
use crate::crypto::Signer;

/// The XMLDSig namespace (XMLDSig §4).
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The enveloped-signature transform (XMLDSig §6.6.4).
pub const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// The XML declaration NCALayer's Java serializer writes.
const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#;
/// Base64 line length in SignatureValue and X509Certificate (MIME, as Santuario wraps).
const BASE64_LINE: usize = 76;

/// Signs the whole document: `ds:Signature` appended as the last child of the root.
pub fn sign_enveloped(signer: &dyn Signer, xml: &str) -> Result<String, SignError> {
    let doc = parse(xml)?;
    let digest = signer
        .algorithm()
        .hash()
        .digest(canonicalize(&Method::inclusive(false), doc.root(), None).as_bytes());
    let template = Template {
        signed_info_c14n: Method::inclusive(false),
        uri: String::new(),
        transforms: &[ENVELOPED_SIGNATURE, c14n::C14N_WITH_COMMENTS],
        digest,
    };
    finish(signer, &doc, doc.root_element(), &template)
}

/// Checks, before anyone is asked, that `sign_element` will find its elements: the document
/// parses, `tbs_xpath` selects an element with a unique `Id`, and `parent_xpath` selects one.
pub fn check_element(xml: &str, tbs_xpath: &str, parent_xpath: &str) -> Result<(), SignError> {
    let doc = parse(xml)?;
    locate(&doc, tbs_xpath, parent_xpath).map(|_| ())
}

/// The element to sign, its Id, and the element the signature goes into.
fn locate<'a, 'input>(
    doc: &'a roxmltree::Document<'input>,
    tbs_xpath: &str,
    parent_xpath: &str,
) -> Result<(roxmltree::Node<'a, 'input>, &'a str, roxmltree::Node<'a, 'input>), SignError> {
    let target = xpath::select(doc, tbs_xpath)?;
    let id = element_id(target).ok_or_else(|| {
        SignError::XmlTarget(format!("the element selected by \"{tbs_xpath}\" has no Id attribute"))
    })?;
    if elements_with_id(doc, id).count() > 1 {
        return Err(SignError::XmlTarget(format!(
            "the Id \"{id}\" is used by more than one element"
        )));
    }
    let parent = xpath::select(doc, parent_xpath)?;
    Ok((target, id, parent))
}

/// Signs the element selected by `tbs_xpath` (it must carry an `Id`) and places `ds:Signature`
/// in the element selected by `parent_xpath`.
///
/// The Reference is `URI="#<Id>"` with the single transform `c14n#WithComments` NCALayer
/// writes, SignedInfo is canonicalized with exclusive C14N. When the signature goes inside the
/// signed element itself, the Reference would cover the signature, so the enveloped-signature
/// transform is put first; both forms verify with `xmlsec1 --id-attr:Id <element>`.
pub fn sign_element(
    signer: &dyn Signer,
    xml: &str,
    tbs_xpath: &str,
    parent_xpath: &str,
) -> Result<String, SignError> {
    let doc = parse(xml)?;
    let (target, id, parent) = locate(&doc, tbs_xpath, parent_xpath)?;
    let enveloped = parent == target || parent.ancestors().any(|a| a == target);
    let transforms: &[&str] = if enveloped {
        &[ENVELOPED_SIGNATURE, c14n::C14N_WITH_COMMENTS]
    } else {
        &[c14n::C14N_WITH_COMMENTS]
    };
    let digest = signer
        .algorithm()
        .hash()
        .digest(canonicalize(&Method::inclusive(false), target, None).as_bytes());
    let template = Template {
        signed_info_c14n: Method::exclusive(false),
        uri: format!("#{id}"),
        transforms,
        digest,
    };
    finish(signer, &doc, parent, &template)
}

/// Parses `xml` as signing would, so a malformed document is refused before any prompt.
pub fn check_document(xml: &str) -> Result<(), SignError> {
    parse(xml).map(|_| ())
}

/// The `Id` of an element: `Id`, `id` or `ID` without namespace.
pub(crate) fn element_id<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    ["Id", "id", "ID"].into_iter().find_map(|name| node.attribute(name))
}

/// Elements whose `Id`/`id`/`ID` equals `id`.
pub(crate) fn elements_with_id<'a, 'i>(
    doc: &'a Document<'i>,
    id: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    doc.descendants().filter(move |n| n.is_element() && element_id(*n) == Some(id))
}

/// What varies between the enveloped and the by-element signature.
struct Template<'t> {
    signed_info_c14n: Method,
    uri: String,
    transforms: &'t [&'t str],
    digest: Vec<u8>,
}

/// Inserts the signature into `parent`, canonicalizes SignedInfo in the context of the final
/// document (inclusive C14N renders the ancestors' namespaces), signs and fills SignatureValue.
fn finish(
    signer: &dyn Signer,
    doc: &Document<'_>,
    parent: Node<'_, '_>,
    template: &Template<'_>,
) -> Result<String, SignError> {
    let (before, after) = split_at_end_tag(doc, parent)?;
    let (head, tail) = signature_text(signer, template);
    let draft = format!("{before}{head}{tail}{after}");
    let draft_doc = parse(&draft)?;
    let offset = before.len() + head.find("<ds:SignedInfo>").unwrap_or(0);
    let signed_info = draft_doc
        .descendants()
        .find(|n| n.is_element() && n.range().start == offset)
        .ok_or_else(|| SignError::Encoding("SignedInfo not found in the signed document".into()))?;
    let canonical = canonicalize(&template.signed_info_c14n, signed_info, None);
    let value = signer.sign_message(canonical.as_bytes())?;
    Ok(format!("{before}{head}{}{tail}{after}", wrap_base64(&value)))
}

/// The document text up to the end tag of `parent` (with NCALayer's XML declaration in front)
/// and from that end tag on. A self-closing `<a/>` becomes `<a>` … `</a>`.
fn split_at_end_tag(
    doc: &Document<'_>,
    parent: Node<'_, '_>,
) -> Result<(String, String), SignError> {
    let text = doc.input_text();
    let range = parent.range();
    let element = text
        .get(range.clone())
        .ok_or_else(|| SignError::Encoding("element position out of range".into()))?;
    let body_start = declaration_end(text);
    let mut before = String::from(DECLARATION);
    let mut after = String::new();
    if let Some(start_tag) = element.strip_suffix("/>") {
        before.push_str(text.get(body_start..range.start).unwrap_or_default());
        before.push_str(start_tag);
        before.push('>');
        after.push_str("</");
        after.push_str(c14n::element_qname(parent));
        after.push('>');
        after.push_str(text.get(range.end..).unwrap_or_default());
    } else {
        let end_tag = range.start + element.rfind("</").unwrap_or(element.len());
        before.push_str(text.get(body_start..end_tag).unwrap_or_default());
        after.push_str(text.get(end_tag..).unwrap_or_default());
    }
    Ok((before, after))
}

/// Byte offset just past the input's XML declaration, or 0 without one.
fn declaration_end(text: &str) -> usize {
    let has_declaration = text
        .strip_prefix("<?xml")
        .and_then(|rest| rest.chars().next())
        .is_some_and(char::is_whitespace);
    if has_declaration {
        text.find("?>").map_or(0, |i| i + 2)
    } else {
        0
    }
}

/// The `ds:Signature` text split where the SignatureValue content goes.
fn signature_text(signer: &dyn Signer, template: &Template<'_>) -> (String, String) {
    let algorithm = signer.algorithm();
    let engine = base64::engine::general_purpose::STANDARD;
    let mut head = format!("<ds:Signature xmlns:ds=\"{DSIG_NS}\">\n<ds:SignedInfo>\n");
    push_method(&mut head, "CanonicalizationMethod", template.signed_info_c14n.uri());
    push_method(&mut head, "SignatureMethod", algorithm.xml_uri());
    head.push_str("<ds:Reference URI=\"");
    head.push_str(&escape_attribute(&template.uri));
    head.push_str("\">\n<ds:Transforms>\n");
    for transform in template.transforms {
        push_method(&mut head, "Transform", transform);
    }
    head.push_str("</ds:Transforms>\n");
    push_method(&mut head, "DigestMethod", algorithm.hash().xml_uri());
    head.push_str("<ds:DigestValue>");
    head.push_str(&engine.encode(&template.digest));
    head.push_str("</ds:DigestValue>\n</ds:Reference>\n</ds:SignedInfo>\n<ds:SignatureValue>\n");
    let tail = format!(
        "\n</ds:SignatureValue>\n<ds:KeyInfo>\n<ds:X509Data>\n<ds:X509Certificate>\n{}\n\
         </ds:X509Certificate>\n</ds:X509Data>\n</ds:KeyInfo>\n</ds:Signature>",
        wrap_base64(signer.certificate().der())
    );
    (head, tail)
}

fn push_method(out: &mut String, element: &str, algorithm: &str) {
    out.push_str("<ds:");
    out.push_str(element);
    out.push_str(" Algorithm=\"");
    out.push_str(&escape_attribute(algorithm));
    out.push_str("\"/>\n");
}

fn escape_attribute(value: &str) -> String {
    value.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;")
}

/// Base64 in lines of 76 characters separated by `\n`.
fn wrap_base64(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    encoded
        .as_bytes()
        .chunks(BASE64_LINE)
        .map(|line| std::str::from_utf8(line).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
#[path = "xmldsig_tests.rs"]
pub(crate) mod tests;
