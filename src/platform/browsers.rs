//! The browsers the extension runs in, and where each looks for the native-messaging host
//! `kz.qoltanba.native` (`../shared/spec/browsers.md` §3): the manifest directories of the
//! user and of the system on Linux, the registry keys naming the manifest on Windows. The
//! manifests are made from the installer's templates (`installer/native-messaging/`), the one
//! source of the host name and the extension IDs, which also say which callers the host serves.
//!
//! [`install_for_user`] writes the host program (a small script running `qoltanba native-host`,
//! since a manifest cannot pass arguments) and a manifest for every browser, in the user's
//! scope; [`remove_for_user`] takes back what it wrote. The packages do the system scope.
//! Must not: touch a manifest that is not ours.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The host name.
pub const HOST: &str = "kz.qoltanba.native";

/// The Chromium family's template (Chrome, Chromium, Edge).
pub const CHROMIUM_TEMPLATE: &str = include_str!("../../installer/native-messaging/chromium.json");
/// Firefox's template.
pub const FIREFOX_TEMPLATE: &str = include_str!("../../installer/native-messaging/firefox.json");

/// The field of a Chromium manifest listing who may start the host.
pub const CHROMIUM_ALLOWED: &str = "allowed_origins";
/// The field of a Firefox manifest listing who may start the host.
pub const FIREFOX_ALLOWED: &str = "allowed_extensions";

/// One browser: its name, template, profile directory (under home) and manifest places.
#[derive(Debug)]
pub struct Browser {
    /// The name users know.
    pub name: &'static str,
    /// The manifest template.
    pub template: &'static str,
    /// The template's field listing who may talk to the host.
    pub allowed: &'static str,
    /// The profile directory under home (its presence says the browser is used).
    pub profile: &'static str,
    /// Linux: the user-scope directory under home; Windows: the registry key under HKCU.
    pub user: &'static str,
    /// Linux: the system-scope directory under the root; Windows: the key under HKLM.
    pub system: &'static str,
    /// The manifest file [`install_for_user`] writes on Windows (in the data directory).
    pub file: &'static str,
}

/// The browsers of this system.
#[cfg(not(windows))]
pub const BROWSERS: [Browser; 4] = [
    Browser {
        name: "Chrome",
        template: CHROMIUM_TEMPLATE,
        allowed: CHROMIUM_ALLOWED,
        profile: ".config/google-chrome",
        user: ".config/google-chrome/NativeMessagingHosts",
        system: "etc/opt/chrome/native-messaging-hosts",
        file: "chromium.json",
    },
    Browser {
        name: "Chromium",
        template: CHROMIUM_TEMPLATE,
        allowed: CHROMIUM_ALLOWED,
        profile: ".config/chromium",
        user: ".config/chromium/NativeMessagingHosts",
        system: "etc/chromium/native-messaging-hosts",
        file: "chromium.json",
    },
    Browser {
        name: "Edge",
        template: CHROMIUM_TEMPLATE,
        allowed: CHROMIUM_ALLOWED,
        profile: ".config/microsoft-edge",
        user: ".config/microsoft-edge/NativeMessagingHosts",
        system: "etc/opt/edge/native-messaging-hosts",
        file: "chromium.json",
    },
    Browser {
        name: "Firefox",
        template: FIREFOX_TEMPLATE,
        allowed: FIREFOX_ALLOWED,
        profile: ".mozilla/firefox",
        user: ".mozilla/native-messaging-hosts",
        system: "usr/lib/mozilla/native-messaging-hosts",
        file: "firefox.json",
    },
];

/// The browsers of this system.
#[cfg(windows)]
pub const BROWSERS: [Browser; 3] = [
    Browser {
        name: "Chrome",
        template: CHROMIUM_TEMPLATE,
        allowed: CHROMIUM_ALLOWED,
        profile: r"AppData\Local\Google\Chrome\User Data",
        user: r"Software\Google\Chrome\NativeMessagingHosts\kz.qoltanba.native",
        system: r"Software\Google\Chrome\NativeMessagingHosts\kz.qoltanba.native",
        file: "chromium.json",
    },
    Browser {
        name: "Edge",
        template: CHROMIUM_TEMPLATE,
        allowed: CHROMIUM_ALLOWED,
        profile: r"AppData\Local\Microsoft\Edge\User Data",
        user: r"Software\Microsoft\Edge\NativeMessagingHosts\kz.qoltanba.native",
        system: r"Software\Microsoft\Edge\NativeMessagingHosts\kz.qoltanba.native",
        file: "chromium.json",
    },
    Browser {
        name: "Firefox",
        template: FIREFOX_TEMPLATE,
        allowed: FIREFOX_ALLOWED,
        profile: r"AppData\Roaming\Mozilla\Firefox",
        user: r"Software\Mozilla\NativeMessagingHosts\kz.qoltanba.native",
        system: r"Software\Mozilla\NativeMessagingHosts\kz.qoltanba.native",
        file: "firefox.json",
    },
];

