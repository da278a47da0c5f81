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
//! | any other method `m` | `{"result":"Legacy applet method m is not supported; use kz.gov.pki.knca.basics","errorCode":"COMMON"}` |
//! | no string `method` | `{"result":"The request has no method; use kz.gov.pki.knca.basics","errorCode":"COMMON"}` |
//!
//! `setLocale` is the only method that acts, so it is the only one that asks the origin policy,
//! as every acting call of the other modules does; the error texts of the others change nothing.

use serde::Serialize;

use super::envelope::{self, Request};
use crate::service::Service;

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
pub fn handle(service: &Service, request: &Request) -> String {
    match request.get("method").and_then(serde_json::Value::as_str) {
        Some("setLocale") => {
            set_locale(service, request);
            reply("", "NONE")
        }
        Some(method) => reply(
            &format!("Legacy applet method {method} is not supported; use kz.gov.pki.knca.basics"),
            "COMMON",
        ),
        None => reply("The request has no method; use kz.gov.pki.knca.basics", "COMMON"),
    }
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
}
