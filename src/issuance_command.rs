//! `qoltanba keygen` and `qoltanba install-cert`: getting a key from the command line, for
//! people and scripts (docs/issuance.md). `keygen` makes a GOST-2015-512 key, writes its
//! request to a file and keeps the key, encrypted with the new password, in the data
//! directory's `waiting` folder; `install-cert` installs the certificate the NCA issued for it
//! as `GOST512_<id>.p12` in the folder named at `keygen`. Must not: print a password.

use std::path::Path;

use secrecy::{ExposeSecret as _, SecretString};

use qoltanba::crypto::csr::RequestFields;
use qoltanba::keystore::waiting::{self, Waiting};
use qoltanba::platform::paths::Paths;

/// What `keygen` is asked for.
pub struct KeygenRequest<'a> {
    /// The subject DN.
    pub subject: &'a str,
    /// The e-mail.
    pub email: Option<&'a str>,
    /// The folder of the key file.
    pub folder: &'a Path,
    /// Where the request goes.
    pub out: &'a Path,
    /// The environment variable holding the new password.
    pub password_env: Option<&'a str>,
}

/// Runs `keygen`.
pub fn keygen(paths: &Paths, request: &KeygenRequest<'_>) -> Result<(), String> {
    let password = new_password(request.password_env)?;
    let fields = RequestFields {
        subject: request.subject.to_string(),
        email: request.email.map(str::to_string),
        storage: qoltanba::keystore::storage::PKCS12.to_string(),
        folder: None,
    };
    let folder = std::path::absolute(request.folder).map_err(|e| e.to_string())?;
    let made = Waiting::new(paths.data_dir.join(waiting::DIR))
        .new_file_key(&fields, &folder, &password)
        .map_err(|e| e.to_string())?;
    let pem = request.out.extension().is_some_and(|e| e.eq_ignore_ascii_case("pem"));
    let bytes = match pem {
        true => pem_request(&made.request).into_bytes(),
        false => made.request,
    };
    std::fs::write(request.out, bytes)
        .map_err(|e| format!("cannot write {}: {e}", request.out.display()))?;
    println!("key {} made; it waits for its certificate", made.key_id);
    println!("request written to {}", request.out.display());
    Ok(())
}

/// Runs `install-cert FILE`.
pub fn install_cert(paths: &Paths, file: &Path, password_env: Option<&str>) -> Result<(), String> {
    let input = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let waiting = Waiting::new(paths.data_dir.join(waiting::DIR));
    if waiting.keys().is_empty() {
        return Err("no key is waiting for a certificate (run `qoltanba keygen` first)".into());
    }
    let password = match password_env {
        Some(var) => std::env::var(var)
            .map(SecretString::from)
            .map_err(|_| format!("environment variable {var} is not set"))?,
        None => qoltanba::ui::tty::read_password("Password of the new key: ")
            .ok_or("no password given")?,
    };
    let installed = waiting.install(&input, &password).map_err(|e| e.to_string())?;
    println!("installed: {}", installed.destination);
    println!("subject:   {}", installed.certificate.subject_dn());
    Ok(())
}

/// The new password: from `env`, or typed twice.
fn new_password(env: Option<&str>) -> Result<SecretString, String> {
    if let Some(var) = env {
        return std::env::var(var)
            .map(SecretString::from)
            .map_err(|_| format!("environment variable {var} is not set"));
    }
    let rule = "at least 6 characters, with Latin capital and small letters and digits";
    let first = qoltanba::ui::tty::read_password(&format!("New password ({rule}): "))
        .ok_or("no password given")?;
    waiting::check_password(first.expose_secret()).map_err(|e| format!("the password: {e}"))?;
    let second =
        qoltanba::ui::tty::read_password("The same password again: ").ok_or("no password given")?;
    match first.expose_secret() == second.expose_secret() {
        true => Ok(first),
        false => Err("the two passwords differ".into()),
    }
}

/// A request in PEM.
fn pem_request(der: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> =
        text.as_bytes().chunks(64).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    format!(
        "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
        lines.join("\n")
    )
}