/// A template's list of allowed callers.
fn allowed(template: &str, field: &str) -> Vec<String> {
    let json: Value = serde_json::from_str(template).unwrap_or_default();
    let list = json[field].as_array().cloned().unwrap_or_default();
    list.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
}

/// Whether the browser started the host for our extension: Chrome passes the extension's
/// origin (`chrome-extension://ID/`) as the first argument, Firefox the manifest path and then
/// the add-on id; either must be one the templates allow.
pub fn is_our_caller(args: &[String]) -> bool {
    let mut callers = allowed(CHROMIUM_TEMPLATE, CHROMIUM_ALLOWED);
    callers.extend(allowed(FIREFOX_TEMPLATE, FIREFOX_ALLOWED));
    args.iter().take(2).any(|arg| callers.contains(arg))
}

/// The manifest of `browser` naming `program` as the host.
pub fn manifest(browser: &Browser, program: &Path) -> String {
    let path = serde_json::to_string(&program.display().to_string()).unwrap_or_default();
    browser.template.replace("\"@HOST_PATH@\"", &path)
}

/// The host program [`install_for_user`] writes in `dir`.
pub fn host_program(dir: &Path) -> PathBuf {
    dir.join(if cfg!(windows) { "qoltanba-native-host.bat" } else { "qoltanba-native-host" })
}

/// The text of the host program: runs `exe` with `globals` (`--data-dir`, `--config`) and
/// `native-host`, passing the browser's arguments on.
fn host_script(exe: &Path, globals: &[String]) -> String {
    let mut words = vec![exe.display().to_string()];
    words.extend(globals.iter().cloned());
    words.push("native-host".into());
    if cfg!(windows) {
        let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
        return format!("@echo off\r\n{} %*\r\n", quoted.join(" "));
    }
    let quoted: Vec<String> =
        words.iter().map(|w| format!("'{}'", w.replace('\'', "'\\''"))).collect();
    format!(
        "#!/bin/sh\n# The Qoltanba native-messaging host for this user (qoltanba install-browser-support).\nexec {} \"$@\"\n",
        quoted.join(" ")
    )
}

/// What [`install_for_user`] wrote or [`remove_for_user`] took away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The browser.
    pub browser: &'static str,
    /// The manifest file (on Windows, with the registry key it is named under).
    pub place: String,
}

/// Registers the host for the user in every browser: the host program in `dir` (running `exe`
/// with `globals`), then each browser's manifest (Linux: its directory under `home`; Windows:
/// a manifest in `dir` named by a key under HKCU).
pub fn install_for_user(
    home: &Path,
    dir: &Path,
    exe: &Path,
    globals: &[String],
) -> std::io::Result<Vec<Registration>> {
    std::fs::create_dir_all(dir)?;
    let program = host_program(dir);
    std::fs::write(&program, host_script(exe, globals))?;
    make_executable(&program)?;
    BROWSERS.iter().map(|browser| register(browser, home, dir, &program)).collect()
}

