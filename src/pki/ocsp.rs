//! OCSP (RFC 6960) for a signer's certificate: the request that asks about it (§4.1), the
//! responder its AIA extension names (RFC 5280 §4.2.2.1), and the check of the answer (§4.2,
//! §3.2). Pure: the caller POSTs [`OcspRequest::der`] as `application/ocsp-request` to
//! [`responder_url`] (or the configured one) through `crate::platform::http::Fetch`, and hands
//! the answer's bytes and its own clock's time to [`check`]. No socket, file or clock here;
//! whether the CA itself is trusted is `trust.rs`'s question, asked before.
//!
//! What the NCA's test responders do, as their real answers in `ncanode-2022/ocsp/` show
//! (`ocsp_tests.rs`):
//! - they answer the CertID asked, in its hash: those answers were asked with SHA-256 CertIDs,
//!   as NCANode's Kalkan client (`OcspService.java`) asks; we ask the same way ([`REQUEST_HASH`]);
//! - a delegated responder signs (RFC 6960 §4.2.2.2): "OCSP RESPONDER" for the GOST 2015 CA,
//!   "СЕРВИС ПРОВЕРКИ ОНЛАЙН СТАТУСА СЕРТИФИКАТА" for the GOST 2004 and RSA CAs; each is issued
//!   by the CA it answers for, carries id-kp-OCSPSigning and id-pkix-ocsp-nocheck, and is sent
//!   in the answer's `certs`. We accept that and the CA signing for itself, nothing else;
//! - the nonce comes back (RFC 8954 form), there is no nextUpdate, and the answers carry the
//!   extended-revoke extension (§4.4.8): a serial the CA never issued is answered "revoked at
//!   1970-01-01, certificateHold" (§2.2), which [`check`] reports as [`OcspStatus::Unknown`].

use const_oid::db::rfc5280::{ID_AD_OCSP, ID_KP_OCSP_SIGNING};
use const_oid::db::rfc6960::{ID_PKIX_OCSP_BASIC, ID_PKIX_OCSP_NONCE};
use der::asn1::{AnyRef, OctetString};
use der::{Decode, Encode, Reader, SliceReader};
use time::{Duration, OffsetDateTime};
use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, CrlReason};
use x509_cert::serial_number::SerialNumber;
use x509_ocsp::{
    BasicOcspResponse, CertStatus, OcspGeneralizedTime, OcspResponse, OcspResponseStatus,
    ResponderId, RevokedInfo, SingleResponse,
};

use super::revocation::{date_time, extension, http_uri, reason_name, serial_key};
use super::{validity, RevocationError, Validity};
use crate::crypto::{hex, verify, Certificate, HashAlgorithm, SignatureAlgorithm};

mod request;

pub use request::{request, CertId, OcspRequest, REQUEST_HASH};

/// How far in the future an answer's thisUpdate may lie: the responder's clock against ours.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);

/// The first `http://` OCSP responder of the certificate's Authority Information Access.
pub fn responder_url(certificate: &Certificate) -> Option<String> {
    let access: AuthorityInfoAccessSyntax = extension(certificate)?;
    access
        .0
        .iter()
        .filter(|description| description.access_method == ID_AD_OCSP)
        .find_map(|description| http_uri(&description.access_location))
}

/// A certificate's status as a responder gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OcspStatus {
    /// Not revoked (RFC 6960 §2.2 "good").
    Good,
    /// Revoked at `at`, for `reason` (RFC 5280 §5.3.1 name) when given.
    Revoked {
        /// revocationTime.
        at: OffsetDateTime,
        /// revocationReason, e.g. `certificateHold`.
        reason: Option<String>,
    },
    /// The responder does not know the certificate, or says its CA never issued it.
    Unknown,
}

/// A checked answer: the status and the times the responder gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspAnswer {
    /// The certificate's status.
    pub status: OcspStatus,
    /// When the responder signed the answer.
    pub produced_at: OffsetDateTime,
    /// When the status was known to be correct.
    pub this_update: OffsetDateTime,
    /// When newer information will be available, if the responder says.
    pub next_update: Option<OffsetDateTime>,
}

/// Checks the answer `response_der` about `certificate`, issued by `issuer`, at `now`: a
/// successful basic response, signed by the CA or by a responder the CA issued with
/// id-kp-OCSPSigning (valid when it answered), holding a SingleResponse for this CertID,
/// repeating `expected_nonce` if it carries a nonce, with thisUpdate not after `now` +
/// [`CLOCK_SKEW`] and nextUpdate, if any, not before `now`.
pub fn check(
    response_der: &[u8],
    certificate: &Certificate,
    issuer: &Certificate,
    expected_nonce: Option<&[u8]>,
    now: OffsetDateTime,
) -> Result<OcspAnswer, RevocationError> {
    if verify::verify_issued_by(certificate, issuer).is_err() {
        return Err(RevocationError::WrongIssuer { issuer: issuer.subject_dn() });
    }
    let number = &certificate.inner().tbs_certificate.serial_number;
    check_serial(response_der, number, issuer, expected_nonce, now)
}

