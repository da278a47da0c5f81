//! End to end: sign through the WebSocket API with the NCA's RSA fixture keys, verify every
//! output with tools we did not write (openssl, xmlsec1).

use serde_json::{json, Value};

use crate::harness::{
    approve, b64, openssl_verify_attached, openssl_verify_detached, unb64, xmlsec_verify, Daemon,
    RSA_AUTH, RSA_SIGN,
};

fn basics(format: &str, data: Value, signing: Value) -> Value {
    json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "allowedStorages":["PKCS12"],"format":format,"data":data,
        "signingParams":signing,"signerParams":{"extKeyUsageOids":[]},"locale":"ru"}})
}

fn common(method: &str, args: Value) -> Value {
    json!({"module":"kz.gov.pki.knca.commonUtils","method":method,"args":args})
}

#[tokio::test]
async fn basics_cms_attached_and_detached_verify_with_openssl() {
    let daemon = Daemon::start(&[approve(RSA_SIGN), approve(RSA_SIGN)]);
    let mut client = daemon.tls_client(Some("https://portal.test.kz")).await;
    let docs = [b"first document".to_vec(), "екінші құжат".as_bytes().to_vec()];
    let data = json!([b64(&docs[0]), b64(&docs[1])]);
    let attached = client.call_json(&basics("cms", data.clone(), json!({"decode":true}))).await;
    let results = attached["body"]["result"].as_array().expect("result array").clone();
    assert_eq!(results.len(), 2);
    for (pem, doc) in results.iter().zip(&docs) {
        let pem = pem.as_str().expect("string");
        assert!(
            pem.starts_with("-----BEGIN CMS-----\n") && pem.ends_with("-----END CMS-----\n"),
            "{pem}"
        );
        let (ok, out) = openssl_verify_attached(daemon.dir.path(), &unb64(pem), doc);
        assert!(ok, "openssl rejected our attached CMS: {out}");
    }
    let detached = client
        .call_json(&basics(
            "cms",
            data,
            json!({"decode":"true","encapsulate":false,"digested":false}),
        ))
        .await;
    let pem = detached["body"]["result"][1].as_str().expect("second signature");
    let (ok, out) = openssl_verify_detached(daemon.dir.path(), &unb64(pem), &docs[1]);
    assert!(ok, "openssl rejected our detached CMS: {out}");
    let (ok, _) = openssl_verify_detached(daemon.dir.path(), &unb64(pem), &docs[0]);
    assert!(!ok, "a detached CMS must not verify against other content");
}

#[tokio::test]
async fn digest_cms_verifies_against_the_file() {
    use sha2::Digest as _;
    let daemon = Daemon::start(&[approve(RSA_SIGN), approve(RSA_SIGN)]);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let content = b"a large file the portal hashed itself";
    let digest = sha2::Sha256::digest(content);
    let reply = client
        .call_json(&basics(
            "cms",
            json!(b64(&digest)),
            json!({"decode":true,"encapsulate":false,"digested":true}),
        ))
        .await;
    let cms = unb64(reply["body"]["result"][0].as_str().expect("signature"));
    let (ok, out) = openssl_verify_detached(daemon.dir.path(), &cms, content);
    assert!(ok, "{out}");
    let reply = client
        .call_json(&common(
            "createCAdESFromBase64Hash",
            json!(["PKCS12", "SIGNATURE", b64(&digest)]),
        ))
        .await;
    assert_eq!(reply["code"], "200", "{reply}");
    let cms = unb64(reply["responseObject"].as_str().expect("base64 CMS"));
    let (ok, out) = openssl_verify_detached(daemon.dir.path(), &cms, content);
    assert!(ok, "{out}");
    let seen = daemon.seen();
    assert_eq!(seen[0]["operation"], "cms-digest");
}

