//! The PKCS#12 container walk (RFC 7292 §4–§4.2): PFX → authSafe content octets → the
//! AuthenticatedSafe's ContentInfos (plain or encrypted) → SafeBags. Read with the BER reader,
//! so indefinite lengths and constructed strings need no normalising first. It yields raw key
//! and certificate bytes with their bag attributes; pairing them is the caller's business.

use std::borrow::Cow;

use zeroize::Zeroizing;

use super::pbe::Unlock;
use crate::keystore::ber::{tag, Tlv};
use crate::keystore::KeyStoreError;

const ID_DATA: &str = "1.2.840.113549.1.7.1";
const ID_ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const KEY_BAG: &str = "1.2.840.113549.1.12.10.1.1";
const SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";
const CERT_BAG: &str = "1.2.840.113549.1.12.10.1.3";
const SAFE_CONTENTS_BAG: &str = "1.2.840.113549.1.12.10.1.6";
const X509_CERTIFICATE: &str = "1.2.840.113549.1.9.22.1";
const FRIENDLY_NAME: &str = "1.2.840.113549.1.9.20";
const LOCAL_KEY_ID: &str = "1.2.840.113549.1.9.21";

/// The parts of a PFX (RFC 7292 §4).
pub struct Pfx<'a> {
    /// The content octets of the authSafe `id-data` ContentInfo — what the MAC covers.
    pub auth_safe: Cow<'a, [u8]>,
    /// The macData, if present.
    pub mac_data: Option<Tlv<'a>>,
}

/// `friendlyName` and `localKeyID` of a bag (PKCS#9).
#[derive(Default)]
pub struct BagAttributes {
    /// The alias a tool gave the bag.
    pub friendly_name: Option<String>,
    /// The id tying a key to its certificate.
    pub local_key_id: Option<Vec<u8>>,
}

/// A decrypted private key (PKCS#8 `PrivateKeyInfo`, possibly BER).
pub struct KeyBag {
    /// The PrivateKeyInfo encoding.
    pub pkcs8: Zeroizing<Vec<u8>>,
    /// Its bag attributes.
    pub attributes: BagAttributes,
}

/// An X.509 certificate from a certBag.
pub struct CertBag {
    /// The certificate encoding.
    pub der: Vec<u8>,
    /// Its bag attributes.
    pub attributes: BagAttributes,
}

/// Every key and certificate of a file.
#[derive(Default)]
pub struct Contents {
    /// Private keys.
    pub keys: Vec<KeyBag>,
    /// Certificates.
    pub certs: Vec<CertBag>,
}

/// Splits a PFX into its authSafe content octets and macData.
pub fn parse_pfx(bytes: &[u8]) -> Result<Pfx<'_>, KeyStoreError> {
    let pfx = Tlv::parse_all(bytes)?;
    let fields = pfx.sequence()?;
    let [version, auth_safe, rest @ ..] = fields.as_slice() else {
        return Err(corrupt("PFX is incomplete"));
    };
    if version.uint()? != 3 {
        return Err(KeyStoreError::Unsupported("PFX version other than 3".into()));
    }
    let (content_type, content) = content_info(auth_safe)?;
    if content_type != ID_DATA {
        return Err(KeyStoreError::Unsupported(format!("authSafe of type {content_type}")));
    }
    let auth_safe = octet_string(&explicit(&content)?)?;
    Ok(Pfx { auth_safe, mac_data: rest.first().copied() })
}

/// Reads the AuthenticatedSafe: every ContentInfo, decrypting `id-encryptedData` ones.
pub fn read_auth_safe(auth_safe: &[u8], unlock: &Unlock<'_>) -> Result<Contents, KeyStoreError> {
    let mut contents = Contents::default();
    for info in Tlv::parse_all(auth_safe)?.sequence()? {
        let (content_type, content) = content_info(&info)?;
        let content = explicit(&content)?;
        match content_type.as_str() {
            ID_DATA => read_safe_contents(&octet_string(&content)?, unlock, &mut contents)?,
            ID_ENCRYPTED_DATA => {
                let plain = decrypt_encrypted_data(&content, unlock)?;
                read_safe_contents(&plain, unlock, &mut contents)?;
            }
            other => return Err(KeyStoreError::Unsupported(format!("authSafe content {other}"))),
        }
    }
    Ok(contents)
}

/// EncryptedData (RFC 5652 §8): version, EncryptedContentInfo with `[0] IMPLICIT` content.
fn decrypt_encrypted_data(
    content: &Tlv<'_>,
    unlock: &Unlock<'_>,
) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
    let fields = content.sequence()?;
    let info = fields.get(1).ok_or_else(|| corrupt("EncryptedData is incomplete"))?;
    let [_, algorithm, encrypted] =
        info.sequence()?.try_into().map_err(|_| corrupt("EncryptedContentInfo"))?;
    if !encrypted.tag.is_context(0) {
        return Err(corrupt("EncryptedContentInfo without content"));
    }
    unlock.decrypt(&algorithm, &encrypted.octets()?)
}

