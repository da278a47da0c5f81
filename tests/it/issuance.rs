//! Getting a key from the command line (issue 17): `qoltanba keygen` makes a GOST-2015-512 key
//! and its request, a test CA made here issues the certificate, `qoltanba install-cert` writes
//! `GOST512_<id>.p12` in the NCA's layout (openssl reads it), and the new key then signs
//! through the WebSocket API with a signature Debian's GOST engine accepts.

use std::path::Path;
use std::process::{Command, Output};

use qoltanba::crypto::test_ca::TestCa;
use qoltanba::crypto::Certificate;
use serde_json::json;

use crate::gost::oracle_verifies;
use crate::harness::{run, unb64, Daemon};

const SUBJECT: &str = "CN=ЖАҢА КІЛТ,SURNAME=ЖАҢА,SERIALNUMBER=IIN900101300123,C=KZ,G=ТЕСТҰЛЫ";

fn qoltanba(data: &Path, args: &[&str], password: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("NEW_KEY_PASSWORD", password)
        .output()
        .expect("qoltanba runs")
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn keygen_then_install_cert_gives_a_key_file_that_signs_through_the_api() {
    let dir = tempfile::tempdir().expect("dir");
    let (data, folder, request) =
        (dir.path().join("data"), dir.path().join("keys"), dir.path().join("request.pem"));
    let path = |p: &Path| p.to_str().expect("utf-8 path").to_string();
    let keygen = [
        "keygen",
        "--subject",
        SUBJECT,
        "--email",
        "new@example.kz",
        "--folder",
        &path(&folder),
        "--out",
        &path(&request),
        "--password-env",
        "NEW_KEY_PASSWORD",
    ];
    let weak = qoltanba(&data, &keygen, "password");
    assert!(!weak.status.success(), "a weak password is refused");
    assert!(said(&weak).contains("Latin capital and small letters and digits"), "{}", said(&weak));
    let made = qoltanba(&data, &keygen, "Qwerty12");
    assert!(made.status.success(), "{}", said(&made));

    // openssl reads the request; its subject is the one given.
    let (ok, text) =
        run("openssl", &["req", "-in", &path(&request), "-noout", "-subject", "-nameopt", "utf8"]);
    assert!(ok, "{text}");
    assert!(text.contains("CN=ЖАҢА КІЛТ") || text.contains("CN = ЖАҢА КІЛТ"), "{text}");

    // The test CA issues the certificate; install-cert puts it next to the key.
    let pem = std::fs::read_to_string(&request).expect("request");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let ca = TestCa::new("Qoltanba issuance test CA");
    let certificate = ca.issue(&unb64(&body), 77).expect("the CA issues it");
    let cert_file = dir.path().join("issued.cer");
    std::fs::write(&cert_file, certificate.der()).expect("write");
    let install = ["install-cert", &path(&cert_file), "--password-env", "NEW_KEY_PASSWORD"];
    let wrong = qoltanba(&data, &install, "Qwerty13");
    assert!(!wrong.status.success());
    assert!(said(&wrong).contains("wrong password"), "{}", said(&wrong));
    let installed = qoltanba(&data, &install, "Qwerty12");
    assert!(installed.status.success(), "{}", said(&installed));
    let ski = qoltanba::crypto::hex(&certificate.subject_key_id().expect("SKI"));
    let p12 = folder.join(format!("GOST512_{ski}.p12"));
    assert!(said(&installed).contains(&path(&p12)), "{}", said(&installed));
    let (ok, text) = openssl_reads_p12(&p12);
    assert!(ok && text.contains("MAC: sha1, Iteration 1024"), "{text}");

    // A daemon trusting the test CA signs with the new key; the GOST engine checks it.
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.certificate.pem()).expect("write");
    let config = format!(
        "[trust]\nnca_test = true\ninstall_local_ca = false\nextra_ca = [{:?}]\n[revocation]\ncheck = false\n",
        path(&ca_file)
    );
    let answer = json!({"approve": true, "store": "PKCS12", "file": p12, "password": "Qwerty12"});
    let daemon = Daemon::start_with(&[answer], &[], Some(&config));
    let mut client = daemon.client(Some("https://portal.test.kz")).await;
    let args = json!({"format": "raw"});
    let engine_accepts = (dir.path(), &certificate, "the new key");
    signs_raw(&mut client, args, b"first signature", engine_accepts).await;
}

