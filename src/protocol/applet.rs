//! The legacy applet module (`kz.gov.pki.knca.applet.Applet`, also every request without
//! `module`), `ncalayer-protocol.md` §4. NCA switched the applet API off in October 2024; the
//! page passes key-store paths and passwords itself, which Qoltanba never accepts. So every
//! method answers with an error telling the page to move to `kz.gov.pki.knca.basics`.
//!
//! Envelope (our choice; the key order follows the recorded `{result, secondResult, errorCode}`
//! family, `secondResult` is never sent):
//!
//! | request | reply |
//! |---|---|
//! | `setLocale` | `{"result":"","errorCode":"NONE"}` — the real applet sends nothing, but one reply per request keeps clients in step; the locale is applied |
//! | `setLocale` from a caller the origin policy refuses (checked once by the dispatcher) | `{"result":"origin.refused","errorCode":"COMMON"}`; the locale is left alone |
//! | `verifyXml(xml[, idAttr, parent])` | `{"result":true,"errorCode":"NONE"}` when every signature of the document holds; `{"result":false,"errorCode":"SIGNATURE_VALIDATION_ERROR"}` when one does not; `{"result":false,"errorCode":"XML_PARSE_EXCEPTION"}` when it is not XML |
//! | `verifyCMSSignature(base64Cms, data)` | the same for a CMS: `data` (UTF-8 text) is the content of a detached CMS, or empty; a CMS that cannot be read is `SIGNATURE_VALIDATION_ERROR` |
//! | any other method `m` | `{"result":"Legacy applet method m is not supported; use kz.gov.pki.knca.basics","errorCode":"COMMON"}` |
//! | no string `method` | `{"result":"The request has no method; use kz.gov.pki.knca.basics","errorCode":"COMMON"}` |
//!
//! Verification checks the signatures (and their time-stamps) only, as the applet did: whose
//! certificate and whether it chains is `qoltanba verify`'s report. Neither method uses a key,
//! so neither asks the user.

use serde::Serialize;

use std::sync::Arc;

use super::envelope::{self, Request};
use crate::service::{Service, ServiceError};
use crate::sign::SignError;

/// The module name.
pub const MODULE: &str = "kz.gov.pki.knca.applet.Applet";

/// The applet reply: `result, secondResult?, errorCode`.
#[derive(Serialize)]
struct Reply<'a> {
    result: &'a str,
    #[serde(rename = "secondResult", skip_serializing_if = "Option::is_none")]
    second_result: Option<&'a str>,
    #[serde(rename = "errorCode")]
    error_code: &'a str,
}

/// Answers one applet request.
pub async fn handle(service: &Arc<Service>, request: &Request) -> String {
    match request.get("method").and_then(serde_json::Value::as_str) {
        Some("setLocale") => {
            set_locale(service, request);
            reply("", "NONE")
        }
        Some("verifyXml") => verified(service.verify_xml(text_arg(request, 0)).await),
        Some("verifyCMSSignature") => {
            let Ok(cms) = super::envelope::decode_base64(&text_arg(request, 0)) else {
                return verdict(false, "SIGNATURE_VALIDATION_ERROR");
            };
            let data = Some(text_arg(request, 1)).filter(|d| !d.is_empty()).map(String::into_bytes);
            verified(service.verify_cms(cms, data).await)
        }
        Some(method) => reply(
            &format!("Legacy applet method {method} is not supported; use kz.gov.pki.knca.basics"),
            "COMMON",
        ),
        None => reply("The request has no method; use kz.gov.pki.knca.basics", "COMMON"),
    }
}

/// The `index`-th argument as text (empty when absent or not a string).
fn text_arg(request: &Request, index: usize) -> String {
    request
        .get("args")
        .and_then(serde_json::Value::as_array)
        .and_then(|args| args.get(index))
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The applet's boolean verdict of a verification.
fn verified(result: Result<usize, ServiceError>) -> String {
    match result {
        Ok(_) => verdict(true, "NONE"),
        Err(ServiceError::Sign(SignError::XmlParse(_))) => verdict(false, "XML_PARSE_EXCEPTION"),
        Err(ServiceError::Internal(_)) => reply("internal error", "COMMON"),
        Err(_) => verdict(false, "SIGNATURE_VALIDATION_ERROR"),
    }
}

/// `{"result":<bool>,"errorCode":…}`.
fn verdict(result: bool, error_code: &str) -> String {
    #[derive(Serialize)]
    struct Verdict<'a> {
        result: bool,
        #[serde(rename = "errorCode")]
        error_code: &'a str,
    }
    envelope::to_text(&Verdict { result, error_code })
}

