//! CAdES-BES CMS SignedData (RFC 5652 §5, ETSI EN 319 122-1 §5.2): attached, detached, and over
//! a given digest, with contentType, signingTime, messageDigest and signingCertificateV2 as
//! Kalkan writes them (`ncalayer-protocol.md` §10.1, `kz-pki.md` §5.1).
//!
//! Algorithms come from [`Signer::algorithm`]; this module names no key family. It builds and
//! encodes only: the key does the signing, and verification lives in `cms_verify`.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier, SignerInfo,
};
use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Encode, Tag};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;

use super::cms_attrs::{self, ID_DATA, ID_SIGNED_DATA};
use super::SignError;
use crate::crypto::Signer;

/// Signs `content`; `attached` embeds it in encapContentInfo. Returns the DER ContentInfo.
pub fn sign_data(
    signer: &dyn Signer,
    content: &[u8],
    attached: bool,
    signing_time: OffsetDateTime,
) -> Result<Vec<u8>, SignError> {
    let digest = signer.algorithm().hash().digest(content);
    build(signer, &digest, attached.then_some(content), signing_time)
}

/// Detached signature over a digest computed elsewhere (its length must match the key's hash).
pub fn sign_digest(
    signer: &dyn Signer,
    digest: &[u8],
    signing_time: OffsetDateTime,
) -> Result<Vec<u8>, SignError> {
    let expected = signer.algorithm().hash().output_len();
    if digest.len() != expected {
        return Err(SignError::DigestLength { expected, got: digest.len() });
    }
    build(signer, digest, None, signing_time)
}

/// ContentInfo{SignedData v1} with one signer over `digest` (RFC 5652 §3, §5.1).
fn build(
    signer: &dyn Signer,
    digest: &[u8],
    econtent: Option<&[u8]>,
    signing_time: OffsetDateTime,
) -> Result<Vec<u8>, SignError> {
    let hash_oid = signer.algorithm().hash().oid();
    let certificate = signer.certificate().inner().clone();
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![algorithm_id(hash_oid)]).map_err(encoding)?,
        encap_content_info: encap_content_info(econtent)?,
        certificates: Some(
            vec![CertificateChoices::Certificate(certificate)].try_into().map_err(encoding)?,
        ),
        crls: None,
        signer_infos: vec![signer_info(signer, digest, signing_time)?]
            .try_into()
            .map_err(encoding)?,
    };
    let content_info = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(encoding)?,
    };
    content_info.to_der().map_err(encoding)
}

/// encapContentInfo of type id-data, carrying the content only when attached (RFC 5652 §5.2).
fn encap_content_info(econtent: Option<&[u8]>) -> Result<EncapsulatedContentInfo, SignError> {
    let econtent = econtent.map(|c| Any::new(Tag::OctetString, c)).transpose().map_err(encoding)?;
    Ok(EncapsulatedContentInfo { econtent_type: ID_DATA, econtent })
}

/// SignerInfo v1 with issuerAndSerialNumber; the signature covers the DER SET OF the signed
/// attributes (RFC 5652 §5.3, §5.4).
pub(super) fn signer_info(
    signer: &dyn Signer,
    digest: &[u8],
    signing_time: OffsetDateTime,
) -> Result<SignerInfo, SignError> {
    let algorithm = signer.algorithm();
    let certificate = signer.certificate();
    let signed_attrs: SignedAttributes = cms_attrs::cades_bes(digest, signing_time, certificate)?;
    let to_be_signed = signed_attrs.to_der().map_err(encoding)?;
    let signature = signer.sign_message(&to_be_signed)?;
    let tbs = &certificate.inner().tbs_certificate;
    Ok(SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        }),
        digest_alg: algorithm_id(algorithm.hash().oid()),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: algorithm_id(algorithm.oid()),
        signature: OctetString::new(signature).map_err(encoding)?,
        unsigned_attrs: None,
    })
}

/// An AlgorithmIdentifier with explicit NULL parameters, as Kalkan writes every one
/// (`kz-pki.md` §1.1).
pub(super) fn algorithm_id(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid, parameters: Some(Any::null()) }
}

