//! The one mapping from service errors to NCALayer wire texts (`ncalayer-protocol.md` §2.3,
//! §3.4; `docs/protocol.md` §1): for each [`ServiceError`] the basics `code` and `message` and
//! the commonUtils `message` (NCALayer's i18n-key style, `action.canceled`, `storage.empty`, …).
//! The modules only choose the envelope; no other file turns a service error into wire text.
//! Internal details go to the log, never to the page.

use std::borrow::Cow;

use crate::crypto::DeviceError;
use crate::service::limits::Limited;
use crate::service::{ErrorKind, ServiceError};

/// How one service error is said on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wire {
    /// The basics `code` (`INVALID_SIGNING_PARAMS`, `ORIGIN_REFUSED`, …).
    pub code: &'static str,
    /// The basics `message`.
    pub message: Cow<'static, str>,
    /// The commonUtils `message` (also the applet's `result` of a refusal).
    pub common: Cow<'static, str>,
}

/// The basics `ORIGIN_REFUSED` message.
pub const ORIGIN_REFUSED: &str = "Qoltanba does not accept requests from this site: it is not \
     on the list of allowed sites (policy.allowed_origins).";

/// The `TOO_MANY_REQUESTS` message when requests wait in too long a queue.
pub const TOO_MANY_REQUESTS: &str =
    "Too many requests are waiting for the signing dialog. Try again later.";

/// The basics and commonUtils texts of a service error.
pub(crate) fn wire(error: &ServiceError) -> Wire {
    let kind = error.kind();
    let common: Cow<'static, str> = match (key(error), error) {
        (Some(key), _) => key.into(),
        (None, ServiceError::Token(device)) => device_key(device).into(),
        (None, _) if kind == ErrorKind::Internal => "internal error".into(),
        (None, _) => error.to_string().into(),
    };
    let (code, message): (&'static str, Cow<'static, str>) = match (error, kind) {
        (ServiceError::OriginRefused(_), _) => ("ORIGIN_REFUSED", ORIGIN_REFUSED.into()),
        (ServiceError::TooManyRequests(limited), _) => {
            ("TOO_MANY_REQUESTS", too_many(*limited).into())
        }
        (_, ErrorKind::PinLocked | ErrorKind::TokenRemoved | ErrorKind::MechanismUnsupported) => {
            let (code, message) = token_failure(kind);
            (code, message.into())
        }
        (_, ErrorKind::Internal) => {
            tracing::error!("request failed: {error}");
            ("INTERNAL_ERROR", "Internal error; the Qoltanba log has the details.".into())
        }
        (_, ErrorKind::SigningFailed) => ("SIGNING_FAILURE", common.clone()),
        (_, ErrorKind::TimeStamp) => ("TSA_ERROR", common.clone()),
        (_, ErrorKind::Unsupported) => ("NOT_SUPPORTED", common.clone()),
        (_, ErrorKind::CsrFailed) => ("CSR_GENERATING_FAILURE", common.clone()),
        (_, ErrorKind::ImportFailed) => ("CERTIFICATE_IMPORTING_FAILURE", common.clone()),
        (_, ErrorKind::InvalidCertificate) => ("INVALID_IMPORTING_CERTIFICATE", common.clone()),
        _ => ("INVALID_SIGNING_PARAMS", common.clone()),
    };
    Wire { code, message, common }
}

/// NCALayer's i18n key for the errors that have one.
fn key(error: &ServiceError) -> Option<&'static str> {
    Some(match error {
        ServiceError::Cancelled => "action.canceled",
        ServiceError::StorageParamEmpty => "storageName.param.empty",
        ServiceError::StorageUnknown => "storage.unknown",
        ServiceError::StorageEmpty => "storage.empty",
        ServiceError::FileNotFound => "file.not_found",
        ServiceError::OriginRefused(_) => "origin.refused",
        ServiceError::TooManyRequests(_) => "requests.too_many",
        _ => return None,
    })
}

/// The commonUtils text of a token failure: keys in NCALayer's `storage.empty` style.
fn device_key(device: &DeviceError) -> &'static str {
    match device {
        DeviceError::NotPresent => "storage.empty",
        DeviceError::Removed => "token.removed",
        DeviceError::WrongPin(_) => "token.pin.wrong",
        DeviceError::PinLocked => "token.pin.locked",
        DeviceError::MechanismUnsupported(_) => "token.mechanism.unsupported",
        _ => "token.failed",
    }
}

/// The basics `TOO_MANY_REQUESTS` message of a prompt limit.
fn too_many(limited: Limited) -> &'static str {
    match limited {
        Limited::CoolingDown => {
            "Too many signature requests from this site were cancelled: it is refused for a \
             while (policy.cooldown_seconds). Try again later."
        }
        Limited::TooManyPrompts => {
            "Too many unanswered signature requests from this new site in the last minute \
             (policy.prompts_per_minute). Try again in a minute."
        }
        Limited::NewSitesBusy => {
            "Too many signature requests from new sites in the last minute \
             (policy.prompts_per_minute). Try again in a minute."
        }
        Limited::QueueFull => TOO_MANY_REQUESTS,
    }
}

/// Token failures: a basics code of their own and a sentence the user can act on.
fn token_failure(kind: ErrorKind) -> (&'static str, &'static str) {
    match kind {
        ErrorKind::PinLocked => (
            "TOKEN_PIN_LOCKED",
            "The token's PIN is locked after too many wrong PINs. Unlock it with the token's PUK \
             or administrator tools, then try again.",
        ),
        ErrorKind::TokenRemoved => {
            ("TOKEN_REMOVED", "The token was removed before signing finished. Insert it and try again.")
        }
        _ => (
            "TOKEN_MECHANISM_UNSUPPORTED",
            "The token cannot sign with this key's algorithm (the PKCS#11 module lacks the mechanism).",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_errors_keep_ncalayers_texts_in_both_modules() {
        let w = wire(&ServiceError::StorageEmpty);
        assert_eq!(
            (w.code, &*w.message, &*w.common),
            ("INVALID_SIGNING_PARAMS", "storage.empty", "storage.empty")
        );
        let w = wire(&ServiceError::OriginRefused("https://x".into()));
        assert_eq!(
            (w.code, &*w.message, &*w.common),
            ("ORIGIN_REFUSED", ORIGIN_REFUSED, "origin.refused")
        );
        let w = wire(&ServiceError::TooManyRequests(Limited::QueueFull));
        assert_eq!(
            (w.code, &*w.message, &*w.common),
            ("TOO_MANY_REQUESTS", TOO_MANY_REQUESTS, "requests.too_many")
        );
        assert_eq!(&*wire(&ServiceError::Cancelled).common, "action.canceled");
    }

    #[test]
    fn token_failures_have_codes_and_keys() {
        let w = wire(&ServiceError::Token(DeviceError::PinLocked));
        assert_eq!((w.code, &*w.common), ("TOKEN_PIN_LOCKED", "token.pin.locked"));
        let w = wire(&ServiceError::Token(DeviceError::Removed));
        assert_eq!((w.code, &*w.common), ("TOKEN_REMOVED", "token.removed"));
        assert_eq!(&*wire(&ServiceError::Token(DeviceError::NotPresent)).common, "storage.empty");
    }

    #[test]
    fn internal_details_stay_in_the_log() {
        let w = wire(&ServiceError::Internal("secret path /home/x".into()));
        assert_eq!((w.code, &*w.common), ("INTERNAL_ERROR", "internal error"));
        assert!(!w.message.contains("/home/x"));
    }
}
