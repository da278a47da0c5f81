//! CAdES-T (ETSI EN 319 122-1 §5.3): a signer's time-stamp token goes into its unsigned
//! attributes as `id-aa-signatureTimeStampToken`. The CMS is spliced, not re-encoded: only the
//! SignerInfo that gets the token and the lengths around it change, so every other signer, the
//! certificates and the content stay byte for byte (a co-signed CMS keeps its other signatures).

use cms::content_info::ContentInfo;
use cms::signed_data::SignerInfo;
use der::{Decode, Encode};

use super::tlv::{children, encode, encode_all, tag, SignedDataTlv};
use super::tsp::SIGNATURE_TIME_STAMP_TOKEN;
use super::{cms_verify, SignError};
use crate::crypto::SignatureAlgorithm;

/// The `[1] IMPLICIT` tag of unsignedAttrs.
const UNSIGNED_ATTRS: u8 = 0xa1;

/// A signer of a CMS that has no time-stamp yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unstamped {
    /// Its place among the SignerInfos.
    pub index: usize,
    /// Its signature algorithm (the imprint hash and TSA policy follow it).
    pub algorithm: SignatureAlgorithm,
    /// The signature value the token must be over.
    pub signature: Vec<u8>,
    /// It is the last SignerInfo (the one a signing or co-signing just added).
    pub newest: bool,
}

/// The signers of a DER CMS SignedData that carry no signature time-stamp.
pub fn unstamped(cms: &[u8]) -> Result<Vec<Unstamped>, SignError> {
    let signed_data = cms_verify::signed_data(cms)?;
    let last = signed_data.signer_infos.0.len().saturating_sub(1);
    let mut out = Vec::new();
    for (index, signer) in signed_data.signer_infos.0.iter().enumerate() {
        if !has_time_stamp(signer) {
            let (_, algorithm) = cms_verify::algorithms(signer)?;
            out.push(Unstamped {
                index,
                algorithm,
                signature: signer.signature.as_bytes().to_vec(),
                newest: index == last,
            });
        }
    }
    Ok(out)
}

fn has_time_stamp(signer: &SignerInfo) -> bool {
    signer
        .unsigned_attrs
        .iter()
        .flat_map(|attrs| attrs.iter())
        .any(|a| a.oid == SIGNATURE_TIME_STAMP_TOKEN)
}

/// The CMS with `token` added to the unsigned attributes of SignerInfo number `index`.
pub fn add_time_stamp(cms: &[u8], index: usize, token: &[u8]) -> Result<Vec<u8>, SignError> {
    let parts = SignedDataTlv::parse(cms)?;
    let (signer_infos, before) =
        parts.fields.split_last().ok_or_else(|| malformed("SignedData"))?;
    let mut signers: Vec<Vec<u8>> = children(signer_infos)?.iter().map(|s| s.to_vec()).collect();
    let signer = signers.get_mut(index).ok_or_else(|| malformed("the signer index"))?;
    *signer = with_attribute(signer, &time_stamp_attribute(token)?)?;
    let signers: Vec<&[u8]> = signers.iter().map(Vec::as_slice).collect();
    let set = encode_all(tag(signer_infos)?, &signers);
    let mut fields: Vec<&[u8]> = before.to_vec();
    fields.push(&set);
    parts.rebuild(&fields)
}

/// Attribute ::= SEQUENCE { attrType OID, attrValues SET OF ANY } holding the token.
fn time_stamp_attribute(token: &[u8]) -> Result<Vec<u8>, SignError> {
    ContentInfo::from_der(token).map_err(parse)?;
    let oid = SIGNATURE_TIME_STAMP_TOKEN.to_der().map_err(parse)?;
    Ok(encode_all(0x30, &[&oid, &encode(0x31, token)]))
}

/// A SignerInfo TLV with `attribute` added to its unsignedAttrs (created when absent); the SET
/// OF stays in DER order.
fn with_attribute(signer: &[u8], attribute: &[u8]) -> Result<Vec<u8>, SignError> {
    let fields = children(signer)?;
    let (kept, mut attributes) = match fields.split_last() {
        Some((last, rest)) if tag(last)? == UNSIGNED_ATTRS => (rest.to_vec(), children(last)?),
        _ => (fields.clone(), Vec::new()),
    };
    attributes.push(attribute);
    attributes.sort();
    let unsigned = encode_all(UNSIGNED_ATTRS, &attributes);
    let mut parts = kept;
    parts.push(&unsigned);
    Ok(encode_all(tag(signer)?, &parts))
}

fn malformed(what: &str) -> SignError {
    SignError::CmsParse(format!("{what} is malformed"))
}

fn parse(e: der::Error) -> SignError {
    SignError::CmsParse(e.to_string())
}

#[cfg(test)]
#[path = "cades_t_tests.rs"]
mod tests;