#[cfg(unix)]
fn make_executable(program: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(program, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_program: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(not(windows))]
fn register(
    browser: &'static Browser,
    home: &Path,
    _dir: &Path,
    program: &Path,
) -> std::io::Result<Registration> {
    let folder = home.join(browser.user);
    std::fs::create_dir_all(&folder)?;
    let file = folder.join(format!("{HOST}.json"));
    std::fs::write(&file, manifest(browser, program))?;
    Ok(Registration { browser: browser.name, place: file.display().to_string() })
}

#[cfg(windows)]
fn register(
    browser: &'static Browser,
    _home: &Path,
    dir: &Path,
    program: &Path,
) -> std::io::Result<Registration> {
    let file = dir.join(browser.file);
    std::fs::write(&file, manifest(browser, program))?;
    let key = format!(r"HKCU\{}", browser.user);
    let value = file.display().to_string();
    reg(&["add", &key, "/ve", "/t", "REG_SZ", "/d", &value, "/f"])?;
    Ok(Registration { browser: browser.name, place: format!("{value} ({key})") })
}

#[cfg(windows)]
fn reg(args: &[&str]) -> std::io::Result<()> {
    let status = std::process::Command::new("reg").args(args).output()?;
    match status.status.success() {
        true => Ok(()),
        false => Err(std::io::Error::other(format!(
            "reg {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&status.stderr).trim()
        ))),
    }
}

/// Takes back the user's registration: every manifest that names our host and the host program
/// in `dir` (a manifest naming another host is left alone).
pub fn remove_for_user(home: &Path, dir: &Path) -> std::io::Result<Vec<Registration>> {
    let mut removed = Vec::new();
    for browser in &BROWSERS {
        if let Some(place) = unregister(browser, home, dir)? {
            removed.push(Registration { browser: browser.name, place });
        }
    }
    let program = host_program(dir);
    if program.exists() {
        std::fs::remove_file(&program)?;
    }
    Ok(removed)
}

/// Whether `file` is a manifest of our host.
fn ours(file: &Path) -> bool {
    let json: Option<Value> =
        std::fs::read(file).ok().and_then(|b| serde_json::from_slice(&b).ok());
    json.is_some_and(|j| j["name"] == HOST)
}

#[cfg(not(windows))]
fn unregister(browser: &Browser, home: &Path, _dir: &Path) -> std::io::Result<Option<String>> {
    let file = home.join(browser.user).join(format!("{HOST}.json"));
    if !ours(&file) {
        return Ok(None);
    }
    std::fs::remove_file(&file)?;
    // The folders install made for a browser never used stay out of the doctor's way.
    let mut folder = file.parent();
    while let Some(dir) = folder.filter(|d| *d != home && d.starts_with(home)) {
        if std::fs::remove_dir(dir).is_err() {
            break;
        }
        folder = dir.parent();
    }
    Ok(Some(file.display().to_string()))
}

#[cfg(windows)]
fn unregister(browser: &Browser, _home: &Path, dir: &Path) -> std::io::Result<Option<String>> {
    let file = dir.join(browser.file);
    let key = format!(r"HKCU\{}", browser.user);
    let registered = reg(&["query", &key, "/ve"]).is_ok();
    if registered {
        reg(&["delete", &key, "/f"])?;
    }
    if ours(&file) {
        std::fs::remove_file(&file)?;
    }
    Ok(registered.then(|| format!("{} ({key})", file.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_extensions_are_callers() {
        let chrome = "chrome-extension://laligpnnhopilbfbgnjgjnfnjejjainp/".to_string();
        assert!(is_our_caller(&[chrome, "--parent-window=0".into()]));
        let firefox = [
            "/usr/lib/mozilla/native-messaging-hosts/kz.qoltanba.native.json",
            "qoltanba@qoltanba.kz",
        ];
        assert!(is_our_caller(&firefox.map(String::from)));
        assert!(!is_our_caller(&["chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/".into()]));
        assert!(!is_our_caller(&[]));
        let late = ["a", "b", "chrome-extension://laligpnnhopilbfbgnjgjnfnjejjainp/"];
        assert!(!is_our_caller(&late.map(String::from)));
    }

    #[test]
    fn the_manifest_names_the_program_as_json() {
        let text = manifest(&BROWSERS[0], Path::new("/opt/q \"x\"/host"));
        let json: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(json["path"], "/opt/q \"x\"/host");
        assert_eq!(json["name"], HOST);
    }

    #[cfg(unix)]
    #[test]
    fn install_and_remove_for_the_user() {
        let home = tempfile::tempdir().expect("home");
        let dir = home.path().join("data");
        let foreign = home.path().join(".mozilla/native-messaging-hosts");
        std::fs::create_dir_all(&foreign).expect("dir");
        let globals = ["--data-dir".to_string(), "/tmp/it's".to_string()];
        let done = install_for_user(home.path(), &dir, Path::new("/usr/bin/qoltanba"), &globals)
            .expect("install");
        assert_eq!(done.len(), BROWSERS.len());
        let script = std::fs::read_to_string(host_program(&dir)).expect("script");
        assert!(script.contains(
            "exec '/usr/bin/qoltanba' '--data-dir' '/tmp/it'\\''s' 'native-host' \"$@\""
        ));
        let chromium =
            home.path().join(".config/chromium/NativeMessagingHosts/kz.qoltanba.native.json");
        let json: Value =
            serde_json::from_slice(&std::fs::read(&chromium).expect("manifest")).expect("JSON");
        assert_eq!(json["path"], host_program(&dir).display().to_string());
        let other = foreign.join("other.json");
        std::fs::write(&other, r#"{"name":"other"}"#).expect("other");
        let removed = remove_for_user(home.path(), &dir).expect("remove");
        assert_eq!(removed.len(), BROWSERS.len());
        assert!(!chromium.exists() && !host_program(&dir).exists() && other.exists());
        assert!(!home.path().join(".config").exists(), "empty folders it made are gone");
        assert!(remove_for_user(home.path(), &dir).expect("again").is_empty());
    }
}
