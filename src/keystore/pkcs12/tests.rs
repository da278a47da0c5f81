//! Tests of the PKCS#12 store on the NCA fixtures and on files made here by the `openssl` CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::crypto::{verify::verify_digest, HashAlgorithm, SignatureAlgorithm};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/nca");

fn password(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

/// Every `.p12` under the fixtures, with its password (README of the fixtures).
fn fixtures() -> Vec<(PathBuf, SecretString)> {
    let mut out = Vec::new();
    let mut dirs = vec![PathBuf::from(FIXTURES)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixture dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "p12") {
                let name = path.to_string_lossy();
                let pw = match name.contains("ncanode-2022") && name.ends_with("_2015.p12") {
                    true => "Aa123456",
                    false => "Qwerty12",
                };
                out.push((path, password(pw)));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

pub(super) fn fixture(relative: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(relative)).expect("fixture")
}

const RSA_SIGN: &str =
    "legacy-2020/personal/active/RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9.p12";
const GOST_2026: &str = "gost2015-2026/legal/valid/head.p12";

/// The friendlyName of the key bag, read straight from the file.
fn key_friendly_name(bytes: &[u8], pw: &SecretString) -> Option<String> {
    let pfx = bags::parse_pfx(bytes).expect("pfx");
    let unlock = pbe::Unlock::new(pw.expose_secret());
    let contents = bags::read_auth_safe(&pfx.auth_safe, &unlock).expect("contents");
    contents.keys.first()?.attributes.friendly_name.clone()
}

#[test]
fn every_fixture_opens_and_lists_one_key_named_by_its_ski() {
    let all = fixtures();
    assert!(all.len() >= 25, "found only {} fixtures", all.len());
    for (path, pw) in &all {
        let bytes = std::fs::read(path).expect("read");
        let store = Pkcs12Store::open(&bytes, pw).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let [entry] = store.keys() else { panic!("{path:?}: expected one key") };
        let ski = entry.certificate.subject_key_id().expect("SKI");
        assert_eq!(entry.alias, hex(&ski), "{path:?}");
        assert_eq!(
            key_friendly_name(&bytes, pw).as_deref(),
            Some(entry.alias.as_str()),
            "{path:?}"
        );
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if let Some((_, hex)) = stem.rsplit_once('_').filter(|(_, h)| h.len() == 40) {
            assert_eq!(entry.alias, hex, "{path:?}");
        }
    }
}

#[test]
fn rsa_and_gost_keys_sign_and_verify() {
    let (mut rsa, mut gost) = (0, 0);
    for (path, pw) in fixtures() {
        let store = Pkcs12Store::open(&std::fs::read(&path).expect("read"), &pw).expect("opens");
        let entry = &store.keys()[0];
        let spki = &entry.certificate.inner().tbs_certificate.subject_public_key_info;
        let algorithm = SignatureAlgorithm::for_public_key(spki).expect("known key");
        let signer = store.signer(&entry.alias).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert_eq!(signer.algorithm(), algorithm, "{path:?}");
        let digest = algorithm.hash().digest(b"Qoltanba test message");
        let signature = signer.sign_digest(&digest).expect("signs");
        verify_digest(&entry.certificate, algorithm, &digest, &signature)
            .unwrap_or_else(|e| panic!("{path:?}: {e}"));
        match algorithm {
            SignatureAlgorithm::RsaSha256 => rsa += 1,
            _ => gost += 1,
        }
    }
    assert!(rsa >= 6 && gost >= 15, "rsa {rsa}, gost {gost}");
}

#[test]
fn unknown_alias_is_no_such_key() {
    let store = Pkcs12Store::open(&fixture(RSA_SIGN), &password("Qwerty12")).expect("opens");
    assert!(matches!(store.signer("00ff"), Err(KeyStoreError::NoSuchKey(_))));
    let upper = store.keys()[0].alias.to_uppercase();
    assert!(store.signer(&upper).is_ok());
}

#[test]
fn gost_2026_certificates_have_both_roles() {
    let store = Pkcs12Store::open(&fixture(GOST_2026), &password("Qwerty12")).expect("opens");
    let cert = &store.keys()[0].certificate;
    let roles = cert.roles();
    assert!(roles.signature && roles.authentication, "{roles:?}");
    assert_eq!(
        cert.subject_key_id().map(|s| hex(&s)).as_deref(),
        Some(store.keys()[0].alias.as_str())
    );
    assert!(cert.bin().is_some_and(|bin| bin.len() == 12));
    assert!(cert.ext_key_usage().iter().any(|oid| oid == "1.2.398.3.3.4.1.2.1"));
}

#[test]
fn wrong_password_is_reported() {
    for relative in [RSA_SIGN, GOST_2026] {
        let result = Pkcs12Store::open(&fixture(relative), &password("Qwerty13"));
        assert!(matches!(result, Err(KeyStoreError::WrongPassword)), "{relative}");
    }
}

/// The PFX re-encoded without its macData.
fn without_mac(bytes: &[u8]) -> Vec<u8> {
    let fields = Tlv::parse_all(bytes).and_then(|t| t.sequence()).expect("pfx");
    let body: Vec<u8> = fields.iter().take(2).flat_map(|f| f.raw().to_vec()).collect();
    let mut out = vec![0x30, 0x80];
    out.extend_from_slice(&body);
    out.extend_from_slice(&[0, 0]);
    out
}

#[test]
fn without_mac_a_wrong_password_fails_on_padding() {
    let bytes = without_mac(&fixture(RSA_SIGN));
    assert!(Pkcs12Store::open(&bytes, &password("Qwerty12")).is_ok());
    let result = Pkcs12Store::open(&bytes, &password("wrong"));
    assert!(matches!(result, Err(KeyStoreError::WrongPassword)), "{result:?}");
}

#[test]
fn truncated_files_are_errors() {
    for relative in [RSA_SIGN, GOST_2026] {
        let bytes = fixture(relative);
        for cut in 0..bytes.len() {
            let result = Pkcs12Store::open(&bytes[..cut], &password("Qwerty12"));
            assert!(result.is_err(), "{relative} cut at {cut}");
        }
        let mut padded = bytes.clone();
        padded.push(0);
        assert!(matches!(
            Pkcs12Store::open(&padded, &password("Qwerty12")),
            Err(KeyStoreError::Corrupt(_))
        ));
    }
}

/// Flips one random byte at a time. With a MAC, a changed file must fail or (if the byte did
/// not matter, e.g. an ignored parameter) yield the same key; without one, a flip inside the
/// ciphertext may go unnoticed, so there we only ask for no panic.
#[test]
fn flipped_bytes_never_panic() {
    let original = fixture(RSA_SIGN);
    for (bytes, has_mac) in [(original.clone(), true), (without_mac(&original), false)] {
        let expected = Pkcs12Store::open(&bytes, &password("Qwerty12")).expect("opens").keys()[0]
            .alias
            .clone();
        let mut rng = crate::crypto::test_rng::Xorshift::new(0x9E37_79B9_7F4A_7C15);
        for _ in 0..400 {
            let state = rng.next_u64();
            let mut damaged = bytes.clone();
            let index = (state % damaged.len() as u64) as usize;
            damaged[index] ^= ((state >> 32) as u8).max(1);
            let result = Pkcs12Store::open(&damaged, &password("Qwerty12"));
            if let (Ok(store), true) = (result, has_mac) {
                assert_eq!(store.keys()[0].alias, expected, "flip at {index}");
            }
        }
    }
}

#[test]
fn garbage_is_corrupt() {
    for bytes in [&b""[..], b"hello", &[0x30, 0x80, 0x00, 0x00], &[0x30, 0x03, 0x02, 0x01, 0x03]] {
        let result = Pkcs12Store::open(bytes, &password("x"));
        assert!(matches!(result, Err(KeyStoreError::Corrupt(_))), "{bytes:02x?}: {result:?}");
    }
}

/// Makes a self-signed RSA key and certificate and exports them with `openssl pkcs12`.
fn openssl_p12(dir: &Path, name: &str, export_args: &[&str]) -> Vec<u8> {
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    if !key.exists() {
        run_openssl(
            &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=t", "-days", "2"],
            &["-keyout", path_str(&key), "-out", path_str(&cert)],
        );
    }
    let out = dir.join(name);
    let io = ["-inkey", path_str(&key), "-in", path_str(&cert), "-out", path_str(&out)];
    let mut args = vec!["pkcs12", "-export"];
    args.extend_from_slice(export_args);
    run_openssl(&args, &io);
    std::fs::read(out).expect("p12 written")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

fn run_openssl(args: &[&str], more: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .args(more)
        .output()
        .expect("the openssl CLI is installed");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn openssl_files_with_cyrillic_password_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pw = "Пароль123";
    let pass = format!("pass:{pw}");
    let modern = openssl_p12(dir.path(), "modern.p12", &["-passout", &pass]);
    let legacy = openssl_p12(dir.path(), "legacy.p12", &["-legacy", "-passout", &pass]);
    let plain = openssl_p12(
        dir.path(),
        "plain.p12",
        &["-keypbe", "NONE", "-certpbe", "NONE", "-nomac", "-passout", &pass],
    );
    for (name, bytes) in [("modern", &modern), ("legacy", &legacy), ("plain", &plain)] {
        let store =
            Pkcs12Store::open(bytes, &password(pw)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let entry = &store.keys()[0];
        assert_eq!(entry.certificate.subject_dn(), "CN=t", "{name}");
        assert_eq!(Some(entry.alias.clone()), entry.certificate.subject_key_id().map(|s| hex(&s)));
        let signature = store.signer(&entry.alias).expect("rsa").sign_message(b"x").expect("signs");
        let digest = HashAlgorithm::Sha256.digest(b"x");
        verify_digest(&entry.certificate, SignatureAlgorithm::RsaSha256, &digest, &signature)
            .expect("verifies");
    }
    for bytes in [&modern, &legacy] {
        let result = Pkcs12Store::open(bytes, &password("Пароль124"));
        assert!(matches!(result, Err(KeyStoreError::WrongPassword)));
    }
}

/// Compared with `openssl x509 -subject -nameopt RFC2253,-esc_msb` on the same certificates,
/// read in reverse: DC, BusinessCategory and UID names, quotes escaped.
#[test]
fn gost_2026_legal_dns_and_serials() {
    let open = |name: &str| {
        let bytes = fixture(&format!("gost2015-2026/legal/valid/{name}.p12"));
        let store = Pkcs12Store::open(&bytes, &password("Qwerty12")).expect("opens");
        store.keys()[0].certificate.clone()
    };
    let infosystem = open("infosystem");
    assert_eq!(
        infosystem.subject_dn(),
        "DC=ROLE02,CN=ТЕСТТОВ ТЕСТТ,SURNAME=ТЕСТТОВ,SERIALNUMBER=IIN123456789012,C=KZ,\
         O=АО \\\"ТЕСТ\\\",OU=BIN123456789021,BusinessCategory=KS1234,G=ТЕСТТОВИЧ"
    );
    assert_eq!(infosystem.serial_hex(), "60954f23d41db3f42fb04db6f538609d98978d32");
    assert_eq!(infosystem.iin().as_deref(), Some("123456789012"));
    let treasury = open("treasury_client");
    assert_eq!(
        treasury.subject_dn(),
        "UID=1.2.398.6.10.1.1,CN=ИС \\\"Тест\\\",C=KZ,O=АО \\\"ТЕСТ\\\",OU=BIN123456789021"
    );
    assert_eq!(treasury.iin(), None);
    assert_eq!(treasury.bin().as_deref(), Some("123456789021"));
    let roles = treasury.roles();
    assert!(roles.signature && roles.authentication, "{roles:?}");
}

/// The PFX with its authSafe OCTET STRING re-encoded as a constructed, indefinite-length string
/// of 100-byte segments.
fn with_segmented_auth_safe(bytes: &[u8]) -> Vec<u8> {
    let pfx = bags::parse_pfx(bytes).expect("pfx");
    let fields = Tlv::parse_all(bytes).and_then(|t| t.sequence()).expect("pfx");
    let auth_safe = fields[1].sequence().expect("authSafe");
    let mut out = vec![0x30, 0x80];
    out.extend_from_slice(fields[0].raw());
    out.extend_from_slice(&[0x30, 0x80]);
    out.extend_from_slice(auth_safe[0].raw());
    out.extend_from_slice(&[0xA0, 0x80, 0x24, 0x80]);
    for segment in pfx.auth_safe.chunks(100) {
        out.extend_from_slice(&[0x04, segment.len() as u8]);
        out.extend_from_slice(segment);
    }
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(fields[2].raw());
    out.extend_from_slice(&[0, 0]);
    out
}

/// The MAC covers the content octets, i.e. the concatenated segments of a constructed string.
#[test]
fn mac_covers_segments_of_a_constructed_auth_safe() {
    let original = fixture(RSA_SIGN);
    let segmented = with_segmented_auth_safe(&original);
    assert_ne!(segmented, original);
    let store = Pkcs12Store::open(&segmented, &password("Qwerty12")).expect("opens");
    assert_eq!(store.keys()[0].alias, "11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9");
    let result = Pkcs12Store::open(&segmented, &password("Qwerty1"));
    assert!(matches!(result, Err(KeyStoreError::WrongPassword)));
}
