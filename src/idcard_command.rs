//! `qoltanba idcard …`: the ID card from the command line. `idcard import-cert` keeps a
//! certificate for the card key it belongs to (in the data directory's `idcard` folder). `idcard trace` lists the card's keys and, with the PIN, makes one signature, and
//! writes every APDU exchanged to a file with the PIN's bytes blanked (docs/idcard.md). It
//! checks the signature against the card's public key and reads the PIN's retry counter first;
//! it never tries a PIN twice. Must not: print or write a PIN.

use std::path::Path;

use secrecy::{ExposeSecret as _, SecretString};

use qoltanba::crypto::{Certificate, HashAlgorithm};
use qoltanba::keystore::idcard::pcsc::{self, PcscCard};
use qoltanba::keystore::idcard::trace::Recorder;
use qoltanba::keystore::idcard::{certs, files};
use qoltanba::keystore::idcard::{IdCard, IdCardError, PinState};
use qoltanba::platform::paths::Paths;

/// Runs `idcard import-cert FILE`: the card's keys are read (no PIN needed), the
/// certificate's public key matched to one of them.
pub fn import_cert(paths: &Paths, file: &Path, reader: Option<&str>) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let certificate = Certificate::from_pem_or_der(&bytes)
        .map_err(|e| format!("{} is not a certificate: {e}", file.display()))?;
    let present = first_card(reader)?;
    let reader = PcscCard::connect(&present.reader).map_err(|e| e.to_string())?;
    let keys = IdCard::open(reader).and_then(|mut card| card.keys()).map_err(|e| e.to_string())?;
    let dir = paths.data_dir.join(certs::DIR);
    let (slot, stored) = certs::import(&dir, &certificate, &keys).map_err(|e| e.to_string())?;
    println!("the certificate is kept for the card's key {slot:#04x}: {}", stored.display());
    Ok(())
}

/// The reader named, or the first holding a card.
fn first_card(reader: Option<&str>) -> Result<pcsc::Present, String> {
    let cards = pcsc::cards().map_err(|e| e.to_string())?;
    match reader {
        Some(name) => cards.into_iter().find(|c| c.reader == name),
        None => cards.into_iter().next(),
    }
    .ok_or_else(|| "no card in any reader (is the smart card service running?)".into())
}

/// What `idcard trace` is asked to do.
pub struct TraceRequest<'a> {
    /// The reader (default: the first holding a card).
    pub reader: Option<&'a str>,
    /// Where the trace goes.
    pub out: &'a Path,
    /// Read the PIN from this environment variable instead of the terminal.
    pub pin_env: Option<&'a str>,
    /// Only list the keys: no PIN, no signature.
    pub no_sign: bool,
}

/// Runs `idcard trace`: the trace is written even when the card fails half-way.
pub fn trace(request: &TraceRequest<'_>) -> Result<(), String> {
    let present = first_card(request.reader)?;
    let reader = PcscCard::connect(&present.reader).map_err(|e| e.to_string())?;
    let mut card = IdCard::unselected(Recorder::new(reader));
    let outcome = steps(&mut card, request);
    let atr: Vec<String> = present.atr.iter().map(|b| format!("{b:02X}")).collect();
    let header = format!(
        "# Qoltanba ID card trace {}\n# reader: {}\n# ATR: {} ({})\n",
        env!("CARGO_PKG_VERSION"),
        present.reader,
        atr.join(" "),
        if pcsc::known_atr(&present.atr) {
            "a known Kazakh ID card"
        } else {
            "not in the known list"
        },
    );
    let text = format!("{header}{}", card.reader().text());
    std::fs::write(request.out, text)
        .map_err(|e| format!("cannot write {}: {e}", request.out.display()))?;
    println!("trace written to {} (the PIN's bytes are blanked)", request.out.display());
    outcome.map_err(|e| e.to_string())
}

