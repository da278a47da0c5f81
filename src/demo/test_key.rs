//! `qoltanba demo --make-test-key`: a self-made TEST certificate authority and an RSA-2048
//! signing key issued by it, written as a PKCS#12 file, so a new user can try a signature in
//! minutes. Everything is marked TEST in its names; the CA key is dropped after use, and no
//! real portal accepts these certificates.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, PKCS_RSA_SHA256,
};
use rsa::pkcs8::EncodePrivateKey as _;

/// What the test key is called, in every place a person may see it.
pub const TEST_MARK: &str = "QOLTANBA TEST — NOT FOR REAL SIGNATURES";

/// The alias and DER of a new test `.p12` protected by `password`.
pub fn make(password: &str) -> Result<(String, Vec<u8>), String> {
    let failed = |e: &dyn std::fmt::Display| format!("cannot make the test key: {e}");
    let ca_key = KeyPair::generate().map_err(|e| failed(&e))?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(|e| failed(&e))?;
    ca.distinguished_name.push(DnType::CommonName, format!("{TEST_MARK} (CA)"));
    ca.distinguished_name.push(DnType::CountryName, "KZ");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).map_err(|e| failed(&e))?;

    let rsa = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).map_err(|e| failed(&e))?;
    let pkcs8 = rsa.to_pkcs8_der().map_err(|e| failed(&e))?;
    let der = tokio_rustls::rustls::pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_bytes().to_vec());
    let leaf_key =
        KeyPair::from_pkcs8_der_and_sign_algo(&der, &PKCS_RSA_SHA256).map_err(|e| failed(&e))?;
    let leaf = leaf_params().map_err(|e| failed(&e))?;
    let cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).map_err(|e| failed(&e))?;
    let certificate = crate::crypto::Certificate::from_der(cert.der()).map_err(|e| failed(&e))?;
    let key_id = certificate.subject_key_id().unwrap_or_else(|| vec![1]);
    let alias = crate::crypto::hex(&key_id);
    let p12 = crate::keystore::pkcs12::writer::write(
        pkcs8.as_bytes(),
        certificate.der(),
        &alias,
        &key_id,
        password,
    );
    Ok((alias, p12))
}

fn leaf_params() -> Result<CertificateParams, rcgen::Error> {
    let mut leaf = CertificateParams::new(Vec::<String>::new())?;
    let dn = &mut leaf.distinguished_name;
    dn.push(DnType::CommonName, "ТЕСТОВ ТЕСТ (TEST)");
    dn.push(DnType::CustomDnType(vec![2, 5, 4, 4]), "ТЕСТОВ");
    dn.push(DnType::CustomDnType(vec![2, 5, 4, 5]), "IIN000000000000");
    dn.push(DnType::CountryName, "KZ");
    dn.push(DnType::OrganizationName, TEST_MARK);
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
    leaf.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::EmailProtection,
        ExtendedKeyUsagePurpose::Other(vec![1, 2, 398, 3, 3, 4, 1, 1]),
    ];
    let now = time::OffsetDateTime::now_utc();
    leaf.not_before = now - time::Duration::days(1);
    leaf.not_after = now + time::Duration::days(365);
    Ok(leaf)
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use crate::keystore::{KeyStore, Pkcs12Store};

    #[test]
    fn the_test_key_opens_here_and_in_openssl_and_signs() {
        let (alias, p12) = super::make("Тест-12").expect("test key");
        let store = Pkcs12Store::open(&p12, &SecretString::from("Тест-12")).expect("opens");
        let key = store.keys().first().expect("a key");
        assert_eq!(key.alias, alias);
        assert!(key.certificate.subject_dn().contains("IIN000000000000"));
        assert!(key.certificate.roles().signature);
        let signer = store.signer(&alias).expect("signer");
        let digest = crate::crypto::HashAlgorithm::Sha256.digest(b"test");
        let signature = signer.sign_digest(&digest).expect("signs");
        let algorithm = signer.algorithm();
        crate::crypto::verify::verify_digest(signer.certificate(), algorithm, &digest, &signature)
            .expect("verifies");
        assert!(Pkcs12Store::open(&p12, &SecretString::from("wrong")).is_err());
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("test.p12");
        std::fs::write(&path, &p12).expect("write");
        let out = std::process::Command::new("openssl")
            .args(["pkcs12", "-info", "-noout", "-passin", "pass:Тест-12", "-in"])
            .arg(&path)
            .output()
            .expect("openssl");
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && text.contains("MAC: sha256"), "{text}");
    }
}
