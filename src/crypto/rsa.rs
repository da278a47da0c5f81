//! RSA keys (RSASSA-PKCS1-v1_5, RFC 8017 §8.2). A private key signs through OpenSSL's
//! libcrypto: the machine's reference implementation, constant-time and blinded, about six
//! times faster than RustCrypto's `rsa` (docs/performance.md), and it clears the key's private
//! numbers when the key is freed (`BN_clear_free` in `RSA_free`). Certificates' public keys and
//! verification stay on RustCrypto's `rsa` (public data only).

use openssl::pkey::{PKey, Private};
use openssl::rsa::{Padding, Rsa};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPublicKey};

use super::{Certificate, CryptoError, HashAlgorithm, SignatureAlgorithm, Signer};

/// An RSA private key held by libcrypto (cleared when freed).
pub struct RsaSigner {
    /// libcrypto's RSA key (cleared by `RSA_free`).
    rsa: Rsa<Private>,
    certificate: Certificate,
}

/// The DER prefix of a SHA-1 DigestInfo (RFC 8017 §9.2, note 1).
pub const SHA1_DIGEST_INFO: [u8; 15] =
    [0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04, 0x14];

/// The DER prefix of a SHA-256 DigestInfo (RFC 8017 §9.2, note 1).
pub const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

impl std::fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaSigner").field("bits", &(self.rsa.size() * 8)).finish_non_exhaustive()
    }
}

impl RsaSigner {
    /// Builds a signer from a PKCS#8 `PrivateKeyInfo` and checks it against the certificate.
    pub fn from_pkcs8(pkcs8_der: &[u8], certificate: Certificate) -> Result<Self, CryptoError> {
        let invalid = |e: openssl::error::ErrorStack| CryptoError::InvalidKey(e.to_string());
        let key = PKey::private_key_from_pkcs8(pkcs8_der).map_err(invalid)?;
        let rsa = key.rsa().map_err(invalid)?;
        let public = public_key(&certificate)?;
        let same = rsa.n().to_vec() == public.n().to_bytes_be()
            && rsa.e().to_vec() == public.e().to_bytes_be();
        if !same {
            return Err(CryptoError::InvalidKey(
                "the private key does not match the certificate".into(),
            ));
        }
        let signer = Self { rsa, certificate };
        // A pairwise consistency test (as FIPS 140 asks of a key pair): a signature made with
        // the private numbers must verify with the certificate's key, so a damaged d, p, q or
        // CRT value never signs. One private operation, where `RSA_check_key`'s primality
        // tests cost tens of milliseconds each time a key is opened, that is, each request.
        let probe = HashAlgorithm::Sha256.digest(b"Qoltanba: pairwise consistency test");
        let signature = signer.sign_digest(&probe)?;
        verify_digest(&public, HashAlgorithm::Sha256, &probe, &signature).map_err(|_| {
            CryptoError::InvalidKey("the private key's numbers are inconsistent".into())
        })?;
        Ok(signer)
    }
}

impl Signer for RsaSigner {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::RsaSha256
    }

    /// A key in memory: batches sign on every core (libcrypto signs with one key from several
    /// threads at once).
    fn concurrent(&self) -> bool {
        true
    }

    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let expected = HashAlgorithm::Sha256.output_len();
        if digest.len() != expected {
            return Err(CryptoError::DigestLength { expected, got: digest.len() });
        }
        // EMSA-PKCS1-v1_5 (RFC 8017 §9.2): the DigestInfo, padded and raised to d by
        // libcrypto's RSA itself. Calling the RSA object directly, not through an EVP context,
        // spares OpenSSL 3 a provider lookup per signature, which serialises threads.
        let info = [&SHA256_DIGEST_INFO[..], digest].concat();
        let mut signature = vec![0u8; self.rsa.size() as usize];
        let len = self
            .rsa
            .private_encrypt(&info, &mut signature, Padding::PKCS1)
            .map_err(|e| CryptoError::Signing(e.to_string()))?;
        signature.truncate(len);
        Ok(signature)
    }
}

