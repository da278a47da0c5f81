//! The commands Qoltanba sends to the Kazakh ID card and how its answers read (ISO 7816-4;
//! byte sequences of `kz-idcard.md` §1.1, from the NCA's own `KzIdCardVerifier`), and the
//! [`Transmit`] trait a reader implements. [`Guarded`] wraps every reader: it refuses to send
//! any instruction outside [`ALLOWED`], so a command that generates or deletes keys (INS `46`,
//! `E4`, …), changes or unblocks a PIN cannot leave the program, whatever the caller asks.
//! Must not: retry anything on its own, or log PIN bytes.

use zeroize::Zeroizing;

use super::IdCardError;

/// Instructions the driver may send: SELECT, VERIFY, GET DATA, MSE, INTERNAL AUTHENTICATE,
/// GET RESPONSE, READ BINARY. Nothing else, ever (`kz-idcard.md` §2, *Commands a driver must
/// never send*).
pub const ALLOWED: [u8; 7] = [0xA4, 0x20, 0xCB, 0x22, 0x88, 0xC0, 0xB0];

/// A reader with a card in it: one command APDU in, its response APDU (data and the status
/// word) out. An error means the card or reader is gone.
pub trait Transmit {
    /// Sends `command` and returns the response, status word last.
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, IdCardError>;
}

impl<T: Transmit + ?Sized> Transmit for Box<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, IdCardError> {
        (**self).transmit(command)
    }
}

/// A reader behind the allow-list: a command with an instruction outside [`ALLOWED`] is
/// refused before it is sent.
pub struct Guarded<T> {
    inner: T,
}

impl<T: Transmit> Guarded<T> {
    /// Guards `inner`.
    pub fn new(inner: T) -> Self {
        Self { inner }
    }

    /// The reader itself.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// Sends `command` if its instruction is allowed; returns its data and status word.
    pub fn send(&mut self, command: &[u8]) -> Result<Response, IdCardError> {
        let instruction = command.get(1).copied().unwrap_or(0);
        if command.len() < 4 || !ALLOWED.contains(&instruction) {
            return Err(IdCardError::Forbidden(instruction));
        }
        Response::parse(self.inner.transmit(command)?)
    }

    /// Sends `command` and collects a reply given in parts: `61 xx` asks for GET RESPONSE,
    /// `6C xx` for the same command with `Le = xx` (ISO 7816-4 §5.3.4).
    pub fn exchange(&mut self, command: &[u8]) -> Result<Response, IdCardError> {
        let mut response = self.send(command)?;
        let mut data = Vec::new();
        // A card answers a long reply in at most a few hundred parts; more is a fault.
        for _ in 0..64 {
            match response.sw {
                sw if sw >> 8 == 0x61 => {
                    data.extend_from_slice(&response.data);
                    response = self.send(&[0x00, 0xC0, 0x00, 0x00, (sw & 0xFF) as u8])?;
                }
                sw if sw >> 8 == 0x6C => {
                    let again = with_le(command, (sw & 0xFF) as u8);
                    response = self.send(&again)?;
                }
                _ => {
                    data.extend_from_slice(&response.data);
                    return Ok(Response { data, sw: response.sw });
                }
            }
        }
        Err(IdCardError::Malformed("the card kept asking for GET RESPONSE".into()))
    }
}

/// `command` with its Le replaced (or added) by `le`.
fn with_le(command: &[u8], le: u8) -> Vec<u8> {
    let header_and_body = match command.get(4) {
        // Case 3/4: header, Lc, data (and maybe Le).
        Some(&lc) if command.len() >= 5 + usize::from(lc) && command.len() > 5 => {
            &command[..5 + usize::from(lc)]
        }
        // Case 1/2: header only (an Le is replaced).
        _ => &command[..4.min(command.len())],
    };
    [header_and_body, &[le]].concat()
}

/// A response APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The data before the status word.
    pub data: Vec<u8>,
    /// SW1 SW2.
    pub sw: u16,
}

impl Response {
    fn parse(mut bytes: Vec<u8>) -> Result<Self, IdCardError> {
        let tail = bytes
            .len()
            .checked_sub(2)
            .ok_or_else(|| IdCardError::Malformed("a response without a status word".into()))?;
        let sw = u16::from_be_bytes([bytes[tail], bytes[tail + 1]]);
        bytes.truncate(tail);
        Ok(Self { data: bytes, sw })
    }

    /// Whether the command succeeded (`90 00`).
    pub fn ok(&self) -> bool {
        self.sw == 0x9000
    }
}

