//! The commonUtils module `kz.gov.pki.knca.commonUtils` (`ncalayer-protocol.md` §3): Java
//! reflection over positional `args`, emulated. This file owns the envelope and the method
//! table; the method bodies live in `common_calls`.
//!
//! Dispatch, in Java's order:
//! 1. `method` must be a string; else `{"code":"500","message":"JSONObject[\"method\"] not found."}`
//!    (our choice: the org.json text).
//! 2. name + argument count (`args` not an array counts as 0) must match a row of [`METHODS`];
//!    else `{"code":"500","message":"NoSuchMethodException <method>"}`.
//! 3. each argument must have the Java type (string; `attach` boolean; `signXmls` documents an
//!    array of strings; JSON `null` never matches); else
//!    `{"code":"500","message":"java.lang.IllegalArgumentException: argument type mismatch. Method: <method>"}`.
//!
//! Replies: `{"responseObject":…,"code":"200"}` (`{"code":"200"}` for `changeLocale`), errors
//! `{"code":"500","message":…}`, the message omitted where Java's is null (empty hash). A
//! non-empty string `uuid` in the request is echoed last in every reply. Error messages:
//!
//! | cause | message |
//! |---|---|
//! | user cancel (`ErrorKind::Cancelled`) | `action.canceled` |
//! | storage checks | `storageName.param.empty`, `storage.unknown`, `storage.empty` (no such token present now) |
//! | token PIN locked / token removed mid-operation / mechanism missing on the token | `token.pin.locked` / `token.removed` / `token.mechanism.unsupported` (our texts, in NCALayer's i18n-key style) |
//! | wrong token PIN | asked again in the prompt; no answer left ⇒ `action.canceled` |
//! | file not picked in `showFileChooser` this run | `file.not_found` |
//! | bad XML, bad base64, other bad input, signing failures | the error text |
//! | time-stamping methods (`createCMSSignatureFromBase64`, `createCMSSignatureFromFile`, `applyCAdEST`) | `Time-stamping is not supported yet: <method> adds a time-stamp (CAdES-T) …` — never an unstamped signature |
//! | origin refused by the origin policy (any method; no prompt shown) | `origin.refused` |
//! | prompt rate limit, cool-down, full prompt queue, too many requests queued on one connection | `requests.too_many` |
//! | internal errors | `internal error` (details go to the log) |

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::common_calls;
use super::envelope::{self, Request};
use super::key_info::KeyInfo;
use crate::service::{Guest, Service};

/// The module name.
pub const MODULE: &str = "kz.gov.pki.knca.commonUtils";

/// Every method by name and argument count (§3.2).
pub const METHODS: &[(&str, usize)] = &[
    ("getActiveTokens", 0),
    ("getKeyInfo", 1),
    ("signXml", 5),
    ("signXmls", 5),
    ("createCAdESFromBase64", 4),
    ("createCAdESFromBase64Hash", 3),
    ("createCMSSignatureFromBase64", 4),
    ("createCMSSignatureFromFile", 4),
    ("createCAdESFromFile", 4),
    ("applyCAdEST", 3),
    ("showFileChooser", 2),
    ("changeLocale", 1),
];

/// The commonUtils reply: `responseObject?, code, message?, uuid?`.
#[derive(Serialize)]
struct Reply<'a> {
    #[serde(rename = "responseObject", skip_serializing_if = "Option::is_none")]
    response_object: Option<Response>,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uuid: Option<&'a str>,
}

/// A `responseObject`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Response {
    /// A string: a signature, signed XML or a path.
    Text(String),
    /// A list of strings: token names, signed XML documents.
    Texts(Vec<String>),
    /// The chosen key's certificate.
    KeyInfo(Box<KeyInfo>),
}

/// A `"code":"500"` reply; `None` is Java's null message (the key is omitted).
#[derive(Debug, PartialEq, Eq)]
pub struct Error500(pub Option<String>);

impl Error500 {
    /// A 500 with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(Some(message.into()))
    }
}

