//! SoftHSM2 for the token tests: a fresh token directory and `SOFTHSM2_CONF` per test, tokens
//! made with `softhsm2-util`, keys written with `pkcs11-tool` (OpenSC), and the test doubles
//! compiled with `cc`: the PIN limit (`pin_limit.c`) and a GOST token (`gost_token.c`). See
//! `docs/tokens.md` for what is real.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{fixture, PASSWORD};

/// The Debian SoftHSM2 module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The storage name the tests map to SoftHSM2.
pub const STORE: &str = "AKKaztokenStore";
/// The user PIN of the test tokens.
pub const PIN: &str = "1234";
const SO_PIN: &str = "87654321";

/// Whether SoftHSM2 and pkcs11-tool are installed; without them the calling token test skips
/// visibly, or fails under `QOLTANBA_REQUIRE_ORACLES` (CI) ([`crate::skip::needs`]).
pub fn available() -> bool {
    let found = Path::new(MODULE).exists()
        && Command::new("pkcs11-tool").arg("--help").output().is_ok()
        && Command::new("softhsm2-util").arg("--help").output().is_ok();
    crate::skip::needs("SoftHSM2 and pkcs11-tool (softhsm2, opensc)", found)
}

/// Whether the GOST token double can be built and run: SoftHSM2, OpenSSL's headers and its GOST
/// engine; else the calling test skips visibly, or fails under `QOLTANBA_REQUIRE_ORACLES`.
pub fn gost_token_available() -> bool {
    let engine = Command::new("openssl").args(["engine", "-t", "gost"]).output().is_ok_and(|o| {
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("[ available ]")
    });
    let headers = Path::new("/usr/include/openssl/engine.h").exists();
    let tools = "OpenSSL's GOST engine and headers (libengine-gost-openssl, libssl-dev)";
    available() && crate::skip::needs(tools, engine && headers)
}

/// A SoftHSM2 token directory of its own.
pub struct SoftHsm {
    pub dir: tempfile::TempDir,
    pub conf: PathBuf,
}

impl SoftHsm {
    /// A fresh configuration with an empty token directory.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let tokens = dir.path().join("tokens");
        std::fs::create_dir_all(&tokens).expect("token dir");
        let conf = dir.path().join("softhsm2.conf");
        let text = format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        );
        std::fs::write(&conf, text).expect("softhsm2.conf");
        Self { dir, conf }
    }

    /// The token directory.
    pub fn tokens(&self) -> PathBuf {
        self.dir.path().join("tokens")
    }

    /// `SOFTHSM2_CONF` for the daemon and the tools.
    pub fn env(&self) -> (&'static str, String) {
        ("SOFTHSM2_CONF", self.conf.display().to_string())
    }

    fn run(&self, program: &str, args: &[&str]) -> String {
        let output = Command::new(program)
            .args(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        let text = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{program} {args:?} failed: {text}");
        text
    }

    /// Initialises a token in the next free slot.
    pub fn init_token(&self, label: &str) {
        self.run(
            "softhsm2-util",
            &["--init-token", "--free", "--label", label, "--so-pin", SO_PIN, "--pin", PIN],
        );
    }

    fn tool(&self, label: &str, args: &[&str]) -> String {
        let mut all = vec!["--module", MODULE, "--token-label", label, "--login", "--pin", PIN];
        all.extend_from_slice(args);
        self.run("pkcs11-tool", &all)
    }

    /// Writes the key and certificate of an NCA fixture `.p12` with `CKA_ID` = `id` (hex).
    pub fn import_p12(&self, label: &str, p12: &str, id: &str) {
        let work = self.dir.path();
        let (pem, key, cert) = (work.join("key.pem"), work.join("key.der"), work.join("cert.der"));
        let p12 = fixture(p12);
        let pass = format!("pass:{PASSWORD}");
        let path = |p: &Path| p.to_str().expect("path").to_string();
        self.run(
            "openssl",
            &[
                "pkcs12",
                "-legacy",
                "-nodes",
                "-in",
                &path(&p12),
                "-passin",
                &pass,
                "-out",
                &path(&pem),
            ],
        );
        self.run("openssl", &["pkey", "-in", &path(&pem), "-outform", "DER", "-out", &path(&key)]);
        self.run("openssl", &["x509", "-in", &path(&pem), "-outform", "DER", "-out", &path(&cert)]);
        self.tool(label, &["--write-object", &path(&key), "--type", "privkey", "--id", id]);
        self.tool(label, &["--write-object", &path(&cert), "--type", "cert", "--id", id]);
        let _ = std::fs::remove_file(pem);
        let _ = std::fs::remove_file(key);
    }

    /// Generates an RSA-2048 key pair on the token and writes a self-signed certificate for it
    /// (signed on the token through `pkcs11-tool --sign`). Returns the certificate (DER).
    pub fn generate_key(&self, label: &str, id: &str) -> Vec<u8> {
        self.tool(label, &["--keypairgen", "--key-type", "rsa:2048", "--id", id, "--label", "gen"]);
        let spki_path = self.dir.path().join("pub.der");
        let out = spki_path.to_str().expect("path");
        self.tool(label, &["--read-object", "--type", "pubkey", "--id", id, "-o", out]);
        let spki = std::fs::read(&spki_path).expect("public key");
        let remote = TokenKey { hsm: self.conf.clone(), label: label.into(), id: id.into(), spki };
        let key_pair = rcgen::KeyPair::from_remote(Box::new(remote)).expect("remote key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(rcgen::DnType::CommonName, "Token Test");
        params.not_before = rcgen::date_time_ymd(2019, 1, 1);
        params.not_after = rcgen::date_time_ymd(2040, 1, 1);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::ContentCommitment,
        ];
        params.key_identifier_method = rcgen::KeyIdMethod::Sha256;
        let cert = params.self_signed(&key_pair).expect("self-signed").der().to_vec();
        let cert_path = self.dir.path().join("gen-cert.der");
        std::fs::write(&cert_path, &cert).expect("write cert");
        let path = cert_path.to_str().expect("path");
        self.tool(label, &["--write-object", path, "--type", "cert", "--id", id]);
        cert
    }

    /// Pulls every token out: deletes the token directories.
    pub fn remove_tokens(&self) {
        for entry in std::fs::read_dir(self.tokens()).expect("token dir") {
            std::fs::remove_dir_all(entry.expect("entry").path()).expect("remove token");
        }
    }
}

