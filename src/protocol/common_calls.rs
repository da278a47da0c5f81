//! The bodies of the commonUtils methods: each turns a typed [`Call`] into service calls and a
//! `responseObject`. Storage names are checked first (as `StorageInfo` does in NCALayer), then
//! the input is decoded, then the user is asked. CMS results are plain base64 DER, XML results
//! the signed text. Envelope and dispatch live in `common_utils`.

use std::path::Path;
use std::sync::Arc;

use super::common_utils::{Call, Error500, Response};
use super::envelope::{base64, decode_base64};
use super::errors;
use super::key_info::KeyInfo;
use crate::keystore::{KeyFilter, KeyType, StorageName, StorageNameError};
use crate::service::{ChainRule, Documents, Guest, Service, ServiceError, SignRequest};

/// Runs one call. `Ok(None)`: success without a `responseObject` (`changeLocale`).
pub async fn run(
    service: &Arc<Service>,
    guest: &Guest,
    call: Call,
) -> Result<Option<Response>, Error500> {
    let response = match call {
        Call::ActiveTokens => {
            Response::Texts(service.active_tokens().await.iter().map(ToString::to_string).collect())
        }
        Call::KeyInfo { storage } => key_info(service, guest, &storage).await?,
        Call::SignXml { storage, key_type, documents, tbs, parent, many } => {
            sign_xml(service, guest, (&storage, &key_type), documents, (tbs, parent), many).await?
        }
        Call::Cades { storage, key_type, data, attach, stamp } => {
            let storage = served_storage(service, &storage).await?;
            let data = decode_base64(&data).map_err(Error500::new)?;
            cades(service, guest, (&storage, &key_type), data, (attach, stamp)).await?
        }
        Call::CadesHash { storage, key_type, hash } => {
            cades_hash(service, guest, (&storage, &key_type), &hash).await?
        }
        Call::CadesFile { storage, key_type, path, attach, stamp } => {
            let storage = served_storage(service, &storage).await?;
            let data = service.read_picked(Path::new(&path)).await.map_err(service_error)?;
            cades(service, guest, (&storage, &key_type), data, (attach, stamp)).await?
        }
        Call::ApplyCadesT { storage, key_type: _, cms } => {
            served_storage(service, &storage).await?;
            let cms = decode_base64(&cms).map_err(Error500::new)?;
            let stamped = service.apply_time_stamps(guest, cms).await.map_err(service_error)?;
            Response::Text(base64(&stamped))
        }
        Call::ChooseFile { extension } => choose_file(service, guest, extension).await?,
        Call::ChangeLocale { locale } => {
            service.set_locale(&locale);
            return Ok(None);
        }
    };
    Ok(Some(response))
}

/// The storage and `keyType` of a signing call.
type Key<'a> = (&'a StorageName, &'a str);

/// The storage a call names, parsed and served now: an empty name is
/// `storageName.param.empty`, one that names no storage `storage.unknown`, a token storage with
/// no token present `storage.empty`.
async fn served_storage(service: &Arc<Service>, text: &str) -> Result<StorageName, Error500> {
    let storage = StorageName::parse(text).map_err(|e| {
        service_error(match e {
            StorageNameError::Empty => ServiceError::StorageParamEmpty,
            StorageNameError::Invalid => ServiceError::StorageUnknown,
        })
    })?;
    service.check_storage(&storage).await.map_err(service_error)?;
    Ok(storage)
}

/// `getKeyInfo`: the certificate of the key the user picks.
async fn key_info(
    service: &Arc<Service>,
    guest: &Guest,
    storage: &str,
) -> Result<Response, Error500> {
    let storage = served_storage(service, storage).await?;
    let certificate = service.key_info(guest, &storage, None).await.map_err(service_error)?;
    Ok(Response::KeyInfo(Box::new(KeyInfo::of(&certificate))))
}

