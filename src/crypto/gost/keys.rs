//! GOST keys in the NCA's encodings (`kz-pki.md` §1.1, §2.2):
//!
//! * SubjectPublicKeyInfo: algorithm 1.2.398.3.10.1.1.2.2 (2015-512), …2.1 (2015-256) or
//!   1.2.398.3.10.1.1.1.1 (2004) with parameters `SEQUENCE { curve OID, hash OID }`; the BIT
//!   STRING holds an OCTET STRING of `x‖y`, each little-endian (the RFC 4491 §2.3.2 layout).
//! * PKCS#8 (RFC 5958) `privateKey`: for 2015 an inner OCTET STRING with `d` little-endian,
//!   for 2004 an inner DER INTEGER (big-endian). Both forms are accepted for every curve.

use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, OctetString};
use der::{Decode, Tag, Tagged};
use zeroize::Zeroizing;

use super::GostCurve;
use crate::crypto::{Certificate, CryptoError};

/// Public-key OID of ST RK GOST 34.10-2015, 512 bits.
pub const KEY_2015_512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.398.3.10.1.1.2.2");
/// Public-key OID of ST RK GOST 34.10-2015, 256 bits.
pub const KEY_2015_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.398.3.10.1.1.2.1");
/// Public-key OID of GOST 34.310-2004.
pub const KEY_2004: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.398.3.10.1.1.1.1");

/// A GOST public key: its curve and the point `x‖y`, each coordinate little-endian.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GostPublicKey {
    /// The curve named by the key parameters.
    pub curve: GostCurve,
    /// `x‖y`, each `curve.coordinate_len()` bytes, little-endian.
    pub xy: Vec<u8>,
}

impl GostPublicKey {
    /// The GOST key of a certificate.
    pub fn from_certificate(certificate: &Certificate) -> Result<Self, CryptoError> {
        Self::from_spki(&certificate.inner().tbs_certificate.subject_public_key_info)
    }

    /// The GOST key of a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, CryptoError> {
        let spki = spki::SubjectPublicKeyInfoOwned::from_der(der)
            .map_err(|e| CryptoError::InvalidCertificate(format!("public key: {e}")))?;
        Self::from_spki(&spki)
    }

    /// The GOST key of a SubjectPublicKeyInfo.
    pub fn from_spki(spki: &spki::SubjectPublicKeyInfoOwned) -> Result<Self, CryptoError> {
        let bad = |what: &str| CryptoError::InvalidCertificate(format!("GOST public key: {what}"));
        let curve = curve_of(&spki.algorithm.oid, spki.algorithm.parameters.as_ref())?;
        let bits = spki.subject_public_key.as_bytes().ok_or_else(|| bad("unaligned BIT STRING"))?;
        let octets = OctetString::from_der(bits).map_err(|e| bad(&e.to_string()))?;
        let xy = octets.into_bytes();
        if xy.len() != 2 * curve.coordinate_len() {
            return Err(bad("wrong length"));
        }
        Ok(Self { curve, xy })
    }
}

/// The curve of a GOST key from its algorithm OID and parameters: the first OID of the
/// parameter SEQUENCE, or the family's only curve when parameters are absent.
pub(crate) fn curve_of(
    key_oid: &ObjectIdentifier,
    parameters: Option<&der::Any>,
) -> Result<GostCurve, CryptoError> {
    let family_default = match *key_oid {
        KEY_2015_512 => GostCurve::Tc26_512A,
        KEY_2015_256 => GostCurve::Tc26_256A,
        KEY_2004 => GostCurve::CryptoProA,
        _ => return Err(CryptoError::UnsupportedAlgorithm(format!("key {key_oid}"))),
    };
    let Some(parameters) = parameters.filter(|p| p.tag() == Tag::Sequence) else {
        return Ok(family_default);
    };
    let first = der::SliceReader::new(parameters.value())
        .and_then(|mut reader| der::Reader::decode::<ObjectIdentifier>(&mut reader))
        .map_err(|e| CryptoError::InvalidCertificate(format!("GOST key parameters: {e}")))?;
    let curve = GostCurve::from_oid(&first)
        .ok_or_else(|| CryptoError::UnsupportedAlgorithm(format!("curve {first}")))?;
    match curve.coordinate_len() == family_default.coordinate_len() {
        true => Ok(curve),
        false => Err(CryptoError::InvalidCertificate(format!("curve {first} for key {key_oid}"))),
    }
}