/// A key on the token, for rcgen: signs with `pkcs11-tool --sign -m SHA256-RSA-PKCS`.
struct TokenKey {
    hsm: PathBuf,
    label: String,
    id: String,
    spki: Vec<u8>,
}

impl rcgen::RemoteKeyPair for TokenKey {
    fn public_key(&self) -> &[u8] {
        // rcgen wants the subjectPublicKey bits (RSAPublicKey); skip the SPKI header.
        use der::Decode as _;
        let spki = spki::SubjectPublicKeyInfoRef::from_der(&self.spki).expect("SPKI");
        let bits = spki.subject_public_key.raw_bytes();
        let offset = self.spki.len() - bits.len();
        &self.spki[offset..]
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let dir = self.hsm.parent().expect("dir");
        let (input, output) = (dir.join("tbs.bin"), dir.join("tbs.sig"));
        std::fs::write(&input, msg).map_err(|_| rcgen::Error::RemoteKeyError)?;
        let status = Command::new("pkcs11-tool")
            .env("SOFTHSM2_CONF", &self.hsm)
            .args(["--module", MODULE, "--token-label", &self.label, "--login", "--pin", PIN])
            .args(["--sign", "-m", "SHA256-RSA-PKCS", "--id", &self.id])
            .arg("-i")
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .output()
            .map_err(|_| rcgen::Error::RemoteKeyError)?;
        if !status.status.success() {
            return Err(rcgen::Error::RemoteKeyError);
        }
        std::fs::read(&output).map_err(|_| rcgen::Error::RemoteKeyError)
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

/// Compiles the PIN-limit double into `dir` and returns the module path.
pub fn pin_limit_module(dir: &Path) -> PathBuf {
    compile_module(dir, "pin_limit.c", "libpinlimit.so", &["-ldl"])
}

/// Compiles the GOST token double (`gost_token.c`, over SoftHSM2 and OpenSSL's GOST engine)
/// into `dir` and returns the module path. Its keys live in `GOST_TOKEN_DIR`.
pub fn gost_token_module(dir: &Path) -> PathBuf {
    compile_module(dir, "gost_token.c", "libgosttoken.so", &["-ldl", "-lcrypto", "-lpthread"])
}

fn compile_module(dir: &Path, source: &str, name: &str, libraries: &[&str]) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it").join(source);
    let module = dir.join(name);
    let output = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&module)
        .arg(&source)
        .args(libraries)
        .output()
        .expect("cc");
    assert!(output.status.success(), "cc: {}", String::from_utf8_lossy(&output.stderr));
    module
}

/// A config file mapping [`STORE`] to `module`.
pub fn config(module: &Path) -> String {
    format!("[pkcs11.modules]\n{STORE} = [\"{}\"]\n", module.display())
}
