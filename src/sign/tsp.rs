//! RFC 3161 time-stamps for CAdES-T (ETSI EN 319 122-1 §5.3, `kz-pki.md` §5.3): the query a TSA
//! gets for one signature value, the token taken out of its answer, and the checks on a token:
//! its own CMS signature, its TSA certificate (extended key usage timeStamping, named by the
//! ESS signingCertificate attribute), and that it answers the query (imprint, nonce, policy).
//! Whether the TSA's certificate chains to a trusted CA is `pki`'s question. Pure: bytes in,
//! bytes out; the HTTP exchange is the caller's.

use cms::signed_data::SignedData;
use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use time::OffsetDateTime;

use super::tlv::{self, children, encode, encode_all};
use super::{cms_attrs, cms_verify, SignError};
use crate::crypto::{Certificate, HashAlgorithm, SignatureAlgorithm};

/// The unsigned attribute that carries a signature's time-stamp token (RFC 3161 App. A).
pub const SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// The content type of a token's TSTInfo.
const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// ESS signingCertificate (RFC 2634 §5.4, SHA-1) and signingCertificateV2 (RFC 5035).
const SIGNING_CERTIFICATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
const SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-kp-timeStamping.
const TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";

/// NCA TSA policy for GOST 34.310-2004 keys (tsa_gost).
pub const POLICY_GOST_2004: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.398.3.3.2.6.1");
/// NCA TSA policy for RSA keys (the policy NCA's own bundle asks for, `TSAPolicy.TSA_RSA`).
pub const POLICY_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.398.3.3.2.6.2");
/// NCA TSA policy for GOST 34.10-2015 keys (tsa_gost2015).
pub const POLICY_GOST_2015: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.398.3.3.2.6.4");

/// The NCA TSA policy a signature of this key family asks for (`docs/decisions.md`).
pub fn policy_for(algorithm: SignatureAlgorithm) -> ObjectIdentifier {
    match algorithm {
        SignatureAlgorithm::RsaSha256 | SignatureAlgorithm::RsaSha1 => POLICY_RSA,
        SignatureAlgorithm::Gost2004 => POLICY_GOST_2004,
        SignatureAlgorithm::Gost2015_256 | SignatureAlgorithm::Gost2015_512 => POLICY_GOST_2015,
    }
}

/// A TimeStampReq (RFC 3161 §2.4.1) for one signature value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The DER request, POSTed as `application/timestamp-query`.
    pub der: Vec<u8>,
    /// The imprint's hash algorithm: the signer's.
    pub hash: HashAlgorithm,
    /// The hash of the signature value.
    pub imprint: Vec<u8>,
    /// The nonce, as the INTEGER's content octets.
    pub nonce: Vec<u8>,
    /// The policy asked for.
    pub policy: ObjectIdentifier,
}

impl Query {
    /// The request for `signature_value`, hashed with `hash`, under `policy`, with certReq set
    /// and `random` as the nonce (made positive and minimal).
    pub fn new(
        signature_value: &[u8],
        hash: HashAlgorithm,
        policy: ObjectIdentifier,
        random: [u8; 8],
    ) -> Result<Self, SignError> {
        let imprint = hash.digest(signature_value);
        let mut nonce = random.to_vec();
        nonce[0] = (nonce[0] & 0x7f) | 0x01; // positive, first octet never zero
        let der = encode_all(
            0x30,
            &[
                &encode(0x02, &[1]),
                &message_imprint(hash, &imprint)?,
                &policy.to_der().map_err(encoding)?,
                &encode(0x02, &nonce),
                &encode(0x01, &[0xff]),
            ],
        );
        Ok(Self { der, hash, imprint, nonce, policy })
    }
}

/// MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }.
fn message_imprint(hash: HashAlgorithm, imprint: &[u8]) -> Result<Vec<u8>, SignError> {
    let algorithm = encode_all(0x30, &[&hash.oid().to_der().map_err(encoding)?, &[0x05, 0x00]]);
    Ok(encode_all(0x30, &[&algorithm, &encode(0x04, imprint)]))
}

