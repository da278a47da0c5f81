//! The security side of the composition root: the origin policy, prompt limits and journal of
//! `run` (`[policy]` of the config merged with the IT policy file), `qoltanba history` and
//! `qoltanba cert install|uninstall`.

use qoltanba::cli::CertAction;
use qoltanba::config::{Policy, Settings};
use qoltanba::platform::paths::Paths;
use qoltanba::platform::trust;
use qoltanba::service::audit::{self, Journal};
use qoltanba::service::policy::OriginPolicy;
use qoltanba::service::Security;
use qoltanba::transport::tls::LocalCa;

use super::Failure;

/// File of the origins the user chose to trust, in the data directory.
const REMEMBERED_FILE: &str = "trusted-origins.txt";

/// The daemon's security: the user's `[policy]` under the IT policy file's, remembered
/// origins and the journal in the data directory.
pub fn security(paths: &Paths, settings: &Settings) -> Result<Security, Failure> {
    let it = Policy::load(&qoltanba::config::policy_path()).map_err(|e| e.to_string())?;
    let policy = OriginPolicy::merge(&settings.policy, &it.policy)
        .with_remembered(paths.data_dir.join(REMEMBERED_FILE));
    tracing::info!(mode = ?policy.mode(), limits = ?policy.limits(), "origin policy");
    let journal = Journal::new(paths.data_dir.join(audit::JOURNAL_FILE));
    Ok(Security::new(policy, Some(journal)))
}

/// `qoltanba history`: the journal as a table; torn lines are skipped with a note.
pub fn history(paths: &Paths, last: Option<usize>) -> Result<(), Failure> {
    let path = paths.data_dir.join(audit::JOURNAL_FILE);
    let (entries, skipped) = Journal::read(&path).map_err(|e| e.to_string())?;
    let from = last.map_or(0, |n| entries.len().saturating_sub(n));
    let shown = entries.get(from..).unwrap_or_default();
    if shown.is_empty() {
        println!("No signatures in the journal ({}).", path.display());
    } else {
        print!("{}", audit::table(shown));
    }
    if skipped > 0 {
        eprintln!("note: {skipped} damaged line(s) skipped (a write cut short by a crash)");
    }
    Ok(())
}

/// `qoltanba cert install|uninstall`.
pub fn cert(paths: &Paths, action: CertAction) -> Result<(), Failure> {
    match action {
        CertAction::Install => {
            let ca = LocalCa::load_or_create(&paths.tls_dir()).map_err(|e| e.to_string())?;
            let home = home()?;
            let stores = trust::install(ca.ca_pem_path(), &paths.data_dir, &home)
                .map_err(|e| e.to_string())?;
            for store in stores {
                println!("added {} to {}", store.nickname, store.location);
            }
        }
        CertAction::Uninstall => {
            let stores = trust::uninstall(&paths.data_dir).map_err(|e| e.to_string())?;
            if stores.is_empty() {
                println!("the local CA was not added to any trust store");
            }
            for store in stores {
                println!("removed {} from {}", store.nickname, store.location);
            }
        }
    }
    Ok(())
}

fn home() -> Result<std::path::PathBuf, Failure> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(std::path::PathBuf::from)
        .ok_or_else(|| "no home directory (HOME is not set)".into())
}
