//! One error type for a request end to end; `kind()` tells the protocol layer which wire reply
//! to send. Internal details are logged, not sent.

use crate::crypto::{CryptoError, DeviceError, DeviceErrorKind};
use crate::keystore::KeyStoreError;
use crate::sign::SignError;

/// The kind of a service error, as the wire layer maps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The user (or the client going away) cancelled.
    Cancelled,
    /// The request is invalid (bad data, bad parameters).
    BadRequest,
    /// The storage name is empty.
    StorageParamEmpty,
    /// The storage name is not one we know.
    StorageUnknown,
    /// The storage is known but has no token present.
    StorageEmpty,
    /// A file named by the request does not exist or was not picked by the user.
    FileNotFound,
    /// Signing or encoding failed.
    SigningFailed,
    /// A feature this version does not implement yet was requested.
    Unsupported,
    /// The token's PIN is locked.
    PinLocked,
    /// The token was removed during the operation.
    TokenRemoved,
    /// The token cannot sign with the key's algorithm.
    MechanismUnsupported,
    /// The caller's origin may not use Qoltanba (origin policy); no prompt was shown.
    OriginRefused,
    /// The caller asked too often (prompt rate limit, cool-down, full queue); no prompt shown.
    TooManyRequests,
    /// Something broke inside the daemon.
    Internal,
}

/// A request-level failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The user cancelled.
    #[error("action.canceled")]
    Cancelled,
    /// The request is invalid.
    #[error("{0}")]
    BadRequest(String),
    /// commonUtils `storageName` is empty.
    #[error("storageName.param.empty")]
    StorageParamEmpty,
    /// Unknown storage name.
    #[error("storage.unknown")]
    StorageUnknown,
    /// No token of that type is connected.
    #[error("storage.empty")]
    StorageEmpty,
    /// The file does not exist.
    #[error("file.not_found")]
    FileNotFound,
    /// A signature format failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// A key store failed after the user chose a key.
    #[error(transparent)]
    Store(#[from] KeyStoreError),
    /// The request asks for something a later version implements.
    #[error("{0}")]
    Unsupported(String),
    /// The user failed too many times in one prompt.
    #[error("too many failed attempts")]
    TooManyAttempts,
    /// A token failed after the user chose a key (PIN locked, token removed, …). The text is
    /// the commonUtils message (`docs/protocol.md`).
    #[error("{}", token_message(.0))]
    Token(DeviceError),
    /// The origin policy refuses the caller (the origin as sent, shortened).
    #[error("origin.refused")]
    OriginRefused(String),
    /// A prompt limit refuses the caller.
    #[error("requests.too_many")]
    TooManyRequests(super::limits::Limited),
    /// The dialog could not be shown (no display, the dialog program failed): an error to the
    /// page, never "cancelled by the user", and not counted against the site.
    #[error("internal error: the signing dialog could not be shown: {0}")]
    Dialog(String),
    /// The journal could not be written: no signature leaves unrecorded.
    #[error("internal error: {0}")]
    Journal(#[from] super::audit::JournalError),
    /// Something broke inside the daemon.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The commonUtils message of a token failure: i18n-style keys like NCALayer's `storage.empty`.
fn token_message(error: &DeviceError) -> &'static str {
    match error {
        DeviceError::NotPresent => "storage.empty",
        DeviceError::Removed => "token.removed",
        DeviceError::WrongPin(_) => "token.pin.wrong",
        DeviceError::PinLocked => "token.pin.locked",
        DeviceError::MechanismUnsupported(_) => "token.mechanism.unsupported",
        _ => "token.failed",
    }
}

impl ServiceError {
    /// Lifts a token failure buried in a signing or store error to [`ServiceError::Token`].
    pub fn lift_device(self) -> Self {
        match self {
            Self::Sign(crate::sign::SignError::Crypto(CryptoError::Device(d)))
            | Self::Store(KeyStoreError::Device(d))
            | Self::Store(KeyStoreError::Crypto(CryptoError::Device(d))) => Self::Token(d),
            other => other,
        }
    }
}

impl ServiceError {
    /// The kind, for the wire mapping.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Cancelled => ErrorKind::Cancelled,
            Self::BadRequest(_) => ErrorKind::BadRequest,
            Self::StorageParamEmpty => ErrorKind::StorageParamEmpty,
            Self::StorageUnknown => ErrorKind::StorageUnknown,
            Self::StorageEmpty => ErrorKind::StorageEmpty,
            Self::FileNotFound => ErrorKind::FileNotFound,
            Self::Sign(
                SignError::XmlParse(_) | SignError::XmlTarget(_) | SignError::CmsParse(_),
            ) => ErrorKind::BadRequest,
            Self::Sign(SignError::DigestLength { .. }) => ErrorKind::BadRequest,
            Self::Sign(_) | Self::Store(_) | Self::TooManyAttempts => ErrorKind::SigningFailed,
            Self::Unsupported(_) => ErrorKind::Unsupported,
            Self::Token(device) => match device.kind() {
                DeviceErrorKind::NotPresent => ErrorKind::StorageEmpty,
                DeviceErrorKind::Removed => ErrorKind::TokenRemoved,
                DeviceErrorKind::PinLocked => ErrorKind::PinLocked,
                DeviceErrorKind::MechanismUnsupported => ErrorKind::MechanismUnsupported,
                DeviceErrorKind::WrongPin | DeviceErrorKind::Failed => ErrorKind::SigningFailed,
            },
            Self::OriginRefused(_) => ErrorKind::OriginRefused,
            Self::TooManyRequests(_) => ErrorKind::TooManyRequests,
            Self::Internal(_) | Self::Journal(_) | Self::Dialog(_) => ErrorKind::Internal,
        }
    }
}
