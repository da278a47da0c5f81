//! The driver against the simulated card: the sequences of `kz-idcard.md`, the PIN's safety
//! rules, and every signature checked by libcrypto against the card's public key.

use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::sign::Verifier;

use super::apdu::ALLOWED;
use super::sim::{Kept, SimCard, SimConfig};
use super::{CardKey, IdCard, IdCardError, PinState};
use crate::crypto::HashAlgorithm;

const DOCUMENT: &[u8] = b"invoice 42: 1,000,000.00 KZT";

fn card(config: SimConfig) -> IdCard<SimCard> {
    IdCard::open(SimCard::new(config)).expect("the card answers")
}

/// Whether libcrypto verifies `signature` over `DOCUMENT` with `key`'s public numbers.
fn openssl_verifies(key: &CardKey, digest: MessageDigest, signature: &[u8]) -> bool {
    let n = BigNum::from_slice(&key.modulus).expect("n");
    let e = BigNum::from_u32(65537).expect("e");
    let public = Rsa::from_public_components(n, e).and_then(PKey::from_rsa).expect("key");
    let mut verifier = Verifier::new(digest, &public).expect("verifier");
    verifier.verify_oneshot(signature, DOCUMENT).expect("verification runs")
}

/// The VERIFY commands that carried a PIN.
fn pins_sent(card: &IdCard<SimCard>) -> usize {
    card.reader().received.iter().filter(|c| c[1] == 0x20 && c.len() > 4).count()
}

#[test]
fn a_card_with_two_or_four_slots_signs_after_one_verify() {
    for slots in [2, 4] {
        let mut card = card(SimConfig { slots, ..SimConfig::default() });
        assert_eq!(card.pin_state().expect("state"), PinState::TriesLeft(3));
        card.verify("1234").expect("the right PIN");
        assert_eq!(card.pin_state().expect("state"), PinState::Verified);
        let keys = card.keys().expect("public keys");
        let expected: Vec<u8> = super::card::SLOTS[..slots].to_vec();
        assert_eq!(keys.iter().map(|k| k.slot).collect::<Vec<_>>(), expected);
        for key in &keys {
            assert_eq!(key.modulus.len(), 256, "RSA-2048");
            let digest = HashAlgorithm::Sha256.digest(DOCUMENT);
            let signature = card.sign(key.slot, HashAlgorithm::Sha256, &digest).expect("signs");
            assert!(
                openssl_verifies(key, MessageDigest::sha256(), &signature),
                "slot {:#x}",
                key.slot
            );
        }
        assert_eq!(pins_sent(&card), 1, "one VERIFY for every key");
    }
}

#[test]
fn a_wrong_pin_reports_the_tries_left_and_is_never_tried_again() {
    let mut card = card(SimConfig::default());
    assert_eq!(card.verify("9999"), Err(IdCardError::WrongPin { tries_left: 2 }));
    assert_eq!(card.pin_state().expect("state"), PinState::TriesLeft(2));
    assert_eq!(pins_sent(&card), 1, "no second try on its own");
    // The counter is read before each VERIFY.
    let sent = &card.reader().received;
    let verify_at = sent.iter().position(|c| c[1] == 0x20 && c.len() > 4).expect("a VERIFY");
    assert_eq!(sent[verify_at - 1], [0x00, 0x20, 0x00, 0x02], "the counter first");
    card.verify("1234").expect("then the right one");
    assert_eq!(card.reader().tries_left(), 3, "the counter is reset");
}

#[test]
fn a_blocked_pin_is_never_sent() {
    let mut card = card(SimConfig::default());
    assert_eq!(card.verify("1111"), Err(IdCardError::WrongPin { tries_left: 2 }));
    assert_eq!(card.verify("2222"), Err(IdCardError::WrongPin { tries_left: 1 }));
    assert_eq!(card.verify("3333"), Err(IdCardError::PinBlocked));
    assert_eq!(card.pin_state().expect("state"), PinState::Blocked);
    assert_eq!(card.verify("1234"), Err(IdCardError::PinBlocked), "even the right PIN");
    assert_eq!(pins_sent(&card), 3, "the blocked card got no fourth PIN");
}

#[test]
fn a_malformed_pin_is_refused_before_the_card_sees_it() {
    let mut card = card(SimConfig::default());
    for pin in ["12", "12ab", "123456789"] {
        assert_eq!(card.verify(pin), Err(IdCardError::PinFormat), "{pin}");
    }
    assert_eq!(pins_sent(&card), 0);
    assert_eq!(card.reader().tries_left(), 3);
}

#[test]
fn a_card_refusing_sha256_says_so_and_signs_sha1() {
    let mut card = card(SimConfig { sha256: false, ..SimConfig::default() });
    card.verify("1234").expect("PIN");
    let key = card.keys().expect("keys").remove(0);
    let sha256 = HashAlgorithm::Sha256.digest(DOCUMENT);
    assert_eq!(
        card.sign(key.slot, HashAlgorithm::Sha256, &sha256),
        Err(IdCardError::HashRefused("SHA-256", 0x6A80))
    );
    let sha1 = HashAlgorithm::Sha1.digest(DOCUMENT);
    let signature = card.sign(key.slot, HashAlgorithm::Sha1, &sha1).expect("SHA-1 signs");
    assert!(openssl_verifies(&key, MessageDigest::sha1(), &signature));
}

