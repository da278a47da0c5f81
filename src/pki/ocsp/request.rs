//! The OCSP request (RFC 6960 §4.1.1): one CertID for the certificate asked about, a nonce
//! extension (RFC 8954), no signature. The CertID's hash is a parameter here; [`request`]
//! asks in [`REQUEST_HASH`], as the NCA's own clients do.

use const_oid::db::rfc6960::ID_PKIX_OCSP_NONCE;
use der::asn1::{Null, OctetString};
use der::Encode;
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extension;
use x509_cert::serial_number::SerialNumber;

use crate::crypto::{Certificate, HashAlgorithm};
use crate::pki::revocation::serial_key;
use crate::pki::RevocationError;

/// The hash of the CertIDs we ask with: SHA-256, as the NCA's own clients ask and its
/// responder answers (`kz-pki.md` §5.3). [`check`](super::check) accepts an answer in any hash
/// we know.
pub const REQUEST_HASH: HashAlgorithm = HashAlgorithm::Sha256;

/// Which certificate an OCSP request asks about (RFC 6960 §4.1.1 CertID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertId {
    /// The hash of the two issuer hashes.
    pub hash: HashAlgorithm,
    /// The hash of the issuer's DER subject name.
    pub issuer_name_hash: Vec<u8>,
    /// The hash of the issuer's subjectPublicKey BIT STRING value.
    pub issuer_key_hash: Vec<u8>,
    /// The certificate's serial number, big-endian, without sign-padding zeros.
    pub serial: Vec<u8>,
    number: SerialNumber,
}

impl CertId {
    /// The CertID of serial `number` issued by `issuer`, hashed with `hash`.
    pub(super) fn new(
        number: &SerialNumber,
        issuer: &Certificate,
        hash: HashAlgorithm,
    ) -> Result<Self, der::Error> {
        let tbs = &issuer.inner().tbs_certificate;
        let key = tbs.subject_public_key_info.subject_public_key.raw_bytes();
        Ok(Self {
            hash,
            issuer_name_hash: hash.digest(&tbs.subject.to_der()?),
            issuer_key_hash: hash.digest(key),
            serial: serial_key(number.as_bytes()).to_vec(),
            number: number.clone(),
        })
    }

    /// Whether the answer's `id` names this certificate.
    pub(super) fn is(&self, id: &x509_ocsp::CertId) -> bool {
        HashAlgorithm::from_oid(&id.hash_algorithm.oid) == Some(self.hash)
            && id.issuer_name_hash.as_bytes() == self.issuer_name_hash
            && id.issuer_key_hash.as_bytes() == self.issuer_key_hash
            && serial_key(id.serial_number.as_bytes()) == self.serial
    }

    fn to_asn1(&self) -> Result<x509_ocsp::CertId, der::Error> {
        Ok(x509_ocsp::CertId {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: self.hash.oid(),
                parameters: Some(Null.into()),
            },
            issuer_name_hash: OctetString::new(self.issuer_name_hash.clone())?,
            issuer_key_hash: OctetString::new(self.issuer_key_hash.clone())?,
            serial_number: self.number.clone(),
        })
    }
}

/// An OCSPRequest (RFC 6960 §4.1.1) for one certificate, unsigned, with a nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspRequest {
    /// The DER request, POSTed as `application/ocsp-request`.
    pub der: Vec<u8>,
    /// The nonce sent (RFC 8954), to give [`check`](super::check).
    pub nonce: [u8; 16],
    /// The certificate asked about.
    pub cert_id: CertId,
}

/// The request about `certificate`, issued by `issuer`, with `nonce` (fresh random bytes).
pub fn request(
    certificate: &Certificate,
    issuer: &Certificate,
    nonce: [u8; 16],
) -> Result<OcspRequest, RevocationError> {
    request_with(certificate, issuer, nonce, REQUEST_HASH)
}

/// [`request`] with the CertID hashed with `hash`.
pub(super) fn request_with(
    certificate: &Certificate,
    issuer: &Certificate,
    nonce: [u8; 16],
    hash: HashAlgorithm,
) -> Result<OcspRequest, RevocationError> {
    let failed = |e: der::Error| RevocationError::Request(e.to_string());
    let number = &certificate.inner().tbs_certificate.serial_number;
    let cert_id = CertId::new(number, issuer, hash).map_err(failed)?;
    let der = encode_request(&cert_id, &nonce).map_err(failed)?;
    Ok(OcspRequest { der, nonce, cert_id })
}

fn encode_request(cert_id: &CertId, nonce: &[u8]) -> Result<Vec<u8>, der::Error> {
    let nonce = Extension {
        extn_id: ID_PKIX_OCSP_NONCE,
        critical: false,
        extn_value: OctetString::new(OctetString::new(nonce)?.to_der()?)?,
    };
    let tbs_request = x509_ocsp::TbsRequest {
        version: x509_ocsp::Version::V1,
        requestor_name: None,
        request_list: vec![x509_ocsp::Request {
            req_cert: cert_id.to_asn1()?,
            single_request_extensions: None,
        }],
        request_extensions: Some(vec![nonce]),
    };
    x509_ocsp::OcspRequest { tbs_request, optional_signature: None }.to_der()
}