/// The token of a TimeStampResp whose status is granted or grantedWithMods; otherwise the
/// TSA's refusal, with its status text and failure bits.
pub fn token_of_response(response: &[u8]) -> Result<Vec<u8>, SignError> {
    let fields = children(response).map_err(|_| refused("the TSA's answer is not DER"))?;
    let status_info = fields.first().ok_or_else(|| refused("the TSA's answer is empty"))?;
    let status_fields = children(status_info)?;
    let status = status_fields.first().map(|s| tlv::value(s)).transpose()?.unwrap_or_default();
    if matches!(status, [0] | [1]) {
        let token = fields.get(1).ok_or_else(|| refused("the TSA granted but sent no token"))?;
        return Ok(token.to_vec());
    }
    let text: Vec<String> = status_fields
        .iter()
        .skip(1)
        .filter(|f| f.first() == Some(&0x30))
        .flat_map(|f| children(f).unwrap_or_default())
        .filter_map(|s| tlv::value(s).ok().map(|v| String::from_utf8_lossy(v).into_owned()))
        .collect();
    Err(refused(&format!(
        "the TSA refused (status {}){}",
        status.iter().map(u8::to_string).collect::<String>(),
        if text.is_empty() { String::new() } else { format!(": {}", text.join("; ")) }
    )))
}

/// What a verified token says.
#[derive(Debug, Clone)]
pub struct TimeStamp {
    /// When the TSA saw the imprint (TSTInfo genTime).
    pub gen_time: OffsetDateTime,
    /// The TSA policy it was issued under.
    pub policy: ObjectIdentifier,
    /// The imprint's hash algorithm.
    pub hash: HashAlgorithm,
    /// The imprint.
    pub imprint: Vec<u8>,
    /// The nonce, when the request had one.
    pub nonce: Option<Vec<u8>>,
    /// The TSA's certificate (its chain is for `pki` to judge).
    pub tsa: Certificate,
}

impl TimeStamp {
    /// Whether this stamp is over `signature_value`.
    pub fn covers(&self, signature_value: &[u8]) -> bool {
        self.hash.digest(signature_value) == self.imprint
    }

    /// Checks that this stamp answers `query`: same imprint and hash, same nonce, same policy.
    pub fn answers(&self, query: &Query) -> Result<(), SignError> {
        if self.hash != query.hash || self.imprint != query.imprint {
            return Err(refused("the token is over another imprint than the one asked for"));
        }
        if self.nonce.as_deref() != Some(query.nonce.as_slice()) {
            return Err(refused("the token's nonce is not the request's (a replayed answer?)"));
        }
        if self.policy != query.policy {
            let (got, asked) = (self.policy, query.policy);
            return Err(refused(&format!("the token is under policy {got}, not {asked}")));
        }
        Ok(())
    }
}

/// Verifies a TimeStampToken (a CMS SignedData over a TSTInfo): its signature, that it is
/// signed by a time-stamping certificate the ESS attribute names, and reads its TSTInfo.
pub fn verify_token(token: &[u8]) -> Result<TimeStamp, SignError> {
    let signers = cms_verify::verify(token, None)?;
    let [signer] = <[cms_verify::VerifiedSigner; 1]>::try_from(signers)
        .map_err(|_| invalid("a time-stamp token has exactly one signer"))?;
    let signed_data = cms_verify::signed_data(token)?;
    let encap = &signed_data.encap_content_info;
    if encap.econtent_type != TST_INFO {
        return Err(invalid("the token's content is not a TSTInfo"));
    }
    let tst_info = encap.econtent.as_ref().ok_or_else(|| invalid("the token has no TSTInfo"))?;
    check_tsa_certificate(&signed_data, &signer.certificate)?;
    read_tst_info(tst_info.value(), signer.certificate)
}

