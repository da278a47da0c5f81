//! Wire conformance: greeting, heartbeat, envelopes and error texts (`ncalayer-protocol.md`).

use serde_json::json;

use crate::harness::Daemon;

#[tokio::test]
async fn greeting_heartbeat_and_probe_over_tls() {
    let daemon = Daemon::start(&[]);
    let mut client = daemon.tls_client(Some("https://portal.test.kz")).await;
    assert_eq!(client.greeting, r#"{"result":{"version":"1.4"}}"#);
    assert_eq!(client.call("--heartbeat--").await, "--heartbeat--");
    let probe = r#"{"module":"kz.digiflow.mobile.extensions","method":"getVersion"}"#;
    assert_eq!(client.call(probe).await, r#"{"success":false,"errorCode":"MODULE_NOT_FOUND"}"#);
}

#[tokio::test]
async fn common_utils_envelopes() {
    let daemon = Daemon::start(&[]);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let tokens = r#"{"module":"kz.gov.pki.knca.commonUtils","method":"getActiveTokens"}"#;
    assert_eq!(client.call(tokens).await, r#"{"responseObject":[],"code":"200"}"#);
    let locale =
        r#"{"module":"kz.gov.pki.knca.commonUtils","method":"changeLocale","args":["en"]}"#;
    assert_eq!(client.call(locale).await, r#"{"code":"200"}"#);
    let mismatch =
        r#"{"module":"kz.gov.pki.knca.commonUtils","method":"getKeyInfo","args":[null]}"#;
    assert_eq!(
        client.call(mismatch).await,
        r#"{"code":"500","message":"java.lang.IllegalArgumentException: argument type mismatch. Method: getKeyInfo"}"#
    );
    let arity =
        r#"{"module":"kz.gov.pki.knca.commonUtils","method":"getKeyInfo","args":["PKCS12","x"]}"#;
    assert_eq!(
        client.call(arity).await,
        r#"{"code":"500","message":"NoSuchMethodException getKeyInfo"}"#
    );
    let unknown = r#"{"module":"kz.gov.pki.knca.commonUtils","method":"getKeyInfo","args":["NOPE"],"uuid":"u-1"}"#;
    assert_eq!(
        client.call(unknown).await,
        r#"{"code":"500","message":"storage.unknown","uuid":"u-1"}"#
    );
    let token = r#"{"module":"kz.gov.pki.knca.commonUtils","method":"getKeyInfo","args":["AKKaztokenStore"]}"#;
    assert_eq!(client.call(token).await, r#"{"code":"500","message":"storage.empty"}"#);
}

#[tokio::test]
async fn basics_envelope_errors_and_cancel() {
    let daemon = Daemon::start(&[json!({"approve": false})]);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let bad_params = json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "format":"cms","data":"MTEK","signingParams":"x","signerParams":{}}});
    assert_eq!(
        client.call(&bad_params.to_string()).await,
        r#"{"code":"INVOCATION_ERROR","details":"org.json.JSONException: JSONObject[\"signingParams\"] is not a JSONObject.","message":"An invoked method threw an exception.","status":false}"#
    );
    let tsa = json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "format":"cms","data":"MTEK","signingParams":{"tsaProfile":{}},"signerParams":{}}});
    let reply = client.call_json(&tsa).await;
    assert_eq!(
        reply["status"],
        json!(false),
        "tsaProfile must not give an unstamped signature: {reply}"
    );
    let cancel = json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "format":"cms","data":"MTEK","signingParams":{},"signerParams":{}}});
    assert_eq!(client.call(&cancel.to_string()).await, r#"{"body":{},"status":true}"#);
    assert_eq!(daemon.seen().len(), 1, "the tsaProfile request must not reach the prompt");
}

#[tokio::test]
async fn malformed_input_keeps_the_connection_usable() {
    let daemon = Daemon::start(&[]);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    for bad in [
        "{not json",
        "[]",
        "42",
        r#"{"module":"kz.gov.pki.knca.basics"}"#,
        r#"{"module":"kz.gov.pki.knca.basics","method":"sign","args":{"format":"cms","data":5,"signingParams":{},"signerParams":{}}}"#,
        r#"{"module":"kz.gov.pki.knca.commonUtils","method":"signXml","args":["PKCS12","SIGNATURE","<a>",  "", ""]}"#,
    ] {
        let reply = client.call(bad).await;
        let value: serde_json::Value =
            serde_json::from_str(&reply).unwrap_or_else(|_| panic!("non-JSON reply {reply}"));
        assert!(
            value.get("status") == Some(&json!(false))
                || value.get("code") == Some(&json!("500"))
                || value.get("success") == Some(&json!(false)),
            "{bad} -> {reply}"
        );
    }
    assert_eq!(client.call("--heartbeat--").await, "--heartbeat--");
    assert!(daemon.seen().is_empty(), "invalid requests never reach the prompt");
}

#[tokio::test]
async fn bad_xml_gets_the_java_parser_text() {
    let daemon = Daemon::start(&[]);
    let mut client = daemon.client(None).await;
    let request = json!({"module":"kz.gov.pki.knca.commonUtils","method":"signXml",
        "args":["PKCS12","SIGNATURE","<root><unclosed></root","",""]});
    let reply = client.call_json(&request).await;
    assert_eq!(reply["code"], "500");
    let message = reply["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("org.xml.sax.SAXParseException; lineNumber: 1; columnNumber:"),
        "{message}"
    );
}
