//! The basics module `kz.gov.pki.knca.basics` (`ncalayer-protocol.md` §2), replying exactly as
//! NCA's `CommonInvoker` (nlcommons) does. Argument parsing lives in `sign_args`.
//!
//! CommonInvoker steps, in Java's order:
//! 1. `method` must be a string; else (our choice, Java throws before its envelope)
//!    `GENERAL_ERROR` with details `org.json.JSONException: JSONObject["method"] not found.`
//! 2. `apiVersion` read with org.json `optInt` (absent, `null`, junk = 2); not 2 ⇒
//!    `GENERAL_ERROR` `java.lang.IllegalArgumentException: Supported apiVersion is 2`.
//! 3. `class` (optional) must equal the simple class name, which we call `NCALayerBasics`
//!    (the real name is not public); else `<class> is not found`.
//! 4. `sign`, `generateCsr` and `importCertificate` exist; else `<m> is not defined in
//!    NCALayerBasics`.
//! 5. `args` must be an object; else `<m> demands arguments`.
//!
//! `generateCsr` replies `{"body":{"result":"<base64 DER PKCS#10>"},"status":true}` and
//! `importCertificate` `{"body":{"result":"<the installed key's alias>"},"status":true}`; their
//! arguments are read in `issuance_args` (a hypothesis, `kz-issuance.md` §2).
//!
//! Replies: success `{"body":{"result":…},"status":true}`, user cancel `{"body":{},"status":true}`,
//! failure `{"code":…,"details":…,"message":…,"status":false}` (`details` omitted when none).
//! `result` is always an array (one entry per document): CMS as PEM text (`-----BEGIN CMS-----`,
//! 64 columns, `\n`), XML as the signed text, raw as base64; with `outputCert` it is
//! `{"signatures":[…],"certificate":"<base64 DER, no PEM armour>"}`.
//!
//! Failure codes (module-specific messages are ours; NCALayer's are not known):
//!
//! | cause | code | message | details |
//! |---|---|---|---|
//! | steps 1–5 above | `GENERAL_ERROR` | `General error.` | `java.lang.IllegalArgumentException: …` / `org.json.JSONException: …` |
//! | org.json type errors in `args` | `INVOCATION_ERROR` | `An invoked method threw an exception.` | `org.json.JSONException: …` |
//! | bad parameter values; `ErrorKind::BadRequest` and the storage/file kinds | `INVALID_SIGNING_PARAMS` | the reason | — |
//! | `tsaProfile` given with `format` `xml` or `raw` | `TSA_NOT_SUPPORTED` | `Time-stamping (tsaProfile) is supported with format "cms" only: refusing to return an unstamped signature` | — |
//! | `ErrorKind::TimeStamp` (TSA down, refused, or an answer that does not check out) | `TSA_ERROR` | `time-stamp failed, no signature is returned: <TSA URL>: <reason>` | — |
//! | `ErrorKind::SigningFailed` | `SIGNING_FAILURE` | the reason | — |
//! | `ErrorKind::Unsupported` | `NOT_SUPPORTED` | the reason | — |
//! | `ErrorKind::PinLocked` (token PIN locked) | `TOKEN_PIN_LOCKED` | `The token's PIN is locked …` | — |
//! | `ErrorKind::TokenRemoved` (token pulled out mid-operation) | `TOKEN_REMOVED` | `The token was removed …` | — |
//! | `ErrorKind::MechanismUnsupported` | `TOKEN_MECHANISM_UNSUPPORTED` | `The token cannot sign with this key's algorithm …` | — |
//! | `ErrorKind::OriginRefused` (origin policy, no prompt shown) | `ORIGIN_REFUSED` | `Qoltanba does not accept requests from this site …` | — |
//! | `ErrorKind::TooManyRequests` (prompt rate limit, cool-down, full queue; no prompt shown) | `TOO_MANY_REQUESTS` | what limit and when to retry | — |
//! | `generateCsr`: arguments, subject, or the key could not be made | `CSR_GENERATING_FAILURE` | the reason | — |
//! | `importCertificate`: no certificate, or one no key waits for | `INVALID_IMPORTING_CERTIFICATE` | the reason | — |
//! | `importCertificate`: the key file could not be written | `CERTIFICATE_IMPORTING_FAILURE` | the reason | — |
//! | `ErrorKind::Internal` | `INTERNAL_ERROR` | `Internal error; the Qoltanba log has the details.` | — |
//! | `ErrorKind::Cancelled` | — | `{"body":{},"status":true}` | — |