/// The RSA public key of a certificate.
pub fn public_key(certificate: &Certificate) -> Result<RsaPublicKey, CryptoError> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    let spki = &certificate.inner().tbs_certificate.subject_public_key_info;
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| CryptoError::InvalidCertificate("unaligned public key".into()))?;
    RsaPublicKey::from_pkcs1_der(bits).map_err(|e| CryptoError::InvalidCertificate(e.to_string()))
}

/// Verifies an RSASSA-PKCS1-v1_5 signature over `digest`.
pub fn verify_digest(
    key: &RsaPublicKey,
    hash: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let scheme = match hash {
        HashAlgorithm::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
        HashAlgorithm::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
        other => return Err(CryptoError::UnsupportedAlgorithm(format!("RSA with {other:?}"))),
    };
    key.verify(scheme, digest, signature).map_err(|_| CryptoError::BadSignature)
}

/// A self-signed certificate for `key`, valid for a year from now, with `subject` (attribute
/// names as OpenSSL spells them) and `serial`: for tests that need a certificate of their own
/// key (a simulated ID card's, a damaged key's). `None` when OpenSSL refuses a part.
#[cfg(any(test, feature = "test-support"))]
pub fn self_signed(
    key: &Rsa<Private>,
    subject: &[(&str, &str)],
    serial: u32,
) -> Option<Certificate> {
    use openssl::x509::{X509Name, X509};
    let key = PKey::from_rsa(key.clone()).ok()?;
    let mut name = X509Name::builder().ok()?;
    for (field, value) in subject {
        name.append_entry_by_text(field, value).ok()?;
    }
    let name = name.build();
    let mut builder = X509::builder().ok()?;
    builder.set_version(2).ok()?;
    builder.set_subject_name(&name).ok()?;
    builder.set_issuer_name(&name).ok()?;
    builder.set_pubkey(&key).ok()?;
    let serial = openssl::bn::BigNum::from_u32(serial).ok()?.to_asn1_integer().ok()?;
    builder.set_serial_number(&serial).ok()?;
    let from = openssl::asn1::Asn1Time::days_from_now(0).ok()?;
    let until = openssl::asn1::Asn1Time::days_from_now(365).ok()?;
    builder.set_not_before(&from).ok()?;
    builder.set_not_after(&until).ok()?;
    builder.sign(&key, openssl::hash::MessageDigest::sha256()).ok()?;
    Certificate::from_der(&builder.build().to_der().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use openssl::bn::BigNum;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;

    use super::{self_signed, RsaSigner};
    use crate::crypto::{CryptoError, Signer as _};

    fn bump(n: &openssl::bn::BigNumRef) -> BigNum {
        let mut out = BigNum::new().expect("bn");
        out.checked_add(n, &BigNum::from_u32(2).expect("two")).expect("add");
        out
    }

    #[test]
    fn a_key_whose_numbers_disagree_never_signs() {
        let rsa = Rsa::generate(2048).expect("key");
        let key = PKey::from_rsa(rsa.clone()).expect("pkey");
        let cert = self_signed(&rsa, &[("CN", "Test")], 1).expect("certificate");
        let good = key.private_key_to_pkcs8().expect("PKCS#8");
        let signer = RsaSigner::from_pkcs8(&good, cert.clone()).expect("consistent key");
        assert_eq!(signer.sign_digest(&[7; 32]).expect("signs").len(), 256);

        // A damaged CRT exponent and private exponent: libcrypto's own fault check falls back
        // from CRT to d, which is wrong too, so its signatures would not verify.
        let clone = |n: &openssl::bn::BigNumRef| n.to_owned().expect("bn");
        let damaged = Rsa::from_private_components(
            clone(rsa.n()),
            clone(rsa.e()),
            bump(rsa.d()),
            clone(rsa.p().expect("p")),
            clone(rsa.q().expect("q")),
            bump(rsa.dmp1().expect("dmp1")),
            clone(rsa.dmq1().expect("dmq1")),
            clone(rsa.iqmp().expect("iqmp")),
        )
        .expect("components");
        let bad = PKey::from_rsa(damaged).and_then(|k| k.private_key_to_pkcs8()).expect("PKCS#8");
        match RsaSigner::from_pkcs8(&bad, cert) {
            Err(CryptoError::InvalidKey(why)) => assert!(why.contains("inconsistent"), "{why}"),
            other => panic!("a damaged key was accepted: {:?}", other.map(|_| ())),
        }
    }
}
