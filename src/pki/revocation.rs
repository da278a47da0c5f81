//! What the two revocation checks, OCSP (`ocsp.rs`) and CRLs (`crl.rs`), share: the error a
//! user reads when a certificate's status cannot be had or is not to be believed, the reason
//! names of RFC 5280 §5.3.1, and the reading of certificate extensions and times. Pure, like
//! its users: no network, no files, no clock.

use const_oid::AssociatedOid;
use der::Decode;
use time::OffsetDateTime;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::CrlReason;

use crate::crypto::Certificate;

/// Why a revocation answer (OCSP or CRL) was not accepted, or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// The OCSP request could not be encoded from the certificates given.
    #[error("the OCSP request could not be built ({0})")]
    Request(String),
    /// The answer is not a DER OCSPResponse with a basic response (RFC 6960 §4.2.1).
    #[error("the OCSP answer could not be read ({0}); ask the responder again or use the CRL")]
    MalformedOcsp(String),
    /// The responder answered with an error status instead of a certificate status.
    #[error("the OCSP responder refused to answer ({0}); ask again later or use the CRL")]
    Refused(&'static str),
    /// The CA given is not the one that issued the certificate.
    #[error("the CA certificate given ({issuer}) did not issue the certificate checked")]
    WrongIssuer {
        /// The CA given, as a DN.
        issuer: String,
    },
    /// No certificate in the answer (nor the CA's) is the responder the answer names.
    #[error("the OCSP answer does not carry the certificate of the responder that signed it")]
    ResponderUnknown,
    /// The answer's signature does not verify with its responder's key.
    #[error("the OCSP responder's signature does not verify: the answer was altered or forged")]
    BadResponderSignature,
    /// The responder is neither the CA nor delegated by it (RFC 6960 §4.2.2.2).
    #[error("the OCSP responder {responder} is not authorised by the certificate's CA")]
    UnauthorisedResponder {
        /// The responder's DN.
        responder: String,
    },
    /// The responder's certificate was not valid when the answer was produced.
    #[error("the OCSP responder's certificate ({responder}) was not valid at {at}")]
    ResponderNotValid {
        /// The responder's DN.
        responder: String,
        /// producedAt of the answer.
        at: OffsetDateTime,
    },
    /// The answer has no SingleResponse for this certificate (serial and issuer hashes).
    #[error("the OCSP answer is for another certificate (asked: serial {serial})")]
    ForAnotherCertificate {
        /// The serial asked about, in hex.
        serial: String,
    },
    /// The answer carries a nonce other than ours.
    #[error("the OCSP answer does not repeat our nonce: it may be an old answer replayed")]
    NonceMismatch,
    /// thisUpdate lies in the future beyond the allowed clock skew.
    #[error("the OCSP answer is dated {this_update}, in the future: check the computer's clock")]
    NotYetValid {
        /// thisUpdate of the answer.
        this_update: OffsetDateTime,
    },
    /// nextUpdate has passed.
    #[error("the OCSP answer expired at {next_update}; ask the responder again")]
    Expired {
        /// nextUpdate of the answer.
        next_update: OffsetDateTime,
    },
    /// The CRL is not a DER (or PEM) CertificateList (RFC 5280 §5.1).
    #[error("the CRL could not be read ({0}); download it again")]
    MalformedCrl(String),
    /// The CRL's issuer or signature is not the certificate's CA.
    #[error("the CRL is not signed by the certificate's CA")]
    CrlNotSignedByCa,
}

/// The RFC 5280 §5.3.1 name of a revocation reason, as OpenSSL and Kalkan print it.
pub fn reason_name(reason: CrlReason) -> &'static str {
    match reason {
        CrlReason::Unspecified => "unspecified",
        CrlReason::KeyCompromise => "keyCompromise",
        CrlReason::CaCompromise => "cACompromise",
        CrlReason::AffiliationChanged => "affiliationChanged",
        CrlReason::Superseded => "superseded",
        CrlReason::CessationOfOperation => "cessationOfOperation",
        CrlReason::CertificateHold => "certificateHold",
        CrlReason::RemoveFromCRL => "removeFromCRL",
        CrlReason::PrivilegeWithdrawn => "privilegeWithdrawn",
        CrlReason::AaCompromise => "aACompromise",
    }
}

/// The decoded extension of type `T` of `certificate`, if present and well-formed.
pub(super) fn extension<T>(certificate: &Certificate) -> Option<T>
where
    T: AssociatedOid + for<'a> Decode<'a>,
{
    let extensions = certificate.inner().tbs_certificate.extensions.as_ref()?;
    let found = extensions.iter().find(|ext| ext.extn_id == T::OID)?;
    T::from_der(found.extn_value.as_bytes()).ok()
}

/// The `http://` URI of a GeneralName. Other schemes (ldap, https) are left out: the HTTP
/// client (`crate::platform::http`) speaks plain http, as every NCA endpoint does.
pub(super) fn http_uri(name: &GeneralName) -> Option<String> {
    let GeneralName::UniformResourceIdentifier(uri) = name else { return None };
    let uri = uri.as_str();
    let scheme = uri.get(..7)?;
    scheme.eq_ignore_ascii_case("http://").then(|| uri.to_owned())
}

/// A DER time as an `OffsetDateTime` (UTC); `None` past the year 9999.
pub(super) fn date_time(unix: std::time::Duration) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(i64::try_from(unix.as_secs()).ok()?).ok()
}

/// The serial number's value without sign-padding zeros, so that `00 8F…` and `8F…` (as some
/// encoders write a positive INTEGER) are the same key.
pub(super) fn serial_key(serial: &[u8]) -> &[u8] {
    let start = serial.iter().position(|b| *b != 0).unwrap_or(serial.len().saturating_sub(1));
    serial.get(start..).unwrap_or(serial)
}
