//! The signing step of a request, free of prompts: what cannot be signed is refused before
//! anyone is asked ([`validate`]), and each document is signed in its format ([`sign_all`]).

use time::OffsetDateTime;

use super::{Documents, ServiceError, SignRequest};
use crate::crypto::Signer;
use crate::sign;

/// Rejects what cannot be signed before anyone is asked (digest lengths are checked when the
/// request is built: [`super::Digest`]).
pub(super) fn validate(request: &SignRequest) -> Result<(), ServiceError> {
    if request.documents.is_empty() {
        return Err(ServiceError::BadRequest("no data to sign".into()));
    }
    match &request.documents {
        Documents::Xml { element, texts } => {
            for text in texts {
                match element {
                    None => sign::xmldsig::check_document(text)?,
                    Some((tbs, parent)) => sign::xmldsig::check_element(text, tbs, parent)?,
                }
            }
        }
        Documents::CoSign { cms } => {
            sign::cms_verify::verify(cms, None)?; // every signature there must hold
        }
        _ => {}
    }
    Ok(())
}

/// One signature per document, in order.
pub(super) fn sign_all(
    signer: &dyn Signer,
    request: &SignRequest,
    now: OffsetDateTime,
) -> Result<Vec<Vec<u8>>, ServiceError> {
    let signatures = match &request.documents {
        Documents::Cms { attached, data } => data
            .iter()
            .map(|document| sign::cms::sign_data(signer, document, *attached, now))
            .collect::<Result<_, _>>()?,
        Documents::Digests(digests) => digests
            .iter()
            .map(|digest| sign::cms::sign_digest(signer, digest.as_bytes(), now))
            .collect::<Result<_, _>>()?,
        Documents::Xml { element: None, texts } => texts
            .iter()
            .map(|text| sign::xmldsig::sign_enveloped(signer, text).map(String::into_bytes))
            .collect::<Result<_, _>>()?,
        Documents::Xml { element: Some((tbs, parent)), texts } => texts
            .iter()
            .map(|text| {
                sign::xmldsig::sign_element(signer, text, tbs, parent).map(String::into_bytes)
            })
            .collect::<Result<_, _>>()?,
        Documents::Raw(data) => data
            .iter()
            .map(|document| sign::raw::sign(signer, document))
            .collect::<Result<_, _>>()?,
        Documents::CoSign { cms } => vec![sign::cosign::add_signer(signer, cms, now)?],
    };
    Ok(signatures)
}