/// One call with its arguments converted to the Java parameter types.
#[derive(Debug, PartialEq, Eq)]
pub enum Call {
    /// `getActiveTokens()`.
    ActiveTokens,
    /// `getKeyInfo(storageName)`.
    KeyInfo { storage: String },
    /// `signXml` (one document) / `signXmls` (`many`).
    SignXml {
        storage: String,
        key_type: String,
        documents: Vec<String>,
        tbs: String,
        parent: String,
        many: bool,
    },
    /// `createCAdESFromBase64(storageName, keyType, data, attach)`; with `stamp`,
    /// `createCMSSignatureFromBase64` (the same with a TSA time-stamp: CAdES-T).
    Cades { storage: String, key_type: String, data: String, attach: bool, stamp: bool },
    /// `createCAdESFromBase64Hash(storageName, keyType, hash)`.
    CadesHash { storage: String, key_type: String, hash: String },
    /// `createCAdESFromFile(storageName, keyType, path, attach)`; with `stamp`,
    /// `createCMSSignatureFromFile`.
    CadesFile { storage: String, key_type: String, path: String, attach: bool, stamp: bool },
    /// `applyCAdEST(storageName, keyType, cms)`: a time-stamp on each signer of `cms`.
    ApplyCadesT { storage: String, key_type: String, cms: String },
    /// `showFileChooser(fileExtension, currentDirectory)`.
    ChooseFile { extension: String },
    /// `changeLocale(localeId)`.
    ChangeLocale { locale: String },
}

/// Answers one commonUtils request.
pub async fn handle(service: &Arc<Service>, guest: &Guest, request: &Request) -> String {
    let uuid = request.get("uuid").and_then(Value::as_str).filter(|uuid| !uuid.is_empty());
    let outcome = match envelope::get_string(request, "method") {
        Ok(method) => match parse(method, args(request)) {
            Ok(call) => common_calls::run(service, guest, call).await,
            Err(error) => Err(error),
        },
        Err(message) => Err(Error500::new(message)),
    };
    let reply = match outcome {
        Ok(response_object) => Reply { response_object, code: "200", message: None, uuid },
        Err(Error500(message)) => Reply { response_object: None, code: "500", message, uuid },
    };
    envelope::to_text(&reply)
}

/// `{"code":"500","message":…}` (with the request's `uuid`) for a request refused before any
/// method ran.
pub fn error_reply(request: &Request, message: &str) -> String {
    let uuid = request.get("uuid").and_then(Value::as_str).filter(|uuid| !uuid.is_empty());
    let message = Some(message.to_string());
    envelope::to_text(&Reply { response_object: None, code: "500", message, uuid })
}

/// `{"code":"500","message":…}` for a request that never reached dispatch (too large).
pub fn error_text(message: &str) -> String {
    envelope::to_text(&Reply {
        response_object: None,
        code: "500",
        message: Some(message.to_string()),
        uuid: None,
    })
}

fn args(request: &Request) -> &[Value] {
    request.get("args").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Steps 2 and 3: finds the method and converts its arguments.
pub fn parse(method: &str, args: &[Value]) -> Result<Call, Error500> {
    let Some(&(name, _)) =
        METHODS.iter().find(|(name, arity)| *name == method && *arity == args.len())
    else {
        return Err(Error500::new(format!("NoSuchMethodException {method}")));
    };
    let a = Args { args, method: name };
    Ok(match name {
        "getActiveTokens" => Call::ActiveTokens,
        "getKeyInfo" => Call::KeyInfo { storage: a.text(0)? },
        "signXml" | "signXmls" => Call::SignXml {
            storage: a.text(0)?,
            key_type: a.text(1)?,
            documents: if name == "signXmls" { a.texts(2)? } else { vec![a.text(2)?] },
            tbs: a.text(3)?,
            parent: a.text(4)?,
            many: name == "signXmls",
        },
        "createCAdESFromBase64" | "createCMSSignatureFromBase64" => Call::Cades {
            storage: a.text(0)?,
            key_type: a.text(1)?,
            data: a.text(2)?,
            attach: a.flag(3)?,
            stamp: name == "createCMSSignatureFromBase64",
        },
        "createCAdESFromBase64Hash" => {
            Call::CadesHash { storage: a.text(0)?, key_type: a.text(1)?, hash: a.text(2)? }
        }
        "createCAdESFromFile" | "createCMSSignatureFromFile" => Call::CadesFile {
            storage: a.text(0)?,
            key_type: a.text(1)?,
            path: a.text(2)?,
            attach: a.flag(3)?,
            stamp: name == "createCMSSignatureFromFile",
        },
        "applyCAdEST" => {
            Call::ApplyCadesT { storage: a.text(0)?, key_type: a.text(1)?, cms: a.text(2)? }
        }
        "showFileChooser" => {
            a.text(1)?; // currentDirectory: type-checked, not used
            Call::ChooseFile { extension: a.text(0)? }
        }
        _ => Call::ChangeLocale { locale: a.text(0)? },
    })
}

/// Positional arguments with Java's reflection conversions.
struct Args<'a> {
    args: &'a [Value],
    method: &'static str,
}

