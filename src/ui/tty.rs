//! Terminal prompter for headless machines (`--ui tty`): prints who asks and what is signed on
//! stderr and reads the answers from the terminal; passwords are read without echo.
//!
//! Limitation: a blocking terminal read cannot be interrupted, so a client that goes away
//! while a question is on screen is noticed when the user answers (the answer is then dropped).

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;

use secrecy::SecretString;

use super::i18n::{self, Locale};
use crate::keystore::KeyEntry;
use crate::keystore::StorageName;
use crate::service::consent::{
    Cancel, Credentials, InstallAnswer, InstallPrompt, IssuanceRetry, KeyAnswer, KeyPrompt,
    PromptAnswer, PromptOutcome, PromptRequest, Prompter, Retry, Trust,
};
use crate::service::Origin;

/// Asks on the controlling terminal.
#[derive(Debug, Default)]
pub struct TtyPrompter;

fn say(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

fn read_line(question: &str) -> Option<String> {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question}");
    let _ = err.flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_string()),
    }
}

/// Reads a password without echo; `None` when the terminal is gone.
pub fn read_password(question: &str) -> Option<SecretString> {
    rpassword::prompt_password(question).ok().map(SecretString::from)
}

fn show_request(request: &PromptRequest) {
    say("");
    say("==================== Qoltanba: signature request ====================");
    let origin = request
        .origin
        .as_ref()
        .map(Origin::as_str)
        .unwrap_or("a program on this computer (no Origin)");
    let mark = match request.trust {
        Trust::Trusted => "",
        Trust::New => "  [NEW SITE: never trusted before; check the address]",
        Trust::Local => "",
    };
    say(&format!("Requested by: {origin}{mark}"));
    say(&format!(
        "Operation:    {}",
        i18n::operation(request.operation, request.documents.len(), Locale::En)
    ));
    for (n, doc) in request.documents.iter().enumerate() {
        say(&format!("Document {}: {} bytes, SHA-256 {}", n + 1, doc.size, doc.sha256));
        match (&doc.preview, doc.digest_only) {
            (_, true) => say("  (a digest computed by the site: its content cannot be shown)"),
            (Some(preview), false) => preview.lines().for_each(|l| say(&format!("  | {l}"))),
            (None, false) => say("  (binary data)"),
        }
    }
}

impl Prompter for TtyPrompter {
    fn ask(&self, request: &PromptRequest, retry: Option<&Retry>, cancel: &Cancel) -> PromptAnswer {
        match retry {
            Some(reason) => say(&format!("! {}", i18n::retry(reason, Locale::En))),
            None => show_request(request),
        }
        let Some(file) = read_line(
            "Key store file (.p12) or token storage name (AKKaztokenStore, …), empty to cancel: ",
        )
        .filter(|f| !f.is_empty()) else {
            return PromptAnswer::Cancel;
        };
        let token = is_storage_name(&file);
        let Some(secret) = read_password(if token { "PIN: " } else { "Password: " }) else {
            return PromptAnswer::Cancel;
        };
        if cancel.is_cancelled() {
            return PromptAnswer::Cancel;
        }
        let (store, file) = match token {
            true => match StorageName::parse(&file) {
                Ok(store) => (store, None),
                Err(e) => {
                    say(&format!("{file:?}: {e}."));
                    return PromptAnswer::Cancel;
                }
            },
            false => (StorageName::pkcs12(), Some(PathBuf::from(file))),
        };
        let remember_origin = request.trust == Trust::New
            && read_line("Trust this site from now on? [y/N] ")
                .is_some_and(|a| a.eq_ignore_ascii_case("y"));
        PromptAnswer::Approve(Credentials::chosen(store, file, secret, remember_origin))
    }