fn set_locale(service: &Service, request: &Request) {
    let locale = request
        .get("args")
        .and_then(serde_json::Value::as_array)
        .and_then(|args| args.first())
        .and_then(serde_json::Value::as_str);
    if let Some(locale) = locale.filter(|l| !l.is_empty()) {
        service.set_locale(locale);
    }
}

/// An applet-envelope error for a request that never reached dispatch (too large).
pub fn error_text(message: &str) -> String {
    reply(message, "COMMON")
}

fn reply(result: &str, error_code: &str) -> String {
    envelope::to_text(&Reply { result, second_result: None, error_code })
}

#[cfg(test)]
mod tests {
    use crate::protocol::test_support::Harness;

    #[tokio::test]
    async fn missing_module_is_the_applet() {
        let h = Harness::new();
        assert_eq!(
            h.reply(r#"{"method":"getKeys","args":["PKCS12","/k.p12","pw","SIGN"]}"#).await,
            r#"{"result":"Legacy applet method getKeys is not supported; use kz.gov.pki.knca.basics","errorCode":"COMMON"}"#
        );
        assert_eq!(h.prompts(), 0);
    }

    #[tokio::test]
    async fn explicit_applet_module() {
        let h = Harness::new();
        assert_eq!(
            h.reply(r#"{"module":"kz.gov.pki.knca.applet.Applet","method":"signXml","args":[]}"#)
                .await,
            r#"{"result":"Legacy applet method signXml is not supported; use kz.gov.pki.knca.basics","errorCode":"COMMON"}"#
        );
        assert_eq!(
            h.reply(r#"{"module":"kz.gov.pki.knca.applet.Applet"}"#).await,
            r#"{"result":"The request has no method; use kz.gov.pki.knca.basics","errorCode":"COMMON"}"#
        );
    }

    #[tokio::test]
    async fn set_locale_gets_one_reply() {
        let h = Harness::new();
        assert_eq!(
            h.reply(r#"{"method":"setLocale","args":["kk"]}"#).await,
            r#"{"result":"","errorCode":"NONE"}"#
        );
        assert_eq!(h.service().locale(), "kk");
    }

    /// Issue 10, item 5: the applet's `setLocale` skipped the origin policy.
    #[tokio::test]
    async fn set_locale_from_a_refused_origin_changes_nothing() {
        let h = Harness::new();
        let request = r#"{"method":"setLocale","args":["kk"]}"#;
        assert_eq!(
            h.reply_from(Some("http://evil.example"), request).await,
            r#"{"result":"origin.refused","errorCode":"COMMON"}"#
        );
        assert_eq!(h.service().locale(), "ru");
        assert_eq!(
            h.reply_from(Some("https://egov.kz"), request).await,
            r#"{"result":"","errorCode":"NONE"}"#
        );
        assert_eq!(h.service().locale(), "kk");
        assert_eq!(h.prompts(), 0);
    }

    fn kalkan(extension: &str) -> String {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
            "../shared/fixtures/nca/legacy-2020/personal/active/\
             RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9.{extension}"
        ));
        std::fs::read_to_string(file).expect("fixture")
    }

    fn request(method: &str, args: &[&str]) -> String {
        serde_json::json!({"method": method, "args": args}).to_string()
    }

    #[tokio::test]
    async fn kalkan_xml_and_cms_verify_on_the_wire_and_a_changed_byte_does_not() {
        let h = Harness::new();
        let xml = kalkan("xml");
        let ok = r#"{"result":true,"errorCode":"NONE"}"#;
        let bad = r#"{"result":false,"errorCode":"SIGNATURE_VALIDATION_ERROR"}"#;
        assert_eq!(h.reply(&request("verifyXml", &[&xml])).await, ok);
        let changed = xml.replacen("<name>NCANode</name>", "<name>NCANodf</name>", 1);
        assert_ne!(changed, xml);
        assert_eq!(h.reply(&request("verifyXml", &[&changed])).await, bad);
        assert_eq!(
            h.reply(&request("verifyXml", &["<a><b></a>"])).await,
            r#"{"result":false,"errorCode":"XML_PARSE_EXCEPTION"}"#
        );
        let cms: String = kalkan("cms").lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(h.reply(&request("verifyCMSSignature", &[&cms, ""])).await, ok);
        let flipped = format!("{}{}", &cms[..100], cms[100..].replacen('A', "B", 1));
        assert_eq!(h.reply(&request("verifyCMSSignature", &[&flipped, ""])).await, bad);
        assert_eq!(h.reply(&request("verifyCMSSignature", &["not base64!", ""])).await, bad);
        assert_eq!(h.prompts(), 0, "verification asks no one");
    }
}
