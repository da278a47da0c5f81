//! Parses the `args` object of basics `sign` (`ncalayer-protocol.md` §2.2) into a validated
//! [`SignRequest`] plus the output options. Field by field:
//!
//! | field | accepted | otherwise |
//! |---|---|---|
//! | `signingParams`, `signerParams` | objects (`{}` is fine) | `INVOCATION_ERROR`, details `org.json.JSONException: JSONObject["…"] is not a JSONObject.` (`… not found.` when absent) |
//! | `format` | `cms`, `xml`, `raw` | `INVALID_SIGNING_PARAMS` |
//! | `data` | a string, or a non-empty array of strings | `INVALID_SIGNING_PARAMS` |
//! | `.decode` | bool or `"true"`/`"false"` (default false); cms/raw only: each document is base64-decoded; xml data is always text | bad base64: `INVALID_SIGNING_PARAMS` |
//! | `.encapsulate` | bool-ish, default true (attached CMS) | |
//! | `.digested` | bool-ish; cms only: each document is a base64 digest, the CMS is detached | with raw/xml: `INVALID_SIGNING_PARAMS` |
//! | `.tsaProfile` | absent or `null` | anything else, in every format: `TSA_NOT_SUPPORTED` — we never return an unstamped signature when a stamp was asked for |
//! | `.outputCert` | bool-ish: result becomes `{"signatures":[…],"certificate":"<base64 DER>"}` | |
//! | `.allowExpired` | bool-ish | `.allowRevoked` is ignored: no revocation check yet |
//! | `.extKeyUsageOids` | absent, `null` (= `[]`), array of strings | non-array: `INVOCATION_ERROR` `JSONObject["extKeyUsageOids"] is not a JSONArray.`; non-string item: `JSONArray[i] is not a String.` |
//! | `.iin`, `.bin`, `.serialNumber` | string or number; empty, absent or `null` = no filter | other types: `INVALID_SIGNING_PARAMS` |
//! | `.chain` | anything; accepted and ignored until chain building arrives | |
//! | `allowedStorages` | absent, `null`, array of strings, comma-separated string; empty = any | other types: `INVALID_SIGNING_PARAMS` |
//! | `locale` | a non-empty string; anything else = the daemon's locale | |
//! | `logo` | base64 image (PNG) shown in the dialog; over 50,000 characters or not base64 = ignored | |

use serde_json::{Map, Value};

use super::envelope::{decode_base64, opt_bool};
use super::lifted::InText;
use crate::crypto::Certificate;
use crate::keystore::{KeyFilter, StorageName};
use crate::service::{ChainRule, Content, Documents, ServiceError, SignRequest};

/// The output format asked for, for rendering the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PEM-armoured CMS.
    Cms,
    /// Signed XML text.
    Xml,
    /// Base64 raw signature.
    Raw,
}

/// A parsed `sign` request.
#[derive(Debug)]
pub struct SignArgs {
    /// What the service signs.
    pub request: SignRequest,
    /// The output format.
    pub format: Format,
    /// `outputCert`: return the certificate with the signatures.
    pub output_cert: bool,
}

/// Why the arguments were refused.
#[derive(Debug)]
pub enum ArgsError {
    /// What org.json would throw (`INVOCATION_ERROR`): the `JSONException` message.
    Json(String),
    /// A parameter value we cannot use (`INVALID_SIGNING_PARAMS`).
    Params(String),
    /// `tsaProfile` asked for a time-stamp on an XML or raw signature (`TSA_NOT_SUPPORTED`).
    TsaRequested,
    /// The documents cannot be signed (a digest of a length no key signs): the service's
    /// error, in the envelope the service's errors get.
    Service(ServiceError),
}

impl PartialEq for ArgsError {
    /// Service errors compare by their text (they hold I/O and device errors, which do not).
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Json(a), Self::Json(b)) | (Self::Params(a), Self::Params(b)) => a == b,
            (Self::TsaRequested, Self::TsaRequested) => true,
            (Self::Service(a), Self::Service(b)) => a.to_string() == b.to_string(),
            _ => false,
        }
    }
}

