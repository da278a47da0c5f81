//! PKCS#11 return values (v2.40 §5.1, "Return values") mapped to [`DeviceError`]s the user can
//! act on. Only this file looks at `CKR_*` codes.

use cryptoki::error::{Error, RvError};

use crate::crypto::DeviceError;

/// Where a failing call was made: the same code means different things in a listing and in a
/// signature (SoftHSM2 answers `CKR_GENERAL_ERROR` for a token whose directory is gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// Reading slots, tokens and objects.
    Listing,
    /// Logging in, finding the key and signing.
    Signing,
    /// Making a key pair or writing an object: a general or device error there is the
    /// token's failure, not its removal.
    Generating,
}

/// Maps a cryptoki error.
pub(crate) fn map(error: Error, context: Context) -> DeviceError {
    match error {
        Error::Pkcs11(rv, function) => map_rv(rv, context, &format!("{function:?}")),
        Error::LibraryLoading(e) => DeviceError::Failed(format!("cannot load the module: {e}")),
        other => DeviceError::Failed(other.to_string()),
    }
}

/// Maps a `CK_RV` of `function`.
pub(crate) fn map_rv(rv: RvError, context: Context, function: &str) -> DeviceError {
    match rv {
        RvError::PinIncorrect | RvError::PinLenRange | RvError::PinInvalid => {
            DeviceError::WrongPin(crate::crypto::PinTries::Unknown)
        }
        RvError::PinLocked => DeviceError::PinLocked,
        RvError::DeviceRemoved
        | RvError::TokenNotPresent
        | RvError::TokenNotRecognized
        | RvError::SessionHandleInvalid
        | RvError::SessionClosed
        | RvError::SlotIdInvalid => DeviceError::Removed,
        RvError::DeviceError | RvError::GeneralError if context == Context::Signing => {
            DeviceError::Removed
        }
        RvError::MechanismInvalid
        | RvError::MechanismParamInvalid
        | RvError::KeyTypeInconsistent
        | RvError::KeyFunctionNotPermitted
        | RvError::FunctionNotSupported => DeviceError::MechanismUnsupported(function.to_string()),
        other => DeviceError::Failed(format!("{function}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_what_the_user_can_act_on() {
        let sign = |rv| map_rv(rv, Context::Signing, "Sign");
        assert_eq!(sign(RvError::PinLocked), DeviceError::PinLocked);
        assert_eq!(sign(RvError::DeviceRemoved), DeviceError::Removed);
        assert_eq!(sign(RvError::GeneralError), DeviceError::Removed);
        assert!(matches!(sign(RvError::MechanismInvalid), DeviceError::MechanismUnsupported(_)));
        let list = map_rv(RvError::GeneralError, Context::Listing, "GetTokenInfo");
        assert!(matches!(list, DeviceError::Failed(_)));
        let made = map_rv(RvError::GeneralError, Context::Generating, "GenerateKeyPair");
        assert!(matches!(made, DeviceError::Failed(_)));
    }
}