use std::sync::Arc;

use serde::Serialize;

use super::envelope::{self, base64, opt_int, pem_cms, Request};
use super::errors;
use super::issuance_args;
use super::lifted::InText;
use super::sign_args::{self, ArgsError, Format, SignArgs};
use crate::service::{ErrorKind, Guest, Service, ServiceError, SignOutcome};

/// The module name.
pub const MODULE: &str = "kz.gov.pki.knca.basics";

/// The simple class name CommonInvoker reports (our choice).
const CLASS: &str = "NCALayerBasics";

/// A failure reply; serialises as `code, details?, message, status`.
#[derive(Debug, Serialize)]
struct Failure {
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<String>,
    message: String,
    status: bool,
}

impl Failure {
    fn new(code: &'static str, message: impl Into<String>, details: Option<String>) -> Self {
        Self { code, details, message: message.into(), status: false }
    }

    /// CommonInvoker's `GENERAL_ERROR` for an `IllegalArgumentException`.
    fn general(text: impl std::fmt::Display) -> Self {
        let details = format!("java.lang.IllegalArgumentException: {text}");
        Self::new("GENERAL_ERROR", "General error.", Some(details))
    }

    /// CommonInvoker's `INVOCATION_ERROR` for an org.json `JSONException`.
    fn invocation(json_message: &str) -> Self {
        let details = format!("org.json.JSONException: {json_message}");
        Self::new("INVOCATION_ERROR", "An invoked method threw an exception.", Some(details))
    }
}

/// A success reply: `body, status`.
#[derive(Serialize)]
struct Success<B> {
    body: B,
    status: bool,
}

/// The cancel body `{}`.
#[derive(Serialize)]
struct Empty {}

/// The body of a signed result.
#[derive(Serialize)]
struct Body {
    result: Signed,
}

/// `result`: the signatures, or (with `outputCert`) signatures plus certificate.
#[derive(Serialize)]
#[serde(untagged)]
enum Signed {
    List(Vec<String>),
    One(String),
    WithCertificate { signatures: Vec<String>, certificate: String },
}

/// Answers one basics request.
/// Long documents of `sign` may have been left in the request's text (`in_text`).
pub async fn handle(
    service: &Arc<Service>,
    guest: &Guest,
    request: &Request,
    in_text: &InText<'_>,
) -> String {
    match invoke(service, guest, request, in_text).await {
        Ok(Some(body)) => envelope::to_text(&Success { body, status: true }),
        Ok(None) => envelope::to_text(&Success { body: Empty {}, status: true }),
        Err(failure) => envelope::to_text(&failure),
    }
}

/// A `status:false` failure for a request that never reached dispatch (too large).
pub fn error_text(code: &'static str, message: &str) -> String {
    envelope::to_text(&Failure::new(code, message, None))
}

/// CommonInvoker steps 1–5, then `sign`. `Ok(None)`: the user cancelled.
async fn invoke(
    service: &Arc<Service>,
    guest: &Guest,
    request: &Request,
    in_text: &InText<'_>,
) -> Result<Option<Body>, Failure> {
    let method = envelope::get_string(request, "method").map_err(|e| {
        Failure::new(
            "GENERAL_ERROR",
            "General error.",
            Some(format!("org.json.JSONException: {e}")),
        )
    })?;
    if opt_int(request, "apiVersion", 2) != 2 {
        return Err(Failure::general("Supported apiVersion is 2"));
    }
    let class = class_of(request);
    if !class.is_empty() && class != CLASS {
        return Err(Failure::general(format_args!("{class} is not found")));
    }
    if !["sign", "generateCsr", "importCertificate"].contains(&method) {
        return Err(Failure::general(format_args!("{method} is not defined in {CLASS}")));
    }
    let Some(args) = request.get("args").and_then(serde_json::Value::as_object) else {
        return Err(Failure::general(format_args!("{method} demands arguments")));
    };
    match method {
        "generateCsr" => generate_csr(service, guest, args).await,
        "importCertificate" => import_certificate(service, guest, args).await,
        _ => sign(service, guest, args, in_text).await,
    }
}

