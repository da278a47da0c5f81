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
    let sign = json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{"format":"raw",
        "data":"Zmlyc3Qgc2lnbmF0dXJl","signingParams":{"decode":true,"outputCert":true},
        "signerParams":{"extKeyUsageOids":[]}}});
    let reply = client.call_json(&sign).await;
    let result = &reply["body"]["result"];
    let signature = unb64(result["signatures"][0].as_str().unwrap_or_else(|| panic!("{reply}")));
    let signed_by = Certificate::from_der(&unb64(result["certificate"].as_str().expect("cert")))
        .expect("certificate");
    assert_eq!(signed_by, certificate);
    oracle_verifies(dir.path(), &certificate, b"first signature", &signature, "the new key");
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
    let reply = client
        .call_json(&basics(
            "generateCsr",
            json!({"storage": STORE, "subjectDn": subject,
            "email": "token@example.kz"}),
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
    let made = qoltanba(&[
        "keygen",
        "--store",
        STORE,
        "--subject",
        "CN=CLI TOKEN,C=KZ",
        "--out",
        &file("req.der"),
        "--password-env",
        "TOKEN_PIN",
    ]);
    assert!(made.status.success(), "{}", said(&made));
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
    assert!(installed.status.success(), "{}", said(&installed));
    assert!(
        said(&installed).contains(&format!("installed: {STORE} token")),
        "{}",
        said(&installed)
    );
    let listed = qoltanba(&["keys", "--store", STORE]);
    assert!(said(&listed).contains("CN=CLI TOKEN"), "{}", said(&listed));
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
