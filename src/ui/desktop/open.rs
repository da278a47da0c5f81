//! What the tray's menu items open: a folder or file in the desktop's default application, the
//! local CA added to the browsers' certificate store (NSS via `certutil` on Linux, the user's
//! Root store on Windows), the config file. Failures are logged; nothing here can stop the daemon.

use std::path::Path;
use std::process::Command;

/// Opens `path` (or URL) with the desktop's default application.
pub fn open(path: impl AsRef<std::ffi::OsStr>) {
    #[cfg(windows)]
    let result = Command::new("explorer").arg(path.as_ref()).spawn();
    #[cfg(not(windows))]
    let result = Command::new("xdg-open").arg(path.as_ref()).spawn();
    if let Err(e) = result {
        tracing::warn!("cannot open {:?}: {e}", path.as_ref());
    }
}

/// Adds the daemon's local CA to the browsers' stores; when that tool is missing, opens the
/// status page, which explains the manual steps.
pub fn trust_local_ca(data_dir: &Path, listening: &[String]) {
    let ca = data_dir.join("tls").join("ca.pem");
    if ca.exists() && add_to_store(&ca) {
        return;
    }
    if let Some(url) = listening.iter().find(|u| u.starts_with("wss://")) {
        open(url.replacen("wss://", "https://", 1));
    }
}

#[cfg(not(windows))]
fn add_to_store(ca: &Path) -> bool {
    let Some(home) = std::env::var_os("HOME") else { return false };
    let db = Path::new(&home).join(".pki/nssdb");
    if std::fs::create_dir_all(&db).is_err() {
        return false;
    }
    let status = Command::new("certutil")
        .arg("-d")
        .arg(format!("sql:{}", db.display()))
        .args(["-A", "-t", "C,,", "-n", "Qoltanba local CA", "-i"])
        .arg(ca)
        .status();
    matches!(status, Ok(s) if s.success())
}

#[cfg(windows)]
fn add_to_store(ca: &Path) -> bool {
    let status = Command::new("certutil").args(["-user", "-addstore", "Root"]).arg(ca).status();
    matches!(status, Ok(s) if s.success())
}

/// Opens the config file, creating it with a commented template first.
pub fn edit_config(file: &Path) {
    if !file.exists() {
        let template = "# Qoltanba settings: see docs/configuration.md\n\
                        # [ui]\n# locale = \"kk\"\n";
        let created = file.parent().map_or(Ok(()), std::fs::create_dir_all);
        if let Err(e) = created.and_then(|()| std::fs::write(file, template)) {
            tracing::warn!("cannot create {}: {e}", file.display());
        }
    }
    open(file);
}
