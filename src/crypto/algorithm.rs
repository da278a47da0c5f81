//! Hash and signature algorithms with their OIDs (`kz-pki.md` §1.1) and XMLDSig URIs (§1.2).
//! GOST algorithms join this list in the GOST issue; callers match on the enums, never on OIDs.

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

/// A message digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256 (FIPS 180-4).
    Sha256,
    /// SHA-1, for verifying legacy signatures only.
    Sha1,
}

impl HashAlgorithm {
    /// The OID used in CMS digestAlgorithm fields.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => SHA256,
            Self::Sha1 => SHA1,
        }
    }

    /// Finds the algorithm of a CMS digestAlgorithm OID.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [Self::Sha256, Self::Sha1].into_iter().find(|h| h.oid() == *oid)
    }

    /// The XMLDSig DigestMethod URI.
    pub fn xml_uri(self) -> &'static str {
        match self {
            Self::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            Self::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
        }
    }

    /// Finds the algorithm of an XMLDSig DigestMethod URI.
    pub fn from_xml_uri(uri: &str) -> Option<Self> {
        match uri {
            "http://www.w3.org/2001/04/xmlenc#sha256" => Some(Self::Sha256),
            "http://www.w3.org/2000/09/xmldsig#sha1"
            | "http://www.w3.org/2001/04/xmldsig-more#sha1" => Some(Self::Sha1),
            _ => None,
        }
    }

    /// Length of the digest in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha1 => 20,
        }
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
        }
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
}

impl SignatureAlgorithm {
    /// The hash this algorithm signs.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            Self::RsaSha256 => HashAlgorithm::Sha256,
            Self::RsaSha1 => HashAlgorithm::Sha1,
        }
    }

    /// The OID written into CMS signatureAlgorithm and X.509 signatureAlgorithm.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::RsaSha256 => SHA256_WITH_RSA,
            Self::RsaSha1 => SHA1_WITH_RSA,
        }
    }

    /// Finds the algorithm of a signatureAlgorithm OID. `rsaEncryption` is read as RSA with
    /// the given digest, as CMS allows.
    pub fn from_oid(oid: &ObjectIdentifier, digest: Option<HashAlgorithm>) -> Option<Self> {
        match *oid {
            SHA256_WITH_RSA => Some(Self::RsaSha256),
            SHA1_WITH_RSA => Some(Self::RsaSha1),
            RSA_ENCRYPTION => match digest? {
                HashAlgorithm::Sha256 => Some(Self::RsaSha256),
                HashAlgorithm::Sha1 => Some(Self::RsaSha1),
            },
            _ => None,
        }
    }

    /// The XMLDSig SignatureMethod URI.
    pub fn xml_uri(self) -> &'static str {
        match self {
            Self::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            Self::RsaSha1 => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        }
    }

    /// Finds the algorithm of an XMLDSig SignatureMethod URI.
    pub fn from_xml_uri(uri: &str) -> Option<Self> {
        match uri {
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => Some(Self::RsaSha256),
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
            | "http://www.w3.org/2001/04/xmldsig-more#rsa-sha1" => Some(Self::RsaSha1),
            _ => None,
        }
    }

    /// The name NCALayer reports in `getKeyInfo.algorithm`.
    pub fn key_algorithm_name(self) -> &'static str {
        match self {
            Self::RsaSha256 | Self::RsaSha1 => "RSA",
        }
    }
}
