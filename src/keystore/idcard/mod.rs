//! The Kazakh ID card's key chip over PC/SC (NCALayer's `AKKZIDCardStore`), from what is
//! public (`kz-idcard.md`): a plain ISO 7816 file system (MF `3F00`, DF `0101`), one PIN for
//! every key, RSA-2048 keys in slots `0x87`..`0x8A` whose public moduli are read with GET DATA,
//! and signatures made by MSE:SET + INTERNAL AUTHENTICATE over a DigestInfo the host builds
//! (the card pads). [`IdCard`] drives it over any [`Transmit`] (a PC/SC reader, [`pcsc`], or
//! the simulator of the tests) behind [`Guarded`], which lets only reading, PIN and signing
//! commands out.
//!
//! Safety first, because three wrong PINs block a person's identity card: the PIN's retry
//! counter is read before every VERIFY and a blocked PIN is never sent; no VERIFY is ever
//! repeated by this code; key generation and deletion cannot be sent at all.
//!
//! Still unknown, so the store stays experimental (`kz-idcard.md` §7): where certificates live
//! on the card, which slot is for signing, the padding of PINs longer than 4 digits, and
//! whether every card accepts a SHA-256 DigestInfo.
//!
//! Must not: log a PIN or PIN block, retry a PIN, or send a command outside [`apdu::ALLOWED`].

pub mod apdu;
mod card;
pub mod certs;
pub mod files;
pub mod pcsc;
#[cfg(any(test, feature = "test-support"))]
pub mod sim;
pub mod store;
pub mod trace;

#[cfg(test)]
mod store_tests;
#[cfg(test)]
mod tests;

pub use apdu::{Guarded, Transmit};
pub use card::{CardKey, IdCard, PinState, UnusableKey};

/// What went wrong talking to the card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdCardError {
    /// The card or its reader went away (or the reader failed).
    #[error("the ID card or its reader is not there any more: {0}")]
    Removed(String),
    /// The PIN was wrong; the card allows `tries_left` more.
    #[error("wrong PIN: {tries_left} tries left before the card blocks it")]
    WrongPin {
        /// Tries the card still allows.
        tries_left: u8,
    },
    /// The PIN is blocked; only the issuer (a ЦОН) can unblock it.
    #[error("the ID card's PIN is blocked; a public service centre (ЦОН) can unblock it")]
    PinBlocked,
    /// The PIN is not 4 to 8 digits.
    #[error("the ID card's PIN is 4 to 8 digits")]
    PinFormat,
    /// The card has no such key or file (`6A 82`).
    #[error("the ID card has no key in slot {0:#04x}")]
    NoKey(u8),
    /// The card refused a DigestInfo of this hash (it may take SHA-1 only).
    #[error("the ID card refuses {0} digests (status {1:04X})")]
    HashRefused(&'static str, u16),
    /// The card answered a command with an error status.
    #[error("the ID card refused {command} (status {sw:04X})")]
    Refused {
        /// What was asked.
        command: &'static str,
        /// SW1 SW2.
        sw: u16,
    },
    /// The card's answer does not have the expected form.
    #[error("the ID card's answer is malformed: {0}")]
    Malformed(String),
    /// Another program (or another request) holds the card.
    #[error("another program is using the ID card; close it and try again")]
    InUse,
    /// A command this driver never sends was asked for (INS shown) and not sent.
    #[error("refused to send instruction {0:#04x} to the ID card")]
    Forbidden(u8),
}