/// Parses `args`; a long document may have been left in the request's text (`in_text`).
pub fn parse(args: &Map<String, Value>, in_text: &InText<'_>) -> Result<SignArgs, ArgsError> {
    let signing = object(args, "signingParams")?;
    let signer = object(args, "signerParams")?;
    let format = format(args)?;
    let time_stamp = signing.get("tsaProfile").is_some_and(|t| !t.is_null());
    if time_stamp && format != Format::Cms {
        return Err(ArgsError::TsaRequested);
    }
    let documents = documents(args, format, signing, in_text)?;
    let (filter, storages) = (filter(signer)?, storages(args)?);
    let request = SignRequest {
        documents: documents.map_err(ArgsError::Service)?,
        filter,
        storages,
        allow_expired: opt_bool(signing, "allowExpired", false),
        locale: args
            .get("locale")
            .and_then(Value::as_str)
            .filter(|l| !l.is_empty())
            .map(str::to_string),
        logo: logo(args),
        time_stamp,
        chain: chain(signer)?,
        allow_revoked: opt_bool(signing, "allowRevoked", false),
    };
    Ok(SignArgs { request, format, output_cert: opt_bool(signing, "outputCert", false) })
}

/// org.json `getJSONObject(key)`.
fn object<'a>(
    args: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a Map<String, Value>, ArgsError> {
    match args.get(key) {
        Some(Value::Object(object)) => Ok(object),
        Some(_) => Err(ArgsError::Json(format!("JSONObject[\"{key}\"] is not a JSONObject."))),
        None => Err(ArgsError::Json(format!("JSONObject[\"{key}\"] not found."))),
    }
}

fn format(args: &Map<String, Value>) -> Result<Format, ArgsError> {
    match args.get("format").and_then(Value::as_str) {
        Some("cms") => Ok(Format::Cms),
        Some("xml") => Ok(Format::Xml),
        Some("raw") => Ok(Format::Raw),
        _ => Err(ArgsError::Params("format must be \"cms\", \"xml\" or \"raw\"".into())),
    }
}

/// The documents, typed by format: XML text as is; CMS and raw data decoded when `decode` (or
/// `digested`). The inner result is the digest check, which the caller reports after the other
/// arguments, as NCALayer reports it after parsing. A long document left in the request's text
/// stays there, checked ([`Content::base64`]), not decoded.
fn documents(
    args: &Map<String, Value>,
    format: Format,
    signing: &Map<String, Value>,
    in_text: &InText<'_>,
) -> Result<Result<Documents, ServiceError>, ArgsError> {
    let digested = opt_bool(signing, "digested", false);
    if digested && format != Format::Cms {
        return Err(ArgsError::Params(
            "signingParams.digested is supported with format \"cms\" only".into(),
        ));
    }
    let texts = data(args, in_text)?;
    if format == Format::Xml {
        let texts = texts.into_iter().map(str::to_string).collect();
        return Ok(Ok(Documents::Xml { element: None, texts }));
    }
    let bad_base64 = |index: usize, e: &dyn std::fmt::Display| {
        ArgsError::Params(format!("data[{index}] is not valid base64: {e}"))
    };
    if digested {
        let digests = texts
            .into_iter()
            .enumerate()
            .map(|(index, text)| decode_base64(text).map_err(|e| bad_base64(index, &e)))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Documents::digests(digests));
    }
    let decode = opt_bool(signing, "decode", false);
    let data = texts
        .into_iter()
        .enumerate()
        .map(|(index, text)| match (in_text.shared(text), decode) {
            (Some(shared), true) => Content::base64(shared).map_err(|e| bad_base64(index, &e)),
            (Some(shared), false) => Ok(Content::text(shared)),
            (None, true) => {
                decode_base64(text).map(Content::bytes).map_err(|e| bad_base64(index, &e))
            }
            (None, false) => Ok(Content::bytes(text.as_bytes().to_vec())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Ok(match format {
        Format::Cms => Documents::Cms { attached: opt_bool(signing, "encapsulate", true), data },
        Format::Xml | Format::Raw => Documents::Raw(data),
    }))
}

/// The strings of `data`, the lifted ones from the request's text.
fn data<'a>(args: &'a Map<String, Value>, in_text: &InText<'a>) -> Result<Vec<&'a str>, ArgsError> {
    let invalid =
        || ArgsError::Params("data must be a string or a non-empty array of strings".into());
    match args.get("data") {
        Some(Value::String(text)) => Ok(vec![in_text.item(0).unwrap_or(text)]),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(index, item)| in_text.item(index).or(item.as_str()).ok_or_else(invalid))
            .collect(),
        _ => Err(invalid()),
    }
}

