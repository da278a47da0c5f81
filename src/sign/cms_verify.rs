//! Verification of CMS SignedData (RFC 5652 §5.6): ours and Kalkan's, attached or detached.
//!
//! Input is DER (what Kalkan writes); BER is rejected as a parse error. Every SignerInfo must
//! verify. The signature over signed attributes is checked against the attributes exactly as
//! received, with the IMPLICIT `[0]` replaced by a SET OF tag (RFC 5652 §5.4). Certificate
//! chains and revocation are not checked here. A signer's time-stamp tokens (CAdES-T) are
//! verified too ([`tsp::verify_token`]) and must be over its signature value.

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{
    EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier, SignerInfo,
};
use const_oid::{AssociatedOid, ObjectIdentifier};
use der::asn1::OctetString;
use der::{AnyRef, Decode, Encode, Tag, Tagged};
use x509_cert::ext::pkix::SubjectKeyIdentifier;

use super::cms_attrs::{self, CONTENT_TYPE, ID_DATA, ID_SIGNED_DATA, MESSAGE_DIGEST};
use super::tlv::elements;
use super::tsp::{self, TimeStamp};
use super::SignError;
use crate::crypto::{verify, Certificate, CryptoError, HashAlgorithm, SignatureAlgorithm};

/// One signer that verified.
#[derive(Debug, Clone)]
pub struct VerifiedSigner {
    /// The signer's certificate, taken from the CMS.
    pub certificate: Certificate,
    /// signingTime, when present.
    pub signing_time: Option<time::OffsetDateTime>,
    /// The signature time-stamp (CAdES-T), verified and over this signature, when present
    /// (the earliest, when there are several). Its TSA's chain is for `pki` to judge.
    pub time_stamp: Option<TimeStamp>,
}

/// Verifies every SignerInfo of a DER CMS. `detached` supplies the content when the CMS does
/// not carry it; when it does, a given `detached` must equal it. Returns the signers.
pub fn verify(cms: &[u8], detached: Option<&[u8]>) -> Result<Vec<VerifiedSigner>, SignError> {
    let content_info = ContentInfo::from_der(cms).map_err(parse)?;
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(SignError::CmsParse(format!(
            "the content type is {}, not signedData",
            content_info.content_type
        )));
    }
    let signed_data: SignedData = content_info.content.decode_as().map_err(parse)?;
    let raw_signers = raw_signer_infos(content_info.content.value())?;
    if raw_signers.is_empty() {
        return Err(SignError::Invalid("the CMS has no signers".into()));
    }
    let content = content(&signed_data.encap_content_info, detached)?;
    raw_signers.into_iter().map(|raw| verify_signer(&signed_data, raw, content)).collect()
}

/// The SignedData of a DER ContentInfo of that type (CAdES-T, co-signing and time-stamp tokens
/// all start here).
pub(super) fn signed_data(cms: &[u8]) -> Result<SignedData, SignError> {
    let content_info = ContentInfo::from_der(cms).map_err(parse)?;
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(SignError::CmsParse("the CMS is not SignedData".into()));
    }
    content_info.content.decode_as().map_err(parse)
}

/// Every certificate a CMS carries (for building the signers' chains).
pub fn certificates(cms: &[u8]) -> Vec<Certificate> {
    let Ok(signed_data) = signed_data(cms) else {
        return Vec::new();
    };
    signed_data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(c) => c.to_der().ok(),
            CertificateChoices::Other(_) => None,
        })
        .filter_map(|der| Certificate::from_der(&der).ok())
        .collect()
}

/// The signed content: the eContent OCTET STRING value or the detached bytes (RFC 5652 §5.2).
fn content<'a>(
    encap: &'a EncapsulatedContentInfo,
    detached: Option<&'a [u8]>,
) -> Result<&'a [u8], SignError> {
    let Some(econtent) = &encap.econtent else {
        return detached.ok_or_else(|| {
            SignError::CmsParse("the CMS is detached and no content was given".into())
        });
    };
    if econtent.tag() != Tag::OctetString {
        return Err(SignError::CmsParse("eContent is not an OCTET STRING".into()));
    }
    let inner = econtent.value();
    match detached {
        Some(given) if given != inner => Err(SignError::Invalid(
            "the given content differs from the content inside the CMS".into(),
        )),
        _ => Ok(inner),
    }
}

