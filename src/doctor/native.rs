//! The native-messaging host of the browser extension: for each browser whose profile
//! directory exists (or whose manifest is found anyway), `kz.qoltanba.native.json` in the
//! user scope, then the system scope (`installer/native-messaging/README.md`; on Windows the
//! registry keys naming the manifest). A manifest must parse, name our host, be of type `stdio`,
//! point at an executable program and allow our extension; the browsers, places, name and
//! extension IDs come from [`crate::platform::browsers`].

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Finding, Say, Status, Topic};
use crate::ui::i18n::doctor::DoctorMsg;

#[cfg(test)]
use crate::platform::browsers::CHROMIUM_TEMPLATE;
use crate::platform::browsers::{Browser, BROWSERS, HOST};

/// One finding per browser found; a warning when there is none.
pub(super) fn check(home: &Path, root: &Path, say: Say) -> Vec<Finding> {
    let mut findings = Vec::new();
    for browser in &BROWSERS {
        let (manifest, places) = locate(browser, home, root);
        let finding = match manifest {
            Some(manifest) => judge(browser, &manifest, say),
            None if home.join(browser.profile).is_dir() => {
                let values = [("browser", browser.name), ("host", HOST), ("places", &places)];
                let text = say.text(DoctorMsg::HostMissing, &values);
                say.fixable(Topic::NativeHost, Status::Problem, text, DoctorMsg::FixHost)
            }
            None => continue,
        };
        findings.push(finding);
    }
    if findings.is_empty() {
        let text = say.text(DoctorMsg::HostNoBrowser, &[]);
        findings.push(say.finding(Topic::NativeHost, Status::Warning, text));
    }
    findings
}

/// The manifest registered for `browser`, if any, and the places looked at (for the message).
#[cfg(not(windows))]
fn locate(browser: &Browser, home: &Path, root: &Path) -> (Option<PathBuf>, String) {
    let file = format!("{HOST}.json");
    let places = [home.join(browser.user), root.join(browser.system)];
    let found = places.iter().map(|dir| dir.join(&file)).find(|path| path.exists());
    let shown: Vec<String> = places.iter().map(|p| super::shown(p)).collect();
    (found, shown.join(", "))
}

/// The manifest the registry names for `browser` (HKCU first, then HKLM).
#[cfg(windows)]
fn locate(browser: &Browser, _home: &Path, _root: &Path) -> (Option<PathBuf>, String) {
    let keys = [format!(r"HKCU\{}", browser.user), format!(r"HKLM\{}", browser.system)];
    let found = keys.iter().find_map(|key| {
        let out = std::process::Command::new("reg").args(["query", key, "/ve"]).output().ok()?;
        out.status.success().then(|| default_value(&String::from_utf8_lossy(&out.stdout)))?
    });
    (found.map(PathBuf::from), keys.join(", "))
}

/// The default value in `reg query KEY /ve` output: `    (Default)    REG_SZ    C:\…\x.json`.
#[cfg_attr(not(windows), allow(dead_code))] // tested everywhere, used on Windows
fn default_value(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let (_, value) = line.split_once("REG_SZ")?;
        Some(value.trim().to_string()).filter(|v| !v.is_empty())
    })
}

/// The finding for a manifest found for `browser`.
fn judge(browser: &Browser, manifest: &Path, say: Say) -> Finding {
    let shown = super::shown(manifest);
    match problem(browser, manifest, say) {
        None => {
            let values = [("browser", browser.name), ("host", HOST), ("manifest", &shown)];
            say.finding(Topic::NativeHost, Status::Ok, say.text(DoctorMsg::HostOk, &values))
        }
        Some(reason) => {
            let values = [("browser", browser.name), ("manifest", &shown), ("reason", &reason)];
            let text = say.text(DoctorMsg::HostInvalid, &values);
            say.fixable(Topic::NativeHost, Status::Problem, text, DoctorMsg::FixHost)
        }
    }
}

