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
        "format":"xml","data":"<a/>","signingParams":{"tsaProfile":{}},"signerParams":{}}});
    let reply = client.call_json(&tsa).await;
    assert_eq!(reply["status"], json!(false), "no unstamped XML signature: {reply}");
    assert_eq!(reply["code"], "TSA_NOT_SUPPORTED", "{reply}");
    let cancel = json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "format":"cms","data":"MTEK","signingParams":{},"signerParams":{}}});
    assert_eq!(client.call(&cancel.to_string()).await, r#"{"body":{},"status":true}"#);
    assert_eq!(daemon.seen().len(), 1, "the XML tsaProfile request must not reach the prompt");
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

#[tokio::test]
async fn oversized_requests_get_an_error_in_their_envelope() {
    let config = "[server]\nmax_message_bytes = 4096\n";
    let daemon = Daemon::start_with(&[], &[], Some(config));
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let big = "A".repeat(6000);
    let basics = json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "format":"cms","data":big,"signingParams":{},"signerParams":{}}});
    let reply = client.call_json(&basics).await;
    assert_eq!(reply["status"], json!(false), "{reply}");
    assert_eq!(reply["code"], "MESSAGE_TOO_LARGE");
    let common = json!({"module":"kz.gov.pki.knca.commonUtils","method":"createCAdESFromBase64",
        "args":["PKCS12","SIGNATURE",big,true]});
    let reply = client.call_json(&common).await;
    assert_eq!(reply["code"], "500", "{reply}");
    assert!(reply["message"].as_str().unwrap_or_default().contains("limit is 4096 bytes"));
    assert_eq!(client.call("--heartbeat--").await, "--heartbeat--", "the connection stays usable");
    assert!(daemon.seen().is_empty());
}

/// Sends a raw HTTP request to the plain-ws listener and returns the response head and body.
async fn raw_http(daemon: &Daemon, request: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let address = daemon.ws.trim_start_matches("ws://");
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    let _ =
        tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut response))
            .await;
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn dns_rebinding_host_is_refused_and_status_page_is_served() {
    let daemon = Daemon::start(&[]);
    let upgrade = "GET / HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: https://evil.example\r\n\r\n";
    let response = raw_http(&daemon, upgrade).await;
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    let status =
        raw_http(&daemon, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(status.contains(env!("CARGO_PKG_VERSION")), "{status}");
}

#[tokio::test]
async fn non_loopback_and_kaztoken_addresses_are_refused_at_start() {
    for url in ["ws://0.0.0.0:13579", "wss://192.168.1.10:13579", "ws://127.0.0.1:24680"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_qoltanba"))
            .args(["run", "--listen", url, "--data-dir"])
            .arg(tempfile::tempdir().expect("dir").path())
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{url} must be refused");
        assert!(stderr.contains("refusing") || stderr.contains("24680"), "{url}: {stderr}");
    }
}

#[tokio::test]
async fn by_element_targets_are_checked_before_the_prompt() {
    let daemon = Daemon::start(&[crate::harness::approve(crate::harness::RSA_SIGN)]);
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    for (tbs, parent) in [("/doc/data", "/doc"), ("/doc/missing", "/doc"), ("/doc/item", "/nope")] {
        let request = json!({"module":"kz.gov.pki.knca.commonUtils","method":"signXml",
            "args":["PKCS12","SIGNATURE","<doc><data>1</data><item Id=\"i\"/></doc>",tbs,parent]});
        let reply = client.call_json(&request).await;
        assert_eq!(reply["code"], "500", "{tbs} {parent}: {reply}");
    }
    assert!(daemon.seen().is_empty(), "no prompt for a request that cannot succeed");
}
