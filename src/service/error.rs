//! One error type for a request end to end; `kind()` tells the protocol layer which wire reply
//! to send, and `protocol::errors` alone turns it into NCALayer's texts: the `Display` here is
//! for the log. Internal details are logged, not sent.

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
    /// A time-stamp was asked for and could not be had: nothing was returned.
    TimeStamp,
    /// A key or its request could not be made (basics `CSR_GENERATING_FAILURE`).
    CsrFailed,
    /// A certificate could not be installed (basics `CERTIFICATE_IMPORTING_FAILURE`).
    ImportFailed,
    /// The certificate is none, or for no waiting key (basics `INVALID_IMPORTING_CERTIFICATE`).
    InvalidCertificate,
    /// Something broke inside the daemon.
    Internal,
}

/// A request-level failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The user cancelled.
    #[error("cancelled by the user")]
    Cancelled,
    /// The request is invalid.
    #[error("{0}")]
    BadRequest(String),
    /// commonUtils `storageName` is empty.
    #[error("the storage name is empty")]
    StorageParamEmpty,
    /// Unknown storage name.
    #[error("unknown storage name")]
    StorageUnknown,
    /// No token of that type is connected.
    #[error("no token of that storage is connected")]
    StorageEmpty,
    /// The file does not exist.
    #[error("the file does not exist or was not picked by the user")]
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
    /// A token failed after the user chose a key (PIN locked, token removed, …).
    #[error("token: {0}")]
    Token(DeviceError),
    /// The origin policy refuses the caller (the origin as sent, shortened).
    #[error("the origin policy refuses {0}")]
    OriginRefused(String),
    /// A prompt limit refuses the caller.
    #[error("refused by a prompt limit: {0:?}")]
    TooManyRequests(super::limits::Limited),
    /// The dialog could not be shown (no display, the dialog program failed): an error to the
    /// page, never "cancelled by the user", and not counted against the site.
    #[error("internal error: the signing dialog could not be shown: {0}")]
    Dialog(String),
    /// The journal could not be written: no signature leaves unrecorded.
    #[error("internal error: {0}")]
    Journal(#[from] super::audit::JournalError),
    /// A time-stamp was asked for and could not be had (TSA down, refused, or an answer that
    /// does not check out): the signature is not returned.
    #[error("time-stamp failed, no signature is returned: {0}")]
    TimeStamp(String),
    /// Something broke inside the daemon.
    #[error("internal error: {0}")]
    Internal(String),
    /// A key or its request could not be made.
    #[error("the key or its request could not be made: {0}")]
    CsrFailed(String),
    /// A certificate could not be installed.
    #[error("the certificate could not be installed: {0}")]
    ImportFailed(String),
    /// The certificate is none, or for no waiting key.
    #[error("{0}")]
    InvalidCertificate(String),
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
            Self::Sign(SignError::TimeStamp(_)) | Self::TimeStamp(_) => ErrorKind::TimeStamp,
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
            Self::CsrFailed(_) => ErrorKind::CsrFailed,
            Self::ImportFailed(_) => ErrorKind::ImportFailed,
            Self::InvalidCertificate(_) => ErrorKind::InvalidCertificate,
        }
    }
}
