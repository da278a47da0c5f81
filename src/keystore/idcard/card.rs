//! The command sequence of the ID card (`kz-idcard.md` §1.1 and §2): select the key
//! directory, read the PIN's state, verify the PIN once, read the public keys of the slots the
//! card has, and sign a DigestInfo with one of them. One operation at a time: every method
//! takes the card mutably.

use super::apdu::{self, Guarded, PinBlock, Transmit};
use super::IdCardError;
use crate::crypto::HashAlgorithm;

/// Private key references of the four slots; older cards have only the first two.
pub const SLOTS: [u8; 4] = [0x87, 0x88, 0x89, 0x8A];

/// The state of the card's PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinState {
    /// Verified in this card session.
    Verified,
    /// Not verified; the card allows this many tries.
    TriesLeft(u8),
    /// Blocked.
    Blocked,
}

/// A key the card holds: its slot and RSA modulus (the exponent is 65537 on every card seen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardKey {
    /// The private key reference (0x87..0x8A).
    pub slot: u8,
    /// The public modulus, big-endian.
    pub modulus: Vec<u8>,
}

/// A key the card holds that this driver cannot sign with yet, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusableKey {
    /// The private key reference.
    pub slot: u8,
    /// What the card answered, in words.
    pub why: String,
}

/// An ID card in a reader.
pub struct IdCard<T> {
    pub(super) reader: Guarded<T>,
    unusable: Vec<UnusableKey>,
}

impl<T: Transmit> IdCard<T> {
    /// The card in `reader`, with its key directory selected.
    pub fn open(reader: T) -> Result<Self, IdCardError> {
        let mut card = Self::unselected(reader);
        card.select()?;
        Ok(card)
    }

    /// The card in `reader`, nothing sent yet (then [`Self::select`]).
    pub fn unselected(reader: T) -> Self {
        Self { reader: Guarded::new(reader), unusable: Vec::new() }
    }

    /// Selects the master file, then the key directory.
    pub fn select(&mut self) -> Result<(), IdCardError> {
        for (file, name) in [(apdu::MF, "SELECT MF"), (apdu::KEY_DF, "SELECT DF 0101")] {
            let response = self.reader.send(&apdu::select(file))?;
            if !response.ok() {
                return Err(IdCardError::Refused { command: name, sw: response.sw });
            }
        }
        Ok(())
    }

    /// The reader (for the tests' simulator).
    pub fn reader(&self) -> &T {
        self.reader.inner()
    }

    /// The PIN's state, read without trying a PIN (VERIFY without data).
    pub fn pin_state(&mut self) -> Result<PinState, IdCardError> {
        let response = self.reader.send(&apdu::pin_status())?;
        match response.sw {
            0x9000 => Ok(PinState::Verified),
            sw if sw & 0xFFF0 == 0x63C0 => match sw & 0x0F {
                0 => Ok(PinState::Blocked),
                tries => Ok(PinState::TriesLeft(tries as u8)),
            },
            0x6983 | 0x6984 => Ok(PinState::Blocked),
            sw => Err(IdCardError::Refused { command: "VERIFY (PIN state)", sw }),
        }
    }

    /// Verifies `pin` once. The retry counter is read first; a blocked PIN is not sent, and a
    /// wrong one is reported with the tries left, never tried again here.
    pub fn verify(&mut self, pin: &str) -> Result<(), IdCardError> {
        let block = PinBlock::new(pin)?;
        match self.pin_state()? {
            PinState::Blocked => return Err(IdCardError::PinBlocked),
            PinState::Verified | PinState::TriesLeft(_) => {}
        }
        let response = self.reader.send(&apdu::verify(&block))?;
        match response.sw {
            0x9000 => Ok(()),
            0x63C0 | 0x6983 | 0x6984 => Err(IdCardError::PinBlocked),
            sw if sw & 0xFFF0 == 0x63C0 => {
                Err(IdCardError::WrongPin { tries_left: (sw & 0x0F) as u8 })
            }
            sw => Err(IdCardError::Refused { command: "VERIFY", sw }),
        }
    }

    /// The RSA keys the card holds, in slot order. An absent slot (`6A 82`) is skipped; a key
    /// that is not RSA (since 2026 the NCA also writes GOST-2015-512 keys onto the card, and how
    /// those sign on the chip is not public) or a slot the card will not show is left out and
    /// said in [`Self::unusable`], and in the log.
    pub fn keys(&mut self) -> Result<Vec<CardKey>, IdCardError> {
        self.unusable.clear();
        let mut keys = Vec::new();
        for slot in SLOTS {
            let response = self.reader.exchange(&apdu::public_key(slot))?;
            let why = match response.sw {
                0x9000 => match modulus(&response.data) {
                    Ok(modulus) => {
                        keys.push(CardKey { slot, modulus });
                        continue;
                    }
                    Err(_) => not_rsa(&response.data),
                },
                0x6A82 | 0x6A88 => continue,
                sw => format!("the card would not show its public key (status {sw:04X})"),
            };
            tracing::warn!(slot, why, "an ID card key Qoltanba cannot use yet");
            self.unusable.push(UnusableKey { slot, why });
        }
        Ok(keys)
    }

    /// The keys the last [`Self::keys`] left out, and why.
    pub fn unusable(&self) -> &[UnusableKey] {
        &self.unusable
    }

