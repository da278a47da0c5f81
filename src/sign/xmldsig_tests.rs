//! Signing tests: every signature is checked with `xmlsec1 --verify` and with our verifier, and
//! a changed byte of content must make both fail. The RSA key is made by the `openssl` CLI.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use super::*;
use crate::crypto::rsa::RsaSigner;
use crate::crypto::Certificate;
use crate::sign::xml_verify;

/// PKCS#8 DER key, DER certificate and PEM certificate of a throwaway RSA-2048 key.
struct TestKey {
    pkcs8: Vec<u8>,
    cert_der: Vec<u8>,
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
}

fn run(command: &mut Command) {
    let status = command.status().expect("the tool runs");
    assert!(status.success(), "{command:?} failed");
}

fn test_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = |name: &str| dir.path().join(name);
        run(Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
            .arg(path("k.pem"))
            .arg("-out")
            .arg(path("c.pem"))
            .args(["-subj", "/CN=Test", "-days", "30"])
            .stderr(std::process::Stdio::null()));
        run(Command::new("openssl")
            .args(["pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in"])
            .arg(path("k.pem"))
            .arg("-out")
            .arg(path("k.der")));
        run(Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(path("c.pem"))
            .arg("-out")
            .arg(path("c.der")));
        let read = |name: &str| std::fs::read(path(name)).expect("read key file");
        TestKey {
            pkcs8: read("k.der"),
            cert_der: read("c.der"),
            cert_pem: read("c.pem"),
            key_pem: read("k.pem"),
        }
    })
}

/// A signer over the test key.
pub(crate) fn test_signer() -> RsaSigner {
    let key = test_key();
    let certificate = Certificate::from_der(&key.cert_der).expect("certificate");
    RsaSigner::from_pkcs8(&key.pkcs8, certificate).expect("signer")
}

/// Runs `xmlsec1 --verify` on `xml`; `id` names (attribute, element) declared as an ID.
pub(crate) fn xmlsec1_verifies(xml: &str, id: Option<(&str, &str)>) -> bool {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, data: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, data).expect("write");
        path
    };
    let cert = write("c.pem", &test_key().cert_pem);
    let doc = write("doc.xml", xml.as_bytes());
    let mut command = Command::new("xmlsec1");
    command.arg("--verify").arg("--trusted-pem").arg(&cert);
    if let Some((attribute, element)) = id {
        command.arg(format!("--id-attr:{attribute}")).arg(element);
    }
    command
        .arg(Path::new(&doc))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("xmlsec1 runs")
        .success()
}

/// Signs an XMLDSig template with `xmlsec1 --sign` (the reverse oracle for our verifier).
pub(crate) fn xmlsec1_sign(template: &str, id: Option<(&str, &str)>) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, data: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, data).expect("write");
        path
    };
    let key = write("k.pem", &test_key().key_pem);
    let cert = write("c.pem", &test_key().cert_pem);
    let input = write("t.xml", template.as_bytes());
    let output = dir.path().join("out.xml");
    let mut command = Command::new("xmlsec1");
    command.arg("--sign").arg("--privkey-pem").arg(format!("{},{}", key.display(), cert.display()));
    if let Some((attribute, element)) = id {
        command.arg(format!("--id-attr:{attribute}")).arg(element);
    }
    run(command.arg("--output").arg(&output).arg(&input));
    std::fs::read_to_string(output).expect("xmlsec1 output")
}

fn our_verifier_accepts(xml: &str) -> bool {
    match xml_verify::verify(xml) {
        Ok(certificates) => {
            certificates.len() == 1 && certificates.first() == Some(test_signer().certificate())
        }
        Err(_) => false,
    }
}

