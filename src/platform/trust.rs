//! Trust-store registration of the local CA (`qoltanba cert install|uninstall` and the tray's
//! "Trust certificate" item, both through [`install_for_user`]).
//!
//! Linux and other unix: NSS databases through `certutil` (Debian `libnss3-tools`): the user's
//! shared database `~/.pki/nssdb` (Chromium; created when missing) and every Firefox profile
//! under `~/.mozilla/firefox/*/` that has a `cert9.db` (SQL) or `cert8.db` (legacy DBM). The
//! CA is added with trust `C,,` — trusted to issue TLS server certificates only, never e-mail
//! or code signing. Windows: the current user's Root store with `certutil -user -addstore Root`
//! (untested here; `docs/security.md`).
//!
//! Every store the CA was added to is recorded in `trust-stores.json` in the data directory;
//! `uninstall` removes the CA from exactly those, and `install` first removes CAs it added
//! before (a renewed CA replaces the old one, which is never left trusted).
//!
//! Like all of `platform`, this uses no other module of the crate.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

/// The record of stores the CA was added to, in the data directory.
pub const RECORD_FILE: &str = "trust-stores.json";

/// Written by the user's own `qoltanba cert uninstall` (not by package removal): the daemon
/// then no longer adds its CA on start until `qoltanba cert install`.
pub const DECLINED_FILE: &str = "trust-declined";

/// Whether the user took the CA out of the trust stores themselves ([`DECLINED_FILE`]).
pub fn declined(data_dir: &Path) -> bool {
    data_dir.join(DECLINED_FILE).exists()
}

/// Records or forgets the user's choice to keep the CA out of the trust stores.
pub fn set_declined(data_dir: &Path, declined: bool) -> std::io::Result<()> {
    let path = data_dir.join(DECLINED_FILE);
    if declined {
        std::fs::create_dir_all(data_dir)?;
        return std::fs::write(path, "qoltanba cert uninstall\n");
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// One trust store the CA was added to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Store {
    /// `nss` or `windows-user-root`.
    pub kind: String,
    /// The NSS database (`sql:/home/u/.pki/nssdb`), or the Windows store name.
    pub location: String,
    /// The certificate's name in the store (NSS nickname, Windows CN).
    pub nickname: String,
}

/// Errors of the trust-store commands.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// `certutil` could not be run.
    #[error(
        "cannot run certutil ({0}); on Debian/Ubuntu install it with: apt install libnss3-tools"
    )]
    NoCertutil(std::io::Error),
    /// `certutil` failed on a store.
    #[error("certutil failed on {location}: {message}")]
    Certutil { location: String, message: String },
    /// The record could not be read or written.
    #[error("trust-store record {path}: {message}")]
    Record { path: String, message: String },
    /// The CA certificate could not be read.
    #[error("cannot read the local CA certificate: {0}")]
    Ca(String),
    /// Neither `HOME` nor `USERPROFILE` names the user's home directory.
    #[error("no home directory (HOME is not set)")]
    NoHome,
}

