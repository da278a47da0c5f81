//! Hash and signature algorithms with their OIDs (`kz-pki.md` §1.1) and XMLDSig URIs (§1.2):
//! RSA with SHA-256 (and SHA-1 for old signatures), GOST 34.310-2004 with GOST 34.311-95, and
//! ST RK GOST 34.10-2015 with Streebog (GOST R 34.11-2012). Callers match on the enums, never
//! on OIDs.

use const_oid::ObjectIdentifier;
use sha2::Digest as _;

/// OID of rsaEncryption (RFC 8017 A.1).
pub const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// OID of sha256WithRSAEncryption (RFC 8017 A.2.4), which Kalkan writes as the CMS signatureAlgorithm.
pub const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// OID of SHA-256 (RFC 5754).
pub const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// OID of SHA-1 (RFC 3370), seen only in legacy signatures.
pub const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
/// OID of sha1WithRSAEncryption, seen only in legacy signatures.
pub const SHA1_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");

/// OID of GOST 34.311-95 (GOST R 34.11-94 with the test S-box, `kz-pki.md` §2.1).
pub const GOST_34311: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.398.3.10.1.3.1");
/// OID of Streebog-256 (GOST R 34.11-2012, 256-bit output) in the KZ arc.
pub const STREEBOG_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.398.3.10.1.3.2");
/// OID of Streebog-512 (GOST R 34.11-2012, 512-bit output) in the KZ arc.
pub const STREEBOG_512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.398.3.10.1.3.3");
/// Signature OID of GOST 34.310-2004 with GOST 34.311-95 (GOST34311withECGOST34310).
pub const GOST_2004_SIGNATURE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.398.3.10.1.1.1.2");
/// Signature OID of ST RK GOST 34.10-2015 256-bit with Streebog-256.
pub const GOST_2015_256_SIGNATURE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.398.3.10.1.1.2.3.1");
/// Signature OID of ST RK GOST 34.10-2015 512-bit with Streebog-512.
pub const GOST_2015_512_SIGNATURE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.398.3.10.1.1.2.3.2");

/// XMLDSig URIs of the GOST algorithms (`kz-pki.md` §1.2).
mod uri {
    pub const STREEBOG_256: &str =
        "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-256";
    pub const STREEBOG_512: &str =
        "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-512";
    pub const GOST_34311: &str = "http://www.w3.org/2001/04/xmldsig-more#gost34311";
    pub const GOST_2015_256: &str =
        "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-256";
    pub const GOST_2015_512: &str =
        "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-512";
    pub const GOST_2004: &str = "http://www.w3.org/2001/04/xmldsig-more#gost34310-gost34311";
}

/// A message digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256 (FIPS 180-4).
    Sha256,
    /// SHA-1, for verifying legacy signatures only.
    Sha1,
    /// Streebog-256 (GOST R 34.11-2012, RFC 6986).
    Streebog256,
    /// Streebog-512 (GOST R 34.11-2012, RFC 6986).
    Streebog512,
    /// GOST 34.311-95: GOST R 34.11-94 (RFC 5831) with the test parameter S-box.
    Gost34311,
}

const HASHES: [HashAlgorithm; 5] = [
    HashAlgorithm::Sha256,
    HashAlgorithm::Sha1,
    HashAlgorithm::Streebog256,
    HashAlgorithm::Streebog512,
    HashAlgorithm::Gost34311,
];