/// `signerParams.chain`: absent or `null` = the trust store (the NCA's CAs), `[]` = any
/// certificate, a list of PEM (or base64 DER) certificates = those CAs only.
fn chain(signer: &Map<String, Value>) -> Result<ChainRule, ArgsError> {
    let invalid =
        || ArgsError::Params("signerParams.chain must be a list of PEM certificates".into());
    let items = match signer.get("chain") {
        None | Some(Value::Null) => return Ok(ChainRule::Trusted),
        Some(Value::Array(items)) if items.is_empty() => return Ok(ChainRule::Any),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid()),
    };
    items
        .iter()
        .map(|item| {
            let text = item.as_str().ok_or_else(invalid)?;
            let der = match text.contains("-----BEGIN") {
                true => text.as_bytes().to_vec(),
                false => decode_base64(text).map_err(|_| invalid())?,
            };
            Certificate::from_pem_or_der(&der).map_err(|_| invalid())
        })
        .collect::<Result<Vec<_>, _>>()
        .map(ChainRule::Only)
}

fn filter(signer: &Map<String, Value>) -> Result<KeyFilter, ArgsError> {
    Ok(KeyFilter {
        key_type: None,
        ext_key_usage_oids: oids(signer)?,
        iin: text_filter(signer, "iin")?,
        bin: text_filter(signer, "bin")?,
        serial_number: text_filter(signer, "serialNumber")?,
    })
}

fn oids(signer: &Map<String, Value>) -> Result<Vec<String>, ArgsError> {
    match signer.get("extKeyUsageOids") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ArgsError::Json(format!("JSONArray[{index}] is not a String.")))
            })
            .collect(),
        Some(_) => {
            Err(ArgsError::Json("JSONObject[\"extKeyUsageOids\"] is not a JSONArray.".into()))
        }
    }
}

fn text_filter(signer: &Map<String, Value>, key: &str) -> Result<Option<String>, ArgsError> {
    let text = match signer.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => text.trim().to_string(),
        Some(Value::Number(number)) => number.to_string(),
        Some(_) => return Err(ArgsError::Params(format!("signerParams.{key} must be a string"))),
    };
    Ok(Some(text).filter(|t| !t.is_empty()))
}

/// `allowedStorages`: a comma-separated string or an array of strings; empty names are
/// skipped, and no name at all means any storage.
fn storages(args: &Map<String, Value>) -> Result<Option<Vec<StorageName>>, ArgsError> {
    let texts: Vec<&str> = match args.get("allowedStorages") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(list)) => list.split(',').collect(),
        Some(Value::Array(items)) => {
            items.iter().map(Value::as_str).collect::<Option<_>>().ok_or_else(storages_invalid)?
        }
        Some(_) => return Err(storages_invalid()),
    };
    let names = texts
        .into_iter()
        .filter(|text| !text.trim().is_empty())
        .map(|text| StorageName::parse(text).map_err(|_| storages_invalid()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(names).filter(|n| !n.is_empty()))
}

fn storages_invalid() -> ArgsError {
    ArgsError::Params(
        "allowedStorages must be an array of storage names, a comma-separated string or null"
            .into(),
    )
}

