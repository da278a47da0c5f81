//! CAdES-BES CMS SignedData (RFC 5652 §5, ETSI EN 319 122-1 §5.2): attached, detached, and over
//! a given digest, with contentType, signingTime, messageDigest and signingCertificateV2 as
//! Kalkan writes them (`ncalayer-protocol.md` §10.1, `kz-pki.md` §5.1).
//!
//! Algorithms come from [`Signer::algorithm`]; this module names no key family. It builds and
//! encodes only: the key does the signing, and verification lives in `cms_verify`.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier, SignerInfo,
};
use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Encode, Tag};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;

use super::cms_attrs::{self, ID_DATA, ID_SIGNED_DATA};
use super::SignError;
use crate::crypto::Signer;

/// Signs `content`; `attached` embeds it in encapContentInfo. Returns the DER ContentInfo.
pub fn sign_data(
    signer: &dyn Signer,
    content: &[u8],
    attached: bool,
    signing_time: OffsetDateTime,
) -> Result<Vec<u8>, SignError> {
    let digest = signer.algorithm().hash().digest(content);
    build(signer, &digest, attached.then_some(content), signing_time)
}

/// Detached signature over a digest computed elsewhere (its length must match the key's hash).
pub fn sign_digest(
    signer: &dyn Signer,
    digest: &[u8],
    signing_time: OffsetDateTime,
) -> Result<Vec<u8>, SignError> {
    let expected = signer.algorithm().hash().output_len();
    if digest.len() != expected {
        return Err(SignError::DigestLength {
            expected,
            got: digest.len(),
        });
    }
    build(signer, digest, None, signing_time)
}

/// ContentInfo{SignedData v1} with one signer over `digest` (RFC 5652 §3, §5.1).
fn build(
    signer: &dyn Signer,
    digest: &[u8],
    econtent: Option<&[u8]>,
    signing_time: OffsetDateTime,
) -> Result<Vec<u8>, SignError> {
    let hash_oid = signer.algorithm().hash().oid();
    let certificate = signer.certificate().inner().clone();
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![algorithm_id(hash_oid)]).map_err(encoding)?,
        encap_content_info: encap_content_info(econtent)?,
        certificates: Some(
            vec![CertificateChoices::Certificate(certificate)]
                .try_into()
                .map_err(encoding)?,
        ),
        crls: None,
        signer_infos: vec![signer_info(signer, digest, signing_time)?]
            .try_into()
            .map_err(encoding)?,
    };
    let content_info = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(encoding)?,
    };
    content_info.to_der().map_err(encoding)
}

/// encapContentInfo of type id-data, carrying the content only when attached (RFC 5652 §5.2).
fn encap_content_info(econtent: Option<&[u8]>) -> Result<EncapsulatedContentInfo, SignError> {
    let econtent = econtent
        .map(|c| Any::new(Tag::OctetString, c))
        .transpose()
        .map_err(encoding)?;
    Ok(EncapsulatedContentInfo {
        econtent_type: ID_DATA,
        econtent,
    })
}

/// SignerInfo v1 with issuerAndSerialNumber; the signature covers the DER SET OF the signed
/// attributes (RFC 5652 §5.3, §5.4).
fn signer_info(
    signer: &dyn Signer,
    digest: &[u8],
    signing_time: OffsetDateTime,
) -> Result<SignerInfo, SignError> {
    let algorithm = signer.algorithm();
    let certificate = signer.certificate();
    let signed_attrs: SignedAttributes = cms_attrs::cades_bes(digest, signing_time, certificate)?;
    let to_be_signed = signed_attrs.to_der().map_err(encoding)?;
    let signature = signer.sign_digest(&algorithm.hash().digest(&to_be_signed))?;
    let tbs = &certificate.inner().tbs_certificate;
    Ok(SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        }),
        digest_alg: algorithm_id(algorithm.hash().oid()),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: algorithm_id(algorithm.oid()),
        signature: OctetString::new(signature).map_err(encoding)?,
        unsigned_attrs: None,
    })
}

/// An AlgorithmIdentifier with explicit NULL parameters, as Kalkan writes every one
/// (`kz-pki.md` §1.1).
fn algorithm_id(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: Some(Any::null()),
    }
}

fn encoding(e: der::Error) -> SignError {
    SignError::Encoding(e.to_string())
}