/// `showFileChooser`: the picked path as text.
async fn choose_file(
    service: &Arc<Service>,
    guest: &Guest,
    extension: String,
) -> Result<Response, Error500> {
    let path = service.choose_file(guest, extension).await.map_err(service_error)?;
    Ok(Response::Text(path.to_string_lossy().into_owned()))
}

/// `signXml` / `signXmls`: empty XPaths sign the whole document, otherwise one element.
async fn sign_xml(
    service: &Arc<Service>,
    guest: &Guest,
    (storage, key_type): (&str, &str),
    documents: Vec<String>,
    (tbs, parent): (String, String),
    many: bool,
) -> Result<Response, Error500> {
    let storage = &served_storage(service, storage).await?;
    let element = (!tbs.is_empty() || !parent.is_empty()).then_some((tbs, parent));
    let documents = Documents::Xml { element, texts: documents };
    let request = sign_request(storage, key_type, documents);
    let texts = signatures(service, guest, request)
        .await?
        .into_iter()
        .map(|xml| {
            String::from_utf8(xml).map_err(|_| Error500::new("The signed XML is not valid UTF-8."))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if many {
        Ok(Response::Texts(texts))
    } else {
        texts
            .into_iter()
            .next()
            .map(Response::Text)
            .ok_or_else(|| Error500::new("no signature was produced"))
    }
}

/// `createCAdESFromBase64Hash`: a detached CMS over a digest. An empty hash fails with Java's
/// null message (`{"code":"500"}`, as recorded).
async fn cades_hash(
    service: &Arc<Service>,
    guest: &Guest,
    (storage, key_type): (&str, &str),
    hash: &str,
) -> Result<Response, Error500> {
    let storage = &served_storage(service, storage).await?;
    if hash.is_empty() {
        return Err(Error500(None));
    }
    let digest = decode_base64(hash).map_err(Error500::new)?;
    let documents = Documents::digests(vec![digest]).map_err(service_error)?;
    one_cms(service, guest, sign_request(storage, key_type, documents)).await
}

/// A CAdES-BES over `data`, attached or detached.
async fn cades(
    service: &Arc<Service>,
    guest: &Guest,
    (storage, key_type): Key<'_>,
    data: Vec<u8>,
    (attached, stamp): (bool, bool),
) -> Result<Response, Error500> {
    // createCMSSignatureFromBase64 given a CMS adds a signer to it (co-signing).
    let documents = match stamp && crate::sign::cosign::is_signed_data(&data) {
        true => Documents::CoSign { cms: data },
        false => Documents::Cms { attached, data: vec![data.into()] },
    };
    let request = SignRequest { time_stamp: stamp, ..sign_request(storage, key_type, documents) };
    one_cms(service, guest, request).await
}

async fn one_cms(
    service: &Arc<Service>,
    guest: &Guest,
    request: SignRequest,
) -> Result<Response, Error500> {
    signatures(service, guest, request)
        .await?
        .first()
        .map(|der| Response::Text(base64(der)))
        .ok_or_else(|| Error500::new("no signature was produced"))
}

fn sign_request(storage: &StorageName, key_type: &str, documents: Documents) -> SignRequest {
    SignRequest {
        documents,
        filter: KeyFilter { key_type: KeyType::parse(key_type), ..KeyFilter::default() },
        storages: Some(vec![storage.clone()]),
        allow_expired: false,
        locale: None,
        logo: None,
        time_stamp: false,
        chain: ChainRule::Trusted,
        allow_revoked: false,
    }
}

async fn signatures(
    service: &Arc<Service>,
    guest: &Guest,
    request: SignRequest,
) -> Result<Vec<Vec<u8>>, Error500> {
    service.sign(guest, request).await.map(|outcome| outcome.signatures).map_err(service_error)
}

/// A service error as a commonUtils `500` (the texts: [`errors::wire`]).
fn service_error(error: ServiceError) -> Error500 {
    Error500::new(errors::wire(&error).common)
}
