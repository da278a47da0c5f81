//! Verification of XMLDSig signatures: ours and Kalkan's (enveloped and by-Id references).
//!
//! Core validation per W3C XMLDSig §3.2: every Reference is dereferenced (§4.3.3.3: `URI=""`
//! is the document and `#id` the element with that `Id`/`id`/`ID`, both without comments;
//! `#xpointer(/)` and `#xpointer(id('…'))` keep comments), its transforms applied
//! (enveloped-signature §6.6.4, the four C14N 1.0 algorithms §6.5) and its digest compared;
//! then SignedInfo is canonicalized per CanonicalizationMethod and SignatureValue checked with
//! the key of the `KeyInfo/X509Data/X509Certificate`.

use base64::Engine as _;
use roxmltree::{Document, Node};

use super::c14n::{canonicalize, Method};
use super::xml_parse::parse;
use super::xmldsig::{elements_with_id, DSIG_NS, ENVELOPED_SIGNATURE};
use super::SignError;
use crate::crypto::verify::verify_digest;
use crate::crypto::{Certificate, HashAlgorithm, SignatureAlgorithm};

/// Namespace of the exclusive C14N `InclusiveNamespaces` element (xml-exc-c14n §4).
const EXC_C14N_NS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// Verifies every `ds:Signature` in the document; returns the signer certificates.
pub fn verify(xml: &str) -> Result<Vec<Certificate>, SignError> {
    let doc = parse(xml)?;
    let signatures: Vec<Node<'_, '_>> =
        doc.descendants().filter(|n| is_ds(*n, "Signature")).collect();
    if signatures.is_empty() {
        return Err(invalid("the document has no ds:Signature"));
    }
    signatures.into_iter().map(|signature| verify_signature(&doc, signature)).collect()
}

fn verify_signature(doc: &Document<'_>, signature: Node<'_, '_>) -> Result<Certificate, SignError> {
    let signed_info = ds_child(signature, "SignedInfo")?;
    let c14n = c14n_method(ds_child(signed_info, "CanonicalizationMethod")?)?;
    let method_uri = algorithm_of(ds_child(signed_info, "SignatureMethod")?)?;
    let algorithm = SignatureAlgorithm::from_xml_uri(method_uri)
        .ok_or_else(|| invalid(&format!("unsupported SignatureMethod {method_uri}")))?;
    let references: Vec<Node<'_, '_>> = ds_children(signed_info, "Reference").collect();
    if references.is_empty() {
        return Err(invalid("SignedInfo has no Reference"));
    }
    for reference in references {
        check_reference(doc, signature, reference)?;
    }
    let digest = algorithm.hash().digest(canonicalize(&c14n, signed_info, None).as_bytes());
    let value = decode_base64(ds_child(signature, "SignatureValue")?, "SignatureValue")?;
    let certificates = certificates(signature)?;
    certificates
        .into_iter()
        .find(|cert| verify_digest(cert, algorithm, &digest, &value).is_ok())
        .ok_or_else(|| invalid("SignatureValue does not verify with the KeyInfo certificate"))
}

/// Dereferences a Reference, applies its transforms and compares the digest.
fn check_reference(
    doc: &Document<'_>,
    signature: Node<'_, '_>,
    reference: Node<'_, '_>,
) -> Result<(), SignError> {
    let uri = reference
        .attribute("URI")
        .ok_or_else(|| invalid("a Reference without URI is not supported"))?;
    let (apex, keep_comments) = dereference(doc, uri)?;
    let mut exclude = None;
    let mut method: Option<Method> = None;
    for transform in ds_child(reference, "Transforms")
        .map(|t| ds_children(t, "Transform").collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if method.is_some() {
            return Err(invalid("a transform after canonicalization is not supported"));
        }
        if algorithm_of(transform)? == ENVELOPED_SIGNATURE {
            exclude = Some(signature);
        } else {
            method = Some(c14n_method(transform)?);
        }
    }
    // XMLDSig §4.3.3.2: a node-set left at the end is converted with C14N 1.0.
    let mut method = method.unwrap_or_else(|| Method::inclusive(false));
    method.with_comments &= keep_comments;
    let hash_uri = algorithm_of(ds_child(reference, "DigestMethod")?)?;
    let hash = HashAlgorithm::from_xml_uri(hash_uri)
        .ok_or_else(|| invalid(&format!("unsupported DigestMethod {hash_uri}")))?;
    let expected = decode_base64(ds_child(reference, "DigestValue")?, "DigestValue")?;
    let actual = hash.digest(canonicalize(&method, apex, exclude).as_bytes());
    if actual == expected {
        Ok(())
    } else {
        Err(invalid(&format!("the digest of Reference URI=\"{uri}\" does not match")))
    }
}