/// Reads a SafeContents (SEQUENCE OF SafeBag).
fn read_safe_contents(
    bytes: &[u8],
    unlock: &Unlock<'_>,
    out: &mut Contents,
) -> Result<(), KeyStoreError> {
    read_bags(&Tlv::parse_all(bytes)?, unlock, out)
}

fn read_bags(
    safe_contents: &Tlv<'_>,
    unlock: &Unlock<'_>,
    out: &mut Contents,
) -> Result<(), KeyStoreError> {
    for bag in safe_contents.sequence()? {
        let fields = bag.sequence()?;
        let [bag_id, value, rest @ ..] = fields.as_slice() else {
            return Err(corrupt("SafeBag is incomplete"));
        };
        let value = explicit(value)?;
        let attributes = match rest.first() {
            Some(set) => bag_attributes(set)?,
            None => BagAttributes::default(),
        };
        match bag_id.oid()?.to_string().as_str() {
            KEY_BAG => {
                out.keys.push(KeyBag { pkcs8: Zeroizing::new(value.raw().to_vec()), attributes })
            }
            SHROUDED_KEY_BAG => {
                out.keys.push(KeyBag { pkcs8: decrypt_shrouded(&value, unlock)?, attributes })
            }
            CERT_BAG => out.certs.extend(cert_bag(&value)?.map(|der| CertBag { der, attributes })),
            SAFE_CONTENTS_BAG => read_bags(&value, unlock, out)?,
            other => tracing::debug!(bag = other, "skipping a PKCS#12 bag of another type"),
        }
    }
    Ok(())
}

/// EncryptedPrivateKeyInfo (RFC 5958 §3).
fn decrypt_shrouded(
    value: &Tlv<'_>,
    unlock: &Unlock<'_>,
) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
    let [algorithm, data] =
        value.sequence()?.try_into().map_err(|_| corrupt("EncryptedPrivateKeyInfo"))?;
    unlock.decrypt(&algorithm, &octet_string(&data)?)
}

/// CertBag (RFC 7292 §4.2.3): the certificate of an `x509Certificate` bag, `None` for others.
fn cert_bag(value: &Tlv<'_>) -> Result<Option<Vec<u8>>, KeyStoreError> {
    let [cert_id, cert_value] = value.sequence()?.try_into().map_err(|_| corrupt("CertBag"))?;
    if cert_id.oid()?.to_string() != X509_CERTIFICATE {
        return Ok(None);
    }
    Ok(Some(octet_string(&explicit(&cert_value)?)?.into_owned()))
}

fn bag_attributes(set: &Tlv<'_>) -> Result<BagAttributes, KeyStoreError> {
    set.expect_universal(tag::SET, "bag attributes must be a SET")?;
    let mut out = BagAttributes::default();
    for attribute in set.children()? {
        let [oid, values] =
            attribute.sequence()?.try_into().map_err(|_| corrupt("bag attribute"))?;
        let values = values.children()?;
        let Some(value) = values.first() else {
            continue;
        };
        match oid.oid()?.to_string().as_str() {
            FRIENDLY_NAME => {
                out.friendly_name = Some(crate::crypto::certificate::utf16_be(&value.octets()?))
            }
            LOCAL_KEY_ID => out.local_key_id = Some(value.octets()?.into_owned()),
            _ => {}
        }
    }
    Ok(out)
}

/// ContentInfo (RFC 5652 §3): the dotted content type and the `[0] EXPLICIT` wrapper.
fn content_info<'a>(info: &Tlv<'a>) -> Result<(String, Tlv<'a>), KeyStoreError> {
    let [content_type, content] =
        info.sequence()?.try_into().map_err(|_| corrupt("ContentInfo"))?;
    Ok((content_type.oid()?.to_string(), content))
}

/// The element inside an `[0] EXPLICIT` wrapper.
fn explicit<'a>(wrapper: &Tlv<'a>) -> Result<Tlv<'a>, KeyStoreError> {
    if !wrapper.tag.is_context(0) {
        return Err(corrupt("[0] expected"));
    }
    match wrapper.children()?.as_slice() {
        [inner] => Ok(*inner),
        _ => Err(corrupt("[0] must hold exactly one element")),
    }
}

fn octet_string<'a>(tlv: &Tlv<'a>) -> Result<Cow<'a, [u8]>, KeyStoreError> {
    tlv.expect_universal(tag::OCTET_STRING, "OCTET STRING expected")?;
    Ok(tlv.octets()?)
}

fn corrupt(what: &str) -> KeyStoreError {
    KeyStoreError::Corrupt(what.to_owned())
}
