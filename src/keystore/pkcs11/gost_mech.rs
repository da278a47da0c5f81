//! GOST signatures on a token: the mechanism for each algorithm and the conversion of the
//! token's signature layout to the KZ `r‖s` little-endian form (`kz-pki.md` §2.2).
//!
//! Mechanisms (PKCS#11 v2.40 Current Mechanisms §2.49 for GOST R 34.10-2001; TC26 vendor
//! extension for 2012, constants as in Aladdin R.D.'s `jcPKCS11` headers and Rutoken's SDK,
//! `NSSCK_VENDOR_PKCS11_RU_TEAM = 0xD4321000`):
//!
//! | algorithm | mechanism | input |
//! |---|---|---|
//! | ST RK GOST 34.10-2015 512 | `CKM_GOSTR3410_512` = `0xD4321006` (vendor-defined) | 64-byte digest |
//! | ST RK GOST 34.10-2015 256 | `CKM_GOSTR3410` = `0x1201` (TC26: `CKM_GOSTR3410_256`) | 32-byte digest |
//! | GOST 34.310-2004 | `CKM_GOSTR3410` = `0x1201` | 32-byte digest |
//!
//! Output: PKCS#11 §2.49 defines the signature as `s‖r'` (the spec's name for r), each half
//! big-endian, 64 or 128 bytes. The KZ form is `r‖s`, each little-endian; the one is the other
//! with all bytes reversed: reversing `s_be‖r_be` gives `r_le‖s_le`.
//! The digest is given as the octets our hash produces (the octets `CKM_GOSTR3411*` return);
//! the token reads them as the standard says. Not yet checked on a real GOST token
//! (`docs/tokens.md`).
//!
//! Key generation (`docs/issuance.md`): `CKM_GOSTR3410_512_KEY_PAIR_GEN` = `0xD4321005` makes a
//! `CKK_GOSTR3410_512` = `0xD4321003` pair on the curve named by `CKA_GOSTR3410_PARAMS`
//! (0x250, the DER OID). Tokens of the TC26 family know the curve as
//! id-tc26-gost-3410-12-512-paramSetA; a Kazakh token may know it by the KZ OID, so
//! [`PARAMSETS`] tries both in that order, each with its name of Streebog-512
//! (`CKA_GOSTR3411_PARAMS`, 0x251). The public key's `CKA_VALUE` is x‖y little-endian
//! (PKCS#11 v2.40 Current Mechanisms §2.50), which some tokens wrap in a DER OCTET STRING.

use cryptoki_sys::CK_MECHANISM_TYPE;

use crate::crypto::{DeviceError, SignatureAlgorithm};

/// `CKM_GOSTR3410` (PKCS#11 v2.40): GOST R 34.10 on a 32-byte digest.
pub const CKM_GOSTR3410: CK_MECHANISM_TYPE = 0x0000_1201;
/// TC26 `CKM_GOSTR3410_512`: GOST R 34.10-2012 512-bit on a 64-byte digest.
pub const CKM_GOSTR3410_512: CK_MECHANISM_TYPE = 0xD432_1006;

/// TC26 `CKM_GOSTR3410_512_KEY_PAIR_GEN`: makes a GOST R 34.10-2012 512-bit key pair.
pub const CKM_GOSTR3410_512_KEY_PAIR_GEN: CK_MECHANISM_TYPE = 0xD432_1005;
/// TC26 `CKK_GOSTR3410_512`.
pub const CKK_GOSTR3410_512: cryptoki_sys::CK_KEY_TYPE = 0xD432_1003;
/// `CKA_GOSTR3410_PARAMS`: the DER OID of the key's curve.
pub const CKA_GOSTR3410_PARAMS: cryptoki_sys::CK_ATTRIBUTE_TYPE = 0x250;
/// `CKA_GOSTR3411_PARAMS`: the DER OID of the key's hash.
pub const CKA_GOSTR3411_PARAMS: cryptoki_sys::CK_ATTRIBUTE_TYPE = 0x251;
/// The names of the TC26 512 A curve (the NCA's keys, `kz-pki.md` §3) and of Streebog-512
/// beside it that a token is asked for, in order: TC26's (id-tc26-gost-3410-12-512-paramSetA,
/// id-tc26-gost3411-12-512), then the KZ OIDs.
pub const PARAMSETS: [(&str, &str); 2] = [
    ("1.2.643.7.1.2.1.2.1", "1.2.643.7.1.1.2.3"),
    ("1.2.398.3.10.1.1.2.2.1", "1.2.398.3.10.1.3.3"),
];

/// The x‖y (little-endian, 128 bytes) of a GOST-512 public key's `CKA_VALUE`, bare or in a DER
/// OCTET STRING.
pub fn public_value(value: &[u8]) -> Result<Vec<u8>, DeviceError> {
    match value {
        [0x04, 0x81, 0x80, xy @ ..] if xy.len() == 128 => Ok(xy.to_vec()),
        xy if xy.len() == 128 => Ok(xy.to_vec()),
        _ => Err(DeviceError::Failed(format!(
            "the token gave a {}-byte GOST-512 public key, 128 expected",
            value.len()
        ))),
    }
}

/// Signs with a mechanism number on the key already chosen; the boundary the tests replace.
pub trait GostMechanisms {
    /// Signs `data` with `mechanism` and returns the token's output as it is.
    fn sign(&self, mechanism: CK_MECHANISM_TYPE, data: &[u8]) -> Result<Vec<u8>, DeviceError>;
}