/// Checks a signed document with both verifiers, then with `from` replaced by `to`.
fn assert_verifies_and_detects_tampering(
    signed: &str,
    id_element: Option<(&str, &str)>,
    from: &str,
    to: &str,
) {
    assert!(xmlsec1_verifies(signed, id_element), "xmlsec1 rejects:\n{signed}");
    assert!(our_verifier_accepts(signed), "our verifier rejects:\n{signed}");
    assert!(signed.contains(from), "{from} not in the document");
    let tampered = signed.replacen(from, to, 1);
    assert!(!xmlsec1_verifies(&tampered, id_element), "xmlsec1 accepts:\n{tampered}");
    assert!(!our_verifier_accepts(&tampered), "our verifier accepts:\n{tampered}");
}

fn sign(xml: &str) -> String {
    sign_enveloped(&test_signer(), xml).expect("signs")
}

#[test]
fn tag_data_has_the_ncalayer_shape_and_digest() {
    let signed = sign("<tag>data</tag>");
    let expected_head = concat!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?><tag>data<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">"#,
        "\n<ds:SignedInfo>\n",
        r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>"#,
        "\n",
        r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>"#,
        "\n<ds:Reference URI=\"\">\n<ds:Transforms>\n",
        r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#,
        "\n",
        r#"<ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"/>"#,
        "\n</ds:Transforms>\n",
        r#"<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>"#,
        "\n<ds:DigestValue>soDZFGIUsZ1x0sK/7x1bJvtGeQsO0BKOVwAvKxC3RJY=</ds:DigestValue>\n",
        "</ds:Reference>\n</ds:SignedInfo>\n<ds:SignatureValue>\n",
    );
    assert!(signed.starts_with(expected_head), "{signed}");
    assert!(signed
        .contains("\n</ds:SignatureValue>\n<ds:KeyInfo>\n<ds:X509Data>\n<ds:X509Certificate>\n"));
    assert!(signed.ends_with(
        "\n</ds:X509Certificate>\n</ds:X509Data>\n</ds:KeyInfo>\n</ds:Signature></tag>"
    ));
    assert!(signed.lines().all(|line| line.len() <= 76 || line.starts_with('<')));
    assert_verifies_and_detects_tampering(&signed, None, ">data<", ">datb<");
}

#[test]
fn namespaces_and_inherited_context_for_signed_info() {
    // The default namespace and xml:lang of the root are in scope of SignedInfo: inclusive
    // C14N renders them there, which the signature must account for.
    let xml = r#"<doc xmlns="urn:default" xmlns:p="urn:p" xml:lang="kk"><p:item p:code="1">x</p:item><item xmlns="">y</item></doc>"#;
    let signed = sign(xml);
    assert_verifies_and_detects_tampering(&signed, None, "p:code=\"1\"", "p:code=\"2\"");
}

#[test]
fn comments_pis_and_whitespace() {
    let xml = "<?xml version=\"1.0\"?>\n<!-- before -->\n<?pi data?>\n<doc>\n  <!-- inside -->\n  <a>1</a>\r\n</doc>\n<!-- after -->\n";
    let signed = sign(xml);
    assert!(signed.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<!-- before -->"
    ));
    assert!(signed.ends_with("</ds:Signature></doc>\n<!-- after -->\n"));
    assert_verifies_and_detects_tampering(&signed, None, "<a>1</a>", "<a>2</a>");
}

#[test]
fn attributes_needing_sort_and_escape() {
    let xml = "<doc z='1' a=\"&lt;&amp;&quot;&#9;&#10;&#13;'\" xmlns:b='urn:b' b:m='x' xmlns:a='urn:a' a:m='y'>t&gt;&amp;&#13;</doc>";
    let signed = sign(xml);
    assert_verifies_and_detects_tampering(&signed, None, "z='1'", "z='2'");
}

#[test]
fn cdata_and_cyrillic_text() {
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><документ><имя>Тест ҰКО</имя><![CDATA[<a> & ]]></документ>";
    let signed = sign(xml);
    assert!(signed.ends_with("</ds:Signature></документ>"));
    assert_verifies_and_detects_tampering(&signed, None, "ҰКО", "УКО");
}