/// Checks one SignerInfo, given as its DER TLV (RFC 5652 §5.6).
fn verify_signer(
    signed_data: &SignedData,
    raw: &[u8],
    content: &[u8],
) -> Result<VerifiedSigner, SignError> {
    let signer_info = SignerInfo::from_der(raw).map_err(parse)?;
    let (hash, algorithm) = algorithms(&signer_info)?;
    let certificate = find_certificate(signed_data, &signer_info.sid)?;
    let econtent_type = signed_data.encap_content_info.econtent_type;
    let (signed_digest, signing_time) = match &signer_info.signed_attrs {
        Some(attrs) => {
            check_attributes(attrs, econtent_type, &hash.digest(content))?;
            let time = cms_attrs::single_value(attrs, cms_attrs::SIGNING_TIME)?
                .map(cms_attrs::parse_time)
                .transpose()?;
            (hash.digest(&raw_signed_attributes(raw)?), time)
        }
        None if econtent_type == ID_DATA => (hash.digest(content), None),
        None => return Err(invalid("signed attributes are required for this content type")),
    };
    let signature = signer_info.signature.as_bytes();
    verify::verify_digest(&certificate, algorithm, &signed_digest, signature).map_err(
        |e| match e {
            CryptoError::BadSignature => invalid("the signature value does not verify"),
            other => SignError::Crypto(other),
        },
    )?;
    let time_stamp = time_stamp(&signer_info)?;
    Ok(VerifiedSigner { certificate, signing_time, time_stamp })
}

/// Every signature time-stamp token of a signer must verify and be over its signature value.
fn time_stamp(signer_info: &SignerInfo) -> Result<Option<TimeStamp>, SignError> {
    let tokens = signer_info
        .unsigned_attrs
        .iter()
        .flat_map(|attrs| attrs.iter())
        .filter(|a| a.oid == tsp::SIGNATURE_TIME_STAMP_TOKEN)
        .flat_map(|a| a.values.iter());
    let mut earliest: Option<TimeStamp> = None;
    for token in tokens {
        let stamp = tsp::verify_token(&token.to_der().map_err(parse)?)?;
        if !stamp.covers(signer_info.signature.as_bytes()) {
            return Err(invalid("the time-stamp is over another signature"));
        }
        if earliest.as_ref().is_none_or(|e| stamp.gen_time < e.gen_time) {
            earliest = Some(stamp);
        }
    }
    Ok(earliest)
}

/// The digest and signature algorithms of a SignerInfo; they must agree on the hash.
pub(super) fn algorithms(
    signer_info: &SignerInfo,
) -> Result<(HashAlgorithm, SignatureAlgorithm), SignError> {
    let digest_oid = &signer_info.digest_alg.oid;
    let hash = HashAlgorithm::from_oid(digest_oid).ok_or_else(|| unsupported(digest_oid))?;
    let signature_oid = &signer_info.signature_algorithm.oid;
    let algorithm = SignatureAlgorithm::from_oid(signature_oid, Some(hash))
        .ok_or_else(|| unsupported(signature_oid))?;
    if algorithm.hash() != hash {
        return Err(invalid(&format!(
            "signatureAlgorithm {signature_oid} does not use digestAlgorithm {digest_oid}"
        )));
    }
    Ok((hash, algorithm))
}

/// contentType must name the eContentType and messageDigest must match the content
/// (RFC 5652 §5.3, §11.1, §11.2).
fn check_attributes(
    attrs: &SignedAttributes,
    econtent_type: ObjectIdentifier,
    digest: &[u8],
) -> Result<(), SignError> {
    let content_type = cms_attrs::single_value(attrs, CONTENT_TYPE)?
        .ok_or_else(|| invalid("the contentType attribute is missing"))?;
    if content_type.decode_as::<ObjectIdentifier>().ok() != Some(econtent_type) {
        return Err(invalid("contentType does not match eContentType"));
    }
    let message_digest = cms_attrs::single_value(attrs, MESSAGE_DIGEST)?
        .ok_or_else(|| invalid("the messageDigest attribute is missing"))?;
    let message_digest: OctetString = message_digest.decode_as().map_err(parse)?;
    if message_digest.as_bytes() != digest {
        return Err(invalid("messageDigest does not match the content"));
    }
    Ok(())
}

