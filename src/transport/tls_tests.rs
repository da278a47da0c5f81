//! Tests of the local CA: files written, key destroyed, openssl as an independent verifier.

use std::path::Path;
use std::process::Command;

use time::{Duration, OffsetDateTime};

use super::*;

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn setup() -> (tempfile::TempDir, LocalCa) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ca =
        LocalCa::load_or_create(&tmp.path().join("tls"), crate::platform::clock::Clock::system())
            .expect("create local CA");
    (tmp, ca)
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).expect("read file")
}

#[test]
fn first_start_writes_only_the_leaf_key() {
    let (tmp, ca) = setup();
    let dir = tmp.path().join("tls");
    assert_eq!(ca.provenance(), Provenance::Created);
    assert_eq!(ca.ca_pem_path(), dir.join(CA_FILE));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [CA_FILE, LEAF_KEY_FILE, LEAF_FILE]);
    for name in &names {
        let has_key = read(&dir, name).contains("PRIVATE KEY");
        assert_eq!(has_key, name == LEAF_KEY_FILE, "{name}");
    }
}

#[cfg(unix)]
#[test]
fn leaf_key_is_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let (tmp, _ca) = setup();
    let meta = std::fs::metadata(tmp.path().join("tls").join(LEAF_KEY_FILE)).expect("stat");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
}

#[test]
fn leaf_verifies_against_ca_with_openssl() {
    let (tmp, _ca) = setup();
    let dir = tmp.path().join("tls");
    let (ok, text) = openssl(&dir, &["verify", "-CAfile", CA_FILE, LEAF_FILE]);
    assert!(ok, "{text}");
    assert!(text.contains("leaf.pem: OK"), "{text}");
    let (ok, text) =
        openssl(&dir, &["verify", "-CAfile", CA_FILE, "-purpose", "sslserver", LEAF_FILE]);
    assert!(ok, "{text}");
}

#[test]
fn ca_is_name_constrained_to_loopback() {
    let (tmp, _ca) = setup();
    let (ok, text) = openssl(&tmp.path().join("tls"), &["x509", "-in", CA_FILE, "-noout", "-text"]);
    assert!(ok, "{text}");
    assert!(text.contains("Permitted:"), "{text}");
    assert!(text.contains("DNS:localhost"), "{text}");
    assert!(text.contains("IP:127.0.0.1/255.255.255.255"), "{text}");
    assert!(text.contains("CA:TRUE, pathlen:0"), "{text}");
    assert!(text.contains("Qoltanba local CA ("), "{text}");
}

#[test]
fn leaf_names_and_validity() {
    let (tmp, ca) = setup();
    let (ok, text) =
        openssl(&tmp.path().join("tls"), &["x509", "-in", LEAF_FILE, "-noout", "-text"]);
    assert!(ok, "{text}");
    assert!(text.contains("DNS:localhost"), "{text}");
    assert!(text.contains("IP Address:127.0.0.1"), "{text}");
    assert!(text.contains("IP Address:0:0:0:0:0:0:0:1"), "{text}");
    assert!(text.contains("TLS Web Server Authentication"), "{text}");
    let lifetime = ca.leaf_not_after() - OffsetDateTime::now_utc();
    assert!(lifetime <= Duration::days(397), "{lifetime}");
    assert!(lifetime > Duration::days(390), "{lifetime}");
}

#[test]
fn reload_does_not_regenerate() {
    let (tmp, _ca) = setup();
    let dir = tmp.path().join("tls");
    let before = (read(&dir, CA_FILE), read(&dir, LEAF_FILE), read(&dir, LEAF_KEY_FILE));
    let again =
        LocalCa::load_or_create(&dir, crate::platform::clock::Clock::system()).expect("reload");
    assert_eq!(again.provenance(), Provenance::Loaded);
    let after = (read(&dir, CA_FILE), read(&dir, LEAF_FILE), read(&dir, LEAF_KEY_FILE));
    assert_eq!(before, after);
}

#[test]
fn expiring_leaf_is_renewed_with_a_new_ca() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("tls");
    let now = OffsetDateTime::now_utc();
    let old = LocalCa::load_or_create_at(&dir, now, now - Duration::days(380)).expect("create");
    assert_eq!(old.provenance(), Provenance::Created);
    let old_ca = read(&dir, CA_FILE);
    let renewed = LocalCa::load_or_create_at(&dir, now, now).expect("renew");
    assert_eq!(renewed.provenance(), Provenance::Renewed);
    assert_ne!(read(&dir, CA_FILE), old_ca);
    assert!(renewed.leaf_not_after() - now > Duration::days(390));
    let (ok, text) = openssl(&dir, &["verify", "-CAfile", CA_FILE, LEAF_FILE]);
    assert!(ok, "{text}");
}

#[test]
fn leaf_still_valid_for_31_days_is_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("tls");
    let now = OffsetDateTime::now_utc();
    LocalCa::load_or_create_at(&dir, now, now - Duration::days(365)).expect("create");
    let again = LocalCa::load_or_create_at(&dir, now, now).expect("load");
    assert_eq!(again.provenance(), Provenance::Loaded);
}

#[test]
fn damaged_files_are_replaced() {
    let (tmp, _ca) = setup();
    let dir = tmp.path().join("tls");
    std::fs::write(dir.join(LEAF_KEY_FILE), "garbage").expect("damage");
    let again =
        LocalCa::load_or_create(&dir, crate::platform::clock::Clock::system()).expect("replace");
    assert_eq!(again.provenance(), Provenance::Renewed);
    let (ok, text) = openssl(&dir, &["verify", "-CAfile", CA_FILE, LEAF_FILE]);
    assert!(ok, "{text}");
}

#[test]
fn leaf_from_another_ca_is_rejected() {
    let (tmp, _ca) = setup();
    let dir = tmp.path().join("tls");
    let other = tempfile::tempdir().expect("tempdir");
    LocalCa::load_or_create(other.path(), crate::platform::clock::Clock::system())
        .expect("other CA");
    std::fs::copy(other.path().join(CA_FILE), dir.join(CA_FILE)).expect("swap CA");
    let again =
        LocalCa::load_or_create(&dir, crate::platform::clock::Clock::system()).expect("replace");
    assert_eq!(again.provenance(), Provenance::Renewed);
}
