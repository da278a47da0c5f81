//! Failures of keys that live on a device (PKCS#11 token, smart card): the vocabulary a
//! [`super::Signer`] on hardware reports, so that the service can tell the user what happened
//! (wrong PIN with the tries left, PIN locked, token removed, …) without knowing PKCS#11.

/// What the token says about the tries left after a wrong PIN. PKCS#11 v2.40 §3.2
/// (`CK_TOKEN_INFO` flags) gives no count, only `CKF_USER_PIN_COUNT_LOW` and
/// `CKF_USER_PIN_FINAL_TRY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinTries {
    /// The token does not say (neither flag set).
    Unknown,
    /// `CKF_USER_PIN_COUNT_LOW`: a wrong PIN was entered and few tries are left.
    Few,
    /// `CKF_USER_PIN_FINAL_TRY`: the next wrong PIN locks the token.
    Last,
    /// The device counts them (the ID card): this many tries are left.
    Count(u8),
}

/// A failure of a key on a device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// No token of this kind is connected.
    #[error("no token is connected")]
    NotPresent,
    /// The token went away during the operation (or between listing and signing).
    #[error("the token was removed")]
    Removed,
    /// The PIN is wrong; the token may say how many tries are left.
    #[error("wrong PIN")]
    WrongPin(PinTries),
    /// The PIN does not have the device's form (the ID card's is 4 to 8 digits); nothing was
    /// sent to the device.
    #[error("the PIN is not in the form the device takes: {0}")]
    PinFormat(&'static str),
    /// The PIN is locked (too many wrong PINs); the token refuses every login.
    #[error("the token's PIN is locked")]
    PinLocked,
    /// The token cannot sign with the algorithm this key needs.
    #[error("the token does not support the mechanism {0}")]
    MechanismUnsupported(String),
    /// The key is not (or no longer) on the token.
    #[error("the key is not on the token")]
    NoSuchKey,
    /// The module or the token failed otherwise; the text is for the log and the user.
    #[error("the token failed: {0}")]
    Failed(String),
}

impl DeviceError {
    /// The kind, for the service's error mapping.
    pub fn kind(&self) -> DeviceErrorKind {
        match self {
            Self::NotPresent => DeviceErrorKind::NotPresent,
            Self::Removed => DeviceErrorKind::Removed,
            Self::WrongPin(_) | Self::PinFormat(_) => DeviceErrorKind::WrongPin,
            Self::PinLocked => DeviceErrorKind::PinLocked,
            Self::MechanismUnsupported(_) => DeviceErrorKind::MechanismUnsupported,
            Self::NoSuchKey | Self::Failed(_) => DeviceErrorKind::Failed,
        }
    }
}

/// The kind of a [`DeviceError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceErrorKind {
    /// See [`DeviceError::NotPresent`].
    NotPresent,
    /// See [`DeviceError::Removed`].
    Removed,
    /// See [`DeviceError::WrongPin`].
    WrongPin,
    /// See [`DeviceError::PinLocked`].
    PinLocked,
    /// See [`DeviceError::MechanismUnsupported`].
    MechanismUnsupported,
    /// Anything else.
    Failed,
}