/// The signer's certificate from `certificates`, by issuerAndSerialNumber or
/// subjectKeyIdentifier (RFC 5652 §5.3).
fn find_certificate(
    signed_data: &SignedData,
    sid: &SignerIdentifier,
) -> Result<Certificate, SignError> {
    let found = signed_data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(c) => Some(c),
            CertificateChoices::Other(_) => None,
        })
        .find(|c| identifies(sid, c))
        .ok_or_else(|| invalid("the signer's certificate is not in the CMS"))?;
    let der = found.to_der().map_err(parse)?;
    Ok(Certificate::from_der(&der)?)
}

/// Whether `sid` names `certificate`.
fn identifies(sid: &SignerIdentifier, certificate: &x509_cert::Certificate) -> bool {
    let tbs = &certificate.tbs_certificate;
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            id.issuer == tbs.issuer && id.serial_number == tbs.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            tbs.extensions.iter().flatten().filter(|e| e.extn_id == SubjectKeyIdentifier::OID).any(
                |e| SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).as_ref() == Ok(ski),
            )
        }
    }
}

/// The SignerInfo TLVs of a SignedData, given its content octets, in the order received.
fn raw_signer_infos(signed_data: &[u8]) -> Result<Vec<&[u8]>, SignError> {
    let fields = elements(signed_data)?;
    let last = fields.last().ok_or_else(|| SignError::CmsParse("empty SignedData".into()))?;
    let signer_infos = AnyRef::from_der(last).map_err(parse)?;
    if signer_infos.tag() != Tag::Set {
        return Err(SignError::CmsParse("signerInfos is not a SET".into()));
    }
    elements(signer_infos.value())
}

/// The signed attributes of a SignerInfo TLV as received, re-tagged as SET OF (RFC 5652 §5.4).
fn raw_signed_attributes(signer_info: &[u8]) -> Result<Vec<u8>, SignError> {
    let signer_info = AnyRef::from_der(signer_info).map_err(parse)?;
    let signed_attrs_tag = Tag::ContextSpecific { constructed: true, number: der::TagNumber::N0 };
    // version, sid and digestAlgorithm come first.
    let fourth = elements(signer_info.value())?.get(3).copied();
    let field = fourth
        .map(AnyRef::from_der)
        .transpose()
        .map_err(parse)?
        .filter(|f| f.tag() == signed_attrs_tag)
        .ok_or_else(|| SignError::CmsParse("signedAttrs not found".into()))?;
    AnyRef::new(Tag::Set, field.value()).and_then(|set| set.to_der()).map_err(parse)
}

fn unsupported(oid: &ObjectIdentifier) -> SignError {
    invalid(&format!("unsupported algorithm {oid}"))
}

fn invalid(reason: &str) -> SignError {
    SignError::Invalid(reason.to_owned())
}