/// The node a same-document URI selects and whether comments stay (XMLDSig §4.3.3.3).
fn dereference<'a, 'i>(
    doc: &'a Document<'i>,
    uri: &'a str,
) -> Result<(Node<'a, 'i>, bool), SignError> {
    if uri.is_empty() {
        return Ok((doc.root(), false));
    }
    let fragment = uri
        .strip_prefix('#')
        .ok_or_else(|| invalid(&format!("external Reference URI \"{uri}\" is not supported")))?;
    if fragment == "xpointer(/)" {
        return Ok((doc.root(), true));
    }
    let (id, keep_comments) = match xpointer_id(fragment) {
        Some(id) => (id, true),
        None => (fragment, false),
    };
    let mut found = elements_with_id(doc, id);
    match (found.next(), found.next()) {
        (Some(node), None) => Ok((node, keep_comments)),
        (None, _) => Err(invalid(&format!("no element has Id \"{id}\""))),
        (Some(_), Some(_)) => Err(invalid(&format!("the Id \"{id}\" is not unique"))),
    }
}

/// The id in `xpointer(id('x'))` / `xpointer(id("x"))`.
fn xpointer_id(fragment: &str) -> Option<&str> {
    let inner = fragment.strip_prefix("xpointer(id(")?.strip_suffix("))")?;
    inner
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
}

/// The C14N method of a `CanonicalizationMethod` or `Transform` element, with the exclusive
/// `InclusiveNamespaces PrefixList` (xml-exc-c14n §4).
fn c14n_method(element: Node<'_, '_>) -> Result<Method, SignError> {
    let uri = algorithm_of(element)?;
    let mut method =
        Method::from_uri(uri).ok_or_else(|| invalid(&format!("unsupported algorithm {uri}")))?;
    if method.exclusive {
        let prefixes = element
            .children()
            .find(|n| n.tag_name().namespace() == Some(EXC_C14N_NS))
            .and_then(|n| n.attribute("PrefixList"))
            .unwrap_or_default();
        method.inclusive_prefixes = prefixes.split_whitespace().map(str::to_string).collect();
    }
    Ok(method)
}

/// The certificates of `KeyInfo/X509Data/X509Certificate`.
fn certificates(signature: Node<'_, '_>) -> Result<Vec<Certificate>, SignError> {
    let key_info = ds_child(signature, "KeyInfo")?;
    let mut certificates = Vec::new();
    for data in ds_children(key_info, "X509Data") {
        for element in ds_children(data, "X509Certificate") {
            let der = decode_base64(element, "X509Certificate")?;
            let certificate = Certificate::from_der(&der)
                .map_err(|e| invalid(&format!("X509Certificate: {e}")))?;
            certificates.push(certificate);
        }
    }
    if certificates.is_empty() {
        return Err(invalid("KeyInfo has no X509Certificate"));
    }
    Ok(certificates)
}

/// Base64 content of an element; whitespace (including `&#13;`) is ignored.
fn decode_base64(element: Node<'_, '_>, what: &str) -> Result<Vec<u8>, SignError> {
    let text: String = element
        .children()
        .filter(|n| n.is_text())
        .flat_map(|n| n.text().unwrap_or_default().chars())
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| invalid(&format!("{what} is not valid base64: {e}")))
}

fn algorithm_of<'a>(element: Node<'a, '_>) -> Result<&'a str, SignError> {
    element
        .attribute("Algorithm")
        .ok_or_else(|| invalid(&format!("ds:{} has no Algorithm", element.tag_name().name())))
}

fn is_ds(node: Node<'_, '_>, local: &str) -> bool {
    node.is_element()
        && node.tag_name().namespace() == Some(DSIG_NS)
        && node.tag_name().name() == local
}

fn ds_children<'a, 'i: 'a>(
    node: Node<'a, 'i>,
    local: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |n| is_ds(*n, local))
}

fn ds_child<'a, 'i: 'a>(node: Node<'a, 'i>, local: &'a str) -> Result<Node<'a, 'i>, SignError> {
    ds_children(node, local)
        .next()
        .ok_or_else(|| invalid(&format!("ds:{} has no ds:{local}", node.tag_name().name())))
}

fn invalid(text: &str) -> SignError {
    SignError::Invalid(text.to_string())
}

#[cfg(test)]
#[path = "xml_verify_tests.rs"]
mod tests;
