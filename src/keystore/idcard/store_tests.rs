//! The ID card store over the simulated reader: found and noticed without a PIN, keys listed
//! with the card's own or the imported certificates, one VERIFY per opening, signatures checked
//! by libcrypto against each key's certificate, and the card reset when the store is dropped.

use std::sync::Arc;

use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::X509;
use secrecy::SecretString;

use super::sim::{Kept, SimCard, SimConfig, SimReaders};
use super::store::{IdCardStores, STORAGE};
use crate::crypto::{DeviceError, HashAlgorithm, PinTries};
use crate::keystore::{StorageName, StoreNotice, TokenChain, TokenStores};

const DOCUMENT: &[u8] = b"e-invoice ESF-2026-000042";

fn sim_store(config: SimConfig) -> (IdCardStores, SimReaders, tempfile::TempDir) {
    let readers = SimReaders::new(SimCard::new(config));
    let dir = tempfile::tempdir().expect("dir");
    (IdCardStores::new(Arc::new(readers.clone()), dir.path().join("idcard")), readers, dir)
}

fn name() -> StorageName {
    StorageName::parse(STORAGE).expect("name")
}

fn pin(text: &str) -> SecretString {
    SecretString::from(text.to_string())
}

/// VERIFY commands that carried a PIN.
fn pins_sent(readers: &SimReaders) -> usize {
    let count =
        |card: &SimCard| card.received.iter().filter(|c| c[1] == 0x20 && c.len() > 4).count();
    readers.with_card(count).unwrap_or(0)
}

fn verifies(certificate: &crate::crypto::Certificate, signature: &[u8]) -> bool {
    let public = X509::from_der(certificate.der()).and_then(|x| x.public_key()).expect("key");
    let mut verifier = Verifier::new(MessageDigest::sha256(), &public).expect("verifier");
    verifier.verify_oneshot(signature, DOCUMENT).expect("verification runs")
}

#[test]
fn the_card_lists_signs_and_forgets_its_pin_when_the_store_is_dropped() {
    let (store, readers, _dir) =
        sim_store(SimConfig { certificates: Kept::Pkcs15, ..Default::default() });
    assert_eq!(store.present(), vec![name()]);
    let notice = StoreNotice { experimental: true, pin_tries: Some(3) };
    assert_eq!(store.notice(&name()), Some(notice));
    assert_eq!(store.list(&name()).expect("keys without a PIN").len(), 4);
    assert_eq!(pins_sent(&readers), 0, "listing and noticing send no PIN");

    let wrong = store.open(&name(), &pin("9999"), None).err();
    assert_eq!(wrong, Some(DeviceError::WrongPin(PinTries::Count(2))));
    assert_eq!(store.notice(&name()).and_then(|n| n.pin_tries), Some(2));
    let bad = store.open(&name(), &pin("12"), None).err();
    assert!(matches!(bad, Some(DeviceError::PinFormat(_))), "{bad:?}");
    assert_eq!(pins_sent(&readers), 1, "a malformed PIN never reaches the card");

    let opened = store.open(&name(), &pin("1234"), None).expect("opens");
    assert_eq!(opened.keys().len(), 4);
    let digest = HashAlgorithm::Sha256.digest(DOCUMENT);
    std::thread::scope(|scope| {
        // Two requests' signers share the card; it signs one at a time.
        let signers: Vec<_> = opened.keys().iter().map(|k| opened.signer(&k.alias)).collect();
        let handles: Vec<_> = signers
            .into_iter()
            .map(|signer| {
                let digest = digest.clone();
                scope.spawn(move || {
                    let signer = signer.expect("signer");
                    let signature = signer.sign_digest(&digest).expect("the card signs");
                    assert!(verifies(signer.certificate(), &signature));
                })
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().expect("signed"));
    });
    assert_eq!(pins_sent(&readers), 2, "one VERIFY for the opening, none per signature");
    assert_eq!(store.present(), vec![name()], "held by the store, still shown");
    let busy = store.open(&name(), &pin("1234"), None).err();
    assert!(matches!(&busy, Some(DeviceError::Failed(why)) if why.contains("using")), "{busy:?}");
    drop(opened);
    assert_eq!(store.notice(&name()).and_then(|n| n.pin_tries), Some(3), "reset, not verified");
}

#[test]
fn imported_certificates_stand_in_for_the_ones_the_card_lacks() {
    let (store, readers, dir) = sim_store(SimConfig { slots: 2, ..SimConfig::default() });
    assert!(store.list(&name()).expect("keys").is_empty(), "no certificate yet");
    let certificate = readers.with_card(|c| c.certificate(0x88)).flatten().expect("certificate");
    let keys = readers.with_card(|c| c.key(0x88).map(|k| k.n().to_vec())).flatten().expect("n");
    let key = super::CardKey { slot: 0x88, modulus: keys };
    super::certs::import(&dir.path().join("idcard"), &certificate, &[key]).expect("imported");
    let listed = store.list(&name()).expect("keys");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].certificate.der(), certificate.der());

    let opened = store.open(&name(), &pin("1234"), None).expect("opens");
    let signer = opened.signer(&listed[0].alias).expect("signer");
    let signature = signer.sign_digest(&HashAlgorithm::Sha256.digest(DOCUMENT)).expect("signs");
    assert!(verifies(&certificate, &signature));
}