/// The portal's logo: base64, at most 50,000 characters (as NCALayer documents); anything else
/// is ignored, never an error.
fn logo(args: &Map<String, Value>) -> Option<Vec<u8>> {
    let text = args.get("logo")?.as_str()?;
    if text.len() > 50_000 {
        return None;
    }
    decode_base64(text).ok().filter(|b| !b.is_empty() && b.len() <= crate::service::MAX_LOGO_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Map<String, Value> {
        match serde_json::from_str(text) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    fn parsed(text: &str) -> Result<SignArgs, ArgsError> {
        parse(&args(text), &InText::nothing())
    }

    #[test]
    fn defaults_give_attached_cms_over_text() {
        let a = parsed(r#"{"format":"cms","data":"MTEK","signingParams":{},"signerParams":{}}"#);
        let Ok(a) = a else { panic!("{a:?}") };
        let data = vec![b"MTEK".to_vec().into()];
        assert_eq!(a.request.documents, Documents::Cms { attached: true, data });
        assert_eq!(a.request.storages, None);
        assert_eq!(a.request.filter, KeyFilter::default());
        assert!(!a.output_cert);
    }

    #[test]
    fn decode_strings_and_digests() {
        let a = parsed(
            r#"{"format":"cms","data":["MTEK","MjIK"],"signingParams":{"decode":"true","encapsulate":false},"signerParams":{}}"#,
        );
        let Ok(a) = a else { panic!("{a:?}") };
        let data = vec![b"11\n".to_vec().into(), b"22\n".to_vec().into()];
        assert_eq!(a.request.documents, Documents::Cms { attached: false, data });
        let digest = |b64: &str| {
            parsed(&format!(
                r#"{{"format":"cms","data":"{b64}","signingParams":{{"digested":true}},"signerParams":{{}}}}"#
            ))
        };
        let a = digest(&format!("{}=", "A".repeat(43))); // 32 zero bytes
        let Ok(a) = a else { panic!("{a:?}") };
        assert_eq!(a.request.documents, Documents::digests(vec![vec![0; 32]]).expect("digest"));
        assert!(matches!(digest("MTEK"), Err(ArgsError::Service(_))), "3 bytes is no digest");
    }

    #[test]
    fn signer_filter_and_storages() {
        let a = parsed(
            r#"{"format":"xml","data":"<a/>","signingParams":{"decode":true},"signerParams":{"extKeyUsageOids":["1.3.6.1.5.5.7.3.4"],"iin":"123456789012","bin":"","serialNumber":null,"chain":[]},"allowedStorages":"PKCS12, AKKaztokenStore,","locale":"kk"}"#,
        );
        let Ok(a) = a else { panic!("{a:?}") };
        let texts = vec!["<a/>".to_string()];
        assert_eq!(a.request.documents, Documents::Xml { element: None, texts });
        assert_eq!(a.request.filter.ext_key_usage_oids, ["1.3.6.1.5.5.7.3.4"]);
        assert_eq!(a.request.filter.iin.as_deref(), Some("123456789012"));
        assert_eq!(a.request.filter.bin, None);
        assert_eq!(a.request.filter.serial_number, None);
        let names = a.request.storages.map(|n| n.iter().map(ToString::to_string).collect());
        assert_eq!(names, Some(vec!["PKCS12".to_string(), "AKKaztokenStore".to_string()]));
        assert_eq!(a.request.locale.as_deref(), Some("kk"));
    }

    #[test]
    fn refusals() {
        let base = r#""signingParams":{},"signerParams":{}"#;
        let err = |body: &str| parsed(&format!("{{{body}}}")).err();
        assert!(matches!(
            err(&format!(r#""format":"pdf","data":"x",{base}"#)),
            Some(ArgsError::Params(_))
        ));
        assert!(matches!(
            err(&format!(r#""format":"cms","data":[],{base}"#)),
            Some(ArgsError::Params(_))
        ));
        assert!(matches!(
            err(&format!(r#""format":"cms","data":[1],{base}"#)),
            Some(ArgsError::Params(_))
        ));
        assert!(matches!(
            err(&format!(r#""format":"cms","data":"x","allowedStorages":5,{base}"#)),
            Some(ArgsError::Params(_))
        ));
        assert!(matches!(
            err(r#""format":"cms","data":"%%","signingParams":{"decode":true},"signerParams":{}"#),
            Some(ArgsError::Params(_))
        ));
        assert!(matches!(
            err(
                r#""format":"raw","data":"MTEK","signingParams":{"digested":true},"signerParams":{}"#
            ),
            Some(ArgsError::Params(_))
        ));
        assert_eq!(
            err(
                r#""format":"cms","data":"x","signingParams":{},"signerParams":{"extKeyUsageOids":"1.2"}"#
            ),
            Some(ArgsError::Json("JSONObject[\"extKeyUsageOids\"] is not a JSONArray.".into()))
        );
        assert_eq!(
            err(r#""format":"cms","data":"x","signingParams":{}"#),
            Some(ArgsError::Json("JSONObject[\"signerParams\"] not found.".into()))
        );
        assert_eq!(
            err(r#""format":"xml","data":"x","signingParams":{"tsaProfile":{}},"signerParams":{}"#),
            Some(ArgsError::TsaRequested)
        );
    }

    #[test]
    fn logo_is_decoded_or_ignored() {
        let args = |logo: serde_json::Value| {
            let mut object = serde_json::Map::new();
            object.insert("logo".into(), logo);
            object
        };
        assert_eq!(super::logo(&args(serde_json::json!("iVBO"))), Some(vec![0x89, 0x50, 0x4e]));
        assert_eq!(super::logo(&args(serde_json::json!("not base64!"))), None);
        assert_eq!(super::logo(&args(serde_json::json!("A".repeat(50_004)))), None);
        assert_eq!(super::logo(&args(serde_json::json!(5))), None);
    }
}
