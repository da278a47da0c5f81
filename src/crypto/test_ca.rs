//! A GOST-2015-512 certification authority made in the tests, standing in for the NCA during
//! issuance: it reads a PKCS#10 request, checks its self-signature, and issues a certificate
//! for the request's key and subject the way the NCA does (`kz-issuance.md` §4): KeyUsage
//! digitalSignature + nonRepudiation + keyAgreement (critical), EKU emailProtection, SKI = the
//! NCA's key identifier, AKI, the e-mail, and the key-store extension copied without its path.
//! Test support only: never built into a release.

use der::{Decode as _, Encode as _};
use x509_cert::request::CertReq;

use crate::crypto::der_build::{
    bits, boolean, explicit, implicit_primitive, integer, null, octets, oid, seq, tlv,
};
use crate::crypto::gost::{keys, GostCurve};
use crate::crypto::{Certificate, HashAlgorithm};

/// The CA: its key and self-signed certificate.
pub struct TestCa {
    d: zeroize::Zeroizing<Vec<u8>>,
    xy: Vec<u8>,
    /// The CA's certificate (trust it to accept what it issues).
    pub certificate: Certificate,
}

const GOST_512_SIGNATURE: &str = "1.2.398.3.10.1.1.2.3.2";

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Self {
        let (d, xy) = GostCurve::Tc26_512A.generate().expect("a CA key");
        let subject = seq(&[crate::crypto::der_build::set(&[seq(&[
            oid("2.5.4.3"),
            crate::crypto::der_build::utf8(name),
        ])])]);
        let spki = keys::subject_public_key_info(GostCurve::Tc26_512A, &xy).expect("spki");
        let ski = keys::key_identifier(&xy);
        let extensions = vec![
            extension("2.5.29.19", true, &seq(&[boolean(true)])),
            extension("2.5.29.15", true, &bits_with_unused(&[0x06], 1)),
            extension("2.5.29.14", false, &octets(&ski)),
        ];
        let der = sign_certificate(&d, &subject, &subject, &spki, &extensions, 1);
        let certificate = Certificate::from_der(&der).expect("the CA certificate");
        Self { d, xy, certificate }
    }

    /// A certificate for the key and subject of the PKCS#10 `request`, after checking its
    /// self-signature; `None` when the request is malformed or its signature fails.
    pub fn issue(&self, request: &[u8], serial: u32) -> Option<Certificate> {
        let parsed = CertReq::from_der(request).ok()?;
        let info = parsed.info.to_der().ok()?;
        let spki = parsed.info.public_key.to_der().ok()?;
        let public = keys::GostPublicKey::from_spki_der(&spki).ok()?;
        let signature = parsed.signature.as_bytes()?;
        let digest = HashAlgorithm::Streebog512.digest(&info);
        public.curve.verify_digest(&public.xy, &digest, signature).ok()?;
        let subject = parsed.info.subject.to_der().ok()?;
        let mut extensions = vec![
            extension("2.5.29.15", true, &bits_with_unused(&[0xC8], 3)),
            extension("2.5.29.37", false, &seq(&[oid("1.3.6.1.5.5.7.3.4")])),
            extension("2.5.29.14", false, &octets(&keys::key_identifier(&public.xy))),
            extension(
                "2.5.29.35",
                false,
                &seq(&[implicit_primitive(0, &keys::key_identifier(&self.xy))]),
            ),
        ];
        for attribute in parsed.info.attributes.iter() {
            for value in attribute.values.iter() {
                let requested = x509_cert::ext::Extensions::from_der(&value.to_der().ok()?).ok()?;
                for ext in requested {
                    let value = ext.extn_value.as_bytes();
                    let copied = match ext.extn_id.to_string().as_str() {
                        "2.5.29.17" => value.to_vec(),
                        // The key store, without the folder (as the NCA copies it).
                        super::csr::KEY_STORE_EXTENSION => {
                            let info =
                                der::asn1::SequenceOf::<der::Any, 2>::from_der(value).ok()?;
                            seq(&[info.get(0)?.to_der().ok()?])
                        }
                        _ => continue,
                    };
                    extensions.push(extension(&ext.extn_id.to_string(), false, &copied));
                }
            }
        }
        let issuer = self.certificate.inner().tbs_certificate.subject.to_der().ok()?;
        let der = sign_certificate(&self.d, &issuer, &subject, &spki, &extensions, serial);
        Certificate::from_der(&der).ok()
    }
}

/// A certificate signed with the CA key `d`.
fn sign_certificate(
    d: &[u8],
    issuer: &[u8],
    subject: &[u8],
    spki: &[u8],
    extensions: &[Vec<u8>],
    serial: u32,
) -> Vec<u8> {
    let algorithm = seq(&[oid(GOST_512_SIGNATURE), null()]);
    let now = time::OffsetDateTime::now_utc();
    let validity =
        seq(&[utc_time(now - time::Duration::days(1)), utc_time(now + time::Duration::days(365))]);
    let tbs = seq(&[
        explicit(0, &integer(2)),
        integer(serial),
        algorithm.clone(),
        issuer.to_vec(),
        validity,
        subject.to_vec(),
        spki.to_vec(),
        explicit(3, &seq(extensions)),
    ]);
    let digest = HashAlgorithm::Streebog512.digest(&tbs);
    let signature = GostCurve::Tc26_512A.sign_digest(d, &digest).expect("CA signs");
    seq(&[tbs, algorithm, bits(&signature)])
}

/// An Extension: id, criticality (written only when true), and the DER of its value.
fn extension(id: &str, critical: bool, value: &[u8]) -> Vec<u8> {
    let mut fields = vec![oid(id)];
    if critical {
        fields.push(boolean(true));
    }
    fields.push(octets(value));
    seq(&fields)
}

/// A BIT STRING of `bytes` whose last `unused` bits are not part of it.
fn bits_with_unused(bytes: &[u8], unused: u8) -> Vec<u8> {
    tlv(0x03, &[&[unused][..], bytes].concat())
}

fn utc_time(at: time::OffsetDateTime) -> Vec<u8> {
    let format = time::macros::format_description!(
        "[year repr:last_two][month][day][hour][minute][second]Z"
    );
    tlv(0x17, at.format(&format).unwrap_or_default().as_bytes())
}