/// A basics `sign` of `data` in raw format with `args` (and the signing and signer parameters
/// added) through `client`: the signer's certificate is the one expected, and Debian's GOST
/// engine accepts the signature (`dir` for its files, `name` in its message).
async fn signs_raw(
    client: &mut crate::harness::Client,
    mut args: serde_json::Value,
    data: &[u8],
    (dir, certificate, name): (&Path, &Certificate, &str),
) {
    args["data"] = json!(crate::harness::b64(data));
    args["signingParams"] = json!({"decode": true, "outputCert": true});
    args["signerParams"] = json!({"extKeyUsageOids": []});
    let reply = client.call_json(&basics("sign", args)).await;
    let result = &reply["body"]["result"];
    let signature = unb64(result["signatures"][0].as_str().unwrap_or_else(|| panic!("{reply}")));
    let signed_by = Certificate::from_der(&unb64(result["certificate"].as_str().expect("cert")))
        .expect("certificate");
    assert_eq!(&signed_by, certificate);
    oracle_verifies(dir, certificate, data, &signature, name);
}

fn basics(method: &str, args: serde_json::Value) -> serde_json::Value {
    json!({"module":"kz.gov.pki.knca.basics","method":method,"args":args})
}

#[tokio::test]
async fn a_portal_gets_a_request_then_installs_the_certificate_through_the_api() {
    let dir = tempfile::tempdir().expect("dir");
    let folder = dir.path().join("ЭЦП");
    let answers = [
        // The new key: a weak password first (asked again), then a good one.
        json!({"approve": true, "folder": folder, "password": "qwerty"}),
        json!({"approve": true, "folder": folder, "password": "Qwerty12"}),
        // The certificate: a wrong password first (asked again, nothing lost), then the right one.
        json!({"approve": true, "password": "Qwerty13"}),
        json!({"approve": true, "password": "Qwerty12"}),
    ];
    let daemon = Daemon::start_with(&answers, &[], None);
    let mut client = daemon.client(Some("https://nca.pki.gov.kz")).await;

    let card = basics("generateCsr", json!({"storage":"AKKZIDCardStore","subjectDn":SUBJECT}));
    let refused = client.call_json(&card).await;
    assert_eq!(refused["code"], "NOT_SUPPORTED", "{refused}");
    assert!(daemon.seen().is_empty(), "no dialog for it");
    let request = basics(
        "generateCsr",
        json!({"storage":"PKCS12","subjectDn":SUBJECT,
        "email":"new@example.kz","locale":"kk","futureField":"ignored"}),
    );
    let reply = client.call_json(&request).await;
    assert_eq!(reply["status"], json!(true), "{reply}");
    let der = unb64(reply["body"]["result"].as_str().unwrap_or_else(|| panic!("{reply}")));
    let seen = daemon.seen();
    assert_eq!(seen[0]["operation"], "new-key");
    assert_eq!(seen[0]["origin"], "https://nca.pki.gov.kz");
    assert_eq!(seen[0]["subject"], SUBJECT);
    assert_eq!(seen[1]["retry"].as_str().map(|r| r.contains("Latin capital")), Some(true));

    // A certificate for no waiting key is refused before anyone is asked.
    let ca = TestCa::new("Qoltanba issuance test CA");
    let stranger = {
        let other = tempfile::tempdir().expect("dir");
        let waiting = qoltanba::keystore::waiting::Waiting::new(other.path().to_path_buf());
        let fields = qoltanba::crypto::csr::RequestFields {
            subject: "CN=БӨТЕН".into(),
            email: None,
            storage: "PKCS12".into(),
            folder: None,
        };
        let made = waiting
            .new_file_key(&fields, other.path(), &secrecy::SecretString::from("Qwerty12"))
            .expect("a request");
        ca.issue(&made.request, 90).expect("issued")
    };
    let refused = client
        .call_json(&basics(
            "importCertificate",
            json!({"certificate": crate::harness::b64(stranger.der())}),
        ))
        .await;
    assert_eq!(refused["code"], "INVALID_IMPORTING_CERTIFICATE", "{refused}");
    assert_eq!(daemon.seen().len(), 2, "no dialog for it");
    let junk =
        client.call_json(&basics("importCertificate", json!({"certificate": "not one"}))).await;
    assert_eq!(junk["code"], "INVALID_IMPORTING_CERTIFICATE", "{junk}");

    let certificate = ca.issue(&der, 91).expect("issued");
    let reply = client
        .call_json(&basics("importCertificate", json!({"certificate": certificate.pem()})))
        .await;
    let ski = qoltanba::crypto::hex(&certificate.subject_key_id().expect("SKI"));
    assert_eq!(reply["body"]["result"], json!(ski), "{reply}");
    let seen = daemon.seen();
    assert_eq!(seen[2]["operation"], "install-certificate");
    let p12 = folder.join(format!("GOST512_{ski}.p12"));
    assert_eq!(seen[2]["destination"], json!(p12));
    assert_eq!(seen[3]["retry"], "Wrong password. Try again.", "{seen:?}");
    let (ok, text) = openssl_reads_p12(&p12);
    assert!(ok, "{text}");

    // Installed once: the same certificate again is for no waiting key.
    let again = client
        .call_json(&basics("importCertificate", json!({"certificate": certificate.pem()})))
        .await;
    assert_eq!(again["code"], "INVALID_IMPORTING_CERTIFICATE", "{again}");
}

