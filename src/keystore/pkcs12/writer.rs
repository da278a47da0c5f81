//! Writes a PKCS#12 file (RFC 7292) the way OpenSSL 3 does by default: the key in a
//! pkcs8ShroudedKeyBag under PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC, RFC 8018 §6.2), the
//! certificate in a plain certBag, `friendlyName` and `localKeyID` on both, and an
//! HMAC-SHA256 MAC (RFC 7292 B.2 key). Used for the demo's self-made test key.

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockEncryptMut, InnerIvInit, KeyIvInit};
use hmac::Mac as _;
use rand_core::RngCore as _;

use super::kdf::ID_MAC;
use super::kdf::{bmp_password, pbkdf2, pkcs12_kdf, Hash};
use crate::crypto::der_build::{
    explicit, implicit_primitive, integer, null, octets, oid, seq, set, tlv,
};

const ITERATIONS: u32 = 10_000;
const ID_DATA: &str = "1.2.840.113549.1.7.1";

/// The DER of a PKCS#12 file holding `pkcs8` (a PrivateKeyInfo) and its certificate.
pub fn write(
    pkcs8: &[u8],
    certificate: &[u8],
    alias: &str,
    key_id: &[u8],
    password: &str,
) -> Vec<u8> {
    let attributes = attributes(alias, key_id);
    let key_bag = bag("1.2.840.113549.1.12.10.1.2", &shrouded_key(pkcs8, password), &attributes);
    let cert_bag_value = seq(&[oid("1.2.840.113549.1.9.22.1"), explicit(0, &octets(certificate))]);
    let cert_bag = bag("1.2.840.113549.1.12.10.1.3", &cert_bag_value, &attributes);
    let safe = |bags: &[u8]| seq(&[oid(ID_DATA), explicit(0, &octets(&seq(&[bags.to_vec()])))]);
    let auth_safe = seq(&[safe(&key_bag), safe(&cert_bag)]);
    let mac = mac_data(&auth_safe, password);
    seq(&[integer(3), seq(&[oid(ID_DATA), explicit(0, &octets(&auth_safe))]), mac])
}

/// An EncryptedPrivateKeyInfo (RFC 5958) of `pkcs8` under PBES2 (PBKDF2-HMAC-SHA256,
/// AES-256-CBC), as OpenSSL 3 writes one: how a key waiting for its certificate is kept.
pub fn shrouded_key(pkcs8: &[u8], password: &str) -> Vec<u8> {
    let (salt, iv) = (random::<16>(), random::<16>());
    let key = pbkdf2(Hash::Sha256, password.as_bytes(), &salt, ITERATIONS, 32);
    let cipher = cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, &iv);
    let encrypted = cipher.map(|c| c.encrypt_padded_vec_mut::<Pkcs7>(pkcs8)).unwrap_or_default();
    let prf = seq(&[oid("1.2.840.113549.2.9"), null()]);
    let kdf_params = seq(&[octets(&salt), integer(ITERATIONS), prf]);
    let kdf = seq(&[oid("1.2.840.113549.1.5.12"), kdf_params]);
    let scheme = seq(&[oid("2.16.840.1.101.3.4.1.42"), octets(&iv)]);
    let algorithm = seq(&[oid("1.2.840.113549.1.5.13"), seq(&[kdf, scheme])]);
    seq(&[algorithm, octets(&encrypted)])
}

fn mac_data(auth_safe: &[u8], password: &str) -> Vec<u8> {
    let salt = random::<16>();
    let key = pkcs12_kdf(Hash::Sha256, &bmp_password(password), &salt, 3, ITERATIONS, 32);
    let mut hmac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("HMAC accepts keys of any length");
    hmac.update(auth_safe);
    let digest = hmac.finalize().into_bytes();
    let digest_info = seq(&[seq(&[oid("2.16.840.1.101.3.4.2.1"), null()]), octets(&digest)]);
    seq(&[digest_info, octets(&salt), integer(ITERATIONS)])
}

fn attributes(alias: &str, key_id: &[u8]) -> Vec<u8> {
    let bmp: Vec<u8> = alias.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let friendly = seq(&[oid("1.2.840.113549.1.9.20"), set(&[tlv(0x1e, &bmp)])]);
    let local_key_id = seq(&[oid("1.2.840.113549.1.9.21"), set(&[octets(key_id)])]);
    set(&[friendly, local_key_id])
}