/// `generateCsr`: `result` is the request, base64 DER.
async fn generate_csr(
    service: &Arc<Service>,
    guest: &Guest,
    args: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<Body>, Failure> {
    let request = issuance_args::new_key(args)
        .map_err(|why| Failure::new("CSR_GENERATING_FAILURE", why, None))?;
    match service.generate_csr(guest, request).await {
        Ok(der) => Ok(Some(Body { result: Signed::One(base64(&der)) })),
        Err(error) if error.kind() == ErrorKind::Cancelled => Ok(None),
        Err(ServiceError::BadRequest(why)) => {
            Err(Failure::new("CSR_GENERATING_FAILURE", why, None))
        }
        Err(error) => Err(service_failure(&error)),
    }
}

/// `importCertificate`: `result` is the installed key's alias.
async fn import_certificate(
    service: &Arc<Service>,
    guest: &Guest,
    args: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<Body>, Failure> {
    let (certificate, locale) = issuance_args::certificate(args)
        .map_err(|why| Failure::new("INVALID_IMPORTING_CERTIFICATE", why, None))?;
    match service.import_certificate(guest, certificate, locale).await {
        Ok(alias) => Ok(Some(Body { result: Signed::One(alias) })),
        Err(error) if error.kind() == ErrorKind::Cancelled => Ok(None),
        Err(error) => Err(service_failure(&error)),
    }
}

/// org.json `optString("class")`: strings and numbers as text, anything else empty.
fn class_of(request: &Request) -> String {
    match request.get("class") {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(serde_json::Value::Number(number)) => number.to_string(),
        _ => String::new(),
    }
}

async fn sign(
    service: &Arc<Service>,
    guest: &Guest,
    args: &serde_json::Map<String, serde_json::Value>,
    in_text: &InText<'_>,
) -> Result<Option<Body>, Failure> {
    let SignArgs { request, format, output_cert } =
        sign_args::parse(args, in_text).map_err(args_failure)?;
    match service.sign(guest, request).await {
        Ok(outcome) => render(&outcome, format, output_cert).map(Some),
        Err(error) if error.kind() == ErrorKind::Cancelled => Ok(None),
        Err(error) => Err(service_failure(&error)),
    }
}

fn args_failure(error: ArgsError) -> Failure {
    match error {
        ArgsError::Json(message) => Failure::invocation(&message),
        ArgsError::Params(message) => Failure::new("INVALID_SIGNING_PARAMS", message, None),
        ArgsError::TsaRequested => Failure::new(
            "TSA_NOT_SUPPORTED",
            "Time-stamping (tsaProfile) is supported with format \"cms\" only: refusing to return an unstamped signature",
            None,
        ),
        ArgsError::Service(error) => service_failure(&error),
    }
}

/// A service error in the basics envelope (the texts: [`errors::wire`]).
fn service_failure(error: &ServiceError) -> Failure {
    let wire = errors::wire(error);
    Failure::new(wire.code, wire.message, None)
}

/// The result texts of a successful `sign`.
fn render(outcome: &SignOutcome, format: Format, output_cert: bool) -> Result<Body, Failure> {
    let signatures = outcome
        .signatures
        .iter()
        .map(|signature| signature_text(signature, format))
        .collect::<Result<Vec<_>, _>>()?;
    let result = if output_cert {
        Signed::WithCertificate { signatures, certificate: base64(outcome.certificate.der()) }
    } else {
        Signed::List(signatures)
    };
    Ok(Body { result })
}

fn signature_text(signature: &[u8], format: Format) -> Result<String, Failure> {
    match format {
        Format::Cms => Ok(pem_cms(signature)),
        Format::Raw => Ok(base64(signature)),
        Format::Xml => String::from_utf8(signature.to_vec()).map_err(|_| {
            tracing::error!("the XML signer returned text that is not UTF-8");
            Failure::new("SIGNING_FAILURE", "The signed XML is not valid UTF-8.", None)
        }),
    }
}

#[cfg(test)]
mod tests {
    use crate::protocol::test_support::Harness;

    const SIGN_PARAMS_NOT_OBJECT: &str = r#"{"code":"INVOCATION_ERROR","details":"org.json.JSONException: JSONObject[\"signingParams\"] is not a JSONObject.","message":"An invoked method threw an exception.","status":false}"#;

    fn sign_request(args: &str) -> String {
        format!(r#"{{"module":"kz.gov.pki.knca.basics","method":"sign","args":{args}}}"#)
    }

    #[tokio::test]
    async fn cancel_gives_empty_body() {
        let h = Harness::new();
        let reply = h
            .reply(&sign_request(
                r#"{"allowedStorages":null,"format":"cms","data":"MTEK","signingParams":{},"signerParams":{"extKeyUsageOids":[]},"locale":"ru"}"#,
            ))
            .await;
        assert_eq!(reply, r#"{"body":{},"status":true}"#);
        assert_eq!(h.prompts(), 1);
    }

    #[tokio::test]
    async fn signing_params_not_an_object() {
        let h = Harness::new();
        let reply = h
            .reply(&sign_request(
                r#"{"format":"cms","data":"MTEK","signingParams":"x","signerParams":{}}"#,
            ))
            .await;
        assert_eq!(reply, SIGN_PARAMS_NOT_OBJECT);
        assert_eq!(h.prompts(), 0);
    }

    #[tokio::test]
    async fn signer_params_and_oids_type_errors() {
        let h = Harness::new();
        assert_eq!(
            h.reply(&sign_request(
                r#"{"format":"cms","data":"MTEK","signingParams":{},"signerParams":[]}"#
            ))
            .await,
            r#"{"code":"INVOCATION_ERROR","details":"org.json.JSONException: JSONObject[\"signerParams\"] is not a JSONObject.","message":"An invoked method threw an exception.","status":false}"#
        );
        assert_eq!(
            h.reply(&sign_request(r#"{"format":"cms","data":"MTEK","signingParams":{},"signerParams":{"extKeyUsageOids":"x"}}"#)).await,
            r#"{"code":"INVOCATION_ERROR","details":"org.json.JSONException: JSONObject[\"extKeyUsageOids\"] is not a JSONArray.","message":"An invoked method threw an exception.","status":false}"#
        );
    }

    #[tokio::test]
    async fn api_version_3_is_refused() {
        let h = Harness::new();
        let reply = h
            .reply(
                r#"{"module":"kz.gov.pki.knca.basics","method":"sign","apiVersion":3,"args":{}}"#,
            )
            .await;
        assert_eq!(
            reply,
            r#"{"code":"GENERAL_ERROR","details":"java.lang.IllegalArgumentException: Supported apiVersion is 2","message":"General error.","status":false}"#
        );
    }

    #[tokio::test]
    async fn unknown_method_and_class() {
        let h = Harness::new();
        assert_eq!(
            h.reply(r#"{"module":"kz.gov.pki.knca.basics","method":"revokeKey","args":{}}"#).await,
            r#"{"code":"GENERAL_ERROR","details":"java.lang.IllegalArgumentException: revokeKey is not defined in NCALayerBasics","message":"General error.","status":false}"#
        );
        // The issuance methods exist; their arguments are checked before anyone is asked.
        assert_eq!(
            h.reply(r#"{"module":"kz.gov.pki.knca.basics","method":"generateCsr","args":{}}"#)
                .await,
            r#"{"code":"CSR_GENERATING_FAILURE","message":"subjectDn is missing","status":false}"#
        );
        assert_eq!(
            h.reply(r#"{"module":"kz.gov.pki.knca.basics","method":"importCertificate"}"#).await,
            r#"{"code":"GENERAL_ERROR","details":"java.lang.IllegalArgumentException: importCertificate demands arguments","message":"General error.","status":false}"#
        );
        assert_eq!(
            h.reply(
                r#"{"module":"kz.gov.pki.knca.basics","method":"sign","class":"Other","args":{}}"#
            )
            .await,
            r#"{"code":"GENERAL_ERROR","details":"java.lang.IllegalArgumentException: Other is not found","message":"General error.","status":false}"#
        );
        assert_eq!(
            h.reply(r#"{"module":"kz.gov.pki.knca.basics","args":{}}"#).await,
            r#"{"code":"GENERAL_ERROR","details":"org.json.JSONException: JSONObject[\"method\"] not found.","message":"General error.","status":false}"#
        );
    }

    #[tokio::test]
    async fn args_missing_or_not_an_object() {
        let h = Harness::new();
        let expected = r#"{"code":"GENERAL_ERROR","details":"java.lang.IllegalArgumentException: sign demands arguments","message":"General error.","status":false}"#;
        assert_eq!(
            h.reply(r#"{"module":"kz.gov.pki.knca.basics","method":"sign"}"#).await,
            expected
        );
        assert_eq!(
            h.reply(r#"{"module":"kz.gov.pki.knca.basics","method":"sign","args":["cms"]}"#).await,
            expected
        );
    }

    #[tokio::test]
    async fn tsa_profile_on_xml_or_raw_is_refused_before_the_prompt() {
        let h = Harness::new();
        for format in ["xml", "raw"] {
            let reply = h
                .reply(&sign_request(&format!(
                    r#"{{"format":"{format}","data":"<a/>","signingParams":{{"tsaProfile":{{}}}},"signerParams":{{}}}}"#
                )))
                .await;
            assert_eq!(
                reply,
                r#"{"code":"TSA_NOT_SUPPORTED","message":"Time-stamping (tsaProfile) is supported with format \"cms\" only: refusing to return an unstamped signature","status":false}"#
            );
        }
        assert_eq!(h.prompts(), 0);
        let reply = h
            .reply(&sign_request(
                r#"{"format":"cms","data":"MTEK","signingParams":{"tsaProfile":null},"signerParams":{}}"#,
            ))
            .await;
        assert_eq!(reply, r#"{"body":{},"status":true}"#);
    }

    #[tokio::test]
    async fn invalid_params_are_refused_before_the_prompt() {
        let h = Harness::new();
        assert_eq!(
            h.reply(&sign_request(
                r#"{"format":"pdf","data":"MTEK","signingParams":{},"signerParams":{}}"#
            ))
            .await,
            r#"{"code":"INVALID_SIGNING_PARAMS","message":"format must be \"cms\", \"xml\" or \"raw\"","status":false}"#
        );
        assert_eq!(
            h.reply(&sign_request(
                r#"{"format":"cms","data":[],"signingParams":{},"signerParams":{}}"#
            ))
            .await,
            r#"{"code":"INVALID_SIGNING_PARAMS","message":"data must be a string or a non-empty array of strings","status":false}"#
        );
        assert_eq!(
            h.reply(&sign_request(r#"{"format":"cms","data":"M-EK","signingParams":{"decode":true},"signerParams":{}}"#)).await,
            r#"{"code":"INVALID_SIGNING_PARAMS","message":"data[0] is not valid base64: Illegal base64 character 2d at offset 1","status":false}"#
        );
        assert_eq!(h.prompts(), 0);
    }

    #[tokio::test]
    async fn long_documents_kept_in_the_message_are_shown_as_copied_ones() {
        use crate::service::consent::DocumentSummary;
        let h = Harness::new();
        let text = "Шот-фактура №1\n".repeat(9000);
        let binary: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let cases = [
            (super::envelope::base64(text.as_bytes()), "true", text.as_bytes().to_vec()),
            (super::envelope::base64(&binary), "true", binary.clone()),
            (
                super::envelope::base64(&binary),
                "false",
                super::envelope::base64(&binary).into_bytes(),
            ),
        ];
        for (data, decode, document) in cases {
            let args = format!(
                r#"{{"format":"cms","data":["MTEK","{data}"],"signingParams":{{"decode":{decode},"encapsulate":false}},"signerParams":{{}}}}"#
            );
            assert_eq!(h.reply(&sign_request(&args)).await, r#"{"body":{},"status":true}"#);
            let shown = h.shown();
            assert_eq!(shown.len(), 2);
            assert_eq!(shown[1], DocumentSummary::new(&document, false), "decode {decode}");
            let text = std::str::from_utf8(&document).is_ok();
            assert_eq!(shown[1].preview.is_some(), text, "a preview for text only");
        }
    }

    #[tokio::test]
    async fn a_long_document_that_is_not_base64_is_refused_as_a_short_one() {
        let h = Harness::new();
        let data = format!("{}!AAA", "A".repeat(100_000));
        let args = format!(
            r#"{{"format":"raw","data":"{data}","signingParams":{{"decode":true}},"signerParams":{{}}}}"#
        );
        assert_eq!(
            h.reply(&sign_request(&args)).await,
            r#"{"code":"INVALID_SIGNING_PARAMS","message":"data[0] is not valid base64: Illegal base64 character 21 at offset 100000","status":false}"#
        );
        assert_eq!(h.prompts(), 0);
    }

    #[tokio::test]
    async fn one_mebibyte_document_is_answered() {
        let h = Harness::new();
        let data = "A".repeat(1 << 20);
        let args = format!(
            r#"{{"format":"cms","data":["{data}"],"signingParams":{{"decode":"true"}},"signerParams":{{}},"logo":"{data}"}}"#
        );
        assert_eq!(h.reply(&sign_request(&args)).await, r#"{"body":{},"status":true}"#);
        assert_eq!(h.prompts(), 1);
    }

    #[tokio::test]
    async fn bad_xml_is_refused_before_the_prompt() {
        let h = Harness::new();
        let reply = h
            .reply(&sign_request(
                r#"{"format":"xml","data":"<a><b></a>","signingParams":{},"signerParams":{}}"#,
            ))
            .await;
        assert!(reply.starts_with(r#"{"code":"INVALID_SIGNING_PARAMS","message":"#), "{reply}");
        assert_eq!(h.prompts(), 0);
    }
}
