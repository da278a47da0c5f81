//! Verifier tests: the Kalkan RSA and GOST-2004 fixtures verify, garbage never panics.

use super::*;

const LEGACY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/nca/legacy-2020");

fn fixtures(prefix: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for group in ["personal", "organization"] {
        for state in ["active", "revoked"] {
            let dir = std::path::Path::new(LEGACY).join(group).join(state);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(prefix) && name.ends_with(".xml") {
                    found.push(entry.path());
                }
            }
        }
    }
    found.sort();
    found
}

#[test]
fn kalkan_rsa_fixtures_verify() {
    let files: Vec<_> = fixtures("RSA256_").into_iter().chain(fixtures("AUTH_RSA256_")).collect();
    assert!(files.len() >= 6, "fixtures missing under {LEGACY}");
    for file in files {
        let xml = std::fs::read_to_string(&file).expect("fixture readable");
        match verify(&xml) {
            Ok(certificates) => assert_eq!(certificates.len(), 1, "{}", file.display()),
            Err(e) => panic!("{}: {e}", file.display()),
        }
    }
}

#[test]
fn kalkan_gost_fixtures_verify() {
    let files = fixtures("GOSTKNCA_");
    assert_eq!(files.len(), 2);
    for file in files {
        let xml = std::fs::read_to_string(&file).expect("fixture readable");
        let certificates = verify(&xml).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let [certificate] = &certificates[..] else { panic!("one signer") };
        let stem = file.file_stem().expect("stem").to_string_lossy().into_owned();
        let ski = certificate.subject_key_id().expect("SKI");
        assert!(stem.ends_with(&crate::crypto::hex(&ski)), "{stem}");
        // One changed character of the signature value breaks it.
        let (head, tail) = xml.split_once("<ds:SignatureValue>").expect("SignatureValue");
        let at = tail.find(|c: char| c.is_ascii_alphanumeric()).expect("base64 text");
        let flipped = if tail[at..].starts_with('A') { "B" } else { "A" };
        let garbled =
            format!("{head}<ds:SignatureValue>{}{flipped}{}", &tail[..at], &tail[at + 1..]);
        match verify(&garbled) {
            Err(SignError::Invalid(text)) => assert!(text.contains("does not verify"), "{text}"),
            other => panic!("{}: {other:?}", file.display()),
        }
    }
}

#[test]
fn kalkan_fixture_with_cr_references_verifies() {
    // Kalkan builds that emit `&#13;` before each base64 line break (kz-pki.md §5.2).
    let file = fixtures("RSA256_").into_iter().next().expect("fixture");
    let xml = std::fs::read_to_string(file).expect("readable");
    let (head, rest) = xml.split_once("<ds:SignatureValue>").expect("has SignatureValue");
    let (value, tail) = rest.split_once("</ds:SignatureValue>").expect("closed");
    let (key_info, end) = tail.split_once("</ds:Signature>").expect("closed");
    let with_cr = format!(
        "{head}<ds:SignatureValue>{}</ds:SignatureValue>{}</ds:Signature>{end}",
        value.replace('\n', "&#13;\n"),
        key_info.replace('\n', "&#13;\n")
    );
    assert!(with_cr.contains("&#13;"));
    assert!(verify(&with_cr).is_ok());
}

#[test]
fn tampered_fixture_fails() {
    let file = fixtures("RSA256_").into_iter().next().expect("fixture");
    let xml = std::fs::read_to_string(file).expect("readable");
    let tampered = xml.replacen("<name>NCANode</name>", "<name>NCANodf</name>", 1);
    assert!(matches!(verify(&tampered), Err(SignError::Invalid(t)) if t.contains("digest")));
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "",
        "<a/>",
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/>",
        "<r><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"urn:x\"/></ds:SignedInfo></ds:Signature></r>",
        "<r><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/><ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/><ds:Reference URI=\"#nope\"><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue>!!</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature></r>",
        "<r Id=\"a\"><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/><ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/><ds:Reference URI=\"#xpointer(id('a'))\"><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo></ds:Signature></r>",
    ];
    for input in inputs {
        assert!(verify(input).is_err(), "{input}");
    }
}

#[test]
fn our_signatures_verify_after_reformatting_outside_signed_info() {
    use crate::crypto::Signer as _;
    use crate::sign::xmldsig::tests::test_signer;
    let signer = test_signer();
    let signed = crate::sign::xmldsig::sign_enveloped(&signer, "<a><b>1</b></a>").expect("signs");
    // Line breaks inside base64 may be CRLF or `&#13;\n` after a round trip through Windows.
    let reformatted = signed
        .replace("\n</ds:SignatureValue>", "&#13;\n</ds:SignatureValue>")
        .replace("<ds:X509Certificate>\n", "<ds:X509Certificate>\r\n");
    match verify(&reformatted) {
        Ok(certificates) => assert!(certificates.first() == Some(signer.certificate())),
        Err(e) => panic!("{e}"),
    }
}

/// An xmlsec1 signature with exclusive C14N, an `InclusiveNamespaces PrefixList`, a `#id`
/// Reference and a second, enveloped Reference.
#[test]
fn xmlsec1_exclusive_signature_verifies() {
    let template = r##"<r xmlns:p="urn:p" xmlns:q="urn:q"><p:data Id="d" q:a="1">x<!--c--></p:data><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="p"/></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#d"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="#default q"/></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference><ds:Reference URI="#xpointer(/)"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature></r>"##;
    let signed = crate::sign::xmldsig::tests::xmlsec1_sign(template, Some(("Id", "urn:p:data")));
    assert!(verify(&signed).is_ok(), "{signed}");
    let tampered = signed.replacen("<!--c-->", "<!--d-->", 1);
    assert!(matches!(verify(&tampered), Err(SignError::Invalid(t)) if t.contains("xpointer")));
}
