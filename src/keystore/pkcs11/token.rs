//! What the worker does on a module: find the tokens present (PKCS#11 v2.40 §5.5
//! `C_GetSlotList`, `C_GetTokenInfo`), read certificates and key ids (§5.7 `C_FindObjects`,
//! `C_GetAttributeValue`), check a PIN (§5.6 `C_Login`/`C_Logout`) and sign (§5.12). Every
//! operation opens its own session, logs in afresh and logs out before returning.

use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, CertificateType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use secrecy::SecretString;

use super::errors::{self, Context};
use super::gost_mech::{self, GostMechanisms};
use super::worker::Module;
use crate::crypto::{DeviceError, PinTries, SignatureAlgorithm};

/// A token found in a slot, named by its serial number (slot ids may change on re-scan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenId {
    pub serial: String,
    pub label: String,
}

/// A certificate object with its `CKA_ID`.
#[derive(Debug, Clone)]
pub(crate) struct CertObject {
    pub id: Vec<u8>,
    pub der: Vec<u8>,
}

/// What to sign.
#[derive(Debug, Clone)]
pub(crate) enum Payload {
    /// The whole message (the token hashes: `CKM_SHA256_RSA_PKCS`).
    Message(Vec<u8>),
    /// A digest made with the algorithm's hash.
    Digest(Vec<u8>),
}

/// The initialised tokens present now, after a re-scan.
pub(crate) fn present(module: &Module) -> Result<Vec<(Slot, TokenId)>, DeviceError> {
    module.rescan()?;
    let slots = module.ctx.get_slots_with_token().map_err(|e| errors::map(e, Context::Listing))?;
    Ok(slots
        .into_iter()
        .filter_map(|slot| {
            let info = module.ctx.get_token_info(slot).ok()?;
            info.token_initialized().then(|| {
                let id = TokenId {
                    serial: info.serial_number().trim().to_string(),
                    label: info.label().trim().to_string(),
                };
                (slot, id)
            })
        })
        .collect())
}

/// The slot of the token with `serial`, or [`DeviceError::Removed`].
fn slot_of(module: &Module, serial: &str) -> Result<Slot, DeviceError> {
    present(module)?
        .into_iter()
        .find(|(_, token)| token.serial == serial)
        .map(|(slot, _)| slot)
        .ok_or(DeviceError::Removed)
}

/// Certificates readable without a PIN.
pub(crate) fn public_certificates(
    module: &Module,
    serial: &str,
) -> Result<Vec<CertObject>, DeviceError> {
    let slot = slot_of(module, serial)?;
    let session = module.ctx.open_ro_session(slot).map_err(|e| errors::map(e, Context::Listing))?;
    certificates(&session)
}

/// Logs in with `pin` (the PIN check), reads the certificates that have a private key with the
/// same `CKA_ID`, and logs out.
pub(crate) fn unlock(
    module: &Module,
    serial: &str,
    pin: &SecretString,
) -> Result<Vec<CertObject>, DeviceError> {
    let slot = slot_of(module, serial)?;
    let session = module.ctx.open_ro_session(slot).map_err(|e| errors::map(e, Context::Listing))?;
    login(module, slot, &session, pin)?;
    let result = certificates(&session).and_then(|certs| {
        let keys = ids(&session, ObjectClass::PRIVATE_KEY)?;
        Ok(certs.into_iter().filter(|c| keys.contains(&c.id)).collect())
    });
    let _ = session.logout();
    result
}

/// Logs in, signs with the private key `id`, logs out.
pub(crate) fn sign(
    module: &Module,
    serial: &str,
    id: &[u8],
    pin: &SecretString,
    algorithm: SignatureAlgorithm,
    payload: &Payload,
) -> Result<Vec<u8>, DeviceError> {
    let slot = slot_of(module, serial)?;
    let session = module.ctx.open_ro_session(slot).map_err(|e| errors::map(e, Context::Signing))?;
    login(module, slot, &session, pin)?;
    let result = private_key(&session, id)
        .and_then(|key| sign_with(module, slot, &session, key, algorithm, payload));
    let _ = session.logout();
    result
}