#[test]
fn signing_needs_the_pin_and_an_existing_key() {
    let mut card = card(SimConfig { slots: 2, ..SimConfig::default() });
    let digest = HashAlgorithm::Sha256.digest(DOCUMENT);
    assert!(matches!(
        card.sign(0x87, HashAlgorithm::Sha256, &digest),
        Err(IdCardError::Refused { sw: 0x6982, .. })
    ));
    card.verify("1234").expect("PIN");
    assert_eq!(card.sign(0x89, HashAlgorithm::Sha256, &digest), Err(IdCardError::NoKey(0x89)));
    assert!(card.sign(0x87, HashAlgorithm::Sha256, &digest[..20]).is_err(), "digest length");
}

#[test]
fn a_card_pulled_out_while_signing_is_an_error_not_a_hang() {
    // 2 SELECTs, the counter, VERIFY, then MSE: the card goes before INTERNAL AUTHENTICATE.
    let mut card = card(SimConfig { removed_after: Some(5), ..SimConfig::default() });
    card.verify("1234").expect("PIN");
    let digest = HashAlgorithm::Sha256.digest(DOCUMENT);
    assert!(matches!(
        card.sign(0x87, HashAlgorithm::Sha256, &digest),
        Err(IdCardError::Removed(_))
    ));
}

#[test]
fn no_command_outside_the_allowed_ones_is_ever_sent() {
    // Every operation, in every scenario above, with good and bad input.
    let configs = [
        SimConfig::default(),
        SimConfig { slots: 2, sha256: false, ..SimConfig::default() },
        SimConfig { tries: 1, ..SimConfig::default() },
        SimConfig { removed_after: Some(7), ..SimConfig::default() },
        SimConfig { certificates: Kept::Pkcs15, ..SimConfig::default() },
        SimConfig { certificates: Kept::Candidates, removed_after: Some(30), ..Default::default() },
    ];
    for config in configs {
        let mut card = card(config);
        let digest = HashAlgorithm::Sha256.digest(DOCUMENT);
        for pin in ["0000", "1234", "12", "99999999"] {
            let _ = card.pin_state();
            let _ = card.verify(pin);
            let _ = card.keys();
            let _ = card.certificates();
            for slot in [0x87, 0x8A, 0x00, 0xFF] {
                let _ = card.sign(slot, HashAlgorithm::Sha256, &digest);
                let _ = card.sign(slot, HashAlgorithm::Streebog512, &[0; 64]);
            }
        }
        for command in &card.reader().received {
            assert!(ALLOWED.contains(&command[1]), "sent INS {:#04x}", command[1]);
            assert_ne!(command[1], 0x46, "GENERATE must never be sent");
        }
    }
}

#[test]
fn the_guard_refuses_key_generation_and_deletion_unsent() {
    let mut reader =
        super::Guarded::new(SimCard::new(SimConfig { slots: 1, ..SimConfig::default() }));
    for instruction in [0x46, 0xE4, 0x24, 0x2C, 0x44, 0xE6, 0xDA, 0xDB, 0xD6, 0x0E] {
        let command = [0x00, instruction, 0x00, 0x00, 0x00];
        assert_eq!(reader.send(&command), Err(IdCardError::Forbidden(instruction)));
    }
    assert!(reader.inner().received.is_empty(), "nothing reached the card");
}

#[test]
fn a_gost_key_on_the_card_is_named_and_left_out() {
    let mut card = card(SimConfig { slots: 2, gost_slots: vec![0x89], ..SimConfig::default() });
    card.verify("1234").expect("PIN");
    let keys = card.keys().expect("the RSA keys still list");
    assert_eq!(keys.iter().map(|k| k.slot).collect::<Vec<_>>(), [0x87, 0x88]);
    let unusable = card.unusable();
    assert_eq!(unusable.len(), 1);
    assert_eq!(unusable[0].slot, 0x89);
    assert!(unusable[0].why.contains("not RSA (template tags 86)"), "{}", unusable[0].why);
    assert!(unusable[0].why.contains("GOST-2015"), "{}", unusable[0].why);
}

#[test]
fn certificates_are_found_in_pkcs15_or_the_candidate_files_and_match_the_keys() {
    use rsa::traits::PublicKeyParts as _;
    for kept in [Kept::Pkcs15, Kept::Candidates] {
        let mut card = card(SimConfig { certificates: kept, ..SimConfig::default() });
        let keys = card.keys().expect("keys");
        let found = card.certificates().expect("certificates");
        assert_eq!(found.len(), 4, "{kept:?}");
        for (key, entry) in keys.iter().zip(&found) {
            let public = crate::crypto::rsa::public_key(&entry.certificate).expect("RSA");
            assert_eq!(public.n().to_bytes_be(), key.modulus, "{kept:?}: slot {:#x}", key.slot);
        }
        if kept == Kept::Pkcs15 {
            // The first lies in a file longer than itself, named by an absolute path.
            let first = super::files::hex_path(&found[0].path);
            assert_eq!(first, "3F00/5015/4301");
            assert!(card.reader().received.iter().all(|c| c[1] != 0xB0 || c[2] < 0x40));
        }
        // The key directory is selected again: the card signs at once.
        card.verify("1234").expect("PIN");
        let digest = HashAlgorithm::Sha256.digest(DOCUMENT);
        let signature = card.sign(0x88, HashAlgorithm::Sha256, &digest).expect("signs");
        assert!(openssl_verifies(&keys[1], MessageDigest::sha256(), &signature));
    }
    let mut bare = card(SimConfig::default());
    assert!(bare.certificates().expect("nothing to find").is_empty());
    let reads = bare.reader().received.iter().filter(|c| c[1] == 0xA4).count();
    assert!(reads < 30, "the search is bounded: {reads} SELECTs");
}
