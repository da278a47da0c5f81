//! Password-based protection of a PKCS#12 file: the MAC (RFC 7292 §4, Appendix B) and the
//! decryption of shrouded bags — PKCS#12 PBE with 3DES / RC2 (RFC 7292 Appendix C) and PBES2
//! with PBKDF2 and AES or 3DES (RFC 8018 §6.2). Nothing here knows bags or certificates.

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockCipher, BlockDecryptMut, InnerIvInit, KeyInit};
use zeroize::Zeroizing;

use super::kdf::{self, Hash};
use crate::keystore::ber::{tag, Tlv};
use crate::keystore::KeyStoreError;

/// Iteration counts above this are refused (a damaged file must not stall the daemon).
const MAX_ITERATIONS: u64 = 2_000_000;

/// The password in the two forms the schemes need, and whether the MAC already proved it.
pub struct Unlock<'p> {
    utf8: &'p str,
    bmp: Zeroizing<Vec<u8>>,
    mac_checked: bool,
}

impl<'p> Unlock<'p> {
    /// Prepares `password` for the KDFs.
    pub fn new(password: &'p str) -> Self {
        Self { utf8: password, bmp: kdf::bmp_password(password), mac_checked: false }
    }

    /// Checks the PFX `macData` (RFC 7292 §4) over the authSafe content octets.
    pub fn verify_mac(
        &mut self,
        mac_data: &Tlv<'_>,
        auth_safe: &[u8],
    ) -> Result<(), KeyStoreError> {
        let fields = mac_data.sequence()?;
        let [digest_info, salt, rest @ ..] = fields.as_slice() else {
            return Err(corrupt("macData is incomplete"));
        };
        let iterations = match rest.first() {
            Some(count) => iteration_count(count)?,
            None => 1,
        };
        let [algorithm, digest] =
            digest_info.sequence()?.try_into().map_err(|_| corrupt("DigestInfo"))?;
        let oid = first_oid(&algorithm)?;
        let hash = Hash::from_digest_oid(&oid)
            .ok_or_else(|| KeyStoreError::Unsupported(format!("MAC algorithm {oid}")))?;
        let key = kdf::pkcs12_kdf(
            hash,
            &self.bmp,
            &salt.octets()?,
            kdf::ID_MAC,
            iterations,
            hash.output_len(),
        );
        if !kdf::hmac_matches(hash, &key, auth_safe, &digest.octets()?) {
            return Err(KeyStoreError::WrongPassword);
        }
        self.mac_checked = true;
        Ok(())
    }

    /// Decrypts `data` encrypted under the AlgorithmIdentifier `algorithm`.
    pub fn decrypt(
        &self,
        algorithm: &Tlv<'_>,
        data: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
        let fields = algorithm.sequence()?;
        let (oid, params) = match fields.as_slice() {
            [oid, params, ..] => (oid.oid()?.to_string(), params),
            _ => return Err(corrupt("encryption algorithm without parameters")),
        };
        let plain = match oid.as_str() {
            "1.2.840.113549.1.5.13" => self.pbes2(params, data),
            _ => self.pkcs12_pbe(&oid, params, data),
        };
        plain.map_err(|e| self.padding_error(e))
    }

    /// A padding failure means a wrong password unless the MAC has already proved it right.
    fn padding_error(&self, err: KeyStoreError) -> KeyStoreError {
        match (err, self.mac_checked) {
            (KeyStoreError::WrongPassword, true) => {
                corrupt("decryption failed although the MAC matched")
            }
            (err, _) => err,
        }
    }

    /// RFC 7292 Appendix C: pbeWithSHAAnd* with the B.2 KDF over SHA-1.
    fn pkcs12_pbe(
        &self,
        oid: &str,
        params: &Tlv<'_>,
        data: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
        let [salt, count] = params.sequence()?.try_into().map_err(|_| corrupt("PBE parameters"))?;
        let salt = salt.octets()?;
        let iterations = iteration_count(&count)?;
        let derive = |id, len| kdf::pkcs12_kdf(Hash::Sha1, &self.bmp, &salt, id, iterations, len);
        let (key_len, rc2_bits) = match oid {
            "1.2.840.113549.1.12.1.3" => (24, None),
            "1.2.840.113549.1.12.1.4" => (16, None),
            "1.2.840.113549.1.12.1.5" => (16, Some(128)),
            "1.2.840.113549.1.12.1.6" => (5, Some(40)),
            _ => return Err(KeyStoreError::Unsupported(format!("encryption algorithm {oid}"))),
        };
        let key = derive(kdf::ID_KEY, key_len);
        let iv = derive(kdf::ID_IV, 8);
        match (key_len, rc2_bits) {
            (_, Some(bits)) => cbc_decrypt(rc2::Rc2::new_with_eff_key_len(&key, bits), &iv, data),
            (24, None) => cbc_decrypt(new_cipher::<des::TdesEde3>(&key)?, &iv, data),
            _ => cbc_decrypt(new_cipher::<des::TdesEde2>(&key)?, &iv, data),
        }
    }

