//! Co-signing (`ncalayer-protocol.md` §4, `createCMSSignatureFromBase64` given a CMS): a new
//! SignerInfo is added to an existing CMS SignedData over the same content. The CMS is spliced,
//! not re-encoded: the existing signers, the content and the certificates already there stay
//! byte for byte; only the digest algorithm (when new), the signer's certificate (when absent)
//! and the new SignerInfo are added.

use ::cms::content_info::ContentInfo;
use der::{Decode, Encode};
use time::OffsetDateTime;

use super::cms_attrs::ID_SIGNED_DATA;
use super::tlv::{children, encode, encode_all, tag, SignedDataTlv};
use super::{cms, cms_verify, SignError};
use crate::crypto::Signer;

/// The `[0] IMPLICIT` tag of SignedData certificates.
const CERTIFICATES: u8 = 0xa0;

/// Whether `bytes` are a DER CMS SignedData (what co-signing takes).
pub fn is_signed_data(bytes: &[u8]) -> bool {
    ContentInfo::from_der(bytes).is_ok_and(|ci| ci.content_type == ID_SIGNED_DATA)
}

/// The content a CMS carries (`None`: detached).
pub fn attached_content(cms: &[u8]) -> Result<Option<Vec<u8>>, SignError> {
    let signed_data = cms_verify::signed_data(cms)?;
    Ok(signed_data.encap_content_info.econtent.map(|c| c.value().to_vec()))
}

/// `cms` with a signature by `signer` over its attached content added after the other signers.
/// A detached CMS is refused: its content is not here to sign.
pub fn add_signer(
    signer: &dyn Signer,
    cms: &[u8],
    signing_time: OffsetDateTime,
) -> Result<Vec<u8>, SignError> {
    let content = attached_content(cms)?.ok_or_else(|| {
        SignError::CmsParse(
            "a detached CMS cannot be co-signed: it does not carry the document".into(),
        )
    })?;
    let digest = signer.algorithm().hash().digest(&content);
    let signer_info =
        cms::signer_info(signer, &digest, signing_time)?.to_der().map_err(encoding)?;
    let algorithm =
        cms::algorithm_id(signer.algorithm().hash().oid()).to_der().map_err(encoding)?;
    splice(cms, &algorithm, signer.certificate().der(), &signer_info)
}

/// SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo,
/// certificates [0] OPTIONAL, crls [1] OPTIONAL, signerInfos SET }, with the additions.
fn splice(
    cms: &[u8],
    algorithm: &[u8],
    certificate: &[u8],
    signer_info: &[u8],
) -> Result<Vec<u8>, SignError> {
    let parsed = SignedDataTlv::parse(cms)?;
    let [version, algorithms, encap, middle @ .., signer_infos] = parsed.fields.as_slice() else {
        return Err(malformed("SignedData"));
    };
    let algorithms = with_member(algorithms, algorithm, true)?;
    let certificates = match middle.first() {
        Some(set) if tag(set)? == CERTIFICATES => with_member(set, certificate, false)?,
        _ => encode(CERTIFICATES, certificate),
    };
    let rest = match middle.first() {
        Some(set) if tag(set)? == CERTIFICATES => &middle[1..],
        _ => middle,
    };
    let mut signers = children(signer_infos)?;
    signers.push(signer_info);
    let signer_infos = encode_all(tag(signer_infos)?, &signers);
    let mut parts: Vec<&[u8]> = vec![version, &algorithms, encap, &certificates];
    parts.extend_from_slice(rest);
    parts.push(&signer_infos);
    parsed.rebuild(&parts)
}

/// The SET `set` with `member` added unless present; `sorted` keeps DER order (digest
/// algorithms), otherwise it goes last (certificates, as Kalkan lists them).
fn with_member(set: &[u8], member: &[u8], sorted: bool) -> Result<Vec<u8>, SignError> {
    let mut members = children(set)?;
    if !members.contains(&member) {
        members.push(member);
        if sorted {
            members.sort();
        }
    }
    Ok(encode_all(tag(set)?, &members))
}

fn malformed(what: &str) -> SignError {
    SignError::CmsParse(format!("{what} is malformed"))
}

fn encoding(e: der::Error) -> SignError {
    SignError::Encoding(e.to_string())
}

#[cfg(test)]
#[path = "cosign_tests.rs"]
mod tests;
