//! The ID card through the machine's PC/SC service (pcsc-lite's `pcscd` on Linux and macOS,
//! WinSCard on Windows; the `pcsc` crate): the readers with a card in them, and a [`Transmit`]
//! over one. A card is opened exclusively, so no other program's commands come between the
//! PIN and the signature; after a PIN it is reset when dropped, so the PIN does not stay
//! verified for the next program. Known Kazakh ATRs are a
//! hint only (`kz-idcard.md` §3): a card is taken for an ID card when its key directory
//! answers ([`super::IdCard::open`]).

use std::ffi::CString;

use pcsc::{Card, Context, Disposition, Protocols, Scope, ShareMode, MAX_BUFFER_SIZE_EXTENDED};

use super::{IdCardError, Transmit};

/// ATRs of Kazakh ID cards listed in pcsc-tools' `smartcard_list.txt` (`kz-idcard.md` §3).
pub const KNOWN_ATRS: [&[u8]; 4] = [
    // Kazakhstan Identity Card 2022 (eID).
    &[
        0x3B, 0xFA, 0x18, 0x00, 0xFF, 0x80, 0x31, 0xFE, 0x45, 0x00, 0x31, 0x80, 0x73, 0x94, 0x41,
        0x00, 0x00, 0x90, 0x00, 0x90,
    ],
    // Kazakhstan Identity Card (eID), "SOMA-c007-DS1a" (and "…b", below).
    &[
        0x3B, 0x3E, 0x95, 0x00, 0x53, 0x4F, 0x4D, 0x41, 0x2D, 0x63, 0x30, 0x30, 0x37, 0x2D, 0x44,
        0x53, 0x31, 0x61,
    ],
    &[
        0x3B, 0x3E, 0x95, 0x00, 0x53, 0x4F, 0x4D, 0x41, 0x2D, 0x63, 0x30, 0x30, 0x37, 0x2D, 0x44,
        0x53, 0x31, 0x62,
    ],
    // ID of the Republic of Kazakhstan (eID), 2019.
    &[
        0x3B, 0x8C, 0x80, 0x01, 0x50, 0xF5, 0x6F, 0xF8, 0x2B, 0xE1, 0xF3, 0x5E, 0x11, 0x33, 0x81,
        0xC7, 0x3C,
    ],
];

/// Whether `atr` is one of the [`KNOWN_ATRS`].
pub fn known_atr(atr: &[u8]) -> bool {
    KNOWN_ATRS.contains(&atr)
}

/// A reader with a card in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Present {
    /// The reader's name.
    pub reader: String,
    /// The card's ATR.
    pub atr: Vec<u8>,
}

/// The readers that hold a card now (none when PC/SC has no reader or is not running).
pub fn cards() -> Result<Vec<Present>, IdCardError> {
    let context = context()?;
    let readers = match context.list_readers_owned() {
        Ok(readers) => readers,
        Err(pcsc::Error::NoReadersAvailable) => return Ok(Vec::new()),
        Err(e) => return Err(failed("list the readers", e)),
    };
    let mut present = Vec::new();
    for name in readers {
        // A reader without a card (or in use by another program) is skipped.
        let Ok(card) = context.connect(&name, ShareMode::Shared, Protocols::ANY) else { continue };
        if let Ok(status) = card.status2_owned() {
            let reader = name.to_string_lossy().into_owned();
            present.push(Present { reader, atr: status.atr().to_vec() });
        }
    }
    Ok(present)
}

/// The card in `reader`, held exclusively until dropped.
pub struct PcscCard {
    card: Option<Card>,
    /// A PIN was sent in this connection (so it is reset when dropped).
    pin_sent: bool,
}

impl PcscCard {
    /// Connects to the card in `reader`.
    pub fn connect(reader: &str) -> Result<Self, IdCardError> {
        let context = context()?;
        let name = CString::new(reader)
            .map_err(|_| IdCardError::Removed(format!("no reader named {reader:?}")))?;
        let card =
            context.connect(&name, ShareMode::Exclusive, Protocols::ANY).map_err(|e| match e {
                pcsc::Error::SharingViolation => IdCardError::InUse,
                e => failed("connect to the card", e),
            })?;
        Ok(Self { card: Some(card), pin_sent: false })
    }
}

impl Transmit for PcscCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, IdCardError> {
        let card = self.card.as_ref().ok_or_else(|| IdCardError::Removed("closed".into()))?;
        self.pin_sent |= command.get(1) == Some(&0x20) && command.len() > 4;
        let mut buffer = vec![0; MAX_BUFFER_SIZE_EXTENDED];
        card.transmit(command, &mut buffer)
            .map(<[u8]>::to_vec)
            .map_err(|e| failed("talk to the card", e))
    }
}

impl Drop for PcscCard {
    fn drop(&mut self) {
        if let Some(card) = self.card.take() {
            // After a PIN, reset: it must not stay verified for whoever opens the card next
            // (the connection was exclusive, so no one else's session is lost). Otherwise leave
            // the card as it is: it may be another program's token, only looked at.
            let disposition = match self.pin_sent {
                true => Disposition::ResetCard,
                false => Disposition::LeaveCard,
            };
            let _ = card.disconnect(disposition);
        }
    }
}

fn context() -> Result<Context, IdCardError> {
    Context::establish(Scope::User).map_err(|e| failed("reach the smart card service", e))
}

/// A PC/SC failure as the driver's error: the card, reader or service is not usable.
fn failed(what: &str, error: pcsc::Error) -> IdCardError {
    IdCardError::Removed(format!("could not {what}: {error}"))
}
