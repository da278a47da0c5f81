//! The security commands: the IT policy `run` starts with, `qoltanba policy`, `qoltanba history`,
//! `qoltanba cert install|uninstall`, and `qoltanba doctor`'s report (its checks are in the
//! library, `qoltanba::doctor`).

use qoltanba::cli::{CertAction, DoctorArgs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use qoltanba::config::{Policy, PolicySources, Settings, SourceKind};
use qoltanba::daemon::{origin_policy, token_modules};
use qoltanba::platform::clock::Clock;
use qoltanba::platform::paths::Paths;
use qoltanba::platform::trust;
use qoltanba::service::audit::{self, Journal};
use qoltanba::service::policy::{Mode, OriginPolicy};
use qoltanba::transport::tls::LocalCa;

use super::Failure;

/// The IT policy of this computer (file and registry), with where it came from.
pub fn it_policy() -> Result<(Policy, PolicySources), Failure> {
    Policy::load_system().map_err(|e| e.to_string())
}

/// `qoltanba policy`: the policy in force and the sources it was read from, for IT and support.
pub fn policy(paths: &Paths, settings: &Settings, config: &Path) -> Result<(), Failure> {
    let (it, sources) = it_policy()?;
    print_sources(&sources, config);
    let policy = origin_policy(paths, settings, &it);
    print_origin_policy(&policy, it.policy.mode == Some(Mode::Allowlist));
    let tsa_set_by = if it.tsa.url.is_some() { " (set by IT)" } else { "" };
    println!("{:<20}{}{tsa_set_by}", "time-stamps (TSA)", it.tsa.url_over(&settings.tsa));
    for (name, paths) in token_modules(settings, &it).entries() {
        let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        println!("{:<20}{name} = {}", "token module", paths.join("; "));
    }
    Ok(())
}

fn print_sources(sources: &PolicySources, config: &Path) {
    for source in sources.places(config) {
        let label = match source.kind {
            SourceKind::ItFile => "IT policy file",
            SourceKind::ItRegistry => "IT registry key",
            SourceKind::UserConfig => "user config",
        };
        let read = if source.read { "read" } else { "not present" };
        println!("{label:<20}{} ({read})", source.place);
    }
}

fn print_origin_policy(policy: &OriginPolicy, set_by_it: bool) {
    let (mode, builtin) = match (policy.mode(), set_by_it) {
        (Mode::Allowlist, true) => ("allowlist (set by IT)", "not used in allowlist mode"),
        (Mode::Allowlist, false) => ("allowlist", "not used in allowlist mode"),
        (Mode::Prompt, _) => ("prompt", "trusted (docs/portals.md)"),
    };
    println!("{:<20}{mode}", "mode");
    let allowed: Vec<String> = policy.allowed().iter().map(ToString::to_string).collect();
    let allowed = if allowed.is_empty() { "-".to_string() } else { allowed.join(", ") };
    println!("{:<20}{allowed}", "allowed origins");
    println!("{:<20}{builtin}", "built-in portals");
    let local = if policy.allows_local_programs() { "allowed" } else { "refused" };
    println!("{:<20}{local}", "local programs");
    let limits = policy.limits();
    println!("{:<20}{}", "prompts per minute", limits.prompts_per_minute);
    println!("{:<20}{}", "rejections/minute", limits.rejections_per_minute);
    println!("{:<20}{} s", "cool-down", limits.cooldown.as_secs());
    println!("{:<20}{}", "queued requests", limits.max_queued);
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
            let ca = LocalCa::load_or_create(&paths.tls_dir(), Clock::for_process())
                .map_err(|e| e.to_string())?;
            let stores = trust::install_for_user(ca.ca_pem_path(), &paths.data_dir)
                .map_err(|e| e.to_string())?;
            trust::set_declined(&paths.data_dir, false).map_err(|e| e.to_string())?;
            for store in stores {
                println!("added {} to {}", store.nickname, store.location);
            }
        }
        CertAction::Uninstall { package_removal } => {
            let stores = trust::uninstall(&paths.data_dir).map_err(|e| e.to_string())?;
            if !package_removal {
                trust::set_declined(&paths.data_dir, true).map_err(|e| e.to_string())?;
            }
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

/// `qoltanba install-browser-support [--remove]`: the user's registration of the extension's
/// native-messaging host (the host program in the data directory, a manifest per browser).
pub fn browser_support(paths: &Paths, globals: &[String], remove: bool) -> Result<(), Failure> {
    use qoltanba::platform::browsers;
    let home = trust::home().map_err(|e| e.to_string())?;
    let dir = paths.data_dir.join("native-messaging");
    if remove {
        let removed = browsers::remove_for_user(&home, &dir).map_err(|e| e.to_string())?;
        if removed.is_empty() {
            println!("the native-messaging host was not registered for this user");
        }
        for done in removed {
            println!("{}: removed {}", done.browser, done.place);
        }
        return Ok(());
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find qoltanba: {e}"))?;
    let done = browsers::install_for_user(&home, &dir, &exe, globals)
        .map_err(|e| format!("cannot register the native-messaging host: {e}"))?;
    for done in done {
        println!("{}: registered {} in {}", done.browser, browsers::HOST, done.place);
    }
    Ok(())
}

/// `qoltanba doctor`: the report as text (in `--lang`, else the configured language) or JSON;
/// exit code 1 when it found a problem.
pub fn doctor(
    paths: Paths,
    settings: &Settings,
    config_file: PathBuf,
    args: &DoctorArgs,
) -> Result<ExitCode, Failure> {
    use qoltanba::ui::i18n::Locale;
    let locale = match &args.lang {
        Some(code) => Locale::parse(code).ok_or(format!("--lang {code:?}: use kk, ru or en"))?,
        None => Locale::parse_or_default(&settings.ui.locale),
    };
    let home = trust::home().map_err(|e| e.to_string())?;
    let root = args.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let places = qoltanba::doctor::Places { home, root, paths, config_file };
    let report = qoltanba::doctor::examine(&places, settings, locale);
    match args.json {
        true => println!("{}", report.json()),
        false => print!("{}", report.text(locale)),
    }
    Ok(if report.problems() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
