//! English texts.

use super::Msg;
use crate::service::consent::Operation;

/// The English text of `msg`.
pub(super) fn text(msg: Msg) -> &'static str {
    match msg {
        Msg::DialogTitle => "signature request",
        Msg::RequestedBy => "Requested by",
        Msg::LocalProgram => "a program on this computer (no web origin)",
        Msg::FirstSeen => "First request from this site. Check the address carefully.",
        Msg::NotTrusted => "This site is not on the trusted list.",
        Msg::RememberSite => "Trust this site from now on",
        Msg::Trusted => "Trusted site",
        Msg::DocumentSize => "Document {n}: {size} bytes",
        Msg::DigestOnly => "The site sent only a digest of this document: its content cannot be shown.",
        Msg::BinaryData => "Binary data: no preview.",
        Msg::KeyStore => "Key store",
        Msg::StoreFile => "Key file (.p12)",
        Msg::ChooseFile => "Choose file…",
        Msg::RecentFiles => "Recently used",
        Msg::NoTokens => "No token connected",
        Msg::Password => "Password",
        Msg::Pin => "PIN",
        Msg::Sign => "Sign",
        Msg::Cancel => "Cancel",
        Msg::UseKey => "Use this key",
        Msg::WrongPassword => "Wrong password. Try again.",
        Msg::TriesLeft => "Tries left: {left}",
        Msg::NoMatchingKey => "This key store has no key that the site accepts.",
        Msg::WrongPin => "Wrong PIN. Try again.",
        Msg::WrongPinFewTries => "Wrong PIN. The token reports few tries left before it locks the PIN.",
        Msg::WrongPinLastTry => "Wrong PIN. One try is left: another wrong PIN locks the token.",
        Msg::KeyNotAccepted => "The key {alias} is not one the site accepts.",
        Msg::StorageNotAllowed => "The site does not accept keys from {store}.",
        Msg::NoToken => "No {store} token is connected.",
        Msg::ChooseStoreFile => "Choose a key store file.",
        Msg::Unreadable => "Cannot read {path}: {reason}",
        Msg::StoreUnusable => "The key store cannot be used: {reason}",
        Msg::Keys => "Keys",
        Msg::Owner => "Owner",
        Msg::IinBin => "IIN/BIN",
        Msg::Role => "Role",
        Msg::Issuer => "Issuer",
        Msg::Validity => "Valid",
        Msg::Expired => "EXPIRED",
        Msg::NotYetValid => "NOT YET VALID",
        Msg::RoleSignature => "signature",
        Msg::RoleAuthentication => "authentication",
        Msg::AsksForFile => "asks you to choose a file ({extension})",
        Msg::KeysWanted => "The site accepts: {what}",
        Msg::ChooseStoreFirst => "Choose a key file first.",
        Msg::StateIdle => "Qoltanba: waiting for portals",
        Msg::StateWaiting => "Qoltanba: a signature request is waiting",
        Msg::StateError => "Qoltanba: something went wrong, see the log",
        Msg::Listening => "Listening on {address}",
        Msg::StoresSeen => "Stores: {stores}",
        Msg::OpenHistory => "Open signing history",
        Msg::TrustCertificate => "Trust the local certificate in browsers",
        Msg::Language => "Language",
        Msg::Settings => "Settings",
        Msg::Quit => "Quit",
        Msg::ExpiringTitle => "Certificate expires soon",
        Msg::ExpiringBody => "The certificate of {owner} expires in {days} days ({date}). Get a new one at pki.gov.kz.",
        Msg::RefusedTitle => "Request refused",
        Msg::RefusedBody => "{origin} was refused: {reason}",
    }
}

/// "Sign {n} …" in English, singular or plural.
pub(super) fn operation(op: Operation, count: usize) -> &'static str {
    let one = count == 1;
    match (op, one) {
        (Operation::CmsAttached, true) => "Sign 1 document (CMS, document attached)",
        (Operation::CmsAttached, false) => "Sign {n} documents (CMS, documents attached)",
        (Operation::CmsDetached, true) => "Sign 1 document (CMS, detached)",
        (Operation::CmsDetached, false) => "Sign {n} documents (CMS, detached)",
        (Operation::CmsDigest, true) => "Sign a file digest (detached)",
        (Operation::CmsDigest, false) => "Sign {n} file digests (detached)",
        (Operation::Xml, true) => "Sign 1 XML document",
        (Operation::Xml, false) => "Sign {n} XML documents",
        (Operation::XmlElement, true) => "Sign an element of 1 XML document",
        (Operation::XmlElement, false) => "Sign an element of {n} XML documents",
        (Operation::Raw, true) => "Sign 1 document (raw signature)",
        (Operation::Raw, false) => "Sign {n} documents (raw signatures)",
        (Operation::KeyInfo, _) => "Show the certificate of a key to the site",
    }
}
