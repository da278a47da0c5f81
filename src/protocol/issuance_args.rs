//! The arguments of basics `generateCsr` and `importCertificate`. Their shape is not public
//! (`kz-issuance.md` §2, uncertain); this is the best current hypothesis, kept in this one file
//! so that a captured real exchange corrects it in minutes:
//!
//! - `generateCsr`: `{"storage":"PKCS12","subjectDn":"CN=…,SERIALNUMBER=IIN…,C=KZ",
//!   "email":"…","locale":"ru"}`; `storageName` is read for `storage` and `subject` for
//!   `subjectDn`, as NCALayer's other methods name them so.
//! - `importCertificate`: `{"certificate":"MII… (base64 DER or PEM, maybe with its chain)",
//!   "locale":"ru"}`; `certificates` (a list) is read too.
//!
//! Any other key is logged by name (never its value) so a real client's call shows what it
//! sends.

use serde_json::{Map, Value};

use crate::keystore::StorageName;
use crate::service::issuance::NewKey;

/// The keys each method reads.
const NEW_KEY_ARGS: [&str; 6] =
    ["storage", "storageName", "subjectDn", "subject", "email", "locale"];
const CERTIFICATE_ARGS: [&str; 3] = ["certificate", "certificates", "locale"];

/// `generateCsr`'s arguments.
pub fn new_key(args: &Map<String, Value>) -> Result<NewKey, String> {
    log_unknown("generateCsr", args, &NEW_KEY_ARGS);
    let storage = text(args, &["storage", "storageName"]).unwrap_or("PKCS12");
    let storage = StorageName::parse(storage).map_err(|e| format!("storage: {e}"))?;
    let subject = text(args, &["subjectDn", "subject"])
        .filter(|s| !s.trim().is_empty())
        .ok_or("subjectDn is missing")?;
    Ok(NewKey {
        storage,
        subject: subject.to_string(),
        email: text(args, &["email"]).filter(|e| !e.is_empty()).map(str::to_string),
        locale: text(args, &["locale"]).map(str::to_string),
    })
}

/// `importCertificate`'s arguments: the certificate bytes as given (base64 or PEM text; a list
/// is joined by newlines), and the locale.
pub fn certificate(args: &Map<String, Value>) -> Result<(Vec<u8>, Option<String>), String> {
    log_unknown("importCertificate", args, &CERTIFICATE_ARGS);
    let locale = text(args, &["locale"]).map(str::to_string);
    if let Some(one) = text(args, &["certificate"]) {
        return Ok((one.as_bytes().to_vec(), locale));
    }
    let list =
        args.get("certificates").and_then(Value::as_array).ok_or("certificate is missing")?;
    let texts: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    match texts.is_empty() {
        true => Err("certificate is missing".into()),
        false => Ok((texts.join("\n").into_bytes(), locale)),
    }
}

/// The first of `names` that is a string.
fn text<'a>(args: &'a Map<String, Value>, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|name| args.get(*name).and_then(Value::as_str))
}

/// Logs the names of arguments `method` does not read.
fn log_unknown(method: &str, args: &Map<String, Value>, known: &[&str]) {
    let unknown: Vec<&str> =
        args.keys().map(String::as_str).filter(|k| !known.contains(k)).collect();
    if !unknown.is_empty() {
        tracing::info!(method, ?unknown, "arguments not understood (names only)");
    }
}