/// The NSS databases of the user with home directory `home`.
pub fn nss_databases(home: &Path) -> Vec<String> {
    let mut databases = vec![format!("sql:{}", home.join(".pki/nssdb").display())];
    let mut profiles: Vec<PathBuf> = std::fs::read_dir(home.join(".mozilla/firefox"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    profiles.sort();
    let found = profiles.into_iter().filter_map(|dir| {
        match (dir.join("cert9.db").exists(), dir.join("cert8.db").exists()) {
            (true, _) => Some(format!("sql:{}", dir.display())),
            (false, true) => Some(format!("dbm:{}", dir.display())),
            _ => None,
        }
    });
    databases.extend(found);
    databases
}

/// Adds the CA in `ca_pem` to the stores of the user running us ([`install`] with their home
/// directory). The one way the CA is trusted: `qoltanba cert install` and the tray's "Trust
/// certificate" item both call it, so `qoltanba cert uninstall` removes what either added.
pub fn install_for_user(ca_pem: &Path, data_dir: &Path) -> Result<Vec<Store>, TrustError> {
    install(ca_pem, data_dir, &home()?)
}

/// The user's home directory: `HOME`, else `USERPROFILE` (Windows).
pub fn home() -> Result<PathBuf, TrustError> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
        .ok_or(TrustError::NoHome)
}

/// Adds the CA in `ca_pem` to every store found, after removing CAs added before; records them.
pub fn install(ca_pem: &Path, data_dir: &Path, home: &Path) -> Result<Vec<Store>, TrustError> {
    uninstall(data_dir)?;
    let nickname = nickname(ca_pem)?;
    let mut added = Vec::new();
    let result = add_all(ca_pem, home, &nickname, &mut added);
    write_record(data_dir, &added)?;
    result.map(|()| added)
}

#[cfg(not(windows))]
fn add_all(
    ca_pem: &Path,
    home: &Path,
    nickname: &str,
    added: &mut Vec<Store>,
) -> Result<(), TrustError> {
    let shared = home.join(".pki/nssdb");
    if !shared.exists() {
        create_nss_db(&shared)?;
    }
    for location in nss_databases(home) {
        let ca = ca_pem.display().to_string();
        certutil(&["-A", "-n", nickname, "-t", "C,,", "-i", &ca, "-d", &location], &location)?;
        added.push(Store { kind: "nss".into(), location, nickname: nickname.to_string() });
    }
    Ok(())
}

#[cfg(windows)]
fn add_all(
    ca_pem: &Path,
    _home: &Path,
    nickname: &str,
    added: &mut Vec<Store>,
) -> Result<(), TrustError> {
    let ca = ca_pem.display().to_string();
    certutil(&["-user", "-f", "-addstore", "Root", &ca], "Root")?;
    added.push(Store {
        kind: "windows-user-root".into(),
        location: "Root".into(),
        nickname: nickname.to_string(),
    });
    Ok(())
}

#[cfg(not(windows))]
fn create_nss_db(dir: &Path) -> Result<(), TrustError> {
    let location = format!("sql:{}", dir.display());
    std::fs::create_dir_all(dir)
        .map_err(|e| TrustError::Certutil { location: location.clone(), message: e.to_string() })?;
    certutil(&["-N", "--empty-password", "-d", &location], &location)
}

/// Removes the CA from every store recorded, then forgets them. A store where the CA is gone
/// already (or the database was deleted) counts as removed.
pub fn uninstall(data_dir: &Path) -> Result<Vec<Store>, TrustError> {
    let stores = read_record(data_dir)?;
    let mut left = Vec::new();
    let mut removed = Vec::new();
    let mut first_error = None;
    for store in stores {
        match remove(&store) {
            Ok(()) => removed.push(store),
            Err(e) => {
                first_error.get_or_insert(e);
                left.push(store);
            }
        }
    }
    write_record(data_dir, &left)?;
    match first_error {
        Some(e) => Err(e),
        None => Ok(removed),
    }
}

fn remove(store: &Store) -> Result<(), TrustError> {
    if store.kind == "windows-user-root" {
        return certutil(&["-user", "-delstore", "Root", &store.nickname], "Root");
    }
    if !contains(store) {
        return Ok(());
    }
    certutil(&["-D", "-n", &store.nickname, "-d", &store.location], &store.location)
}

/// Whether the NSS database of `store` holds its certificate.
pub fn contains(store: &Store) -> bool {
    Command::new("certutil")
        .args(["-L", "-n", &store.nickname, "-d", &store.location])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// The trust flags (`C,,`) of `nickname` in the NSS database `location` (`sql:/…`), `None`
/// when the database does not hold it; for `qoltanba doctor`.
pub fn nss_trust(location: &str, nickname: &str) -> Result<Option<String>, TrustError> {
    let output = Command::new("certutil")
        .args(["-L", "-d", location])
        .output()
        .map_err(TrustError::NoCertutil)?;
    if !output.status.success() {
        let message = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err(TrustError::Certutil { location: location.to_string(), message });
    }
    Ok(trust_flags(&String::from_utf8_lossy(&output.stdout), nickname))
}

/// The flags of `nickname` in a `certutil -L` listing: each line is the nickname, spaces, then
/// the flags.
fn trust_flags(listing: &str, nickname: &str) -> Option<String> {
    listing.lines().find_map(|line| {
        let (name, flags) = line.trim_end().rsplit_once(char::is_whitespace)?;
        (name.trim_end() == nickname).then(|| flags.to_string())
    })
}

/// Whether the current user's Windows Root store holds a certificate named `common_name`
/// (`certutil -user -store Root`); for `qoltanba doctor`, untested here.
pub fn in_user_root(common_name: &str) -> Result<bool, TrustError> {
    let output = Command::new("certutil")
        .args(["-user", "-store", "Root", common_name])
        .output()
        .map_err(TrustError::NoCertutil)?;
    Ok(output.status.success())
}

fn certutil(args: &[&str], location: &str) -> Result<(), TrustError> {
    let output = Command::new("certutil").args(args).output().map_err(TrustError::NoCertutil)?;
    if output.status.success() {
        return Ok(());
    }
    let message = String::from_utf8_lossy(&output.stderr).trim().to_string();
    Err(TrustError::Certutil { location: location.to_string(), message })
}

/// The store name of the CA: its subject CN (`Qoltanba local CA (…)`), unique per CA.
pub fn nickname(ca_pem: &Path) -> Result<String, TrustError> {
    let pem = std::fs::read(ca_pem).map_err(|e| TrustError::Ca(e.to_string()))?;
    let der = rustls_pemfile::certs(&mut pem.as_slice())
        .next()
        .ok_or_else(|| TrustError::Ca("no certificate in ca.pem".into()))?
        .map_err(|e| TrustError::Ca(e.to_string()))?;
    subject_cn(der.as_ref())
}

/// The subject CN of our own CA (rcgen writes it as a UTF8String). Read with `x509-cert`
/// directly: `platform` uses no module of this crate (not `crypto::Certificate`).
fn subject_cn(der: &[u8]) -> Result<String, TrustError> {
    use der::Decode as _;
    const COMMON_NAME: der::asn1::ObjectIdentifier =
        der::asn1::ObjectIdentifier::new_unwrap("2.5.4.3");
    let certificate =
        x509_cert::Certificate::from_der(der).map_err(|e| TrustError::Ca(e.to_string()))?;
    let subject = certificate.tbs_certificate.subject;
    subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|a| a.oid == COMMON_NAME)
        .and_then(|a| std::str::from_utf8(a.value.value()).ok().map(str::to_owned))
        .ok_or_else(|| TrustError::Ca("the CA has no common name".into()))
}

fn record_path(data_dir: &Path) -> PathBuf {
    data_dir.join(RECORD_FILE)
}

/// The stores recorded in `data_dir` (none when there is no record).
pub fn read_record(data_dir: &Path) -> Result<Vec<Store>, TrustError> {
    let path = record_path(data_dir);
    let error = |message: String| TrustError::Record { path: path.display().to_string(), message };
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| error(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(error(e.to_string())),
    }
}

fn write_record(data_dir: &Path, stores: &[Store]) -> Result<(), TrustError> {
    let path = record_path(data_dir);
    let error = |message: String| TrustError::Record { path: path.display().to_string(), message };
    if stores.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(error(e.to_string())),
            _ => Ok(()),
        };
    }
    std::fs::create_dir_all(data_dir).map_err(|e| error(e.to_string()))?;
    let text = serde_json::to_string_pretty(stores).map_err(|e| error(e.to_string()))?;
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, text).map_err(|e| error(e.to_string()))?;
    std::fs::rename(&temporary, &path).map_err(|e| error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firefox_profiles_and_the_shared_database_are_found() {
        let home = tempfile::tempdir().expect("home");
        let profile = home.path().join(".mozilla/firefox/abc.default-release");
        let legacy = home.path().join(".mozilla/firefox/old.default");
        let empty = home.path().join(".mozilla/firefox/empty");
        for dir in [&profile, &legacy, &empty] {
            std::fs::create_dir_all(dir).expect("mkdir");
        }
        std::fs::write(profile.join("cert9.db"), b"").expect("db");
        std::fs::write(legacy.join("cert8.db"), b"").expect("db");
        let found = nss_databases(home.path());
        assert_eq!(
            found,
            vec![
                format!("sql:{}", home.path().join(".pki/nssdb").display()),
                format!("sql:{}", profile.display()),
                format!("dbm:{}", legacy.display()),
            ]
        );
    }

    #[test]
    fn trust_flags_are_read_from_a_certutil_listing() {
        let listing =
            "\nCertificate Nickname                                         Trust Attributes\n\
                       SSL,S/MIME,JAR/XPI\n\n\
                       Qoltanba local CA (ab12)                                     C,,  \n\
                       Other CA                                                     CT,C,C\n";
        assert_eq!(trust_flags(listing, "Qoltanba local CA (ab12)"), Some("C,,".to_string()));
        assert_eq!(trust_flags(listing, "Other CA"), Some("CT,C,C".to_string()));
        assert_eq!(trust_flags(listing, "Qoltanba local CA (ffff)"), None);
    }

    #[test]
    fn the_record_round_trips_and_an_empty_one_is_deleted() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store { kind: "nss".into(), location: "sql:/x".into(), nickname: "n".into() };
        write_record(dir.path(), std::slice::from_ref(&store)).expect("write");
        assert_eq!(read_record(dir.path()).expect("read"), vec![store]);
        write_record(dir.path(), &[]).expect("write");
        assert!(!dir.path().join(RECORD_FILE).exists());
        assert!(read_record(dir.path()).expect("read").is_empty());
    }
}
