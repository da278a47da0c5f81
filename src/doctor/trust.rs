//! The local CA in the browsers' trust stores: on Linux every NSS database
//! `platform::trust::nss_databases` finds (`~/.pki/nssdb`, Firefox profiles) that exists, read
//! with `certutil -L`, must hold our current CA (by its nickname, the CA's CN) with trust `C,,`;
//! on Windows the current user's Root store (untested here).

use std::path::Path;

use super::{Finding, Say, Status, Topic};
use crate::platform::paths::Paths;
use crate::platform::trust::{self, TrustError};
use crate::transport::tls::CA_FILE;
use crate::ui::i18n::doctor::DoctorMsg;

/// One finding per store, or one saying why none could be checked.
pub(super) fn check(paths: &Paths, home: &Path, say: Say) -> Vec<Finding> {
    let ca = paths.tls_dir().join(CA_FILE);
    let ca_shown = super::shown(&ca);
    if !ca.exists() {
        let text = say.text(DoctorMsg::TrustNoCa, &[("ca", &ca_shown)]);
        return vec![say.fixable(Topic::Trust, Status::Warning, text, DoctorMsg::FixNoCa)];
    }
    match trust::nickname(&ca) {
        Ok(nickname) => stores(&nickname, home, say),
        Err(e) => {
            let values = [("ca", ca_shown.as_str()), ("reason", &e.to_string())];
            let text = say.text(DoctorMsg::TrustBadCa, &values);
            vec![say.fixable(Topic::Trust, Status::Problem, text, DoctorMsg::FixBadCa)]
        }
    }
}

#[cfg(not(windows))]
fn stores(nickname: &str, home: &Path, say: Say) -> Vec<Finding> {
    let found: Vec<String> =
        trust::nss_databases(home).into_iter().filter(|db| exists(db)).collect();
    if found.is_empty() {
        let text = say.text(DoctorMsg::TrustNoStores, &[]);
        return vec![say.fixable(Topic::Trust, Status::Warning, text, DoctorMsg::FixNoStores)];
    }
    let mut findings = Vec::new();
    for db in found {
        match trust::nss_trust(&db, nickname) {
            Err(TrustError::NoCertutil(_)) => {
                let text = say.text(DoctorMsg::TrustNoCertutil, &[]);
                return vec![say.fixable(
                    Topic::Trust,
                    Status::Problem,
                    text,
                    DoctorMsg::FixNoCertutil,
                )];
            }
            result => findings.push(judge(&db, result, say)),
        }
    }
    findings
}

/// Whether an NSS database (`sql:DIR` or `dbm:DIR`) is there.
#[cfg(not(windows))]
fn exists(db: &str) -> bool {
    match db.split_once(':') {
        Some(("sql", dir)) => Path::new(dir).join("cert9.db").exists(),
        Some(("dbm", dir)) => Path::new(dir).join("cert8.db").exists(),
        _ => false,
    }
}

#[cfg(windows)]
fn stores(nickname: &str, _home: &Path, say: Say) -> Vec<Finding> {
    let store = "Root (current user)";
    let result = trust::in_user_root(nickname).map(|found| found.then(|| "C,,".to_string()));
    if let Err(TrustError::NoCertutil(_)) = result {
        let text = say.text(DoctorMsg::TrustUnchecked, &[("store", store), ("reason", "certutil")]);
        return vec![say.finding(Topic::Trust, Status::Warning, text)];
    }
    vec![judge(store, result, say)]
}

/// The finding for one store from the CA's trust flags in it.
fn judge(store: &str, flags: Result<Option<String>, TrustError>, say: Say) -> Finding {
    match flags {
        Ok(Some(flags)) if flags.split(',').next().is_some_and(|tls| tls.contains('C')) => {
            say.finding(Topic::Trust, Status::Ok, say.text(DoctorMsg::TrustOk, &[("store", store)]))
        }
        Ok(Some(flags)) => {
            let text = say.text(DoctorMsg::TrustWrongFlags, &[("store", store), ("flags", &flags)]);
            say.fixable(Topic::Trust, Status::Problem, text, DoctorMsg::FixTrust)
        }
        Ok(None) => {
            let text = say.text(DoctorMsg::TrustMissing, &[("store", store)]);
            say.fixable(Topic::Trust, Status::Problem, text, DoctorMsg::FixTrust)
        }
        Err(e) => {
            let text = say
                .text(DoctorMsg::TrustUnchecked, &[("store", store), ("reason", &e.to_string())]);
            say.finding(Topic::Trust, Status::Warning, text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::i18n::Locale;

    #[test]
    fn trust_flags_decide_the_finding() {
        let say = Say(Locale::En);
        assert_eq!(judge("db", Ok(Some("C,,".into())), say).status, Status::Ok);
        assert_eq!(judge("db", Ok(Some("CT,C,C".into())), say).status, Status::Ok);
        let wrong = judge("db", Ok(Some(",,".into())), say);
        assert_eq!(wrong.status, Status::Problem);
        assert!(wrong.fix.as_deref().unwrap_or_default().contains("qoltanba cert install"));
        let missing = judge("sql:/h/.pki/nssdb", Ok(None), say);
        assert_eq!(missing.text, "The local CA is not trusted in sql:/h/.pki/nssdb: browsers using this store will refuse wss://127.0.0.1:13579.");
    }

    #[test]
    fn a_data_directory_without_a_ca_is_a_warning() {
        let dir = tempfile::tempdir().expect("dir");
        let paths = Paths::resolve(Some(dir.path())).expect("paths");
        let findings = check(&paths, dir.path(), Say(Locale::Kk));
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].status, Status::Warning);
        assert!(findings[0].text.starts_with("Жергілікті КО әлі жоқ"), "{findings:?}");
    }
}
