//! Key file paths in the dialog's file field: a file under the home directory is shown as
//! `~/…` (shorter, and a screenshot does not spell out the user's home), and a typed `~/…` is
//! read back under the home directory. Only the field's text; the path sent to the daemon is
//! always absolute.

use std::path::{Path, PathBuf};

/// The home directory (`$HOME` on Linux), if there is one.
fn home() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf())
}

/// `path` as the file field shows it.
pub fn shown(path: &Path) -> String {
    shown_under(path, home().as_deref())
}

/// The file field's `text` as a path.
pub fn typed(text: &str) -> PathBuf {
    typed_under(text.trim(), home().as_deref())
}

fn shown_under(path: &Path, home: Option<&Path>) -> String {
    let rest = home.filter(|h| h.parent().is_some()).and_then(|h| path.strip_prefix(h).ok());
    match rest {
        Some(rest) if !rest.as_os_str().is_empty() => {
            format!("~{}{}", std::path::MAIN_SEPARATOR, rest.display())
        }
        _ => path.display().to_string(),
    }
}

fn typed_under(text: &str, home: Option<&Path>) -> PathBuf {
    let rest =
        text.strip_prefix('~').and_then(|r| r.strip_prefix(['/', std::path::MAIN_SEPARATOR]));
    match (rest, home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_under_home_are_shown_with_a_tilde_and_read_back() {
        let home = Path::new("/home/aigerim");
        let key = Path::new("/home/aigerim/keys/RSA256_1.p12");
        let shown = shown_under(key, Some(home));
        assert_eq!(shown, format!("~{}keys/RSA256_1.p12", std::path::MAIN_SEPARATOR));
        assert_eq!(typed_under(&shown, Some(home)), key);
        assert_eq!(typed_under("~/keys/RSA256_1.p12", Some(home)), key);
    }

    #[test]
    fn other_paths_stay_as_they_are() {
        let home = Path::new("/home/aigerim");
        for path in ["/media/usb/key.p12", "/home/aigerimx/key.p12", "/home/aigerim"] {
            assert_eq!(shown_under(Path::new(path), Some(home)), path);
        }
        assert_eq!(shown_under(Path::new("/k.p12"), Some(Path::new("/"))), "/k.p12", "home /");
        assert_eq!(shown_under(Path::new("/home/a/k.p12"), None), "/home/a/k.p12");
        assert_eq!(typed_under("~/k.p12", None), Path::new("~/k.p12"));
        assert_eq!(typed_under("~other/k.p12", Some(home)), Path::new("~other/k.p12"));
        assert_eq!(typed_under("/abs/k.p12", Some(home)), Path::new("/abs/k.p12"));
    }
}