#[tokio::test]
async fn an_rsa_key_made_on_softhsm_gets_its_certificate_and_signs_through_the_api() {
    use crate::softhsm::{self, SoftHsm, PIN, STORE};
    if !softhsm::available() {
        return;
    }
    let hsm = SoftHsm::new();
    hsm.init_token("issuance");
    let pin = |pin: &str| json!({"approve": true, "store": STORE, "pin": pin});
    // The key: a wrong PIN first (asked again), then the right one; the certificate; a signature.
    let answers = [pin("0000"), pin(PIN), pin(PIN), pin(PIN)];
    let (key, value) = hsm.env();
    let config = softhsm::config(Path::new(softhsm::MODULE));
    let daemon = Daemon::process(&answers, &[(key, value.as_str())], Some(&config));
    let mut client = daemon.client(Some("https://nca.pki.gov.kz")).await;

    let subject = "CN=TOKEN TESTOV,SERIALNUMBER=IIN900101300124,C=KZ";
    // SoftHSM2 makes no GOST keys: the NCA's kind (the default) is refused before any dialog.
    let gost = json!({"storage": STORE, "subjectDn": subject});
    let refused = client.call_json(&basics("generateCsr", gost)).await;
    assert_eq!(refused["code"], "CSR_GENERATING_FAILURE", "{refused}");
    assert!(refused["message"].as_str().is_some_and(|m| m.contains("GOST-2015-512")), "{refused}");
    assert!(daemon.seen().is_empty(), "no dialog for it");
    let reply = client
        .call_json(&basics(
            "generateCsr",
            json!({"storage": STORE, "subjectDn": subject,
            "email": "token@example.kz", "algorithm": "RSA2048"}),
        ))
        .await;
    let der = unb64(reply["body"]["result"].as_str().unwrap_or_else(|| panic!("{reply}")));
    let seen = daemon.seen();
    assert!(seen[1]["retry"].as_str().is_some_and(|r| r.contains("Wrong PIN")), "{seen:?}");

    // openssl checks the request's signature (made on the token) and issues the certificate.
    let dir = daemon.dir.path();
    let file = |name: &str| dir.join(name).to_str().expect("path").to_string();
    std::fs::write(dir.join("req.der"), &der).expect("write");
    let (ok, text) = run(
        "openssl",
        &["req", "-inform", "DER", "-in", &file("req.der"), "-verify", "-noout", "-text"],
    );
    assert!(ok, "{text}");
    assert!(text.contains("1.2.398.3.3.5") && text.contains("token@example.kz"), "{text}");
    openssl_ca_issues(dir, "7");

    let cert = std::fs::read_to_string(dir.join("cert.pem")).expect("cert");
    let reply = client.call_json(&basics("importCertificate", json!({"certificate": cert}))).await;
    let alias = reply["body"]["result"].as_str().unwrap_or_else(|| panic!("{reply}")).to_string();
    assert_eq!(alias.len(), 40, "{reply}");
    assert!(daemon.seen()[2]["destination"].as_str().is_some_and(|d| d.starts_with(STORE)));

    // The key signs on the token; openssl verifies the CMS against the test CA.
    let sign = json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "allowedStorages":[STORE],"format":"cms","data":"dG9rZW4ga2V5","signingParams":{"decode":true,
        "encapsulate":true},"signerParams":{"extKeyUsageOids":[],"chain":[]}}});
    let reply = client.call_json(&sign).await;
    let pem = reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{reply}"));
    let cms: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    std::fs::write(dir.join("sig.der"), unb64(&cms)).expect("write");
    let (ok, text) = run(
        "openssl",
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &file("sig.der"),
            "-CAfile",
            &file("ca.pem"),
            "-purpose",
            "any",
            "-out",
            &file("out.bin"),
        ],
    );
    assert!(ok, "{text}");
    assert_eq!(std::fs::read(dir.join("out.bin")).expect("content"), b"token key");
    assert_eq!(daemon.seen().last().map(|s| s["keys"].clone()), Some(json!([alias])));
}