/// `C_Login` as the user. A wrong PIN re-reads the token flags for the tries left; a PIN the
/// token already reports locked is not tried at all.
fn login(
    module: &Module,
    slot: Slot,
    session: &Session,
    pin: &SecretString,
) -> Result<(), DeviceError> {
    if pin_state(module, slot)? == PinState::Locked {
        return Err(DeviceError::PinLocked);
    }
    match session.login(UserType::User, Some(pin)) {
        Ok(()) => Ok(()),
        Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
            Ok(())
        }
        Err(e) => match errors::map(e, Context::Signing) {
            DeviceError::WrongPin(_) => Err(match pin_state(module, slot)? {
                PinState::Locked => DeviceError::PinLocked,
                PinState::Open(tries) => DeviceError::WrongPin(tries),
            }),
            other => Err(other),
        },
    }
}

#[derive(Debug, PartialEq, Eq)]
enum PinState {
    Locked,
    Open(PinTries),
}

/// The user-PIN flags of `CK_TOKEN_INFO` (PKCS#11 v2.40 §3.2, Table 10).
fn pin_state(module: &Module, slot: Slot) -> Result<PinState, DeviceError> {
    let info = module.ctx.get_token_info(slot).map_err(|e| errors::map(e, Context::Signing))?;
    Ok(if info.user_pin_locked() {
        PinState::Locked
    } else if info.user_pin_final_try() {
        PinState::Open(PinTries::Last)
    } else if info.user_pin_count_low() {
        PinState::Open(PinTries::Few)
    } else {
        PinState::Open(PinTries::Unknown)
    })
}

fn certificates(session: &Session) -> Result<Vec<CertObject>, DeviceError> {
    let template = [
        Attribute::Class(ObjectClass::CERTIFICATE),
        Attribute::CertificateType(CertificateType::X_509),
    ];
    let handles = session.find_objects(&template).map_err(|e| errors::map(e, Context::Listing))?;
    let mut found = Vec::new();
    for handle in handles {
        let attributes = session
            .get_attributes(handle, &[AttributeType::Id, AttributeType::Value])
            .map_err(|e| errors::map(e, Context::Listing))?;
        let mut cert = CertObject { id: Vec::new(), der: Vec::new() };
        for attribute in attributes {
            match attribute {
                Attribute::Id(id) => cert.id = id,
                Attribute::Value(der) => cert.der = der,
                _ => {}
            }
        }
        if !cert.der.is_empty() {
            found.push(cert);
        }
    }
    Ok(found)
}

fn ids(session: &Session, class: ObjectClass) -> Result<Vec<Vec<u8>>, DeviceError> {
    let handles = session
        .find_objects(&[Attribute::Class(class)])
        .map_err(|e| errors::map(e, Context::Listing))?;
    let mut ids = Vec::new();
    for handle in handles {
        let attributes = session
            .get_attributes(handle, &[AttributeType::Id])
            .map_err(|e| errors::map(e, Context::Listing))?;
        ids.extend(attributes.into_iter().filter_map(|a| match a {
            Attribute::Id(id) => Some(id),
            _ => None,
        }));
    }
    Ok(ids)
}

fn private_key(session: &Session, id: &[u8]) -> Result<ObjectHandle, DeviceError> {
    let template = [Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(id.to_vec())];
    let found = session.find_objects(&template).map_err(|e| errors::map(e, Context::Signing))?;
    found.into_iter().next().ok_or(DeviceError::NoSuchKey)
}

fn sign_with(
    module: &Module,
    slot: Slot,
    session: &Session,
    key: ObjectHandle,
    algorithm: SignatureAlgorithm,
    payload: &Payload,
) -> Result<Vec<u8>, DeviceError> {
    if algorithm == SignatureAlgorithm::RsaSha256 {
        let mechanisms =
            module.ctx.get_mechanism_list(slot).map_err(|e| errors::map(e, Context::Signing))?;
        let (mechanism, data) = super::rsa_plan(&mechanisms, payload)?;
        return session.sign(&mechanism, key, &data).map_err(|e| errors::map(e, Context::Signing));
    }
    let digest = match payload {
        Payload::Digest(digest) => digest.clone(),
        Payload::Message(message) => algorithm.hash().digest(message),
    };
    let token = SessionGost { module, session, key };
    gost_mech::sign(&token, algorithm, &digest)
}

/// The real [`GostMechanisms`]: vendor-defined numbers through cryptoki, `CKM_GOSTR3410`
/// through the raw call.
struct SessionGost<'a> {
    module: &'a Module,
    session: &'a Session,
    key: ObjectHandle,
}