    /// RFC 8018 §6.2 PBES2 with PBKDF2; the password goes in as UTF-8, as OpenSSL does.
    fn pbes2(&self, params: &Tlv<'_>, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
        let [kdf_alg, scheme] =
            params.sequence()?.try_into().map_err(|_| corrupt("PBES2 parameters"))?;
        let (cipher, iv) = encryption_scheme(&scheme)?;
        let kdf = Pbkdf2Params::parse(&kdf_alg)?;
        if kdf.key_len.is_some_and(|len| len != cipher.key_len()) {
            return Err(corrupt("PBKDF2 key length does not fit the cipher"));
        }
        let key =
            kdf::pbkdf2(kdf.prf, self.utf8.as_bytes(), &kdf.salt, kdf.iterations, cipher.key_len());
        match cipher {
            Pbes2Cipher::Aes128 => cbc_decrypt(new_cipher::<aes::Aes128>(&key)?, &iv, data),
            Pbes2Cipher::Aes192 => cbc_decrypt(new_cipher::<aes::Aes192>(&key)?, &iv, data),
            Pbes2Cipher::Aes256 => cbc_decrypt(new_cipher::<aes::Aes256>(&key)?, &iv, data),
            Pbes2Cipher::DesEde3 => cbc_decrypt(new_cipher::<des::TdesEde3>(&key)?, &iv, data),
        }
    }
}

/// The PBES2 encryption schemes we decrypt.
#[derive(Debug, Clone, Copy)]
enum Pbes2Cipher {
    Aes128,
    Aes192,
    Aes256,
    DesEde3,
}

impl Pbes2Cipher {
    fn key_len(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::Aes192 | Self::DesEde3 => 24,
            Self::Aes256 => 32,
        }
    }
}

/// The cipher and IV of a PBES2 encryptionScheme.
fn encryption_scheme(scheme: &Tlv<'_>) -> Result<(Pbes2Cipher, Vec<u8>), KeyStoreError> {
    let [oid, iv] =
        scheme.sequence()?.try_into().map_err(|_| corrupt("PBES2 encryption scheme"))?;
    let cipher = match oid.oid()?.to_string().as_str() {
        "2.16.840.1.101.3.4.1.2" => Pbes2Cipher::Aes128,
        "2.16.840.1.101.3.4.1.22" => Pbes2Cipher::Aes192,
        "2.16.840.1.101.3.4.1.42" => Pbes2Cipher::Aes256,
        "1.2.840.113549.3.7" => Pbes2Cipher::DesEde3,
        other => return Err(KeyStoreError::Unsupported(format!("PBES2 cipher {other}"))),
    };
    iv.expect_universal(tag::OCTET_STRING, "IV expected")?;
    Ok((cipher, iv.octets()?.into_owned()))
}

/// PBKDF2-params (RFC 8018 A.2).
struct Pbkdf2Params {
    salt: Vec<u8>,
    iterations: u32,
    key_len: Option<usize>,
    prf: Hash,
}

impl Pbkdf2Params {
    fn parse(kdf_alg: &Tlv<'_>) -> Result<Self, KeyStoreError> {
        let [oid, params] = kdf_alg.sequence()?.try_into().map_err(|_| corrupt("PBES2 KDF"))?;
        let oid = oid.oid()?;
        if oid.to_string() != "1.2.840.113549.1.5.12" {
            return Err(KeyStoreError::Unsupported(format!("PBES2 key derivation {oid}")));
        }
        let fields = params.sequence()?;
        let [salt, count, optional @ ..] = fields.as_slice() else {
            return Err(corrupt("PBKDF2 parameters"));
        };
        salt.expect_universal(tag::OCTET_STRING, "PBKDF2 salt must be an OCTET STRING")?;
        let mut out = Self {
            salt: salt.octets()?.into_owned(),
            iterations: iteration_count(count)?,
            key_len: None,
            prf: Hash::Sha1,
        };
        for field in optional {
            if field.tag.is_universal(tag::INTEGER) {
                out.key_len = usize::try_from(field.uint()?).ok();
            } else {
                let prf = first_oid(field)?;
                out.prf = Hash::from_hmac_oid(&prf)
                    .ok_or_else(|| KeyStoreError::Unsupported(format!("PBKDF2 PRF {prf}")))?;
            }
        }
        Ok(out)
    }
}

/// The dotted OID of an AlgorithmIdentifier.
fn first_oid(algorithm: &Tlv<'_>) -> Result<String, KeyStoreError> {
    let fields = algorithm.sequence()?;
    let oid = fields.first().ok_or_else(|| corrupt("empty AlgorithmIdentifier"))?;
    Ok(oid.oid()?.to_string())
}

fn iteration_count(count: &Tlv<'_>) -> Result<u32, KeyStoreError> {
    match count.uint()? {
        0 => Err(corrupt("zero iteration count")),
        n if n > MAX_ITERATIONS => Err(KeyStoreError::Unsupported(format!("{n} iterations"))),
        n => u32::try_from(n).map_err(|_| corrupt("iteration count")),
    }
}

fn new_cipher<C: KeyInit>(key: &[u8]) -> Result<C, KeyStoreError> {
    C::new_from_slice(key).map_err(|_| corrupt("key length"))
}

/// CBC decryption with PKCS#7 padding, in a buffer zeroized on drop. A padding failure is
/// reported as [`KeyStoreError::WrongPassword`]; the caller knows whether that can be true.
fn cbc_decrypt<C: BlockCipher + BlockDecryptMut>(
    cipher: C,
    iv: &[u8],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
    if data.is_empty() || data.len() % C::block_size() != 0 {
        return Err(corrupt("ciphertext is not a whole number of blocks"));
    }
    let decryptor = cbc::Decryptor::<C>::inner_iv_slice_init(cipher, iv)
        .map_err(|_| corrupt("IV length does not fit the cipher"))?;
    let mut buf = Zeroizing::new(data.to_vec());
    let len = decryptor
        .decrypt_padded_mut::<Pkcs7>(&mut buf)
        .map_err(|_| KeyStoreError::WrongPassword)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

fn corrupt(what: &str) -> KeyStoreError {
    KeyStoreError::Corrupt(what.to_owned())
}