/// The mechanism and the signature length (bytes) for a GOST algorithm.
pub fn mechanism_for(algorithm: SignatureAlgorithm) -> Option<(CK_MECHANISM_TYPE, usize)> {
    match algorithm {
        SignatureAlgorithm::Gost2015_512 => Some((CKM_GOSTR3410_512, 128)),
        SignatureAlgorithm::Gost2015_256 | SignatureAlgorithm::Gost2004 => {
            Some((CKM_GOSTR3410, 64))
        }
        _ => None,
    }
}

/// Signs `digest` on the token and returns the KZ `r‖s` little-endian signature.
pub fn sign(
    token: &dyn GostMechanisms,
    algorithm: SignatureAlgorithm,
    digest: &[u8],
) -> Result<Vec<u8>, DeviceError> {
    let (mechanism, length) = mechanism_for(algorithm)
        .ok_or_else(|| DeviceError::MechanismUnsupported(format!("{algorithm:?}")))?;
    if digest.len() != algorithm.hash().output_len() {
        return Err(DeviceError::Failed(format!(
            "a {}-byte digest for {algorithm:?}",
            digest.len()
        )));
    }
    let signature = token.sign(mechanism, digest)?;
    if signature.len() != length {
        return Err(DeviceError::Failed(format!(
            "the token returned a {}-byte GOST signature, {length} expected",
            signature.len()
        )));
    }
    Ok(pkcs11_to_kz(&signature))
}

/// `s‖r` big-endian (PKCS#11) to `r‖s` little-endian (KZ), and back: a full byte reversal.
pub fn pkcs11_to_kz(signature: &[u8]) -> Vec<u8> {
    signature.iter().rev().copied().collect()
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::path::Path;

    use secrecy::SecretString;

    use super::*;
    use crate::crypto::verify::verify_digest;
    use crate::crypto::Signer;
    use crate::keystore::{KeyStore, Pkcs12Store};

    const NCA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/nca");

    /// A token double: signs in software with a fixture key and answers in the PKCS#11 layout
    /// (`s‖r` big-endian), recording the mechanism asked for.
    struct TokenDouble {
        key: Box<dyn Signer>,
        asked: RefCell<Vec<CK_MECHANISM_TYPE>>,
    }

    impl GostMechanisms for TokenDouble {
        fn sign(&self, mechanism: CK_MECHANISM_TYPE, data: &[u8]) -> Result<Vec<u8>, DeviceError> {
            self.asked.borrow_mut().push(mechanism);
            let kz = self.key.sign_digest(data).map_err(|e| DeviceError::Failed(e.to_string()))?;
            let half = kz.len() / 2;
            let (r, s) = kz.split_at(half);
            let be = |le: &[u8]| le.iter().rev().copied().collect::<Vec<u8>>();
            Ok([be(s), be(r)].concat())
        }
    }

    fn signer(relative: &str, password: &str) -> Box<dyn Signer> {
        let bytes = std::fs::read(Path::new(NCA).join(relative)).expect("fixture");
        let store =
            Pkcs12Store::open(&bytes, &SecretString::from(password.to_owned())).expect("opens");
        let alias = store.keys().first().expect("a key").alias.clone();
        store.signer(&alias).expect("signer")
    }

    #[test]
    fn token_layout_becomes_kz_layout_and_verifies() {
        let keys = [
            ("gost2015-2026/individual/valid/individual_valid.p12", "Qwerty12"),
            ("legacy-2020/organization/active/GOSTKNCA_13a3741b52d7bf860aab199b56fad1f4652e357b.p12", "Qwerty12"),
        ];
        for (path, password) in keys {
            let key = signer(path, password);
            let algorithm = key.algorithm();
            let certificate = key.certificate().clone();
            let token = TokenDouble { key, asked: RefCell::new(Vec::new()) };
            let digest = algorithm.hash().digest(b"signed on a token");
            let signature = sign(&token, algorithm, &digest).expect("signs");
            verify_digest(&certificate, algorithm, &digest, &signature)
                .expect("KZ layout verifies");
            let expected = mechanism_for(algorithm).expect("GOST").0;
            assert_eq!(token.asked.borrow().as_slice(), &[expected], "{path}");
            let raw = token.sign(expected, &digest).expect("raw");
            assert!(
                verify_digest(&certificate, algorithm, &digest, &raw).is_err(),
                "raw layout differs"
            );
        }
    }

    #[test]
    fn mechanisms_and_lengths() {
        assert_eq!(mechanism_for(SignatureAlgorithm::Gost2015_512), Some((0xD432_1006, 128)));
        assert_eq!(mechanism_for(SignatureAlgorithm::Gost2015_256), Some((0x1201, 64)));
        assert_eq!(mechanism_for(SignatureAlgorithm::Gost2004), Some((0x1201, 64)));
        assert_eq!(mechanism_for(SignatureAlgorithm::RsaSha256), None);
        assert_eq!(pkcs11_to_kz(&[1, 2, 3, 4]), vec![4, 3, 2, 1]);
    }

    #[test]
    fn public_values_bare_or_wrapped() {
        let xy: Vec<u8> = (0..128u8).collect();
        assert_eq!(public_value(&xy).expect("bare"), xy);
        assert_eq!(public_value(&[&[0x04, 0x81, 0x80][..], &xy].concat()).expect("wrapped"), xy);
        assert!(public_value(&xy[..64]).is_err());
        assert!(public_value(&[&[0x04, 0x81, 0x81][..], &xy, &[0]].concat()).is_err());
    }
}