impl GostMechanisms for SessionGost<'_> {
    fn sign(
        &self,
        mechanism: cryptoki_sys::CK_MECHANISM_TYPE,
        data: &[u8],
    ) -> Result<Vec<u8>, DeviceError> {
        let unsupported = || DeviceError::MechanismUnsupported(format!("0x{mechanism:08X}"));
        if let Ok(kind) = MechanismType::new_vendor_defined(mechanism) {
            let vendor =
                cryptoki::mechanism::vendor_defined::VendorDefinedMechanism::new::<()>(kind, None);
            return self
                .session
                .sign(&Mechanism::VendorDefined(vendor), self.key, data)
                .map_err(|e| errors::map(e, Context::Signing));
        }
        let raw = self.module.raw().ok_or_else(unsupported)?;
        raw.sign(self.session.handle(), self.key.handle(), mechanism, data)
            .map_err(|rv| errors::map_rv(rv, Context::Signing, &format!("0x{mechanism:08X}")))
    }
}

/// A key pair made on a token: its `CKA_ID` and the DER SubjectPublicKeyInfo of its public
/// half.
#[derive(Debug, Clone)]
pub(crate) struct MadeKey {
    pub id: Vec<u8>,
    pub spki: Vec<u8>,
}

/// The kinds of key the token can make (its mechanisms, no PIN needed): GOST-2015-512 first,
/// the NCA's only kind since 2024 (`kz-issuance.md` §1).
pub(crate) fn key_algorithms(
    module: &Module,
    serial: &str,
) -> Result<Vec<SignatureAlgorithm>, DeviceError> {
    let slot = slot_of(module, serial)?;
    let mechanisms =
        module.ctx.get_mechanism_list(slot).map_err(|e| errors::map(e, Context::Listing))?;
    let gost = makes_gost(module, slot);
    let rsa = mechanisms.contains(&MechanismType::RSA_PKCS_KEY_PAIR_GEN);
    Ok([(gost, SignatureAlgorithm::Gost2015_512), (rsa, SignatureAlgorithm::RsaSha256)]
        .into_iter()
        .filter_map(|(can, algorithm)| can.then_some(algorithm))
        .collect())
}

/// Whether the token makes GOST-2015-512 key pairs and signs with them. cryptoki leaves
/// vendor-defined numbers out of its mechanism list, so each mechanism is asked for by number
/// (`C_GetMechanismInfo`, PKCS#11 v2.40 §5.5); making the pair needs the raw call.
fn makes_gost(module: &Module, slot: Slot) -> bool {
    let offers = |number, wanted: fn(&cryptoki::mechanism::MechanismInfo) -> bool| {
        MechanismType::new_vendor_defined(number)
            .ok()
            .and_then(|mechanism| module.ctx.get_mechanism_info(slot, mechanism).ok())
            .is_some_and(|info| wanted(&info))
    };
    offers(gost_mech::CKM_GOSTR3410_512_KEY_PAIR_GEN, |info| info.generate_key_pair())
        && offers(gost_mech::CKM_GOSTR3410_512, |info| info.sign())
        && module.raw().is_some()
}

/// Makes a key pair for `algorithm` on the token (PKCS#11 v2.40 §5.14 `C_GenerateKeyPair`),
/// labelled `label`: the private half a token object, private, sensitive and not extractable,
/// able to sign; both halves under `CKA_ID` = the key identifier, which names the certificate
/// later. GOST-2015-512 uses the TC26 vendor mechanism ([`gost_mech`]), RSA-2048
/// `CKM_RSA_PKCS_KEY_PAIR_GEN` (e = 65537); a token without the mechanism is refused before
/// anything is made, and a pair made but not named is destroyed again.
pub(crate) fn generate(
    module: &Module,
    serial: &str,
    pin: &SecretString,
    label: &str,
    algorithm: SignatureAlgorithm,
) -> Result<MadeKey, DeviceError> {
    let slot = slot_of(module, serial)?;
    let session =
        module.ctx.open_rw_session(slot).map_err(|e| errors::map(e, Context::Generating))?;
    login(module, slot, &session, pin)?;
    let made = (|| {
        let label = label.as_bytes();
        let (public_key, private_key) = match algorithm {
            SignatureAlgorithm::RsaSha256 => {
                let mechanisms = module
                    .ctx
                    .get_mechanism_list(slot)
                    .map_err(|e| errors::map(e, Context::Generating))?;
                rsa_pair(&session, &mechanisms, label)?
            }
            SignatureAlgorithm::Gost2015_512 => gost_pair(module, slot, &session, label)?,
            other => {
                return Err(DeviceError::MechanismUnsupported(format!("making {other:?} keys")))
            }
        };
        let named = describe(&session, algorithm, public_key).and_then(|made| {
            for key in [public_key, private_key] {
                session
                    .update_attributes(key, &[Attribute::Id(made.id.clone())])
                    .map_err(|e| errors::map(e, Context::Generating))?;
            }
            Ok(made)
        });
        if named.is_err() {
            let _ = session.destroy_object(private_key);
            let _ = session.destroy_object(public_key);
        }
        named
    })();
    let _ = session.logout();
    made
}