/// What is wrong with a manifest, in words; `None` when it is right.
fn problem(browser: &Browser, manifest: &Path, say: Say) -> Option<String> {
    let read = std::fs::read(manifest).ok();
    let parsed = read.and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    let Some(json) = parsed.filter(Value::is_object) else {
        return Some(say.text(DoctorMsg::ReasonNotJson, &[]));
    };
    let template: Value = serde_json::from_str(browser.template).unwrap_or_default();
    if json["name"] != template["name"] {
        return Some(say.text(DoctorMsg::ReasonWrongName, &[("host", HOST)]));
    }
    if json["type"] != "stdio" {
        return Some(say.text(DoctorMsg::ReasonNotStdio, &[]));
    }
    if let Some(reason) = program_problem(&json["path"], manifest, say) {
        return Some(reason);
    }
    let wanted = template[browser.allowed].as_array().cloned().unwrap_or_default();
    let given = json[browser.allowed].as_array().cloned().unwrap_or_default();
    let allowed = !wanted.is_empty() && wanted.iter().all(|w| given.contains(w));
    (!allowed).then(|| say.text(DoctorMsg::ReasonWrongExtension, &[]))
}

/// Whether the manifest's `path` names an executable program (relative: to the manifest).
fn program_problem(path: &Value, manifest: &Path, say: Say) -> Option<String> {
    let text = path.as_str().unwrap_or_default();
    let program = match Path::new(text) {
        p if p.is_absolute() => p.to_path_buf(),
        p => manifest.parent().unwrap_or(Path::new("")).join(p),
    };
    let values = [("path", text)];
    if text.is_empty() || !program.is_file() {
        return Some(say.text(DoctorMsg::ReasonNoProgram, &values));
    }
    (!executable(&program)).then(|| say.text(DoctorMsg::ReasonNotExecutable, &values))
}

#[cfg(unix)]
fn executable(program: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    program.metadata().is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn executable(_program: &Path) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::i18n::Locale;

    #[test]
    fn the_registry_default_value_is_read() {
        let out = "\r\nHKEY_CURRENT_USER\\Software\\Google\\Chrome\\NativeMessagingHosts\\kz.qoltanba.native\r\n    (Default)    REG_SZ    C:\\Program Files\\Qoltanba\\kz.qoltanba.native.json\r\n";
        assert_eq!(
            default_value(out).as_deref(),
            Some("C:\\Program Files\\Qoltanba\\kz.qoltanba.native.json")
        );
        assert_eq!(default_value("ERROR: not found"), None);
    }

    #[cfg(unix)]
    #[test]
    fn each_manifest_fault_is_named() {
        let dir = tempfile::tempdir().expect("dir");
        let host = dir.path().join("native-host");
        std::fs::write(&host, "#!/bin/sh\n").expect("host");
        let manifest = dir.path().join("m.json");
        let say = Say(Locale::En);
        let browsers = BROWSERS;
        let browser = &browsers[1];
        let with = |text: String| {
            std::fs::write(&manifest, text).expect("write");
            problem(browser, &manifest, say)
        };
        let good = CHROMIUM_TEMPLATE.replace("@HOST_PATH@", &host.display().to_string());
        assert_eq!(
            with(good.clone()).as_deref(),
            Some(format!("the program {} is not executable", host.display()).as_str())
        );
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(with(good.clone()), None);
        assert_eq!(with("{".into()).as_deref(), Some("it is not a JSON manifest"));
        let renamed = good.replace(HOST, "kz.other");
        assert_eq!(with(renamed).as_deref(), Some("its name is not kz.qoltanba.native"));
        let foreign = good.replace("laligpnnhopilbfbgnjgjnfnjejjainp", "aaaa");
        assert_eq!(with(foreign).as_deref(), Some("it does not allow the Qoltanba extension"));
        let gone = CHROMIUM_TEMPLATE.replace("@HOST_PATH@", "/nonexistent/host");
        assert_eq!(with(gone).as_deref(), Some("the program /nonexistent/host does not exist"));
    }
}
