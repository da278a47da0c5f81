//! What every module shares: parsing the request text into a JSON object, the top-level
//! replies that belong to no module (`MODULE_NOT_FOUND`, unparsable text), serialisation, the
//! org.json-style readers the Java modules use (`optBoolean`, `optInt`, `getString`), and the
//! base64 / PEM text forms of signatures. No module-specific envelope lives here.
//!
//! Top-level replies (`ncalayer-protocol.md` §1.6; the two error cases are our choice, the
//! real NCALayer's answer is unknown):
//!
//! | request | reply |
//! |---|---|
//! | unknown `module` (or a non-string one) | `{"success":false,"errorCode":"MODULE_NOT_FOUND"}` |
//! | text that is not JSON | `{"success":false,"errorCode":"JSON_PARSE_ERROR","message":"…"}` |
//! | JSON that is not an object, or has neither `module` nor `method` | `{"success":false,"errorCode":"INVALID_REQUEST","message":"…"}` |

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

use super::lifted::Lifted;

/// One request: the top-level JSON object.
pub type Request = Map<String, Value>;

/// What NLC sends when a reply cannot be serialised; we use it for the same case.
const WRAPPING_FAILED: &str = r#"{"success":false,"code":"COMMON_JSON_WRAPPING_EXCEPTION"}"#;

/// The reply shape for requests no module can take: `success, errorCode, message?`.
#[derive(Serialize)]
struct TopLevelError<'a> {
    success: bool,
    #[serde(rename = "errorCode")]
    error_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

/// Serialises a reply; key order is the field order of `value`.
pub fn to_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| {
        tracing::error!("cannot serialise a reply: {e}");
        WRAPPING_FAILED.to_string()
    })
}

/// `{"success":false,"errorCode":"MODULE_NOT_FOUND"}`.
pub fn module_not_found() -> String {
    top_level_error("MODULE_NOT_FOUND", None)
}

/// `{"success":false,"errorCode":…,"message":…}`.
pub fn top_level_error(error_code: &str, message: Option<&str>) -> String {
    to_text(&TopLevelError { success: false, error_code, message })
}

/// Parses the request text into an object, or gives the top-level error reply. Long strings
/// of `args.data` stay in `text` ([`super::lifted`]).
pub fn parse_request(text: &str) -> Result<(Request, Lifted<'_>), String> {
    let (value, lifted) = super::lifted::parse(text).map_err(not_json)?;
    Ok((request_object(value)?, lifted))
}

/// Parses the request text into an object with every string in it, or gives the top-level
/// error reply.
pub fn parse_request_whole(text: &str) -> Result<Request, String> {
    request_object(serde_json::from_str(text).map_err(not_json)?)
}

fn not_json(error: serde_json::Error) -> String {
    let message = format!("The request is not valid JSON ({error}); send one JSON object.");
    top_level_error("JSON_PARSE_ERROR", Some(&message))
}

/// The request object, or the top-level error for JSON that is not one.
fn request_object(value: Value) -> Result<Request, String> {
    let Value::Object(request) = value else {
        return Err(top_level_error(
            "INVALID_REQUEST",
            Some("The request must be a JSON object with \"module\", \"method\" and \"args\"."),
        ));
    };
    if !request.contains_key("module") && !request.contains_key("method") {
        return Err(top_level_error(
            "INVALID_REQUEST",
            Some("The request has neither \"module\" nor \"method\"."),
        ));
    }
    Ok(request)
}

/// org.json `getString(key)`: the string, or the `JSONException` message Java would give.
pub fn get_string<'a>(object: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    match object.get(key) {
        None => Err(format!("JSONObject[\"{key}\"] not found.")),
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(format!("JSONObject[\"{key}\"] is not a string.")),
    }
}

/// org.json `optBoolean(key, default)`: booleans, and the strings `true`/`false` in any case;
/// anything else gives `default`.
pub fn opt_bool(object: &Map<String, Value>, key: &str, default: bool) -> bool {
    match object.get(key) {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) if text.eq_ignore_ascii_case("true") => true,
        Some(Value::String(text)) if text.eq_ignore_ascii_case("false") => false,
        _ => default,
    }
}

/// org.json `optInt(key, default)`: numbers truncated, numeric strings parsed, else `default`.
pub fn opt_int(object: &Map<String, Value>, key: &str, default: i64) -> i64 {
    let number = match object.get(key) {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(text)) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    match number {
        // Truncation toward zero is what Java's Number.intValue() does.
        Some(n) if n.is_finite() => n.trunc() as i64,
        _ => default,
    }
}

/// Standard base64 with padding, as NCALayer writes it.
pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes base64 leniently: ASCII whitespace (line breaks) is skipped and padding is
/// optional. The error text names the problem for the person reading the reply.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    crate::crypto::base64_stream::decode(text.as_bytes()).map_err(|e| e.to_string())
}

/// A DER CMS in the text form basics returns: `-----BEGIN CMS-----`, 64-column base64 lines,
/// `-----END CMS-----`, each line ended by `\n` (`ncalayer-protocol.md` §2.3).
pub fn pem_cms(der: &[u8]) -> String {
    crate::crypto::pem("CMS", der)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(text: &str) -> Map<String, Value> {
        match serde_json::from_str(text) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn opt_bool_follows_org_json() {
        let o = object(r#"{"a":true,"b":"TRUE","c":"false","d":1,"e":null}"#);
        assert!(opt_bool(&o, "a", false));
        assert!(opt_bool(&o, "b", false));
        assert!(!opt_bool(&o, "c", true));
        assert!(opt_bool(&o, "d", true));
        assert!(!opt_bool(&o, "e", false));
        assert!(opt_bool(&o, "missing", true));
    }

    #[test]
    fn opt_int_follows_org_json() {
        let o = object(r#"{"a":2,"b":"3","c":2.9,"d":null,"e":"x"}"#);
        assert_eq!(opt_int(&o, "a", 0), 2);
        assert_eq!(opt_int(&o, "b", 0), 3);
        assert_eq!(opt_int(&o, "c", 0), 2);
        assert_eq!(opt_int(&o, "d", 7), 7);
        assert_eq!(opt_int(&o, "e", 7), 7);
    }

    #[test]
    fn base64_is_lenient_about_lines_and_padding() {
        assert_eq!(decode_base64("MTEK").ok(), Some(b"11\n".to_vec()));
        assert_eq!(decode_base64("MT\r\nEK").ok(), Some(b"11\n".to_vec()));
        assert_eq!(decode_base64("MTE").ok(), Some(b"11".to_vec()));
        assert_eq!(
            decode_base64("MT-K").err().as_deref(),
            Some("Illegal base64 character 2d at offset 2")
        );
    }

    #[test]
    fn pem_cms_wraps_at_64_columns() {
        let text = pem_cms(&[0u8; 60]);
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines.first(), Some(&"-----BEGIN CMS-----"));
        assert_eq!(lines.get(1).map(|l| l.len()), Some(64));
        assert_eq!(lines.get(2).map(|l| l.len()), Some(16));
        assert_eq!(lines.get(3), Some(&"-----END CMS-----"));
        assert_eq!(lines.get(4), Some(&""));
    }

    #[test]
    fn top_level_errors() {
        assert_eq!(module_not_found(), r#"{"success":false,"errorCode":"MODULE_NOT_FOUND"}"#);
        assert_eq!(
            parse_request("[1]").err().as_deref(),
            Some(
                r#"{"success":false,"errorCode":"INVALID_REQUEST","message":"The request must be a JSON object with \"module\", \"method\" and \"args\"."}"#
            )
        );
        assert!(parse_request("{}").is_err());
    }
}