    /// The signature of `digest` (of `hash`, SHA-256 or SHA-1) with the key in `slot`: the
    /// card pads the DigestInfo (PKCS#1 v1.5) and raises it to its private exponent.
    pub fn sign(
        &mut self,
        slot: u8,
        hash: HashAlgorithm,
        digest: &[u8],
    ) -> Result<Vec<u8>, IdCardError> {
        let info = digest_info(hash, digest)?;
        let response = self.reader.send(&apdu::security_environment(slot))?;
        match response.sw {
            0x9000 => {}
            0x6A82 | 0x6A88 => return Err(IdCardError::NoKey(slot)),
            sw => return Err(IdCardError::Refused { command: "MSE:SET", sw }),
        }
        let response = self.reader.exchange(&apdu::internal_authenticate(&info)?)?;
        match response.sw {
            0x9000 if !response.data.is_empty() => Ok(response.data),
            0x9000 => Err(IdCardError::Malformed("an empty signature".into())),
            0x6982 => Err(IdCardError::Refused {
                command: "INTERNAL AUTHENTICATE (PIN first)",
                sw: 0x6982,
            }),
            0x6A82 | 0x6A88 => Err(IdCardError::NoKey(slot)),
            sw @ (0x6A80 | 0x6A86 | 0x6985 | 0x6700) => {
                Err(IdCardError::HashRefused(hash_name(hash), sw))
            }
            sw => Err(IdCardError::Refused { command: "INTERNAL AUTHENTICATE", sw }),
        }
    }
}

/// The DigestInfo of `digest` for the card to sign.
fn digest_info(hash: HashAlgorithm, digest: &[u8]) -> Result<Vec<u8>, IdCardError> {
    let prefix: &[u8] = match hash {
        HashAlgorithm::Sha256 => &crate::crypto::rsa::SHA256_DIGEST_INFO,
        HashAlgorithm::Sha1 => &crate::crypto::rsa::SHA1_DIGEST_INFO,
        other => return Err(IdCardError::HashRefused(hash_name(other), 0)),
    };
    if digest.len() != hash.output_len() {
        let name = hash_name(hash);
        return Err(IdCardError::Malformed(format!("a {}-byte {name} digest", digest.len())));
    }
    Ok([prefix, digest].concat())
}

/// The hash's name in messages.
fn hash_name(hash: HashAlgorithm) -> &'static str {
    match hash {
        HashAlgorithm::Sha256 => "SHA-256",
        HashAlgorithm::Sha1 => "SHA-1",
        HashAlgorithm::Streebog256 => "Streebog-256",
        HashAlgorithm::Streebog512 => "Streebog-512",
        HashAlgorithm::Gost34311 => "GOST 34.311",
    }
}

/// Why a public key object holds no RSA modulus, naming the tags its public key template has.
fn not_rsa(object: &[u8]) -> String {
    let template = find(object, &[0xFF, 0xA0]).and_then(|v| find(v, &[0x7F, 0x49]));
    let Some(inner) = template else {
        return "its public key object could not be read".into();
    };
    let tags: Vec<String> =
        tlvs(inner).map(|(tag, _)| tag.iter().map(|b| format!("{b:02X}")).collect()).collect();
    format!(
        "its public key is not RSA (template tags {}): perhaps a GOST-2015 key, whose signing \
         commands on the card are not known yet",
        tags.join(", ")
    )
}

/// The modulus in a public key object: `FF A0 0k` → `7F 49` → `81` (BER-TLV, `kz-idcard.md`
/// §1.1; the outer header is inferred, so each level is looked for, not assumed).
fn modulus(object: &[u8]) -> Result<Vec<u8>, IdCardError> {
    let malformed = || IdCardError::Malformed("no modulus in the public key object".into());
    let mut value = object;
    for tag in [&[0xFF, 0xA0][..], &[0x7F, 0x49], &[0x81]] {
        value = find(value, tag).ok_or_else(malformed)?;
    }
    let modulus = value.strip_prefix(&[0][..]).unwrap_or(value);
    match modulus.len() {
        128..=512 => Ok(modulus.to_vec()),
        _ => Err(malformed()),
    }
}

/// The value of the first TLV of `data` whose tag starts with `tag` (at this level, or inside
/// one whose tag is longer, as `FF A0 0k`).
pub(super) fn find<'a>(data: &'a [u8], tag: &[u8]) -> Option<&'a [u8]> {
    tlvs(data).find(|(t, _)| t.starts_with(tag)).map(|(_, value)| value)
}

/// The top-level TLVs of `data`: (tag, value), up to the first that does not parse.
pub(super) fn tlvs(mut data: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    std::iter::from_fn(move || {
        let tag_len = tag_length(data)?;
        let (len, header) = length(data.get(tag_len..)?)?;
        let (tag, value) =
            (data.get(..tag_len)?, data.get(tag_len + header..tag_len + header + len)?);
        data = &data[tag_len + header + len..];
        Some((tag, value))
    })
}

/// The length of the BER tag at the start of `data`.
pub(super) fn tag_length(data: &[u8]) -> Option<usize> {
    let first = *data.first()?;
    if first & 0x1F != 0x1F {
        return Some(1);
    }
    let more = data.get(1..)?.iter().position(|b| b & 0x80 == 0)?;
    Some(more + 2)
}

/// A BER length: the value's length and the length of the length field.
pub(super) fn length(data: &[u8]) -> Option<(usize, usize)> {
    match *data.first()? {
        short @ 0..=0x7F => Some((usize::from(short), 1)),
        0x81 => Some((usize::from(*data.get(1)?), 2)),
        0x82 => Some((usize::from(u16::from_be_bytes([*data.get(1)?, *data.get(2)?])), 3)),
        _ => None,
    }
}