#[test]
fn keygen_and_install_cert_on_a_softhsm_token_from_the_command_line() {
    use crate::softhsm::{self, SoftHsm, PIN, STORE};
    if !softhsm::available() {
        return;
    }
    let hsm = SoftHsm::new();
    hsm.init_token("cli");
    let dir = tempfile::tempdir().expect("dir");
    let file = |name: &str| dir.path().join(name).to_str().expect("path").to_string();
    std::fs::write(dir.path().join("config.toml"), softhsm::config(Path::new(softhsm::MODULE)))
        .expect("config");
    let (key, value) = hsm.env();
    let qoltanba = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_qoltanba"))
            .arg("--config")
            .arg(file("config.toml"))
            .arg("--data-dir")
            .arg(file("data"))
            .args(args)
            .env(key, &value)
            .env("TOKEN_PIN", PIN)
            .output()
            .expect("qoltanba runs")
    };
    let gost = ["keygen", "--store", STORE, "--subject", "CN=CLI", "--out", &file("no.der")];
    let refused = qoltanba(&gost);
    assert!(!refused.status.success());
    assert!(said(&refused).contains("cannot make GOST-2015-512 keys"), "{}", said(&refused));
    let file_rsa = ["keygen", "--algorithm", "rsa2048", "--subject", "CN=CLI", "--out", "x.der"];
    let refused = qoltanba(&file_rsa);
    assert!(said(&refused).contains("RSA-2048 keys are made on tokens"), "{}", said(&refused));
    let card = ["keygen", "--store", "AKKZIDCardStore", "--subject", "CN=CLI", "--out", "x.der"];
    let refused = qoltanba(&card);
    assert!(said(&refused).contains("keys are not made on the ID card"), "{}", said(&refused));
    let made = qoltanba(&[
        "keygen",
        "--store",
        STORE,
        "--algorithm",
        "rsa2048",
        "--subject",
        "CN=CLI TOKEN,C=KZ",
        "--out",
        &file("req.der"),
        "--password-env",
        "TOKEN_PIN",
    ]);
    assert!(made.status.success(), "{:?} {}", made.status, said(&made));
    let (ok, text) = run(
        "openssl",
        &[
            "req",
            "-inform",
            "DER",
            "-in",
            &file("req.der"),
            "-verify",
            "-noout",
            "-out",
            &file("req.pem"),
        ],
    );
    assert!(ok, "{text}");
    openssl_ca_issues(dir.path(), "9");
    let installed = qoltanba(&["install-cert", &file("cert.pem"), "--password-env", "TOKEN_PIN"]);
    assert!(installed.status.success(), "{:?} {}", installed.status, said(&installed));
    assert!(
        said(&installed).contains(&format!("installed: {STORE} token")),
        "{}",
        said(&installed)
    );
    let listed = qoltanba(&["keys", "--store", STORE]);
    assert!(said(&listed).contains("CN=CLI TOKEN"), "{}", said(&listed));
}