fn bag(bag_id: &str, value: &[u8], attributes: &[u8]) -> Vec<u8> {
    seq(&[oid(bag_id), explicit(0, value), attributes.to_vec()])
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand_core::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Iterations of every PBE and of the MAC in the NCA's files.
const NCA_ITERATIONS: u32 = 1024;

/// The DER of a PKCS#12 file in the layout of the NCA's own `GOST512_<ski>.p12` files
/// (`kz-issuance.md` §4), which the official NCALayer and Kalkan open: the key in a
/// pkcs8ShroudedKeyBag under pbeWithSHAAnd3-KeyTripleDES-CBC, the certificate alone in an
/// EncryptedData under pbeWithSHAAnd40BitRC2-CBC, 1024 iterations and 20-byte salts
/// throughout, an HMAC-SHA1 MAC, and on both bags `localKeyID` = `key_id` (the SKI) and
/// `friendlyName` = its lowercase hex.
pub fn write_nca(pkcs8: &[u8], certificate: &[u8], key_id: &[u8], password: &str) -> Vec<u8> {
    let attributes = attributes(&crate::crypto::hex(key_id), key_id);
    let bmp = bmp_password(password);
    let (key_alg, encrypted_key) = pkcs12_pbe(&bmp, Pbe::TripleDes, pkcs8);
    let key_bag =
        bag("1.2.840.113549.1.12.10.1.2", &seq(&[key_alg, octets(&encrypted_key)]), &attributes);
    let key_safe = seq(&[oid(ID_DATA), explicit(0, &octets(&seq(&[key_bag])))]);

    let cert_bag_value = seq(&[oid("1.2.840.113549.1.9.22.1"), explicit(0, &octets(certificate))]);
    let cert_bag = bag("1.2.840.113549.1.12.10.1.3", &cert_bag_value, &attributes);
    let (cert_alg, encrypted_certs) = pkcs12_pbe(&bmp, Pbe::Rc2_40, &seq(&[cert_bag]));
    let content = seq(&[oid(ID_DATA), cert_alg, implicit_primitive(0, &encrypted_certs)]);
    let cert_safe = seq(&[oid("1.2.840.113549.1.7.6"), explicit(0, &seq(&[integer(0), content]))]);

    let auth_safe = seq(&[key_safe, cert_safe]);
    let salt = random::<20>();
    let mac_key = pkcs12_kdf(Hash::Sha1, &bmp, &salt, ID_MAC, NCA_ITERATIONS, 20);
    let mut hmac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&mac_key)
        .expect("HMAC accepts keys of any length");
    hmac.update(&auth_safe);
    let digest = hmac.finalize().into_bytes();
    let digest_info = seq(&[seq(&[oid("1.3.14.3.2.26"), null()]), octets(&digest)]);
    let mac = seq(&[digest_info, octets(&salt), integer(NCA_ITERATIONS)]);
    seq(&[integer(3), seq(&[oid(ID_DATA), explicit(0, &octets(&auth_safe))]), mac])
}

/// The PKCS#12 password-based ciphers of the NCA's files (RFC 7292 Appendix C).
#[derive(Clone, Copy)]
enum Pbe {
    TripleDes,
    Rc2_40,
}

/// `plain` encrypted under `pbe` with a fresh 20-byte salt: its AlgorithmIdentifier and the
/// ciphertext.
fn pkcs12_pbe(bmp: &[u8], pbe: Pbe, plain: &[u8]) -> (Vec<u8>, Vec<u8>) {
    use super::kdf::{ID_IV, ID_KEY};
    let salt = random::<20>();
    let (oid_text, key_len) = match pbe {
        Pbe::TripleDes => ("1.2.840.113549.1.12.1.3", 24),
        Pbe::Rc2_40 => ("1.2.840.113549.1.12.1.6", 5),
    };
    let key = pkcs12_kdf(Hash::Sha1, bmp, &salt, ID_KEY, NCA_ITERATIONS, key_len);
    let iv = pkcs12_kdf(Hash::Sha1, bmp, &salt, ID_IV, NCA_ITERATIONS, 8);
    let encrypted = match pbe {
        Pbe::TripleDes => cbc::Encryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .map(|c| c.encrypt_padded_vec_mut::<Pkcs7>(plain)),
        Pbe::Rc2_40 => {
            let cipher = rc2::Rc2::new_with_eff_key_len(&key, 40);
            cbc::Encryptor::<rc2::Rc2>::inner_iv_slice_init(cipher, &iv)
                .map(|c| c.encrypt_padded_vec_mut::<Pkcs7>(plain))
        }
    };
    let algorithm = seq(&[oid(oid_text), seq(&[octets(&salt), integer(NCA_ITERATIONS)])]);
    (algorithm, encrypted.unwrap_or_default())
}