#[test]
fn self_closing_root() {
    let signed = sign("<empty a=\"1\" />");
    assert!(signed.contains("<empty a=\"1\" ><ds:Signature"));
    assert!(signed.ends_with("</ds:Signature></empty>"));
    assert_verifies_and_detects_tampering(&signed, None, "a=\"1\"", "a=\"0\"");
}

#[test]
fn existing_declaration_is_replaced() {
    let signed = sign("<?xml version='1.0' encoding='windows-1251'?><r>x</r>");
    assert!(signed.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?><r>x<ds:Signature"
    ));
    assert_eq!(signed.matches("<?xml").count(), 1);
    assert_verifies_and_detects_tampering(&signed, None, "<r>x", "<r>y");
}

const BY_ELEMENT: &str = r#"<request xmlns:x="urn:x"><x:data Id="payload" a="1">value<!-- note --></x:data><signatures/></request>"#;

#[test]
fn by_element_with_xpath() {
    let signed =
        sign_element(&test_signer(), BY_ELEMENT, "//x:data", "/request/signatures").expect("signs");
    assert!(signed.contains(
        r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#
    ));
    assert!(signed.contains("<ds:Reference URI=\"#payload\">\n<ds:Transforms>\n<ds:Transform Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments\"/>\n</ds:Transforms>"));
    assert!(signed.contains("<signatures><ds:Signature"));
    assert!(signed.ends_with("</ds:Signature></signatures></request>"));
    assert_verifies_and_detects_tampering(
        &signed,
        Some(("Id", "urn:x:data")),
        ">value<",
        ">valuf<",
    );
}

#[test]
fn by_element_signature_inside_the_signed_element() {
    let xml = "<r><d id=\"i1\"><v>1</v></d></r>";
    let signed = sign_element(&test_signer(), xml, "/r/d[1]", "/r/d").expect("signs");
    assert!(signed.contains(ENVELOPED_SIGNATURE));
    assert!(signed.contains("<v>1</v><ds:Signature"));
    assert_verifies_and_detects_tampering(&signed, Some(("id", "d")), "<v>1</v>", "<v>2</v>");
}

#[test]
fn by_element_target_errors() {
    let signer = test_signer();
    let no_match = sign_element(&signer, BY_ELEMENT, "/request/missing", "/request");
    assert!(matches!(no_match, Err(SignError::XmlTarget(_))));
    let no_id = sign_element(&signer, BY_ELEMENT, "/request/signatures", "/request");
    assert!(matches!(no_id, Err(SignError::XmlTarget(t)) if t.contains("no Id")));
    let no_parent = sign_element(&signer, BY_ELEMENT, "//x:data", "//nothing");
    assert!(matches!(no_parent, Err(SignError::XmlTarget(_))));
    let duplicate = "<r><a Id=\"1\"/><b Id=\"1\"/></r>";
    let twice = sign_element(&signer, duplicate, "/r/a", "/r");
    assert!(matches!(twice, Err(SignError::XmlTarget(_))));
}

#[test]
fn bad_xml_gives_the_java_error() {
    let signer = test_signer();
    let text = |r: Result<String, SignError>| match r {
        Err(SignError::XmlParse(text)) => text,
        _ => String::from("not a parse error"),
    };
    let unterminated = "<?xml version=\"1.0\"?><a>";
    let expected = "org.xml.sax.SAXParseException; lineNumber: 1; columnNumber: 25; \
                    XML document structures must start and end within the same entity.";
    assert_eq!(text(sign_enveloped(&signer, unterminated)), expected);
    assert_eq!(text(sign_element(&signer, unterminated, "/a", "/a")), expected);
    assert!(matches!(check_document(unterminated), Err(SignError::XmlParse(t)) if t == expected));
    let dtd = "<!DOCTYPE r [<!ENTITY a \"aaaa\">]><r>&a;</r>";
    assert!(text(sign_enveloped(&signer, dtd)).contains("DOCTYPE is disallowed"));
    assert!(check_document("<r/>").is_ok());
}