#[tokio::test]
async fn a_gost_key_made_on_a_gost_token_gets_its_certificate_and_signs_through_the_api() {
    use crate::softhsm::{self, SoftHsm, PIN, STORE};
    if !softhsm::gost_token_available() {
        return;
    }
    let hsm = SoftHsm::new();
    let (module, keys) = gost_token(&hsm);
    let ca = TestCa::new("Qoltanba GOST token test CA");
    let ca_file = hsm.dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.certificate.pem()).expect("write");
    let config = format!(
        "{}[trust]\nnca_test = true\ninstall_local_ca = false\nextra_ca = [{:?}]\n\
         [revocation]\ncheck = false\n",
        softhsm::config(&module),
        ca_file.to_str().expect("path")
    );
    let pin = json!({"approve": true, "store": STORE, "pin": PIN});
    let (key, value) = hsm.env();
    let env = [(key, value.as_str()), ("GOST_TOKEN_DIR", keys.to_str().expect("path"))];
    let daemon = Daemon::process(&[pin.clone(), pin.clone(), pin], &env, Some(&config));
    let mut client = daemon.client(Some("https://nca.pki.gov.kz")).await;

    // The token makes the NCA's kind of key, the default.
    let subject = "CN=ГОСТ ТОКЕН,SERIALNUMBER=IIN900101300125,C=KZ";
    let reply = client
        .call_json(&basics("generateCsr", json!({"storage": STORE, "subjectDn": subject})))
        .await;
    let der = unb64(reply["body"]["result"].as_str().unwrap_or_else(|| panic!("{reply}")));
    // The key-store extension names the Kaztoken (1.2.398.3.3.5.2.2) and no folder.
    let extension = [
        0x06, 0x06, 0x2A, 0x83, 0x0E, 0x03, 0x03, 0x05, 0x04, 0x0C, 0x30, 0x0A, 0x06, 0x08, 0x2A,
        0x83, 0x0E, 0x03, 0x03, 0x05, 0x02, 0x02,
    ];
    assert!(der.windows(extension.len()).any(|w| w == extension), "key-store extension");

    // The test CA issues the certificate; the GOST engine checks the request's self-signature
    // (made on the token) with the certified key.
    let certificate = ca.issue(&der, 92).expect("the CA accepts the request");
    let request = {
        use der::Decode as _;
        x509_cert::request::CertReq::from_der(&der).expect("a PKCS#10 request")
    };
    let info = der::Encode::to_der(&request.info).expect("info");
    let signature = request.signature.raw_bytes();
    let dir = daemon.dir.path();
    oracle_verifies(dir, &certificate, &info, signature, "the request signed on the token");

    let reply = client
        .call_json(&basics("importCertificate", json!({"certificate": certificate.pem()})))
        .await;
    let ski = qoltanba::crypto::hex(&certificate.subject_key_id().expect("SKI"));
    assert_eq!(reply["body"]["result"], json!(ski), "{reply}");

    // OpenSC's pkcs11-tool sees the key as a token keeps it, and the certificate beside it.
    let listing = pkcs11_objects(&module, &env);
    assert!(listing.contains("Private Key Object; GOSTR3410-2012-512"), "{listing}");
    assert!(listing.contains("never extractable"), "{listing}");
    assert!(listing.contains("Certificate Object"), "{listing}");
    assert_eq!(listing.matches(&format!("ID:         {ski}")).count(), 3, "{listing}");

    // The key signs on the token through the API; the GOST engine accepts the signature.
    let args = json!({"allowedStorages": [STORE], "format": "raw"});
    signs_raw(&mut client, args, b"gost token", (dir, &certificate, "the token key")).await;
    // An RSA key is refused for a key file, before any dialog.
    let rsa_file = json!({"storage": "PKCS12", "subjectDn": subject, "algorithm": "RSA"});
    let refused = client.call_json(&basics("generateCsr", rsa_file)).await;
    assert_eq!(refused["code"], "CSR_GENERATING_FAILURE", "{refused}");
    assert_eq!(daemon.seen().len(), 3, "no dialog for it");
}