/// SELECT by file identifier, no response data (`00 A4 00 0C 02 id`).
pub fn select(file: [u8; 2]) -> [u8; 7] {
    [0x00, 0xA4, 0x00, 0x0C, 0x02, file[0], file[1]]
}

/// The master file.
pub const MF: [u8; 2] = [0x3F, 0x00];
/// The directory of the keys.
pub const KEY_DF: [u8; 2] = [0x01, 0x01];

/// The PIN's reference in VERIFY (global PIN 2).
const PIN_REFERENCE: u8 = 0x02;

/// VERIFY without data: asks the PIN's state (`63 Cx`: x tries left; `90 00`: verified).
pub fn pin_status() -> [u8; 4] {
    [0x00, 0x20, 0x00, PIN_REFERENCE]
}

/// VERIFY with the 8-byte PIN block.
pub fn verify(block: &PinBlock) -> Zeroizing<Vec<u8>> {
    let mut command = Zeroizing::new(vec![0x00, 0x20, 0x00, PIN_REFERENCE, 0x08]);
    command.extend_from_slice(&block.0[..]);
    command
}

/// The 8-byte PIN block: the PIN's ASCII digits, padded with `'0'` (0x30) as the NCA's tool
/// pads its 4 digits (`kz-idcard.md` §2; the padding of longer PINs is not public, and this is
/// the one place to change it).
pub struct PinBlock(Zeroizing<[u8; 8]>);

impl PinBlock {
    /// The block of `pin`: 4 to 8 ASCII digits.
    pub fn new(pin: &str) -> Result<Self, IdCardError> {
        let digits = pin.as_bytes();
        if !(4..=8).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
            return Err(IdCardError::PinFormat);
        }
        let mut block = Zeroizing::new([b'0'; 8]);
        block[..digits.len()].copy_from_slice(digits);
        Ok(Self(block))
    }
}

impl std::fmt::Debug for PinBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinBlock(..)")
    }
}

/// GET DATA of the public key object `FF A0 0k` of `slot` (k = 7..A), modulus only.
pub fn public_key(slot: u8) -> [u8; 16] {
    let k = slot & 0x0F;
    [0x00, 0xCB, 0x3F, 0xFF, 0x0B, 0x4D, 0x09, 0xFF, 0xA0, k, 0x05, 0x7F, 0x49, 0x02, 0x81, 0x00]
}

/// MSE:SET for internal authentication with the private key `slot` (0x87..0x8A), algorithm
/// 02 (PKCS#1 v1.5 over a DigestInfo the host builds; the card pads).
pub fn security_environment(slot: u8) -> [u8; 14] {
    [0x00, 0x22, 0x41, 0xA4, 0x09, 0x95, 0x01, 0x40, 0x84, 0x01, slot, 0x80, 0x01, 0x02]
}

/// INTERNAL AUTHENTICATE over `digest_info` (case 3, as the NCA's tool sends it).
pub fn internal_authenticate(digest_info: &[u8]) -> Result<Vec<u8>, IdCardError> {
    let lc = u8::try_from(digest_info.len())
        .map_err(|_| IdCardError::Malformed("a DigestInfo over 255 bytes".into()))?;
    Ok([&[0x00, 0x88, 0x02, 0x00, lc][..], digest_info].concat())
}

#[cfg(test)]
mod tests {
    use super::{with_le, PinBlock};

    #[test]
    fn pin_blocks_are_digits_padded_with_zeros() {
        assert_eq!(&PinBlock::new("1234").expect("pin").0[..], b"12340000");
        assert_eq!(&PinBlock::new("12345678").expect("pin").0[..], b"12345678");
        for bad in ["123", "123456789", "12a4", "", "１２３４"] {
            assert!(PinBlock::new(bad).is_err(), "{bad}");
        }
        assert_eq!(format!("{:?}", PinBlock::new("1234").expect("pin")), "PinBlock(..)");
    }

    #[test]
    fn le_is_replaced_or_added() {
        assert_eq!(with_le(&[0, 0xC0, 0, 0, 0], 0x0F), [0, 0xC0, 0, 0, 0x0F]);
        assert_eq!(
            with_le(&[0, 0xCB, 0x3F, 0xFF, 2, 1, 2], 0x10),
            [0, 0xCB, 0x3F, 0xFF, 2, 1, 2, 0x10]
        );
        assert_eq!(
            with_le(&[0, 0xCB, 0x3F, 0xFF, 2, 1, 2, 0], 0x10),
            [0, 0xCB, 0x3F, 0xFF, 2, 1, 2, 0x10]
        );
    }
}
