//! The NCA layout writer against the NCA's own files: a key made here and a certificate from a
//! test CA, written by [`super::writer::write_nca`], must have the layout of a real NCA
//! `GOST512_….p12` field by field (bags, algorithms, iterations, salts, MAC, `friendlyName`,
//! `localKeyID`), open with its password in our reader and in `openssl pkcs12 -legacy`, and
//! sign.

use secrecy::SecretString;

use super::ber::Tlv;
use super::{pbe, writer, Pkcs12Store};
use crate::crypto::gost::{keys, GostCurve};
use crate::keystore::KeyStore as _;

const FIXTURE: &str = "gost2015-2026/individual/valid/individual_valid.p12";

/// Every field of a PKCS#12 file's layout that is not key material, in order.
fn layout(bytes: &[u8], password: &str) -> Vec<String> {
    let mut out = Vec::new();
    let pfx = Tlv::parse_all(bytes).expect("PFX");
    let [version, auth, mac] = <[Tlv<'_>; 3]>::try_from(pfx.sequence().expect("seq")).expect("3");
    out.push(format!("version {}", version.uint().expect("int")));
    let mac = mac.sequence().expect("macData");
    let digest_info = mac[0].sequence().expect("DigestInfo");
    let mac_alg = digest_info[0].sequence().expect("alg")[0].oid().expect("oid");
    let salt = mac[1].octets().expect("salt").len();
    out.push(format!("mac {mac_alg} salt {salt} iterations {}", mac[2].uint().expect("n")));
    let auth = auth.sequence().expect("ContentInfo");
    out.push(format!("authSafe {}", auth[0].oid().expect("oid")));
    let octets = auth[1].children().expect("[0]")[0].octets().expect("octets").into_owned();
    let unlock = pbe::Unlock::new(password);
    for safe in Tlv::parse_all(&octets).expect("AuthenticatedSafe").sequence().expect("seq") {
        let fields = safe.sequence().expect("ContentInfo");
        let kind = fields[0].oid().expect("oid").to_string();
        let content = fields[1].children().expect("[0]")[0];
        let contents = match kind.as_str() {
            "1.2.840.113549.1.7.1" => {
                out.push(format!("safe {kind}"));
                content.octets().expect("octets").into_owned()
            }
            _ => {
                let encrypted = content.sequence().expect("EncryptedData");
                let info = encrypted[1].sequence().expect("EncryptedContentInfo");
                out.push(format!(
                    "safe {kind} version {} content {} {}",
                    encrypted[0].uint().expect("int"),
                    info[0].oid().expect("oid"),
                    pbe_fields(&info[1])
                ));
                let data = info[2].octets().expect("data");
                unlock.decrypt(&info[1], &data).expect("decrypts").to_vec()
            }
        };
        for bag in Tlv::parse_all(&contents).expect("SafeContents").sequence().expect("seq") {
            let fields = bag.sequence().expect("SafeBag");
            let kind = fields[0].oid().expect("oid").to_string();
            let value = fields[1].children().expect("[0]")[0];
            let detail = match kind.as_str() {
                "1.2.840.113549.1.12.10.1.2" => pbe_fields(&value.sequence().expect("epki")[0]),
                _ => format!("cert {}", value.sequence().expect("CertBag")[0].oid().expect("oid")),
            };
            let mut names = Vec::new();
            let (mut friendly, mut key_id) = (String::new(), Vec::new());
            for attribute in fields[2].children().expect("SET") {
                let attribute = attribute.sequence().expect("Attribute");
                let oid = attribute[0].oid().expect("oid").to_string();
                let value = attribute[1].children().expect("SET")[0];
                match oid.as_str() {
                    "1.2.840.113549.1.9.20" => {
                        let units: Vec<u16> = value
                            .contents()
                            .chunks(2)
                            .map(|c| u16::from_be_bytes([c[0], c[1]]))
                            .collect();
                        friendly = String::from_utf16_lossy(&units);
                    }
                    _ => key_id = value.octets().expect("octets").to_vec(),
                }
                names.push(oid);
            }
            let tied = friendly == crate::crypto::hex(&key_id) && key_id.len() == 20;
            out.push(format!(
                "bag {kind} {detail} attributes {names:?} alias-is-hex-key-id {tied}"
            ));
        }
    }
    out
}

/// A PKCS#12 PBE AlgorithmIdentifier: its OID, salt length and iterations.
fn pbe_fields(algorithm: &Tlv<'_>) -> String {
    let fields = algorithm.sequence().expect("AlgorithmIdentifier");
    let params = fields[1].sequence().expect("params");
    let salt = params[0].octets().expect("salt").len();
    let iterations = params[1].uint().expect("iterations");
    format!("{} salt {salt} iterations {iterations}", fields[0].oid().expect("oid"))
}

#[test]
fn a_key_written_in_the_nca_layout_matches_an_nca_file_field_by_field() {
    let fixture = super::tests::fixture(FIXTURE);
    let ca = crate::crypto::test_ca::TestCa::new("Qoltanba test CA");
    let (d, xy) = GostCurve::Tc26_512A.generate().expect("key");
    let fields = crate::crypto::csr::RequestFields {
        subject: "CN=ТЕСТОВ ТЕСТ,SERIALNUMBER=IIN123456789011,C=KZ".into(),
        email: None,
        storage: "PKCS12".into(),
        folder: Some("/home/user/keys".into()),
    };
    let spki = keys::subject_public_key_info(GostCurve::Tc26_512A, &xy).expect("spki");
    let sign = |info: &[u8]| {
        let digest = crate::crypto::HashAlgorithm::Streebog512.digest(info);
        GostCurve::Tc26_512A.sign_digest(&d, &digest)
    };
    let request = crate::crypto::csr::build(
        &fields,
        &spki,
        crate::crypto::SignatureAlgorithm::Gost2015_512,
        sign,
    )
    .expect("request");
    let certificate = ca.issue(&request, 5).expect("issued");
    let pkcs8 = keys::private_key_info(GostCurve::Tc26_512A, &d).expect("pkcs8");
    let ski = keys::key_identifier(&xy);
    let ours = writer::write_nca(&pkcs8, certificate.der(), &ski, "Qwerty12");

    let expected = layout(&fixture, "Qwerty12");
    assert_eq!(layout(&ours, "Qwerty12"), expected);
    assert!(expected.iter().any(|l| l.contains("1.2.840.113549.1.12.1.3 salt 20 iterations 1024")));

    // Our reader opens it; the alias is the key identifier; its key signs.
    let store = Pkcs12Store::open(&ours, &SecretString::from("Qwerty12")).expect("opens");
    let alias = crate::crypto::hex(&ski);
    assert_eq!(store.keys()[0].alias, alias);
    assert_eq!(certificate.subject_key_id().as_deref(), Some(&ski[..]));
    let signer = store.signer(&alias).expect("signer");
    let signature = signer.sign_message(b"signed").expect("signs");
    crate::crypto::verify::verify_digest(
        &certificate,
        crate::crypto::SignatureAlgorithm::Gost2015_512,
        &crate::crypto::HashAlgorithm::Streebog512.digest(b"signed"),
        &signature,
    )
    .expect("verifies");
    assert!(Pkcs12Store::open(&ours, &SecretString::from("qwerty12")).is_err());

    // The same PKCS#8 as the NCA's keys: algorithm, parameters, privateKey form.
    let nca = Pkcs12Store::open(&fixture, &SecretString::from("Qwerty12")).expect("fixture");
    let nca_pkcs8 = nca.private_key_der(0).expect("key");
    let shape = |der: &[u8]| {
        let fields = Tlv::parse_all(der).expect("pkcs8").sequence().expect("seq");
        (fields[1].raw().to_vec(), fields[2].octets().expect("octets")[..2].to_vec())
    };
    assert_eq!(shape(&store.private_key_der(0).expect("key")), shape(&nca_pkcs8));

    // openssl reads it, MAC included.
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("ours.p12");
    std::fs::write(&path, &ours).expect("write");
    let out = std::process::Command::new("openssl")
        .args([
            "pkcs12",
            "-legacy",
            "-info",
            "-nokeys",
            "-noout",
            "-passin",
            "pass:Qwerty12",
            "-in",
        ])
        .arg(&path)
        .output()
        .expect("openssl");
    let said =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{said}");
    assert!(said.contains("MAC: sha1, Iteration 1024"), "{said}");
    assert!(
        said.contains("Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 1024"),
        "{said}"
    );
    assert!(
        said.contains("PKCS7 Encrypted data: pbeWithSHA1And40BitRC2-CBC, Iteration 1024"),
        "{said}"
    );
}