#[tokio::test]
async fn common_utils_cades_attached_and_detached() {
    let daemon = Daemon::start(&[approve(RSA_SIGN), approve(RSA_SIGN)]);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let doc = b"<invoice>100 KZT</invoice>";
    for attach in [true, false] {
        let request =
            common("createCAdESFromBase64", json!(["PKCS12", "SIGNATURE", b64(doc), attach]));
        let reply = client.call_json(&request).await;
        assert_eq!(reply["code"], "200", "{reply}");
        let cms = unb64(reply["responseObject"].as_str().expect("base64"));
        let (ok, out) = if attach {
            openssl_verify_attached(daemon.dir.path(), &cms, doc)
        } else {
            openssl_verify_detached(daemon.dir.path(), &cms, doc)
        };
        assert!(ok, "attach={attach}: {out}");
    }
}

#[tokio::test]
async fn xml_signatures_verify_with_xmlsec1() {
    let daemon = Daemon::start(&[approve(RSA_SIGN), approve(RSA_SIGN), approve(RSA_SIGN)]);
    let mut client = daemon.tls_client(Some("https://portal.test.kz")).await;
    let xml =
        "<root><name>Қолтаңба</name><!-- note --><amount currency=\"KZT\">100</amount></root>";
    let reply =
        client.call_json(&common("signXml", json!(["PKCS12", "SIGNATURE", xml, "", ""]))).await;
    let signed = reply["responseObject"].as_str().expect("signed xml");
    assert!(
        signed.starts_with(r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#),
        "{signed}"
    );
    let (ok, out) = xmlsec_verify(daemon.dir.path(), signed);
    assert!(ok, "xmlsec1 rejected our enveloped signature: {out}");
    let tampered = signed.replace("100</amount>", "900</amount>");
    assert!(!xmlsec_verify(daemon.dir.path(), &tampered).0, "a changed amount must not verify");

    let reply = client.call_json(&basics("xml", json!([xml, "<a><b>2</b></a>"]), json!({}))).await;
    let results = reply["body"]["result"].as_array().expect("array");
    assert_eq!(results.len(), 2);
    for signed in results {
        let (ok, out) = xmlsec_verify(daemon.dir.path(), signed.as_str().expect("text"));
        assert!(ok, "{out}");
    }

    let by_element = "<doc><data Id=\"d1\"><v>1</v></data><sigs/></doc>";
    let request =
        common("signXml", json!(["PKCS12", "SIGNATURE", by_element, "/doc/data", "/doc/sigs"]));
    let reply = client.call_json(&request).await;
    let signed = reply["responseObject"].as_str().unwrap_or_else(|| panic!("{reply}"));
    let (ok, out) =
        crate::harness::xmlsec_verify_with(daemon.dir.path(), signed, &["--id-attr:Id", "data"]);
    assert!(ok, "{out}");
}

#[tokio::test]
async fn sign_xmls_signs_each_document_with_one_prompt() {
    let daemon = Daemon::start(&[approve(RSA_SIGN)]);
    let mut client = daemon.client(None).await;
    let docs = json!(["<a>1</a>", "<a>2</a>", "<a>3</a>"]);
    let reply =
        client.call_json(&common("signXmls", json!(["PKCS12", "SIGNATURE", docs, "", ""]))).await;
    let results = reply["responseObject"].as_array().unwrap_or_else(|| panic!("{reply}"));
    assert_eq!(results.len(), 3);
    for signed in results {
        assert!(xmlsec_verify(daemon.dir.path(), signed.as_str().expect("text")).0);
    }
    let seen = daemon.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["documents"]["count"], 3);
    assert_eq!(seen[0]["origin"], Value::Null, "a client without Origin is a local program");
}

