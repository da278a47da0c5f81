//! The arguments of basics `generateCsr` and `importCertificate`. Their shape is not public
//! (`kz-issuance.md` §2, uncertain); this is the best current hypothesis, kept in this one file
//! so that a captured real exchange corrects it in minutes:
//!
//! - `generateCsr`: `{"storage":"PKCS12","subjectDn":"CN=…,SERIALNUMBER=IIN…,C=KZ",
//!   "email":"…","locale":"ru"}`; `storageName` is read for `storage` and `subject` for
//!   `subjectDn`, as NCALayer's other methods name them so. `"algorithm"` may ask for the kind
//!   of key: `GOST512` (the default; also `GOST2015_512`, `ECGOST3410-2015-512`) or `RSA2048`
//!   (also `RSA`), read case-insensitively without `-` and `_`.
//! - `importCertificate`: `{"certificate":"MII… (base64 DER or PEM, maybe with its chain)",
//!   "locale":"ru"}`; `certificates` (a list) is read too.
//!
//! Any other key is logged by name (never its value) so a real client's call shows what it
//! sends.

use serde_json::{Map, Value};

use crate::crypto::SignatureAlgorithm;
use crate::keystore::StorageName;
use crate::service::issuance::NewKey;

/// The keys each method reads.
const NEW_KEY_ARGS: [&str; 7] =
    ["storage", "storageName", "subjectDn", "subject", "email", "locale", "algorithm"];
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
        algorithm: match args.get("algorithm") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(key_algorithm(name)?),
            Some(_) => return Err("algorithm must be a string: GOST512 or RSA2048".into()),
        },
    })
}

/// The kind of key a `generateCsr` names.
fn key_algorithm(name: &str) -> Result<SignatureAlgorithm, String> {
    let bare: String =
        name.chars().filter(|c| !matches!(c, '-' | '_')).collect::<String>().to_uppercase();
    match bare.as_str() {
        "GOST512" | "GOST2015512" | "ECGOST34102015512" => Ok(SignatureAlgorithm::Gost2015_512),
        "RSA" | "RSA2048" => Ok(SignatureAlgorithm::RsaSha256),
        _ => Err(format!("algorithm: {name:?} is not GOST512 or RSA2048")),
    }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn args(value: Value) -> Map<String, Value> {
        value.as_object().expect("an object").clone()
    }

    #[test]
    fn the_kind_of_key_is_read_by_its_usual_names() {
        let base = json!({"storage": "AKKaztokenStore", "subjectDn": "CN=A"});
        assert_eq!(new_key(&args(base.clone())).expect("read").algorithm, None);
        for (name, algorithm) in [
            ("GOST512", SignatureAlgorithm::Gost2015_512),
            ("gost2015_512", SignatureAlgorithm::Gost2015_512),
            ("ECGOST3410-2015-512", SignatureAlgorithm::Gost2015_512),
            ("RSA", SignatureAlgorithm::RsaSha256),
            ("rsa-2048", SignatureAlgorithm::RsaSha256),
        ] {
            let mut with = args(base.clone());
            with.insert("algorithm".into(), json!(name));
            assert_eq!(new_key(&with).expect(name).algorithm, Some(algorithm), "{name}");
        }
        let mut unknown = args(base);
        unknown.insert("algorithm".into(), json!("DSA"));
        let error = new_key(&unknown).expect_err("refused");
        assert!(error.contains("GOST512 or RSA2048"), "{error}");
        unknown.insert("algorithm".into(), json!(2048));
        let error = new_key(&unknown).expect_err("a number is refused, not ignored");
        assert!(error.contains("must be a string"), "{error}");
    }
}
