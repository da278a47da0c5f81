//! Writes a PKCS#12 file (RFC 7292) the way OpenSSL 3 does by default: the key in a
//! pkcs8ShroudedKeyBag under PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC, RFC 8018 §6.2), the
//! certificate in a plain certBag, `friendlyName` and `localKeyID` on both, and an
//! HMAC-SHA256 MAC (RFC 7292 B.2 key). Used for the demo's self-made test key.

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockEncryptMut, KeyIvInit};
use hmac::Mac as _;
use rand_core::RngCore as _;

use super::kdf::{bmp_password, pbkdf2, pkcs12_kdf, Hash};

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
    let cert_bag_value = seq(&[oid("1.2.840.113549.1.9.22.1"), explicit0(&octets(certificate))]);
    let cert_bag = bag("1.2.840.113549.1.12.10.1.3", &cert_bag_value, &attributes);
    let safe = |bags: &[u8]| seq(&[oid(ID_DATA), explicit0(&octets(&seq(&[bags.to_vec()])))]);
    let auth_safe = seq(&[safe(&key_bag), safe(&cert_bag)]);
    let mac = mac_data(&auth_safe, password);
    seq(&[integer(3), seq(&[oid(ID_DATA), explicit0(&octets(&auth_safe))]), mac])
}

fn shrouded_key(pkcs8: &[u8], password: &str) -> Vec<u8> {
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
    seq(&[oid(bag_id), explicit0(value), attributes.to_vec()])
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand_core::OsRng.fill_bytes(&mut bytes);
    bytes
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

fn seq(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &items.concat())
}

/// A DER SET OF: elements sorted by their encodings (X.690 §11.6).
fn set(items: &[Vec<u8>]) -> Vec<u8> {
    let mut sorted = items.to_vec();
    sorted.sort();
    tlv(0x31, &sorted.concat())
}

fn explicit0(content: &[u8]) -> Vec<u8> {
    tlv(0xa0, content)
}

fn octets(content: &[u8]) -> Vec<u8> {
    tlv(0x04, content)
}

fn null() -> Vec<u8> {
    vec![0x05, 0x00]
}

fn integer(value: u32) -> Vec<u8> {
    let mut bytes: Vec<u8> = value.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
    if bytes.first().is_none_or(|b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    tlv(0x02, &bytes)
}

fn oid(dotted: &str) -> Vec<u8> {
    let parsed = const_oid::ObjectIdentifier::new(dotted);
    tlv(0x06, parsed.as_ref().map(|o| o.as_bytes()).unwrap_or_default())
}