/// Select, PIN state, keys; then, unless `no_sign`, the PIN and one signature.
fn steps(
    card: &mut IdCard<Recorder<PcscCard>>,
    request: &TraceRequest<'_>,
) -> Result<(), IdCardError> {
    card.select()?;
    let state = card.pin_state()?;
    println!("PIN: {}", shown(state));
    let keys = report_keys(card)?;
    let found = report_certificates(card, &keys)?;
    if request.no_sign {
        return Ok(());
    }
    if state == PinState::Blocked {
        return Err(IdCardError::PinBlocked);
    }
    let pin = pin(request.pin_env, state).map_err(IdCardError::Malformed)?;
    card.verify(pin.expose_secret())?;
    let keys = report_keys(card)?;
    if found == 0 {
        // Perhaps the certificates are readable only after the PIN.
        report_certificates(card, &keys)?;
    }
    let key = keys.first().ok_or(IdCardError::NoKey(0x87))?;
    let digest = HashAlgorithm::Sha256.digest(b"Qoltanba ID card trace");
    let signature = card.sign(key.slot, HashAlgorithm::Sha256, &digest)?;
    let verified = public_key(&key.modulus).is_some_and(|public| {
        qoltanba::crypto::rsa::verify_digest(&public, HashAlgorithm::Sha256, &digest, &signature)
            .is_ok()
    });
    println!(
        "signature with slot {:#04x}: {} bytes, {}",
        key.slot,
        signature.len(),
        if verified { "verifies with the card's public key" } else { "DOES NOT VERIFY" }
    );
    Ok(())
}

fn report_keys(
    card: &mut IdCard<Recorder<PcscCard>>,
) -> Result<Vec<qoltanba::keystore::idcard::CardKey>, IdCardError> {
    let keys = card.keys()?;
    for key in card.unusable() {
        println!("key {:#04x}: cannot be used yet: {}", key.slot, key.why);
    }
    for key in &keys {
        let fingerprint = qoltanba::crypto::hex(&HashAlgorithm::Sha256.digest(&key.modulus));
        println!(
            "key {:#04x}: RSA-{}, modulus SHA-256 {fingerprint}",
            key.slot,
            key.modulus.len() * 8
        );
    }
    Ok(keys)
}

/// Looks for the certificates on the card (PKCS#15, then the candidate files) and says where
/// each was and which key it is for; how many were found.
fn report_certificates(
    card: &mut IdCard<Recorder<PcscCard>>,
    keys: &[qoltanba::keystore::idcard::CardKey],
) -> Result<usize, IdCardError> {
    let found = card.certificates()?;
    if found.is_empty() {
        println!("no certificate found on the card (PKCS#15 and the candidate files were tried)");
    }
    for entry in &found {
        let key = keys.iter().find(|k| certs::of(&entry.certificate, &k.modulus));
        let key =
            key.map_or_else(|| "for none of the keys".into(), |k| format!("key {:#04x}", k.slot));
        println!(
            "certificate in {}: {} ({key})",
            files::hex_path(&entry.path),
            entry.certificate.subject_dn()
        );
    }
    Ok(found.len())
}

fn shown(state: PinState) -> String {
    match state {
        PinState::Verified => "verified".into(),
        PinState::TriesLeft(n) => format!("{n} tries left"),
        PinState::Blocked => "blocked".into(),
    }
}

/// The PIN, from `env` or the terminal (saying how many tries are left).
fn pin(env: Option<&str>, state: PinState) -> Result<SecretString, String> {
    match env {
        Some(var) => {
            std::env::var(var).map(SecretString::from).map_err(|_| format!("{var} is not set"))
        }
        None => {
            let question = format!("ID card PIN ({}): ", shown(state));
            qoltanba::ui::tty::read_password(&question).ok_or_else(|| "no PIN given".into())
        }
    }
}

/// The card's public key: its modulus and the exponent every card uses, 65537.
fn public_key(modulus: &[u8]) -> Option<rsa::RsaPublicKey> {
    let n = rsa::BigUint::from_bytes_be(modulus);
    rsa::RsaPublicKey::new(n, rsa::BigUint::from(65537u32)).ok()
}