#[tokio::test]
async fn raw_signature_and_output_cert() {
    let daemon = Daemon::start(&[approve(RSA_SIGN)]);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let reply = client.call_json(&basics("raw", json!("asdasd"), json!({"outputCert":true}))).await;
    let result = &reply["body"]["result"];
    let signature = unb64(result["signatures"][0].as_str().unwrap_or_else(|| panic!("{reply}")));
    let certificate = unb64(result["certificate"].as_str().expect("certificate"));
    let dir = daemon.dir.path();
    std::fs::write(dir.join("raw.sig"), &signature).expect("write");
    std::fs::write(dir.join("raw.txt"), "asdasd").expect("write");
    std::fs::write(dir.join("cert.der"), &certificate).expect("write");
    let (ok, out) = crate::harness::run("sh", &["-c", &format!(
        "cd {} && openssl x509 -inform DER -in cert.der -pubkey -noout > pub.pem && openssl dgst -sha256 -verify pub.pem -signature raw.sig raw.txt",
        dir.display())]);
    assert!(ok && out.contains("Verified OK"), "{out}");
}

#[tokio::test]
async fn key_info_reports_the_chosen_certificate() {
    let daemon = Daemon::start(&[approve(RSA_AUTH)]);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let text = client.call(&common("getKeyInfo", json!(["PKCS12"])).to_string()).await;
    assert!(text.starts_with(r#"{"responseObject":{"certNotBefore":"#), "{text}");
    assert!(text.ends_with(r#"},"code":"200"}"#), "{text}");
    let reply: Value = serde_json::from_str(&text).expect("JSON");
    let info = &reply["responseObject"];
    assert_eq!(info["alias"], "b2c70a9ff7a5dc59de0ccc3c0ddde3437cc1f12d", "{reply}");
    assert_eq!(info["keyId"], info["alias"]);
    assert_eq!(info["algorithm"], "RSA");
    assert!(info["pem"].as_str().unwrap_or_default().starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(info["subjectDn"].as_str().unwrap_or_default().contains("SERIALNUMBER=IIN"), "{info}");
    assert!(info["certNotBefore"].as_str().expect("string").parse::<i64>().is_ok());
}

#[tokio::test]
async fn files_are_signed_only_after_the_user_picked_them() {
    let dir = tempfile::tempdir().expect("dir");
    let picked = dir.path().join("contract.pdf");
    std::fs::write(&picked, b"%PDF-1.4 contract").expect("write");
    let chooser = json!({"approve": true, "file": picked});
    let daemon = Daemon::start(&[chooser, approve(RSA_SIGN), json!({"approve": false})]);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let path = picked.to_str().expect("path");
    let before = client
        .call_json(&common("createCAdESFromFile", json!(["PKCS12", "SIGNATURE", path, false])))
        .await;
    assert_eq!(
        before,
        json!({"code":"500","message":"file.not_found"}),
        "a path from the page is refused"
    );
    let chosen = client.call_json(&common("showFileChooser", json!(["ALL", ""]))).await;
    assert_eq!(chosen, json!({"responseObject": path, "code": "200"}));
    let reply = client
        .call_json(&common("createCAdESFromFile", json!(["PKCS12", "SIGNATURE", path, false])))
        .await;
    let cms = unb64(reply["responseObject"].as_str().unwrap_or_else(|| panic!("{reply}")));
    let (ok, out) = openssl_verify_detached(daemon.dir.path(), &cms, b"%PDF-1.4 contract");
    assert!(ok, "{out}");
    let cancelled = client.call(&common("showFileChooser", json!(["ALL", ""])).to_string()).await;
    assert_eq!(cancelled, r#"{"code":"500","message":"action.canceled"}"#);
    let bundles = client
        .call_json(&json!({"module":"kz.gov.pki.ncalayerservices.accessory","method":"getBundles"}))
        .await;
    assert_eq!(bundles["kz.gov.pki.knca.basics"], env!("CARGO_PKG_VERSION"));
    let key_info = client.call(&common("getKeyInfo", json!(["PKCS12"])).to_string()).await;
    assert_eq!(key_info, r#"{"code":"500","message":"action.canceled"}"#, "no answer left");
}