/// RSA-2048 with e = 65537: the public and the private key's handles.
fn rsa_pair(
    session: &Session,
    mechanisms: &[MechanismType],
    label: &[u8],
) -> Result<(ObjectHandle, ObjectHandle), DeviceError> {
    if !mechanisms.contains(&MechanismType::RSA_PKCS_KEY_PAIR_GEN) {
        return Err(DeviceError::MechanismUnsupported("CKM_RSA_PKCS_KEY_PAIR_GEN".into()));
    }
    let label = Attribute::Label(label.to_vec());
    let public = [
        Attribute::Token(true),
        Attribute::Verify(true),
        Attribute::ModulusBits(2048.into()),
        Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
        label.clone(),
    ];
    let private = [
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        label,
    ];
    session
        .generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &public, &private)
        .map_err(|e| errors::map(e, Context::Generating))
}

/// GOST-2015-512 on the TC26 512 A curve, through the raw call (cryptoki has no
/// `CKA_GOSTR3410_PARAMS`): the public and the private key's handles. The curve and its hash
/// are named as [`gost_mech::PARAMSETS`] lists, the next names tried only when the token
/// refuses the template.
fn gost_pair(
    module: &Module,
    slot: Slot,
    session: &Session,
    label: &[u8],
) -> Result<(ObjectHandle, ObjectHandle), DeviceError> {
    use super::raw::RawAttribute as A;
    use crate::crypto::der_build::oid;
    use cryptoki::error::RvError;
    use cryptoki_sys::{
        CKA_CLASS, CKA_EXTRACTABLE, CKA_KEY_TYPE, CKA_LABEL, CKA_PRIVATE, CKA_SENSITIVE, CKA_SIGN,
        CKA_TOKEN, CKA_VERIFY, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY,
    };
    let name = "CKM_GOSTR3410_512_KEY_PAIR_GEN";
    let raw = module.raw().filter(|_| makes_gost(module, slot)).ok_or_else(|| {
        DeviceError::MechanismUnsupported(format!("{name}: this token makes no GOST-2015 keys"))
    })?;
    let kind = gost_mech::CKK_GOSTR3410_512;
    let private = [
        A::number(CKA_CLASS, CKO_PRIVATE_KEY),
        A::number(CKA_KEY_TYPE, kind),
        A::flag(CKA_TOKEN, true),
        A::flag(CKA_PRIVATE, true),
        A::flag(CKA_SENSITIVE, true),
        A::flag(CKA_EXTRACTABLE, false),
        A::flag(CKA_SIGN, true),
        A::bytes(CKA_LABEL, label),
    ];
    let mut refused = Vec::new();
    for (curve, hash) in gost_mech::PARAMSETS {
        let public = [
            A::number(CKA_CLASS, CKO_PUBLIC_KEY),
            A::number(CKA_KEY_TYPE, kind),
            A::flag(CKA_TOKEN, true),
            A::flag(CKA_PRIVATE, false),
            A::flag(CKA_VERIFY, true),
            A::bytes(CKA_LABEL, label),
            A::bytes(gost_mech::CKA_GOSTR3410_PARAMS, &oid(curve)),
            A::bytes(gost_mech::CKA_GOSTR3411_PARAMS, &oid(hash)),
        ];
        let mechanism = gost_mech::CKM_GOSTR3410_512_KEY_PAIR_GEN;
        match raw.generate_key_pair(session.handle(), mechanism, &public, &private) {
            Ok(pair) => return Ok(pair),
            Err(
                rv @ (RvError::DomainParamsInvalid
                | RvError::AttributeValueInvalid
                | RvError::TemplateInconsistent),
            ) => {
                tracing::info!(curve, %rv, "the token refused the GOST key template");
                refused.push(format!("{curve}: {rv}"));
            }
            Err(rv) => return Err(errors::map_rv(rv, Context::Generating, name)),
        }
    }
    Err(DeviceError::MechanismUnsupported(format!(
        "{name}: the token refused the template with each name of the TC26 512 A curve ({})",
        refused.join("; ")
    )))
}

