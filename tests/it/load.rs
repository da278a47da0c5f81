//! Issue 15's load tool in its short mode: the same driver as `cargo bench --bench load`
//! (`benches/load/driver.rs`) runs every figure's scenario against the real daemon process at
//! a small size, with default settings, and every signature of a sample is verified by a tool
//! we did not write (openssl, xmlsec1, the GOST engine). It never judges speed: that is the
//! full mode's table (docs/performance.md).

use der::{Decode as _, Encode as _};
use qoltanba::crypto::Certificate;

use crate::harness::{openssl_verify_attached, openssl_verify_detached, unb64, xmlsec_verify};

#[path = "../../benches/load/driver.rs"]
mod driver;

use driver::{Client, Daemon};

fn exe() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_BIN_EXE_qoltanba"))
}

/// The signed attributes, the signature value and the certificate of a CMS's first signer
/// (the certificate as our verifier finds it, given the content of a detached CMS; the engine
/// checks the signature).
fn first_signer(pem: &str, content: Option<&[u8]>) -> (Vec<u8>, Vec<u8>, Certificate) {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    let der = unb64(pem);
    let info = ContentInfo::from_der(&der).expect("CMS");
    let signed: SignedData = info.content.decode_as().expect("SignedData");
    let signer = &signed.signer_infos.0.as_slice()[0];
    let attributes =
        signer.signed_attrs.as_ref().expect("signed attributes").to_der().expect("DER");
    let signers =
        qoltanba::sign::cms_verify::verify(&der, content).expect("our verifier accepts it");
    let certificate = signers[0].certificate.clone();
    (attributes, signer.signature.as_bytes().to_vec(), certificate)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_batches_large_documents_and_single_signs_verify() {
    let answers = vec![driver::approve(driver::RSA_KEY); 8];
    let daemon = Daemon::start(exe(), driver::RSA_NOW, &answers, "");
    let mut client = Client::connect(&daemon.url).await;
    let dir = daemon.dir.path();

    let documents = driver::small_documents(60);
    let (_, signatures) = driver::cms_batch(&mut client, &documents).await;
    for (i, (pem, document)) in signatures.iter().zip(&documents).enumerate().step_by(7) {
        let (ok, out) = openssl_verify_attached(dir, &unb64(pem), document);
        assert!(ok, "document {i} of the batch: {out}");
    }

    let (_, signed) = driver::xml_batch(&mut client, 20).await;
    for (i, xml) in signed.iter().enumerate().step_by(6) {
        assert!(xml.contains(&format!("<number>{i}</number>")), "in order: {xml}");
        let (ok, out) = xmlsec_verify(dir, xml);
        assert!(ok, "XML {i}: {out}");
    }

    let document: Vec<u8> = (0..8_000_000u32).map(|i| (i % 253) as u8).collect();
    let (size, _, pem) = driver::large_document(&mut client, &document).await;
    assert!(size > document.len() * 4 / 3, "{size}");
    let (ok, out) = openssl_verify_detached(dir, &unb64(&pem), &document);
    assert!(ok, "the large detached CMS: {out}");

    let times = driver::single_signs(&mut client, 5).await;
    assert_eq!(times.len(), 5);
    assert_eq!(daemon.journal(), 1 + 1 + 1 + 5, "every request journaled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gost_batch_verifies_with_the_gost_engine() {
    let answers = [driver::approve(driver::GOST_KEY), driver::approve(driver::GOST_KEY)];
    let daemon = Daemon::start(exe(), driver::GOST_NOW, &answers, "");
    let mut client = Client::connect(&daemon.url).await;
    let documents = driver::small_documents(40);
    let (_, signatures) = driver::cms_batch(&mut client, &documents).await;
    for (i, pem) in signatures.iter().enumerate().step_by(9) {
        let (attributes, signature, certificate) = first_signer(pem, None);
        let name = format!("GOST batch document {i}");
        crate::gost::oracle_verifies(
            daemon.dir.path(),
            &certificate,
            &attributes,
            &signature,
            &name,
        );
    }
    let texts: Vec<String> = signatures.iter().map(|p| p.to_string()).collect();
    assert_eq!(texts.len(), 40);

    // A large document stays in the message and is hashed with Streebog-512 a piece at a
    // time once the key is known: the engine checks the signature and the digest.
    let document: Vec<u8> = (0..3_000_000u32).map(|i| (i % 241) as u8).collect();
    let (_, _, pem) = driver::large_document(&mut client, &document).await;
    let (attributes, signature, certificate) = first_signer(&pem, Some(&document));
    let dir = daemon.dir.path();
    crate::gost::oracle_verifies(dir, &certificate, &attributes, &signature, "large document");
    let expected = crate::gost::engine_streebog512(dir, &document);
    assert_eq!(message_digest(&pem), expected, "messageDigest is the engine's Streebog-512");
}

/// The messageDigest attribute of a CMS's first signer.
fn message_digest(pem: &str) -> Vec<u8> {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    let info = ContentInfo::from_der(&unb64(pem)).expect("CMS");
    let signed: SignedData = info.content.decode_as().expect("SignedData");
    let signer = &signed.signer_infos.0.as_slice()[0];
    let attributes = signer.signed_attrs.as_ref().expect("signed attributes");
    let digest = attributes
        .iter()
        .find(|a| a.oid == const_oid::db::rfc5911::ID_MESSAGE_DIGEST)
        .expect("messageDigest");
    let value = digest.values.iter().next().expect("a value");
    der::asn1::OctetString::from_der(&value.to_der().expect("DER")).expect("octets").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_held_with_heartbeats_at_the_default_limit() {
    let daemon = Daemon::start(exe(), driver::RSA_NOW, &[], "");
    // The default limit is 64 connections; a portal's tab or two use a handful.
    assert_eq!(driver::held_connections(&daemon.url, 60, 3).await, 60);
    assert!(daemon.startup < std::time::Duration::from_secs(30));
    assert!(daemon.status_kib("VmRSS") > 0);
}