    fn choose_key(
        &self,
        request: &PromptRequest,
        keys: &[KeyEntry],
        _cancel: &Cancel,
    ) -> Option<String> {
        for (n, key) in keys.iter().enumerate() {
            let certificate = &key.certificate;
            let owner = certificate.subject_cn().unwrap_or_default();
            let until = certificate.not_after().date();
            say(&format!("  [{}] {owner}  (valid to {until}, key {})", n + 1, key.alias));
        }
        for warned in &request.warned_keys {
            let owner = warned.key.certificate.subject_cn().unwrap_or_default();
            say(&format!("  [!] {owner}: {}", i18n::retry(&warned.why, Locale::En)));
        }
        for refused in &request.refused_keys {
            let owner = refused.key.certificate.subject_cn().unwrap_or_default();
            say(&format!("  [-] {owner}: {}", i18n::retry(&refused.why, Locale::En)));
        }
        if keys.len() == 1 {
            let answer = read_line("Sign with this key? [y/N] ")?;
            return keys
                .first()
                .filter(|_| answer.eq_ignore_ascii_case("y"))
                .map(|k| k.alias.clone());
        }
        let answer = read_line("Key number, empty to cancel: ")?;
        let index = answer.parse::<usize>().ok()?.checked_sub(1)?;
        keys.get(index).map(|k| k.alias.clone())
    }

    fn choose_file(
        &self,
        origin: Option<&Origin>,
        extension: &str,
        _cancel: &Cancel,
    ) -> Option<PathBuf> {
        say(&format!(
            "{} asks for a file ({extension}).",
            origin.map_or("A local program", Origin::as_str)
        ));
        read_line("Path, empty to cancel: ").filter(|p| !p.is_empty()).map(PathBuf::from)
    }

    fn finish(&self, _request: &PromptRequest, outcome: &PromptOutcome) {
        say(&format!("Request {}.", outcome.result));
    }

    fn new_key(
        &self,
        prompt: &KeyPrompt,
        retry: Option<IssuanceRetry>,
        cancel: &Cancel,
    ) -> KeyAnswer {
        match retry {
            Some(reason) => say(&format!("! {}", i18n::issuance_retry(reason, Locale::En))),
            None => {
                let who = prompt.origin.as_ref().map_or("A local program", Origin::as_str);
                say(&format!("{who} asks to make a new key for {}.", prompt.subject));
            }
        }
        if !prompt.storage.is_file() {
            say(&format!("The key is made on the {} token.", prompt.storage));
            return match read_password("PIN, empty to cancel: ") {
                Some(pin) if !cancel.is_cancelled() => KeyAnswer::CreateOnToken(pin),
                _ => KeyAnswer::Cancel,
            };
        }
        let Some(folder) =
            read_line("Folder for the key file, empty to cancel: ").filter(|f| !f.is_empty())
        else {
            return KeyAnswer::Cancel;
        };
        match read_new_password() {
            Ok(password) if !cancel.is_cancelled() => {
                KeyAnswer::Create { folder: PathBuf::from(folder), password }
            }
            Ok(_) => KeyAnswer::Cancel,
            Err(why) => {
                say(&format!("{why}."));
                KeyAnswer::Cancel
            }
        }
    }

    fn install_certificate(
        &self,
        prompt: &InstallPrompt,
        retry: Option<IssuanceRetry>,
        cancel: &Cancel,
    ) -> InstallAnswer {
        match retry {
            Some(reason) => say(&format!("! {}", i18n::issuance_retry(reason, Locale::En))),
            None => {
                let who = prompt.origin.as_ref().map_or("A local program", Origin::as_str);
                say(&format!("{who} brings the certificate of {}", prompt.subject));
                say(&format!("issued by {}; it goes to {}.", prompt.issuer, prompt.destination));
            }
        }
        match read_password("Password of the new key, empty to cancel: ") {
            Some(password) if !cancel.is_cancelled() => InstallAnswer::Install(password),
            _ => InstallAnswer::Cancel,
        }
    }
}

/// A token storage name such as `AKKaztokenStore` (not a path).
fn is_storage_name(text: &str) -> bool {
    text.starts_with("AK") && text.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A new key's password, typed twice under the NCA's rule (which the caller checks); why not,
/// when either is not given or the two differ.
pub fn read_new_password() -> Result<SecretString, &'static str> {
    use secrecy::ExposeSecret as _;
    let rule = i18n::text(i18n::Msg::NewPasswordRule, Locale::En);
    let first = read_password(&format!("New password ({rule}): ")).ok_or("no password given")?;
    let second = read_password("The same password again: ").ok_or("no password given")?;
    match first.expose_secret() == second.expose_secret() {
        true => Ok(first),
        false => Err("the two passwords differ"),
    }
}