/// The new key's SubjectPublicKeyInfo and key identifier, read from its public half.
/// RSA: the identifier is the SHA-1 of the RSAPublicKey (RFC 5280 §4.2.1.2 method 1). GOST:
/// `CKA_VALUE` is x‖y, and the SubjectPublicKeyInfo and identifier are the NCA's
/// (`kz-issuance.md` §3, §4), as for a key file.
fn describe(
    session: &Session,
    algorithm: SignatureAlgorithm,
    public_key: ObjectHandle,
) -> Result<MadeKey, DeviceError> {
    use crate::crypto::der_build::{bits, null, oid, seq, unsigned};
    use crate::crypto::gost::{keys, GostCurve};
    let wanted: &[AttributeType] = match algorithm {
        SignatureAlgorithm::RsaSha256 => &[AttributeType::Modulus, AttributeType::PublicExponent],
        _ => &[AttributeType::Value],
    };
    let attributes = session
        .get_attributes(public_key, wanted)
        .map_err(|e| errors::map(e, Context::Generating))?;
    let (mut n, mut e, mut value) = (Vec::new(), Vec::new(), Vec::new());
    for attribute in attributes {
        match attribute {
            Attribute::Modulus(bytes) => n = bytes,
            Attribute::PublicExponent(bytes) => e = bytes,
            Attribute::Value(bytes) => value = bytes,
            _ => {}
        }
    }
    if algorithm == SignatureAlgorithm::RsaSha256 {
        let rsa_public_key = seq(&[unsigned(&n), unsigned(&e)]);
        let spki = seq(&[seq(&[oid("1.2.840.113549.1.1.1"), null()]), bits(&rsa_public_key)]);
        use sha1::Digest as _;
        return Ok(MadeKey { id: sha1::Sha1::digest(&rsa_public_key).to_vec(), spki });
    }
    let xy = gost_mech::public_value(&value)?;
    let spki = keys::subject_public_key_info(GostCurve::Tc26_512A, &xy)
        .map_err(|e| DeviceError::Failed(e.to_string()))?;
    Ok(MadeKey { id: keys::key_identifier(&xy), spki })
}

/// Destroys the key pair `id` made by [`generate`] (its private and public halves, not a
/// certificate), when what was to follow it failed.
pub(crate) fn destroy(
    module: &Module,
    serial: &str,
    pin: &SecretString,
    id: &[u8],
) -> Result<(), DeviceError> {
    let slot = slot_of(module, serial)?;
    let session =
        module.ctx.open_rw_session(slot).map_err(|e| errors::map(e, Context::Generating))?;
    login(module, slot, &session, pin)?;
    let destroyed = (|| {
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            let template = [Attribute::Class(class), Attribute::Id(id.to_vec())];
            let found =
                session.find_objects(&template).map_err(|e| errors::map(e, Context::Generating))?;
            for object in found {
                session.destroy_object(object).map_err(|e| errors::map(e, Context::Generating))?;
            }
        }
        Ok(())
    })();
    let _ = session.logout();
    destroyed
}

/// Writes `certificate` (DER, with its DER `subject`) onto the token under `id`, next to the
/// private key of that id; refused when no such key is there or a certificate already is.
pub(crate) fn store_certificate(
    module: &Module,
    serial: &str,
    pin: &SecretString,
    id: &[u8],
    certificate: &[u8],
    subject: &[u8],
) -> Result<(), DeviceError> {
    let slot = slot_of(module, serial)?;
    let session = module.ctx.open_rw_session(slot).map_err(|e| errors::map(e, Context::Signing))?;
    login(module, slot, &session, pin)?;
    let stored = private_key(&session, id).and_then(|_| {
        if certificates(&session)?.iter().any(|c| c.id == id) {
            return Ok(());
        }
        let template = [
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::CertificateType(CertificateType::X_509),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Id(id.to_vec()),
            Attribute::Label(crate::crypto::hex(id).into_bytes()),
            Attribute::Subject(subject.to_vec()),
            Attribute::Value(certificate.to_vec()),
        ];
        let created = session.create_object(&template).map(|_| ());
        created.map_err(|e| errors::map(e, Context::Generating))
    });
    let _ = session.logout();
    stored
}