#[test]
fn a_token_knowing_the_curve_by_its_kz_name_makes_a_key_from_the_command_line() {
    use crate::softhsm::{self, SoftHsm, PIN, STORE};
    if !softhsm::gost_token_available() {
        return;
    }
    let hsm = SoftHsm::new();
    let (module, keys) = gost_token(&hsm);
    let dir = hsm.dir.path();
    let file = |name: &str| dir.join(name).to_str().expect("path").to_string();
    std::fs::write(dir.join("config.toml"), softhsm::config(&module)).expect("config");
    let (key, value) = hsm.env();
    let keys = keys.to_str().expect("path");
    let env = [(key, value.as_str()), ("GOST_TOKEN_DIR", keys), ("GOST_TOKEN_PARAMSET", "kz")];
    // `fault`: what the token does wrong (GOST_TOKEN_FAULT), if anything.
    let qoltanba_with = |args: &[&str], fault: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_qoltanba"));
        command.arg("--config").arg(file("config.toml")).arg("--data-dir").arg(file("data"));
        command.args(args).envs(env).env("TOKEN_PIN", PIN).env("GOST_TOKEN_FAULT", fault);
        command.output().expect("qoltanba runs")
    };
    let qoltanba = |args: &[&str]| qoltanba_with(args, "");
    let subject = "CN=KZ CURVE,SERIALNUMBER=IIN900101300126,C=KZ";
    let keygen = ["keygen", "--store", STORE, "--subject", subject, "--out", &file("req.der")];
    let keygen = [&keygen[..], &["--password-env", "TOKEN_PIN"]].concat();
    // A token that answers half a public key: refused, and the pair it made is destroyed.
    let refused = qoltanba_with(&keygen, "value");
    assert!(said(&refused).contains("64-byte GOST-512 public key"), "{}", said(&refused));
    assert!(!pkcs11_objects(&module, &env).contains("Private Key Object"), "nothing left");
    // One that cannot sign the request: refused, and the key it made is destroyed again.
    let refused = qoltanba_with(&keygen, "sign");
    assert!(!refused.status.success(), "{}", said(&refused));
    let function_failed = "Sign: The requested function could not be performed";
    assert!(said(&refused).contains(function_failed), "{}", said(&refused));
    assert!(!pkcs11_objects(&module, &env).contains("Private Key Object"), "nothing left");
    let made = qoltanba(&keygen);
    assert!(made.status.success(), "{}", said(&made));
    let listing = pkcs11_objects(&module, &env);
    assert!(listing.contains("PARAMS OID: 060a2a830e030a0101020201"), "{listing}");

    let ca = TestCa::new("Qoltanba GOST token test CA");
    let certificate = ca.issue(&std::fs::read(dir.join("req.der")).expect("req"), 93);
    std::fs::write(dir.join("cert.der"), certificate.expect("issued").der()).expect("write");
    let installed = qoltanba(&["install-cert", &file("cert.der"), "--password-env", "TOKEN_PIN"]);
    assert!(installed.status.success(), "{}", said(&installed));
    let listed = qoltanba(&["keys", "--store", STORE]);
    assert!(said(&listed).contains("CN=KZ CURVE"), "{}", said(&listed));
}

/// A SoftHSM2 token behind the GOST token double: the module, and the folder its GOST keys
/// live in (`GOST_TOKEN_DIR`).
fn gost_token(hsm: &crate::softhsm::SoftHsm) -> (std::path::PathBuf, std::path::PathBuf) {
    hsm.init_token("gost");
    let module = crate::softhsm::gost_token_module(hsm.dir.path());
    let keys = hsm.dir.path().join("gost-keys");
    std::fs::create_dir_all(&keys).expect("key dir");
    (module, keys)
}

/// What OpenSC's `pkcs11-tool --list-objects` says of the token behind `module`, logged in.
fn pkcs11_objects(module: &Path, env: &[(&str, &str)]) -> String {
    let module = module.to_str().expect("path");
    let pin = crate::softhsm::PIN;
    let output = Command::new("pkcs11-tool")
        .args(["--module", module, "--login", "--pin", pin, "--list-objects"])
        .envs(env.iter().copied())
        .output()
        .expect("pkcs11-tool");
    said(&output)
}

/// openssl as the CA: a self-signed RSA CA (`ca.pem`, `ca.key` in `dir`) issues `cert.pem` for
/// the request `req.der`, copying its extensions.
fn openssl_ca_issues(dir: &Path, serial: &str) {
    let file = |name: &str| dir.join(name).to_str().expect("path").to_string();
    let steps: [&[&str]; 3] = [
        &["req", "-inform", "DER", "-in", &file("req.der"), "-out", &file("req.pem")],
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &file("ca.key"),
            "-out",
            &file("ca.pem"),
            "-subj",
            "/CN=Qoltanba RSA test CA",
            "-days",
            "30",
        ],
        &[
            "x509",
            "-req",
            "-in",
            &file("req.pem"),
            "-CA",
            &file("ca.pem"),
            "-CAkey",
            &file("ca.key"),
            "-set_serial",
            serial,
            "-days",
            "30",
            "-copy_extensions",
            "copyall",
            "-out",
            &file("cert.pem"),
        ],
    ];
    for args in steps {
        let (ok, text) = run("openssl", args);
        assert!(ok, "openssl {args:?}: {text}");
    }
}

/// `openssl pkcs12 -legacy -info` of `p12` with the password `Qwerty12`: (success, output).
fn openssl_reads_p12(p12: &Path) -> (bool, String) {
    let p12 = p12.to_str().expect("path");
    let args = ["pkcs12", "-legacy", "-info", "-nokeys", "-noout", "-passin", "pass:Qwerty12"];
    run("openssl", &[&args[..], &["-in", p12]].concat())
}