fn parse(e: der::Error) -> SignError {
    SignError::CmsParse(e.to_string())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use base64::Engine as _;
    use time::macros::datetime;

    use super::*;
    use crate::sign::cms::tests::{generated_signer, nca_signer, openssl};
    use crate::sign::cms::{sign_data, sign_digest};

    const FIXTURES: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/nca/legacy-2020");
    const TIME: time::OffsetDateTime = datetime!(2024-05-01 10:20:30 UTC);

    /// Every file under `dir` whose name starts with one of `prefixes` and ends in `.cms`.
    fn fixtures(dir: &Path, prefixes: &[&str]) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).expect("test file readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                found.extend(fixtures(&path, prefixes));
                continue;
            }
            let name = path.file_name().expect("file name").to_string_lossy().into_owned();
            if name.ends_with(".cms") && prefixes.iter().any(|p| name.starts_with(p)) {
                found.push(path);
            }
        }
        found.sort();
        found
    }

    /// The body of a base64 text file, or of the first block of a PEM file.
    fn base64_file(path: &Path) -> Vec<u8> {
        let text = std::fs::read_to_string(path).expect("test file readable");
        let text = match text.split_once("-----BEGIN") {
            Some((_, armoured)) => armoured.split("-----").nth(1).expect("PEM body").to_owned(),
            None => text,
        };
        let body: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        base64::engine::general_purpose::STANDARD.decode(body).expect("valid base64")
    }

    /// The DER certificate of an NCA test PKCS#12, read by openssl.
    fn p12_certificate(dir: &Path, p12: &Path) -> Vec<u8> {
        let p12 = p12.to_str().expect("UTF-8 path");
        let args = ["pkcs12", "-legacy", "-in", p12, "-passin", "pass:Qwerty12", "-nokeys"];
        assert!(openssl(dir, &[&args[..], &["-clcerts", "-out", "c.pem"]].concat()));
        base64_file(&dir.join("c.pem"))
    }

    fn kalkan_rsa() -> Vec<PathBuf> {
        fixtures(Path::new(FIXTURES), &["RSA256_", "AUTH_RSA256_"])
    }

    fn invalid_reason(result: Result<Vec<VerifiedSigner>, SignError>) -> String {
        match result {
            Err(SignError::Invalid(reason)) => reason,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn kalkan_rsa_fixtures_verify() {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = kalkan_rsa();
        assert_eq!(paths.len(), 6, "{paths:?}");
        for path in paths {
            let cms = base64_file(&path);
            let signers = verify(&cms, None).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            assert_eq!(signers.len(), 1);
            let cert = p12_certificate(dir.path(), &path.with_extension("p12"));
            assert_eq!(signers[0].certificate.der(), cert, "{path:?}");
            let time = signers[0].signing_time.expect("signingTime present");
            assert_eq!(time.year(), 2020, "{path:?}");
            assert_eq!(verify(&cms, Some(b"asdasd")).expect("verifies").len(), 1);
        }
    }

    #[test]
    fn kalkan_signing_time_is_read() {
        let path = Path::new(FIXTURES)
            .join("personal/active/RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9.cms");
        let signers = verify(&base64_file(&path), None).expect("verifies");
        assert_eq!(signers[0].signing_time, Some(datetime!(2020-09-09 20:03:14 UTC)));
    }

    #[test]
    fn kalkan_gost_fixtures_verify() {
        let paths = fixtures(Path::new(FIXTURES), &["GOSTKNCA_"]);
        assert_eq!(paths.len(), 2);
        for path in paths {
            let mut cms = base64_file(&path);
            let signers = verify(&cms, None).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            assert_eq!(signers.len(), 1);
            let stem = path.file_stem().expect("stem").to_string_lossy().into_owned();
            let ski = signers[0].certificate.subject_key_id().expect("SKI");
            assert!(stem.ends_with(&crate::crypto::hex(&ski)), "{stem}");
            assert_eq!(signers[0].signing_time.map(|t| t.year()), Some(2020), "{path:?}");
            let last = cms.len() - 1;
            cms[last] ^= 0x01;
            assert_eq!(invalid_reason(verify(&cms, None)), "the signature value does not verify");
        }
    }

    #[test]
    fn our_signatures_verify() {
        let dir = tempfile::tempdir().expect("temp dir");
        let signer = generated_signer(dir.path());
        let content = b"round trip";
        let digest = HashAlgorithm::Sha256.digest(content);
        let outputs = [
            (sign_data(&signer, content, true, TIME).expect("signs"), None),
            (sign_data(&signer, content, false, TIME).expect("signs"), Some(&content[..])),
            (sign_digest(&signer, &digest, TIME).expect("signs"), Some(&content[..])),
        ];
        for (cms, detached) in outputs {
            let signers = verify(&cms, detached).expect("verifies");
            assert_eq!(signers.len(), 1);
            assert_eq!(&signers[0].certificate, crate::crypto::Signer::certificate(&signer));
            assert_eq!(signers[0].signing_time, Some(TIME));
        }
    }

    #[test]
    fn generalized_signing_time_round_trips() {
        let dir = tempfile::tempdir().expect("temp dir");
        let signer = nca_signer(dir.path());
        let time = datetime!(2051-02-03 04:05:06 UTC);
        let cms = sign_data(&signer, b"later", true, time).expect("signs");
        assert_eq!(verify(&cms, None).expect("verifies")[0].signing_time, Some(time));
    }

    #[test]
    fn flipped_signature_byte_is_rejected() {
        let dir = tempfile::tempdir().expect("temp dir");
        let signer = generated_signer(dir.path());
        let ours = sign_data(&signer, b"flip", true, TIME).expect("signs");
        let kalkan = base64_file(&kalkan_rsa()[0]);
        for mut cms in [ours, kalkan] {
            // Neither carries unsigned attributes, so the signature value ends the DER.
            let last = cms.len() - 1;
            cms[last] ^= 0x01;
            let reason = invalid_reason(verify(&cms, None));
            assert_eq!(reason, "the signature value does not verify");
        }
    }

    #[test]
    fn wrong_detached_content_is_rejected() {
        let dir = tempfile::tempdir().expect("temp dir");
        let signer = generated_signer(dir.path());
        let cms = sign_data(&signer, b"the real content", false, TIME).expect("signs");
        let reason = invalid_reason(verify(&cms, Some(b"the real content!")));
        assert_eq!(reason, "messageDigest does not match the content");
    }

    #[test]
    fn detached_without_content_is_a_parse_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let signer = generated_signer(dir.path());
        let cms = sign_data(&signer, b"content", false, TIME).expect("signs");
        assert!(matches!(verify(&cms, None), Err(SignError::CmsParse(_))));
    }

    #[test]
    fn attached_with_other_given_content_is_rejected() {
        let cms = base64_file(&kalkan_rsa()[0]);
        let reason = invalid_reason(verify(&cms, Some(b"asdasD")));
        assert_eq!(reason, "the given content differs from the content inside the CMS");
    }

    #[test]
    fn openssl_signatures_verify() {
        let dir = tempfile::tempdir().expect("temp dir");
        generated_signer(dir.path());
        std::fs::write(dir.path().join("in.txt"), b"signed by openssl")
            .expect("temp file writable");
        let sign = ["cms", "-sign", "-binary", "-in", "in.txt", "-md", "sha256"];
        let keys = ["-signer", "c.pem", "-inkey", "k.pem", "-outform", "DER", "-nodetach"];
        for (extra, out) in [
            (&[][..], "attrs.der"),
            (&["-noattr"][..], "noattr.der"),
            (&["-keyid"][..], "keyid.der"),
        ] {
            let args = [&sign[..], &keys, extra, &["-out", out]].concat();
            assert!(openssl(dir.path(), &args), "{args:?}");
            let cms = std::fs::read(dir.path().join(out)).expect("test file readable");
            let signers = verify(&cms, None).unwrap_or_else(|e| panic!("{out}: {e}"));
            assert_eq!(signers.len(), 1);
            assert_eq!(signers[0].signing_time.is_none(), out == "noattr.der");
        }
    }

    #[test]
    fn truncated_input_is_an_error() {
        let cms = base64_file(&kalkan_rsa()[0]);
        for len in 0..cms.len() {
            assert!(verify(&cms[..len], None).is_err(), "prefix of {len} bytes");
        }
    }

    #[test]
    fn garbled_input_never_panics() {
        let cms = base64_file(&kalkan_rsa()[0]);
        for at in 0..cms.len() {
            for mask in [0x01, 0x80, 0xff] {
                let mut garbled = cms.clone();
                garbled[at] ^= mask;
                let _ = verify(&garbled, Some(b"asdasd"));
            }
        }
        for junk in [&b""[..], b"\x30", b"\x30\x80\x00\x00", b"\x30\x03\x06\x01\x00", b"hello"] {
            assert!(verify(junk, None).is_err());
        }
    }

    #[test]
    fn non_signed_data_is_a_parse_error() {
        // ContentInfo{id-data, [0] OCTET STRING "x"}.
        let data = b"\x30\x10\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01\xa0\x03\x04\x01x";
        assert!(matches!(verify(data, None), Err(SignError::CmsParse(_))));
    }
}