impl Args<'_> {
    fn mismatch(&self) -> Error500 {
        Error500::new(format!(
            "java.lang.IllegalArgumentException: argument type mismatch. Method: {}",
            self.method
        ))
    }

    /// A `String` parameter.
    fn text(&self, index: usize) -> Result<String, Error500> {
        match self.args.get(index) {
            Some(Value::String(text)) => Ok(text.clone()),
            _ => Err(self.mismatch()),
        }
    }

    /// A `boolean` parameter.
    fn flag(&self, index: usize) -> Result<bool, Error500> {
        match self.args.get(index) {
            Some(Value::Bool(flag)) => Ok(*flag),
            _ => Err(self.mismatch()),
        }
    }

    /// A `String[]` parameter.
    fn texts(&self, index: usize) -> Result<Vec<String>, Error500> {
        match self.args.get(index) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| self.mismatch()),
            _ => Err(self.mismatch()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::protocol::test_support::Harness;

    fn request(method: &str, args: &str) -> String {
        format!(r#"{{"module":"kz.gov.pki.knca.commonUtils","method":"{method}","args":{args}}}"#)
    }

    #[tokio::test]
    async fn get_key_info_type_mismatch() {
        let h = Harness::new();
        let expected = r#"{"code":"500","message":"java.lang.IllegalArgumentException: argument type mismatch. Method: getKeyInfo"}"#;
        assert_eq!(h.reply(&request("getKeyInfo", "[null]")).await, expected);
        assert_eq!(h.reply(&request("getKeyInfo", "[1]")).await, expected);
        assert_eq!(h.reply(&request("getKeyInfo", r#"[["PKCS12"]]"#)).await, expected);
        assert_eq!(h.prompts(), 0);
    }

    #[tokio::test]
    async fn other_type_mismatches() {
        let h = Harness::new();
        let mismatch = |m: &str| {
            format!(
                r#"{{"code":"500","message":"java.lang.IllegalArgumentException: argument type mismatch. Method: {m}"}}"#
            )
        };
        assert_eq!(
            h.reply(&request("createCAdESFromBase64", r#"["PKCS12",123,"MTEK",false]"#)).await,
            mismatch("createCAdESFromBase64")
        );
        assert_eq!(
            h.reply(&request("createCAdESFromBase64", r#"["PKCS12","SIGNATURE","MTEK","false"]"#))
                .await,
            mismatch("createCAdESFromBase64")
        );
        assert_eq!(
            h.reply(&request("signXmls", r#"["PKCS12","SIGNATURE","<a/>","",""]"#)).await,
            mismatch("signXmls")
        );
        assert_eq!(
            h.reply(&request("signXml", r#"["PKCS12","SIGNATURE",["<a/>"],"",""]"#)).await,
            mismatch("signXml")
        );
        assert_eq!(h.reply(&request("changeLocale", "[2]")).await, mismatch("changeLocale"));
        assert_eq!(h.prompts(), 0);
    }

    #[tokio::test]
    async fn arity_mismatch_is_no_such_method() {
        let h = Harness::new();
        assert_eq!(
            h.reply(&request("getKeyInfo", "[]")).await,
            r#"{"code":"500","message":"NoSuchMethodException getKeyInfo"}"#
        );
        assert_eq!(
            h.reply(&request("signXml", r#"["PKCS12","SIGNATURE","<a/>"]"#)).await,
            r#"{"code":"500","message":"NoSuchMethodException signXml"}"#
        );
        assert_eq!(
            h.reply(&request("nope", "[]")).await,
            r#"{"code":"500","message":"NoSuchMethodException nope"}"#
        );
        assert_eq!(
            h.reply(r#"{"module":"kz.gov.pki.knca.commonUtils","args":[]}"#).await,
            r#"{"code":"500","message":"JSONObject[\"method\"] not found."}"#
        );
    }

    #[tokio::test]
    async fn change_locale_and_uuid_echo() {
        let h = Harness::new();
        assert_eq!(h.reply(&request("changeLocale", r#"["en"]"#)).await, r#"{"code":"200"}"#);
        assert_eq!(h.service().locale(), "en");
        assert_eq!(
            h.reply(r#"{"module":"kz.gov.pki.knca.commonUtils","method":"changeLocale","args":["kz"],"uuid":"a-1"}"#).await,
            r#"{"code":"200","uuid":"a-1"}"#
        );
        assert_eq!(
            h.reply(r#"{"module":"kz.gov.pki.knca.commonUtils","method":"changeLocale","args":["ru"],"uuid":""}"#).await,
            r#"{"code":"200"}"#
        );
    }

    #[tokio::test]
    async fn active_tokens() {
        let h = Harness::new();
        assert_eq!(
            h.reply(r#"{"module":"kz.gov.pki.knca.commonUtils","method":"getActiveTokens"}"#).await,
            r#"{"responseObject":[],"code":"200"}"#
        );
        assert_eq!(
            h.reply(&request("getActiveTokens", r#"[]"#)).await,
            r#"{"responseObject":[],"code":"200"}"#
        );
    }

    #[tokio::test]
    async fn cancel_echoes_uuid() {
        let h = Harness::new();
        assert_eq!(
            h.reply(r#"{"module":"kz.gov.pki.knca.commonUtils","method":"getKeyInfo","args":["PKCS12"],"uuid":"u-7"}"#).await,
            r#"{"code":"500","message":"action.canceled","uuid":"u-7"}"#
        );
        assert_eq!(
            h.reply(&request("createCAdESFromBase64", r#"["PKCS12","SIGNATURE","MTEK",false]"#))
                .await,
            r#"{"code":"500","message":"action.canceled"}"#
        );
        assert_eq!(
            h.reply(&request("showFileChooser", r#"["ALL",""]"#)).await,
            r#"{"code":"500","message":"action.canceled"}"#
        );
        assert_eq!(h.prompts(), 3);
    }

    #[tokio::test]
    async fn storage_checks() {
        let h = Harness::new();
        assert_eq!(
            h.reply(&request("getKeyInfo", r#"["NoSuchStore"]"#)).await,
            r#"{"code":"500","message":"storage.unknown"}"#
        );
        assert_eq!(
            h.reply(&request(
                "createCAdESFromBase64",
                r#"["AKKaztokenStore","SIGNATURE","MTEK",false]"#
            ))
            .await,
            r#"{"code":"500","message":"storage.empty"}"#
        );
        assert_eq!(
            h.reply(&request("signXml", r#"["","SIGNATURE","<a/>","",""]"#)).await,
            r#"{"code":"500","message":"storageName.param.empty"}"#
        );
        assert_eq!(h.prompts(), 0);
    }

    #[tokio::test]
    async fn a_digest_no_key_can_sign_is_refused_before_the_prompt() {
        let h = Harness::new();
        let twenty_bytes = r#"["PKCS12","SIGNATURE","AAAAAAAAAAAAAAAAAAAAAAAAAAA="]"#;
        let reply = h.reply(&request("createCAdESFromBase64Hash", twenty_bytes)).await;
        assert!(reply.contains("the digest is 20 bytes"), "{reply}");
        assert_eq!(h.prompts(), 0, "no PIN typed for a digest no key can sign");
        let sha256 = r#"["PKCS12","SIGNATURE","AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]"#;
        let reply = h.reply(&request("createCAdESFromBase64Hash", sha256)).await;
        assert_eq!(reply, r#"{"code":"500","message":"action.canceled"}"#);
        assert_eq!(h.prompts(), 1, "a 32-byte digest reaches the dialog");
    }

    #[tokio::test]
    async fn refusals_before_the_prompt() {
        let h = Harness::new();
        assert_eq!(
            h.reply(&request("createCAdESFromBase64Hash", r#"["PKCS12","SIGNATURE",""]"#)).await,
            r#"{"code":"500"}"#
        );
        assert_eq!(
            h.reply(&request(
                "createCAdESFromFile",
                r#"["PKCS12","SIGNATURE","/etc/passwd",true]"#
            ))
            .await,
            r#"{"code":"500","message":"file.not_found"}"#
        );
        let reply = h
            .reply(&request(
                "createCMSSignatureFromBase64",
                r#"["PKCS12","SIGNATURE","M-EK",true]"#,
            ))
            .await;
        assert_eq!(reply, r#"{"code":"500","message":"Illegal base64 character 2d at offset 1"}"#);
        let reply = h.reply(&request("applyCAdEST", r#"["PKCS12","SIGNATURE","MII="]"#)).await;
        assert!(reply.starts_with(r#"{"code":"500","message":"time-stamp failed"#), "{reply}");
        assert_eq!(
            h.reply(&request("createCAdESFromBase64", r#"["PKCS12","SIGNATURE","M-EK",false]"#))
                .await,
            r#"{"code":"500","message":"Illegal base64 character 2d at offset 1"}"#
        );
        assert_eq!(h.prompts(), 0);
    }

    #[tokio::test]
    async fn bad_xml_does_not_reach_the_prompter() {
        let h = Harness::new();
        let reply =
            h.reply(&request("signXml", r#"["PKCS12","SIGNATURE","<a><b></a>","",""]"#)).await;
        assert!(reply.starts_with(r#"{"code":"500","message":""#), "{reply}");
        assert_ne!(reply, r#"{"code":"500","message":"action.canceled"}"#);
        assert_eq!(h.prompts(), 0);
    }
}