impl HashAlgorithm {
    /// The OID used in CMS digestAlgorithm fields.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => SHA256,
            Self::Sha1 => SHA1,
            Self::Streebog256 => STREEBOG_256,
            Self::Streebog512 => STREEBOG_512,
            Self::Gost34311 => GOST_34311,
        }
    }

    /// Finds the algorithm of a CMS digestAlgorithm OID.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        HASHES.into_iter().find(|h| h.oid() == *oid)
    }

    /// The XMLDSig DigestMethod URI.
    pub fn xml_uri(self) -> &'static str {
        match self {
            Self::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            Self::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
            Self::Streebog256 => uri::STREEBOG_256,
            Self::Streebog512 => uri::STREEBOG_512,
            Self::Gost34311 => uri::GOST_34311,
        }
    }

    /// Finds the algorithm of an XMLDSig DigestMethod URI.
    pub fn from_xml_uri(uri: &str) -> Option<Self> {
        match uri {
            "http://www.w3.org/2001/04/xmlenc#sha256" => Some(Self::Sha256),
            "http://www.w3.org/2000/09/xmldsig#sha1"
            | "http://www.w3.org/2001/04/xmldsig-more#sha1" => Some(Self::Sha1),
            uri::STREEBOG_256 => Some(Self::Streebog256),
            uri::STREEBOG_512 => Some(Self::Streebog512),
            uri::GOST_34311 => Some(Self::Gost34311),
            _ => None,
        }
    }

    /// Length of the digest in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 | Self::Streebog256 | Self::Gost34311 => 32,
            Self::Sha1 => 20,
            Self::Streebog512 => 64,
        }
    }

    /// A hash of this algorithm fed a piece at a time ([`Hasher`]).
    pub fn hasher(self) -> Hasher {
        Hasher(match self {
            Self::Sha256 => Box::new(sha2::Sha256::default()),
            Self::Sha1 => Box::new(sha1::Sha1::default()),
            Self::Streebog256 => Box::new(streebog::Streebog256::default()),
            Self::Streebog512 => Box::new(streebog::Streebog512::default()),
            Self::Gost34311 => Box::new(gost94::Gost94Test::default()),
        })
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Streebog256 => streebog::Streebog256::digest(data).to_vec(),
            Self::Streebog512 => streebog::Streebog512::digest(data).to_vec(),
            Self::Gost34311 => gost94::Gost94Test::digest(data).to_vec(),
        }
    }
}

/// A digest computed over data that arrives in pieces (a document decoded as it is read).
pub struct Hasher(Box<dyn sha2::digest::DynDigest + Send>);

impl Hasher {
    /// Feeds the next piece.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Vec<u8> {
        self.0.finalize().into_vec()
    }
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hasher")
    }
}

/// A signature algorithm: key family plus hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RsaSha256,
    /// RSASSA-PKCS1-v1_5 with SHA-1, for verifying legacy signatures only.
    RsaSha1,
    /// ST RK GOST 34.10-2015 256-bit (GOST R 34.10-2012 on TC26-256-A) with Streebog-256.
    Gost2015_256,
    /// ST RK GOST 34.10-2015 512-bit (GOST R 34.10-2012 on TC26-512-A) with Streebog-512.
    Gost2015_512,
    /// GOST 34.310-2004 (GOST R 34.10-2001 on CryptoPro-A) with GOST 34.311-95.
    Gost2004,
}

const SIGNATURES: [SignatureAlgorithm; 5] = [
    SignatureAlgorithm::RsaSha256,
    SignatureAlgorithm::RsaSha1,
    SignatureAlgorithm::Gost2015_256,
    SignatureAlgorithm::Gost2015_512,
    SignatureAlgorithm::Gost2004,
];