#[test]
fn a_blocked_or_pulled_out_card_says_so() {
    let (store, readers, _dir) =
        sim_store(SimConfig { tries: 1, certificates: Kept::Candidates, ..SimConfig::default() });
    let opened = store.open(&name(), &pin("1234"), None).expect("opens");
    let signer = opened.signer(&opened.keys()[0].alias).expect("signer");
    readers.pull_out().expect("was in");
    let error = signer.sign_digest(&[0; 32]).expect_err("no card");
    assert!(matches!(error, crate::crypto::CryptoError::Device(DeviceError::Removed)), "{error}");
    drop(opened);
    assert!(store.present().is_empty());
    assert_eq!(store.open(&name(), &pin("1234"), None).err(), Some(DeviceError::NotPresent));

    // One try left: the wrong PIN blocks it; the right one is then never sent.
    let (store, readers, _dir) = sim_store(SimConfig { tries: 1, ..SimConfig::default() });
    assert_eq!(store.open(&name(), &pin("0000"), None).err(), Some(DeviceError::PinLocked));
    assert_eq!(store.open(&name(), &pin("1234"), None).err(), Some(DeviceError::PinLocked));
    assert_eq!(pins_sent(&readers), 1);
    assert_eq!(store.notice(&name()).and_then(|n| n.pin_tries), Some(0));
}

#[test]
fn the_chain_gives_each_storage_name_to_the_first_store_that_knows_it() {
    let (store, _readers, _dir) =
        sim_store(SimConfig { certificates: Kept::Pkcs15, ..Default::default() });
    let chain = TokenChain::new(vec![Arc::new(store), Arc::new(crate::keystore::NoTokens)]);
    assert!(chain.knows(&name()));
    assert!(!chain.knows(&StorageName::parse("AKKaztokenStore").expect("name")));
    assert_eq!(chain.present(), vec![name()]);
    assert_eq!(chain.list(&name()).expect("keys").len(), 4);
    assert!(chain.notice(&name()).is_some_and(|n| n.experimental));
    let other = StorageName::parse("AKJaCartaStore").expect("name");
    assert_eq!(chain.list(&other).err(), Some(DeviceError::NotPresent));
}

#[test]
fn a_card_refusing_sha256_is_reported_and_its_key_signs_with_sha1_from_then_on() {
    use crate::crypto::{CryptoError, SignatureAlgorithm};
    let config = SimConfig { sha256: false, certificates: Kept::Pkcs15, ..SimConfig::default() };
    let (store, _readers, _dir) = sim_store(config);
    let opened = store.open(&name(), &pin("1234"), None).expect("opens");
    let signer = opened.signer(&opened.keys()[0].alias).expect("signer");
    assert_eq!(signer.algorithm(), SignatureAlgorithm::RsaSha256);
    let refused = signer.sign_digest(&HashAlgorithm::Sha256.digest(DOCUMENT)).expect_err("refused");
    let said = refused.to_string();
    assert!(matches!(refused, CryptoError::Device(DeviceError::MechanismUnsupported(_))), "{said}");
    assert!(said.contains("SHA-256"), "{said}");
    assert_eq!(signer.algorithm(), SignatureAlgorithm::RsaSha1, "reported, then SHA-1");
    let signature = signer.sign_digest(&HashAlgorithm::Sha1.digest(DOCUMENT)).expect("SHA-1");
    let public = X509::from_der(signer.certificate().der()).and_then(|x| x.public_key());
    let public = public.expect("key");
    let mut verifier = Verifier::new(MessageDigest::sha1(), &public).expect("verifier");
    assert!(verifier.verify_oneshot(&signature, DOCUMENT).expect("runs"));
    drop((signer, opened));
    let again = store.open(&name(), &pin("1234"), None).expect("opens again");
    let signer = again.signer(&again.keys()[0].alias).expect("signer");
    assert_eq!(signer.algorithm(), SignatureAlgorithm::RsaSha1, "remembered for the card");
}