/// [`check`] for the certificate with serial `number`, once its issuer is known to be `issuer`.
fn check_serial(
    response_der: &[u8],
    number: &SerialNumber,
    issuer: &Certificate,
    expected_nonce: Option<&[u8]>,
    now: OffsetDateTime,
) -> Result<OcspAnswer, RevocationError> {
    let basic = Basic::parse(response_der)?;
    let responder = basic.signer(issuer)?;
    authorise(&responder, issuer, basic.produced_at)?;
    let single = basic.single_for(number, issuer)?;
    check_nonce(&basic.response, expected_nonce)?;
    let answer = answer(single, basic.produced_at)?;
    check_times(&answer, now)?;
    Ok(answer)
}

/// A successful answer's BasicOCSPResponse, with the bytes its signature covers.
struct Basic {
    response: BasicOcspResponse,
    tbs: Vec<u8>,
    produced_at: OffsetDateTime,
}

impl Basic {
    fn parse(response_der: &[u8]) -> Result<Self, RevocationError> {
        let response = OcspResponse::from_der(response_der).map_err(malformed)?;
        if response.response_status != OcspResponseStatus::Successful {
            return Err(RevocationError::Refused(status_name(response.response_status)));
        }
        let bytes = response.response_bytes.ok_or_else(|| {
            RevocationError::MalformedOcsp("a successful answer without a response".into())
        })?;
        if bytes.response_type != ID_PKIX_OCSP_BASIC {
            let kind = bytes.response_type.to_string();
            return Err(RevocationError::MalformedOcsp(format!("response type {kind}")));
        }
        let der = bytes.response.as_bytes();
        let response = BasicOcspResponse::from_der(der).map_err(malformed)?;
        let tbs = signed_part(der).map_err(malformed)?.to_vec();
        let produced_at = time_of(response.tbs_response_data.produced_at)?;
        Ok(Self { response, tbs, produced_at })
    }

    /// The certificate that signed the answer: among those it carries and the CA itself, one
    /// the ResponderID names and whose key verifies the signature.
    fn signer(&self, issuer: &Certificate) -> Result<Certificate, RevocationError> {
        let id = &self.response.tbs_response_data.responder_id;
        let carried = self.response.certs.iter().flatten().filter_map(|c| {
            let der = c.to_der().ok()?;
            Certificate::from_der(&der).ok()
        });
        let named: Vec<Certificate> =
            std::iter::once(issuer.clone()).chain(carried).filter(|c| names(id, c)).collect();
        if named.is_empty() {
            return Err(RevocationError::ResponderUnknown);
        }
        named
            .into_iter()
            .find(|responder| self.signed_by(responder))
            .ok_or(RevocationError::BadResponderSignature)
    }

    fn signed_by(&self, responder: &Certificate) -> bool {
        let oid = &self.response.signature_algorithm.oid;
        let Some(algorithm) = SignatureAlgorithm::from_oid(oid, None) else { return false };
        let Some(signature) = self.response.signature.as_bytes() else { return false };
        let digest = algorithm.hash().digest(&self.tbs);
        verify::verify_digest(responder, algorithm, &digest, signature).is_ok()
    }

    /// The SingleResponse about serial `number` of `issuer`, in whichever hash it is given.
    fn single_for(
        &self,
        number: &SerialNumber,
        issuer: &Certificate,
    ) -> Result<&SingleResponse, RevocationError> {
        let about = |single: &&SingleResponse| {
            HashAlgorithm::from_oid(&single.cert_id.hash_algorithm.oid)
                .and_then(|hash| CertId::new(number, issuer, hash).ok())
                .is_some_and(|id| id.is(&single.cert_id))
        };
        self.response.tbs_response_data.responses.iter().find(about).ok_or_else(|| {
            RevocationError::ForAnotherCertificate { serial: hex(serial_key(number.as_bytes())) }
        })
    }
}

/// The DER of tbsResponseData exactly as received: the first element of the BasicOCSPResponse.
fn signed_part(basic_der: &[u8]) -> der::Result<&[u8]> {
    let outer = AnyRef::from_der(basic_der)?;
    let mut reader = SliceReader::new(outer.value())?;
    reader.tlv_bytes()
}

/// Whether the ResponderID names `certificate`: by subject, or by the SHA-1 of its key.
fn names(id: &ResponderId, certificate: &Certificate) -> bool {
    let tbs = &certificate.inner().tbs_certificate;
    match id {
        ResponderId::ByName(name) => tbs.subject == *name,
        ResponderId::ByKey(hash) => {
            let key = tbs.subject_public_key_info.subject_public_key.raw_bytes();
            HashAlgorithm::Sha1.digest(key) == hash.as_bytes()
        }
    }
}