impl SignatureAlgorithm {
    /// The hash this algorithm signs.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            Self::RsaSha256 => HashAlgorithm::Sha256,
            Self::RsaSha1 => HashAlgorithm::Sha1,
            Self::Gost2015_256 => HashAlgorithm::Streebog256,
            Self::Gost2015_512 => HashAlgorithm::Streebog512,
            Self::Gost2004 => HashAlgorithm::Gost34311,
        }
    }

    /// The OID written into CMS signatureAlgorithm and X.509 signatureAlgorithm.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::RsaSha256 => SHA256_WITH_RSA,
            Self::RsaSha1 => SHA1_WITH_RSA,
            Self::Gost2015_256 => GOST_2015_256_SIGNATURE,
            Self::Gost2015_512 => GOST_2015_512_SIGNATURE,
            Self::Gost2004 => GOST_2004_SIGNATURE,
        }
    }

    /// Finds the algorithm of a signatureAlgorithm OID. `rsaEncryption` is read as RSA with
    /// the given digest, as CMS allows. Public-key OIDs of GOST are not signature OIDs; see
    /// [`SignatureAlgorithm::for_public_key`].
    pub fn from_oid(oid: &ObjectIdentifier, digest: Option<HashAlgorithm>) -> Option<Self> {
        if *oid == RSA_ENCRYPTION {
            return match digest? {
                HashAlgorithm::Sha256 => Some(Self::RsaSha256),
                HashAlgorithm::Sha1 => Some(Self::RsaSha1),
                _ => None,
            };
        }
        SIGNATURES.into_iter().find(|a| a.oid() == *oid)
    }

    /// The algorithm a certificate's key signs with, from its SubjectPublicKeyInfo: the GOST
    /// key OIDs (curve from the parameters, `kz-pki.md` §1.1) and rsaEncryption (SHA-256).
    pub fn for_public_key(spki: &spki::SubjectPublicKeyInfoOwned) -> Option<Self> {
        let algorithm = &spki.algorithm;
        if algorithm.oid == RSA_ENCRYPTION {
            return Some(Self::RsaSha256);
        }
        super::gost::keys::curve_of(&algorithm.oid, algorithm.parameters.as_ref())
            .ok()
            .map(super::gost::GostCurve::signature_algorithm)
    }

    /// The XMLDSig SignatureMethod URI.
    pub fn xml_uri(self) -> &'static str {
        match self {
            Self::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            Self::RsaSha1 => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            Self::Gost2015_256 => uri::GOST_2015_256,
            Self::Gost2015_512 => uri::GOST_2015_512,
            Self::Gost2004 => uri::GOST_2004,
        }
    }

    /// Finds the algorithm of an XMLDSig SignatureMethod URI.
    pub fn from_xml_uri(uri: &str) -> Option<Self> {
        match uri {
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => Some(Self::RsaSha256),
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
            | "http://www.w3.org/2001/04/xmldsig-more#rsa-sha1" => Some(Self::RsaSha1),
            uri::GOST_2015_256 => Some(Self::Gost2015_256),
            uri::GOST_2015_512 => Some(Self::Gost2015_512),
            uri::GOST_2004 => Some(Self::Gost2004),
            _ => None,
        }
    }

    /// The name NCALayer reports in `getKeyInfo.algorithm`. For GOST keys we report
    /// `ECGOST3410-2015-512`, `ECGOST3410-2015-256` and `ECGOST34310` (GOST 34.310-2004):
    /// our own names after Kalkan's `ECGOST34310` family naming, not confirmed against a
    /// live NCALayer.
    pub fn key_algorithm_name(self) -> &'static str {
        match self {
            Self::RsaSha256 | Self::RsaSha1 => "RSA",
            Self::Gost2015_512 => "ECGOST3410-2015-512",
            Self::Gost2015_256 => "ECGOST3410-2015-256",
            Self::Gost2004 => "ECGOST34310",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_and_uris_round_trip() {
        for hash in HASHES {
            assert_eq!(HashAlgorithm::from_oid(&hash.oid()), Some(hash));
            assert_eq!(HashAlgorithm::from_xml_uri(hash.xml_uri()), Some(hash));
            assert_eq!(hash.digest(b"x").len(), hash.output_len());
        }
        for algorithm in SIGNATURES {
            assert_eq!(SignatureAlgorithm::from_oid(&algorithm.oid(), None), Some(algorithm));
            assert_eq!(SignatureAlgorithm::from_xml_uri(algorithm.xml_uri()), Some(algorithm));
        }
        let gost_key = ObjectIdentifier::new_unwrap("1.2.398.3.10.1.1.2.2");
        assert_eq!(SignatureAlgorithm::from_oid(&gost_key, None), None, "a key OID");
        let rsa_gost =
            SignatureAlgorithm::from_oid(&RSA_ENCRYPTION, Some(HashAlgorithm::Gost34311));
        assert_eq!(rsa_gost, None);
        assert_eq!(SignatureAlgorithm::Gost2015_512.oid().to_string(), "1.2.398.3.10.1.1.2.3.2");
        assert_eq!(SignatureAlgorithm::Gost2004.hash(), HashAlgorithm::Gost34311);
        assert_eq!(SignatureAlgorithm::Gost2015_512.key_algorithm_name(), "ECGOST3410-2015-512");
    }
}