/// The private scalar `d`, little-endian and `width` bytes long, from a PKCS#8 DER
/// `PrivateKeyInfo`; also returns the curve its parameters name.
pub(crate) fn private_key_from_pkcs8(
    pkcs8_der: &[u8],
) -> Result<(GostCurve, Zeroizing<Vec<u8>>), CryptoError> {
    let invalid = |what: String| CryptoError::InvalidKey(what);
    let info = pkcs8::PrivateKeyInfo::from_der(pkcs8_der).map_err(|e| invalid(e.to_string()))?;
    let parameters = info.algorithm.parameters.map(der::Any::from);
    let curve = curve_of(&info.algorithm.oid, parameters.as_ref())?;
    let d = scalar_bytes(info.private_key, curve.coordinate_len())?;
    Ok((curve, d))
}

/// `d` little-endian from the inside of `privateKey`: OCTET STRING (little-endian) or
/// INTEGER (big-endian).
fn scalar_bytes(private_key: &[u8], width: usize) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let invalid = |what: &str| CryptoError::InvalidKey(format!("GOST private key: {what}"));
    let inner = AnyRef::from_der(private_key).map_err(|e| invalid(&e.to_string()))?;
    let mut le = Zeroizing::new(match inner.tag() {
        Tag::OctetString => inner.value().to_vec(),
        Tag::Integer => {
            let mut be = inner.value().to_vec();
            be.reverse();
            be
        }
        other => return Err(invalid(&format!("unexpected {other}"))),
    });
    // Drop high-order zero bytes (a DER INTEGER may carry a leading 0x00), then pad.
    while le.len() > width && le.last() == Some(&0) {
        le.pop();
    }
    if le.len() > width {
        return Err(invalid("too long"));
    }
    le.resize(width, 0);
    Ok(le)
}

/// The hash OID the NCA pairs with a key of `curve` in key parameters (Streebog-512 for the
/// 512-bit curve, `kz-issuance.md` §3); only the curve the NCA issues new keys on has one here.
fn parameter_hash(curve: GostCurve) -> Result<&'static str, CryptoError> {
    match curve {
        GostCurve::Tc26_512A => Ok("1.2.398.3.10.1.3.3"),
        other => Err(CryptoError::UnsupportedAlgorithm(format!("new keys on {other:?}"))),
    }
}

/// The key algorithm identifier of the NCA's keys on `curve`: `SEQUENCE { key OID, SEQUENCE {
/// curve OID, hash OID } }`.
fn key_algorithm(curve: GostCurve) -> Result<Vec<u8>, CryptoError> {
    use crate::crypto::der_build::{oid, seq};
    let hash = parameter_hash(curve)?;
    let key_oid = KEY_2015_512.to_string();
    Ok(seq(&[oid(&key_oid), seq(&[oid(&curve.oid().to_string()), oid(hash)])]))
}

/// The DER SubjectPublicKeyInfo of the public key `xy` (x‖y little-endian), as in NCA
/// certificates: the BIT STRING wraps an OCTET STRING of `xy`.
pub fn subject_public_key_info(curve: GostCurve, xy: &[u8]) -> Result<Vec<u8>, CryptoError> {
    use crate::crypto::der_build::{bits, octets, seq};
    Ok(seq(&[key_algorithm(curve)?, bits(&octets(xy))]))
}

/// The SubjectKeyIdentifier the NCA gives the key `xy`: SHA-1 over the BIT STRING's value
/// (the OCTET STRING of `xy`), `kz-issuance.md` §4.
pub fn key_identifier(xy: &[u8]) -> Vec<u8> {
    use sha1::Digest as _;
    sha1::Sha1::digest(crate::crypto::der_build::octets(xy)).to_vec()
}

/// The PKCS#8 PrivateKeyInfo of `d` (little-endian) as the NCA's files hold it: version 0, the
/// key algorithm with its parameters, and `privateKey` an OCTET STRING of `d`.
pub fn private_key_info(curve: GostCurve, d: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    use crate::crypto::der_build::{integer, octets, seq};
    let inner = Zeroizing::new(octets(d));
    let wrapped = Zeroizing::new(octets(&inner));
    Ok(Zeroizing::new(seq(&[integer(0), key_algorithm(curve)?, wrapped.to_vec()])))
}