/// RFC 6960 §4.2.2.2: the CA answers for itself, or delegates to a certificate it issued
/// with id-kp-OCSPSigning; that certificate must have been valid when it answered. Whether
/// the responder's own certificate is revoked is not asked: the NCA's carry id-pkix-ocsp-nocheck.
fn authorise(
    responder: &Certificate,
    issuer: &Certificate,
    produced_at: OffsetDateTime,
) -> Result<(), RevocationError> {
    if responder == issuer {
        return Ok(());
    }
    let ocsp_signing = ID_KP_OCSP_SIGNING.to_string();
    let delegated = responder.ext_key_usage().contains(&ocsp_signing)
        && verify::verify_issued_by(responder, issuer).is_ok();
    if !delegated {
        return Err(RevocationError::UnauthorisedResponder { responder: responder.subject_dn() });
    }
    match validity(responder, produced_at) {
        Validity::Valid => Ok(()),
        _ => Err(RevocationError::ResponderNotValid {
            responder: responder.subject_dn(),
            at: produced_at,
        }),
    }
}

/// Refuses an answer whose nonce is not `expected`. An answer without a nonce passes: its
/// freshness then rests on thisUpdate/nextUpdate (RFC 8954 §3 lets a responder omit it).
fn check_nonce(basic: &BasicOcspResponse, expected: Option<&[u8]>) -> Result<(), RevocationError> {
    match (expected, nonce_of(basic)) {
        (Some(expected), Some(carried)) if carried != expected => {
            Err(RevocationError::NonceMismatch)
        }
        _ => Ok(()),
    }
}

/// The nonce an answer carries: the OCTET STRING inside the extension's value (RFC 8954),
/// or the bare value, as some older responders write it.
fn nonce_of(basic: &BasicOcspResponse) -> Option<Vec<u8>> {
    let extensions = basic.tbs_response_data.response_extensions.as_ref()?;
    let nonce = extensions.iter().find(|e| e.extn_id == ID_PKIX_OCSP_NONCE)?;
    let value = nonce.extn_value.as_bytes();
    Some(OctetString::from_der(value).map_or_else(|_| value.to_vec(), |o| o.as_bytes().to_vec()))
}

fn answer(
    single: &SingleResponse,
    produced_at: OffsetDateTime,
) -> Result<OcspAnswer, RevocationError> {
    let status = match single.cert_status {
        CertStatus::Good(_) => OcspStatus::Good,
        CertStatus::Unknown(_) => OcspStatus::Unknown,
        CertStatus::Revoked(info) => revoked(info)?,
    };
    Ok(OcspAnswer {
        status,
        produced_at,
        this_update: time_of(single.this_update)?,
        next_update: single.next_update.map(time_of).transpose()?,
    })
}

/// RFC 6960 §2.2: "revoked" at 1970-01-01T00:00:00Z with reason certificateHold is how a
/// responder with the extended-revoke extension says the CA never issued that serial. It
/// is no revocation (there is nothing to revoke) but an unknown certificate.
fn revoked(info: RevokedInfo) -> Result<OcspStatus, RevocationError> {
    let at = time_of(info.revocation_time)?;
    let reason = info.revocation_reason;
    if at == OffsetDateTime::UNIX_EPOCH && reason == Some(CrlReason::CertificateHold) {
        return Ok(OcspStatus::Unknown);
    }
    Ok(OcspStatus::Revoked { at, reason: reason.map(|r| reason_name(r).to_owned()) })
}

fn check_times(answer: &OcspAnswer, now: OffsetDateTime) -> Result<(), RevocationError> {
    if answer.this_update > now + CLOCK_SKEW {
        return Err(RevocationError::NotYetValid { this_update: answer.this_update });
    }
    match answer.next_update {
        Some(next_update) if next_update < now => Err(RevocationError::Expired { next_update }),
        _ => Ok(()),
    }
}

fn time_of(time: OcspGeneralizedTime) -> Result<OffsetDateTime, RevocationError> {
    date_time(time.0.to_unix_duration())
        .ok_or_else(|| RevocationError::MalformedOcsp("a time out of range".into()))
}

fn status_name(status: OcspResponseStatus) -> &'static str {
    match status {
        OcspResponseStatus::Successful => "successful",
        OcspResponseStatus::MalformedRequest => "malformedRequest",
        OcspResponseStatus::InternalError => "internalError",
        OcspResponseStatus::TryLater => "tryLater",
        OcspResponseStatus::SigRequired => "sigRequired",
        OcspResponseStatus::Unauthorized => "unauthorized",
    }
}

fn malformed(error: der::Error) -> RevocationError {
    RevocationError::MalformedOcsp(error.to_string())
}

#[cfg(test)]
#[path = "ocsp_tests.rs"]
mod tests;