fn encoding(e: der::Error) -> SignError {
    SignError::Encoding(e.to_string())
}

#[cfg(test)]
pub(super) mod tests {
    use std::path::Path;
    use std::process::Command;

    use cms::signed_data::SignerInfo;
    use der::Decode;
    use time::macros::datetime;

    use super::*;
    use crate::crypto::rsa::RsaSigner;
    use crate::crypto::{Certificate, HashAlgorithm};
    use crate::sign::cms_attrs::{CONTENT_TYPE, MESSAGE_DIGEST, SIGNING_CERTIFICATE_V2};
    use crate::sign::cms_attrs::{ID_DATA, SIGNING_TIME};

    /// The NCA test key whose certificate signed the Kalkan RSA CMS fixtures.
    const NCA_P12: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/nca/legacy-2020/personal/active/",
        "RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9.p12"
    );
    const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
    const SHA256: &str = "2.16.840.1.101.3.4.2.1";

    /// Runs `openssl` in `dir`; returns whether it succeeded.
    pub(crate) fn openssl(dir: &Path, args: &[&str]) -> bool {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("the openssl CLI is installed");
        out.status.success()
    }

    fn run(dir: &Path, args: &[&str]) {
        assert!(openssl(dir, args), "openssl {args:?} failed");
    }

    fn signer_from_pem(dir: &Path, key_pem: &str, cert_pem: &str) -> RsaSigner {
        let key_args = ["pkcs8", "-topk8", "-nocrypt", "-in", key_pem, "-outform", "DER"];
        run(dir, &[&key_args[..], &["-out", "key.der"]].concat());
        run(dir, &["x509", "-in", cert_pem, "-outform", "DER", "-out", "cert.der"]);
        let cert = Certificate::from_der(
            &std::fs::read(dir.join("cert.der")).expect("test file readable"),
        )
        .expect("certificate parses");
        RsaSigner::from_pkcs8(
            &std::fs::read(dir.join("key.der")).expect("test file readable"),
            cert,
        )
        .expect("key matches certificate")
    }

    /// A fresh RSA-2048 key with a self-signed certificate, as `k.pem` / `c.pem` in `dir`.
    pub(crate) fn generated_signer(dir: &Path) -> RsaSigner {
        let subject = ["-subj", "/CN=Test", "-days", "30"];
        let req = ["req", "-x509", "-newkey", "rsa:2048", "-nodes"];
        let files = ["-keyout", "k.pem", "-out", "c.pem"];
        run(dir, &[&req[..], &files, &subject].concat());
        signer_from_pem(dir, "k.pem", "c.pem")
    }

    /// The NCA test RSA key (its certificate has expired; signatures still check).
    pub(crate) fn nca_signer(dir: &Path) -> RsaSigner {
        let p12 = ["pkcs12", "-legacy", "-in", NCA_P12, "-passin", "pass:Qwerty12"];
        run(dir, &[&p12[..], &["-nodes", "-nocerts", "-out", "k.pem"]].concat());
        run(dir, &[&p12[..], &["-nokeys", "-clcerts", "-out", "c.pem"]].concat());
        signer_from_pem(dir, "k.pem", "c.pem")
    }

    /// Whether `openssl cms -verify` accepts the signature (chain not checked); for detached
    /// ones `content` is passed as the content file.
    pub(crate) fn openssl_accepts(dir: &Path, cms: &[u8], detached: Option<&[u8]>) -> bool {
        std::fs::write(dir.join("sig.der"), cms).expect("temp file writable");
        let mut args = vec!["cms", "-verify", "-inform", "DER", "-in", "sig.der", "-noverify"];
        args.extend(["-out", "verified.bin"]);
        if let Some(content) = detached {
            std::fs::write(dir.join("content.bin"), content).expect("temp file writable");
            args.extend(["-content", "content.bin", "-binary"]);
        }
        openssl(dir, &args)
    }

    fn signed_data(cms: &[u8]) -> SignedData {
        let info = ContentInfo::from_der(cms).expect("ContentInfo parses");
        assert_eq!(info.content_type, ID_SIGNED_DATA);
        info.content.decode_as().expect("SignedData parses")
    }

    fn only_signer(data: &SignedData) -> SignerInfo {
        assert_eq!(data.signer_infos.0.len(), 1);
        data.signer_infos.0.iter().next().expect("one signer").clone()
    }

    fn flip_first(haystack: &mut [u8], needle: &[u8]) {
        let at = haystack.windows(needle.len()).position(|w| w == needle).expect("needle occurs");
        haystack[at] ^= 0x01;
    }

    const TIME: OffsetDateTime = datetime!(2024-05-01 10:20:30 UTC);

    #[test]
    fn attached_signature_verifies_with_openssl() {
        let dir = tempfile::tempdir().expect("temp dir");
        let signer = generated_signer(dir.path());
        let content = b"Qoltanba attached content";
        let mut cms = sign_data(&signer, content, true, TIME).expect("signs");
        assert!(openssl_accepts(dir.path(), &cms, None));
        assert_eq!(
            std::fs::read(dir.path().join("verified.bin")).expect("test file readable"),
            content
        );

        flip_first(&mut cms, content);
        assert!(!openssl_accepts(dir.path(), &cms, None));
    }

    #[test]
    fn detached_signature_verifies_with_openssl() {
        let dir = tempfile::tempdir().expect("temp dir");
        let signer = nca_signer(dir.path());
        let content = b"Qoltanba detached content".to_vec();
        let cms = sign_data(&signer, &content, false, TIME).expect("signs");
        assert!(openssl_accepts(dir.path(), &cms, Some(&content)));
        assert_eq!(signed_data(&cms).encap_content_info.econtent, None);

        let mut changed = content.clone();
        changed[0] ^= 0x01;
        assert!(!openssl_accepts(dir.path(), &cms, Some(&changed)));
    }

    #[test]
    fn digest_signature_verifies_with_openssl() {
        let dir = tempfile::tempdir().expect("temp dir");
        let signer = nca_signer(dir.path());
        let content = b"Qoltanba content hashed elsewhere".to_vec();
        let digest = HashAlgorithm::Sha256.digest(&content);
        let cms = sign_digest(&signer, &digest, TIME).expect("signs");
        assert!(openssl_accepts(dir.path(), &cms, Some(&content)));
        assert_eq!(signed_data(&cms).encap_content_info.econtent, None);

        let mut changed = content.clone();
        changed[5] ^= 0x01;
        assert!(!openssl_accepts(dir.path(), &cms, Some(&changed)));
    }

    #[test]
    fn digest_of_wrong_length_is_rejected() {
        let dir = tempfile::tempdir().expect("temp dir");
        let signer = generated_signer(dir.path());
        for got in [0, 20, 31, 33, 64] {
            let err =
                sign_digest(&signer, &vec![0; got], TIME).expect_err("wrong length is refused");
            assert!(
                matches!(err, SignError::DigestLength { expected: 32, got: g } if g == got),
                "{err:?}"
            );
        }
    }

    #[test]
    fn output_has_kalkan_shape() {
        let dir = tempfile::tempdir().expect("temp dir");
        let signer = generated_signer(dir.path());
        let cms = sign_data(&signer, b"asdasd", true, TIME).expect("signs");
        let data = signed_data(&cms);
        assert_eq!(data.version, CmsVersion::V1);
        let digest_algorithms: Vec<_> = data.digest_algorithms.iter().cloned().collect();
        assert_eq!(digest_algorithms, vec![algorithm_id(HashAlgorithm::Sha256.oid())]);
        assert_eq!(data.encap_content_info.econtent_type, ID_DATA);
        let econtent = data.encap_content_info.econtent.as_ref().expect("attached");
        assert_eq!(econtent.to_der().expect("encodes"), b"\x04\x06asdasd");
        let certs: Vec<_> =
            data.certificates.as_ref().expect("certificates present").0.iter().cloned().collect();
        let ours = CertificateChoices::Certificate(signer.certificate().inner().clone());
        assert_eq!(certs, vec![ours]);
        assert!(data.crls.is_none());

        let info = only_signer(&data);
        assert_eq!(info.version, CmsVersion::V1);
        let SignerIdentifier::IssuerAndSerialNumber(sid) = &info.sid else {
            panic!("sid is not issuerAndSerialNumber");
        };
        let tbs = &signer.certificate().inner().tbs_certificate;
        assert_eq!((&sid.issuer, &sid.serial_number), (&tbs.issuer, &tbs.serial_number));
        assert_eq!(info.digest_alg.oid.to_string(), SHA256);
        assert_eq!(info.digest_alg.parameters, Some(Any::null()));
        assert_eq!(info.signature_algorithm.oid.to_string(), SHA256_WITH_RSA);
        assert_eq!(info.signature_algorithm.parameters, Some(Any::null()));
        assert!(info.unsigned_attrs.is_none());
        assert_eq!(info.signature.as_bytes().len(), 256);
    }

    #[test]
    fn signed_attributes_are_the_four_kalkan_writes_in_der_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let signer = generated_signer(dir.path());
        let content = b"attributes";
        let cms = sign_data(&signer, content, false, TIME).expect("signs");
        let attrs =
            only_signer(&signed_data(&cms)).signed_attrs.expect("signed attributes present");
        let oids: Vec<_> = attrs.iter().map(|a| a.oid).collect();
        let expected = [CONTENT_TYPE, SIGNING_TIME, MESSAGE_DIGEST, SIGNING_CERTIFICATE_V2];
        assert_eq!(oids, expected);
        assert_eq!(
            expected.map(|o| o.to_string()),
            [
                "1.2.840.113549.1.9.3",
                "1.2.840.113549.1.9.5",
                "1.2.840.113549.1.9.4",
                "1.2.840.113549.1.9.16.2.47"
            ]
        );
        let value = |i: usize| {
            let attr = attrs.iter().nth(i).expect("attribute present");
            assert_eq!(attr.values.len(), 1);
            attr.values.iter().next().expect("one value").to_der().expect("encodes")
        };
        assert_eq!(value(0), ID_DATA.to_der().expect("encodes"));
        assert_eq!(value(1), b"\x17\x0d240501102030Z");
        let digest = HashAlgorithm::Sha256.digest(content);
        assert_eq!(value(2), [&[0x04, 0x20][..], &digest].concat());
        let cert_hash = HashAlgorithm::Sha256.digest(signer.certificate().der());
        let ess = [&[0x30, 0x26, 0x30, 0x24, 0x30, 0x22, 0x04, 0x20][..], &cert_hash].concat();
        assert_eq!(value(3), ess);
    }

    #[test]
    fn openssl_reads_the_signed_attributes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let signer = generated_signer(dir.path());
        let cms = sign_data(&signer, b"print me", true, TIME).expect("signs");
        std::fs::write(dir.path().join("sig.der"), &cms).expect("temp file writable");
        let out = Command::new("openssl")
            .current_dir(dir.path())
            .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in", "sig.der"])
            .output()
            .expect("openssl runs");
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        for needle in [
            "contentType (1.2.840.113549.1.9.3)",
            "signingTime (1.2.840.113549.1.9.5)",
            "UTCTIME:May  1 10:20:30 2024 GMT",
            "messageDigest (1.2.840.113549.1.9.4)",
            "(1.2.840.113549.1.9.16.2.47)",
            "sha256WithRSAEncryption (1.2.840.113549.1.1.11)",
        ] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
        let signer_info = text.split("signerInfos:").nth(1).expect("signerInfos printed");
        let signed_attrs = signer_info.split("signedAttrs:").nth(1).expect("signedAttrs printed");
        assert_eq!(signed_attrs.matches("object:").count(), 4);
        // digestAlgorithm, signatureAlgorithm: both with NULL parameters.
        assert_eq!(signer_info.matches("parameter: NULL").count(), 2);
    }
}