/// The TSA certificate must allow time-stamping and be the one the ESS attribute hashes.
fn check_tsa_certificate(signed_data: &SignedData, tsa: &Certificate) -> Result<(), SignError> {
    if !tsa.ext_key_usage().iter().any(|oid| oid == TIME_STAMPING) {
        return Err(invalid("the TSA certificate is not for time-stamping"));
    }
    let attrs = signed_data
        .signer_infos
        .0
        .iter()
        .next()
        .and_then(|si| si.signed_attrs.as_ref())
        .ok_or_else(|| invalid("the token has no signed attributes"))?;
    let (hash, ess) = match cms_attrs::single_value(attrs, SIGNING_CERTIFICATE_V2)? {
        Some(v2) => (None, v2.to_der().map_err(encoding)?),
        None => match cms_attrs::single_value(attrs, SIGNING_CERTIFICATE)? {
            Some(v1) => (Some(HashAlgorithm::Sha1), v1.to_der().map_err(encoding)?),
            None => return Err(invalid("the token does not name its TSA certificate (ESS)")),
        },
    };
    if !ess_names(&ess, hash, tsa.der())? {
        return Err(invalid("the token's ESS attribute names another certificate"));
    }
    Ok(())
}

/// Whether the first ESSCertID(v2) of a SigningCertificate(V2) hashes `certificate`. `v1_hash`
/// is SHA-1 for v1; for v2 the hash is named in the ESSCertIDv2 (default SHA-256).
fn ess_names(
    ess: &[u8],
    v1_hash: Option<HashAlgorithm>,
    certificate: &[u8],
) -> Result<bool, SignError> {
    let certs = children(ess)?;
    let first_id = certs.first().map(|c| children(c)).transpose()?.unwrap_or_default();
    let first = first_id.first().map(|id| children(id)).transpose()?.unwrap_or_default();
    let (hash, cert_hash) = match (v1_hash, first.as_slice()) {
        (Some(hash), [cert_hash, ..]) => (hash, cert_hash),
        (None, [algorithm, cert_hash, ..]) if algorithm.first() == Some(&0x30) => {
            let oid = children(algorithm)?.first().map(|o| ObjectIdentifier::from_der(o));
            let oid = oid.transpose().map_err(encoding)?.ok_or_else(|| invalid("ESS hash"))?;
            (HashAlgorithm::from_oid(&oid).ok_or_else(|| invalid("ESS hash"))?, cert_hash)
        }
        (None, [cert_hash, ..]) => (HashAlgorithm::Sha256, cert_hash),
        _ => return Err(invalid("the token's ESS attribute is empty")),
    };
    Ok(tlv::value(cert_hash)? == hash.digest(certificate).as_slice())
}

/// TSTInfo ::= SEQUENCE { version, policy, messageImprint, serialNumber, genTime,
/// accuracy OPTIONAL, ordering DEFAULT FALSE, nonce OPTIONAL, tsa [0] OPTIONAL, [1] OPTIONAL }.
fn read_tst_info(der: &[u8], tsa: Certificate) -> Result<TimeStamp, SignError> {
    let fields = children(der)?;
    let [_version, policy, imprint, _serial, gen_time, rest @ ..] = fields.as_slice() else {
        return Err(invalid("the TSTInfo is incomplete"));
    };
    let policy = ObjectIdentifier::from_der(policy).map_err(encoding)?;
    let imprint = children(imprint)?;
    let [algorithm, hashed] = imprint.as_slice() else {
        return Err(invalid("the TSTInfo messageImprint is malformed"));
    };
    let oid = children(algorithm)?.first().map(|o| ObjectIdentifier::from_der(o));
    let oid = oid.transpose().map_err(encoding)?.ok_or_else(|| invalid("no imprint hash"))?;
    let hash = HashAlgorithm::from_oid(&oid)
        .ok_or_else(|| invalid(&format!("unsupported imprint hash {oid}")))?;
    let gen_time = der::Any::from_der(gen_time).map_err(encoding)?;
    let nonce = rest.iter().find(|f| f.first() == Some(&0x02)).map(|n| tlv::value(n));
    Ok(TimeStamp {
        gen_time: cms_attrs::parse_time(&gen_time)?,
        policy,
        hash,
        imprint: tlv::value(hashed)?.to_vec(),
        nonce: nonce.transpose()?.map(<[u8]>::to_vec),
        tsa,
    })
}

fn refused(reason: &str) -> SignError {
    SignError::TimeStamp(reason.to_owned())
}

fn invalid(reason: &str) -> SignError {
    SignError::Invalid(format!("time-stamp: {reason}"))
}

fn encoding(e: der::Error) -> SignError {
    SignError::Encoding(e.to_string())
}

#[cfg(test)]
#[path = "tsp_tests.rs"]
mod tests;
