//! One error type for a request end to end; `kind()` tells the protocol layer which wire reply
//! to send. Internal details are logged, not sent.

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
    /// Something broke inside the daemon.
    #[error("internal error: {0}")]
    Internal(String),
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
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
}
