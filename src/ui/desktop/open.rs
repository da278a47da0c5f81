//! What the tray's menu items open: a folder or file in the desktop's default application, the
//! local CA added to the browsers' trust stores (through `platform::trust`, the code of
//! `qoltanba cert install`), the config file. Failures are logged; nothing here can stop the
//! daemon.

use std::path::Path;
use std::process::Command;

use crate::platform::trust;

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

/// Adds the daemon's local CA (`ca`, its PEM file) to the user's trust stores exactly as `qoltanba cert install`
/// does ([`trust::install_for_user`], recorded so that `qoltanba cert uninstall` removes it);
/// when that fails (no `certutil`, …), opens the status page, which explains the manual steps.
pub fn trust_local_ca(ca: &Path, data_dir: &Path, listening: &[String]) {
    match trust::install_for_user(ca, data_dir) {
        Ok(stores) => {
            for store in stores {
                tracing::info!("added {} to {}", store.nickname, store.location);
            }
            return;
        }
        Err(e) => tracing::warn!("cannot add the local CA to the trust stores: {e}"),
    }
    if let Some(url) = listening.iter().find(|u| u.starts_with("wss://")) {
        open(url.replacen("wss://", "https://", 1));
    }
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
