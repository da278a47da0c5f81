//! `qoltanba keygen` and `qoltanba install-cert`: getting a key from the command line, for
//! people and scripts (docs/issuance.md). `keygen` makes a GOST-2015-512 key, writes its
//! request to a file and keeps the key, encrypted with the new password, in the data
//! directory's `waiting` folder; `install-cert` installs the certificate the NCA issued for it
//! as `GOST512_<id>.p12` in the folder named at `keygen`. With `--store` naming a token, the
//! token makes the key (GOST-2015-512, or RSA-2048 with `--algorithm rsa2048`) and
//! `install-cert` writes the certificate next to it. Must not: print a password or PIN.

use std::path::Path;

use secrecy::{ExposeSecret as _, SecretString};

use std::sync::Arc;

use qoltanba::crypto::csr::RequestFields;
use qoltanba::crypto::SignatureAlgorithm;
use qoltanba::keystore::waiting::{self, Destination, Waiting};
use qoltanba::keystore::{StorageName, TokenStores};
use qoltanba::platform::paths::Paths;

/// What `keygen` is asked for.
pub struct KeygenRequest<'a> {
    /// The subject DN.
    pub subject: &'a str,
    /// The e-mail.
    pub email: Option<&'a str>,
    /// The storage name.
    pub store: &'a str,
    /// The kind of key.
    pub algorithm: SignatureAlgorithm,
    /// The folder of the key file (file stores).
    pub folder: Option<&'a Path>,
    /// Where the request goes.
    pub out: &'a Path,
    /// The environment variable holding the new password.
    pub password_env: Option<&'a str>,
}

/// The waiting keys of the data directory, on files and the tokens of `tokens`.
pub fn waiting(paths: &Paths, tokens: Arc<dyn TokenStores>) -> Waiting {
    Waiting::with_tokens(paths.data_dir.join(waiting::DIR), tokens)
}

/// Runs `keygen`.
pub fn keygen(waiting: &Waiting, request: &KeygenRequest<'_>) -> Result<(), String> {
    let store = StorageName::parse(request.store).map_err(|e| format!("--store: {e}"))?;
    let fields = RequestFields {
        subject: request.subject.to_string(),
        email: request.email.map(str::to_string),
        storage: store.to_string(),
        folder: None,
    };
    waiting.can_make(&store, request.algorithm).map_err(|e| e.to_string())?;
    let made = match store.is_file() {
        true => {
            let folder = request.folder.ok_or("--folder is needed for a key file (PKCS12)")?;
            let folder = std::path::absolute(folder).map_err(|e| e.to_string())?;
            let password = new_password(request.password_env)?;
            waiting.new_file_key(&fields, &folder, &password)
        }
        false => {
            let pin = secret(request.password_env, "PIN of the token: ")?;
            waiting.new_token_key(&fields, &store, &pin, request.algorithm)
        }
    }
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
pub fn install_cert(
    waiting: &Waiting,
    file: &Path,
    password_env: Option<&str>,
) -> Result<(), String> {
    let input = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if waiting.keys().is_empty() {
        return Err("no key is waiting for a certificate (run `qoltanba keygen` first)".into());
    }
    let (_, destination) = waiting.destination(&input).map_err(|e| e.to_string())?;
    let question = match destination {
        Destination::File(_) => "Password of the new key: ",
        Destination::Token { .. } => "PIN of the token: ",
    };
    let secret = secret(password_env, question)?;
    let installed = waiting.install(&input, &secret).map_err(|e| e.to_string())?;
    println!("installed: {}", installed.destination);
    println!("subject:   {}", installed.certificate.subject_dn());
    Ok(())
}

/// A secret from the environment variable `env`, or typed after `question`.
fn secret(env: Option<&str>, question: &str) -> Result<SecretString, String> {
    match env {
        Some(var) => std::env::var(var)
            .map(SecretString::from)
            .map_err(|_| format!("environment variable {var} is not set")),
        None => qoltanba::ui::tty::read_password(question).ok_or_else(|| "nothing given".into()),
    }
}

/// The new password: from `env`, or typed twice.
fn new_password(env: Option<&str>) -> Result<SecretString, String> {
    if env.is_some() {
        return secret(env, "");
    }
    let password = qoltanba::ui::tty::read_new_password()?;
    waiting::check_password(password.expose_secret()).map_err(|e| format!("the password: {e}"))?;
    Ok(password)
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
