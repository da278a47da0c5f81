//! CMS content-type OIDs and the CAdES-BES signed attributes: building the four Kalkan writes
//! (contentType, signingTime, messageDigest — RFC 5652 §11.1–§11.3 — and signingCertificateV2,
//! RFC 5035 §3) and reading them back for verification. Owns the attribute encodings only;
//! it neither signs nor verifies.

use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Encode, Tag, Tagged};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use x509_cert::attr::Attribute;

use super::SignError;
use crate::crypto::{Certificate, HashAlgorithm};

/// id-data (RFC 5652 §4).
pub const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// id-signedData (RFC 5652 §5.1).
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-contentType (RFC 5652 §11.1).
pub const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest (RFC 5652 §11.2).
pub const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// id-signingTime (RFC 5652 §11.3).
pub const SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// id-aa-signingCertificateV2 (RFC 5035 §3).
pub const SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// The signed attributes of a CAdES-BES signature over id-data content, as a DER SET OF
/// (sorted by encoding, X.690 §11.6). `digest` is the messageDigest value.
pub fn cades_bes(
    digest: &[u8],
    signing_time: OffsetDateTime,
    certificate: &Certificate,
) -> Result<SetOfVec<Attribute>, SignError> {
    let attributes = vec![
        attribute(CONTENT_TYPE, Any::encode_from(&ID_DATA).map_err(encoding)?)?,
        attribute(SIGNING_TIME, time_value(signing_time)?)?,
        attribute(MESSAGE_DIGEST, Any::new(Tag::OctetString, digest).map_err(encoding)?)?,
        attribute(SIGNING_CERTIFICATE_V2, signing_certificate_v2(certificate)?)?,
    ];
    SetOfVec::try_from(attributes).map_err(encoding)
}

/// One attribute with a single value.
fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, SignError> {
    let values = SetOfVec::try_from(vec![value]).map_err(encoding)?;
    Ok(Attribute { oid, values })
}

/// SigningCertificateV2 with one ESSCertIDv2 (RFC 5035 §4): the SHA-256 hash of the
/// certificate, hashAlgorithm left at its DEFAULT (so omitted) and no issuerSerial, as Kalkan
/// writes it (`kz-pki.md` §5.1).
fn signing_certificate_v2(certificate: &Certificate) -> Result<Any, SignError> {
    let hash = HashAlgorithm::Sha256.digest(certificate.der());
    let cert_hash = OctetString::new(hash).and_then(|h| h.to_der());
    let ess_cert_id = cert_hash.and_then(|h| Any::new(Tag::Sequence, h)?.to_der());
    let certs = ess_cert_id.and_then(|e| Any::new(Tag::Sequence, e)?.to_der());
    certs.and_then(|c| Any::new(Tag::Sequence, c)).map_err(encoding)
}

/// The signingTime value: UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5652 §11.3),
/// in UTC with whole seconds (X.690 §11.7, §11.8).
pub fn time_value(time: OffsetDateTime) -> Result<Any, SignError> {
    let t = time.to_offset(UtcOffset::UTC);
    let year = t.year();
    let rest = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let (tag, text) = match year {
        1950..=2049 => (Tag::UtcTime, format!("{:02}{rest}", year % 100)),
        0..=9999 => (Tag::GeneralizedTime, format!("{year:04}{rest}")),
        _ => return Err(SignError::Encoding(format!("signingTime year {year}"))),
    };
    Any::new(tag, text.into_bytes()).map_err(encoding)
}

/// Parses a signingTime value: UTCTime `YYMMDDHHMMSSZ` (years 50–99 are 19xx, RFC 5280
/// §4.1.2.5.1) or GeneralizedTime `YYYYMMDDHHMMSS[.f]Z`.
pub fn parse_time(value: &Any) -> Result<OffsetDateTime, SignError> {
    let bad = || SignError::CmsParse("malformed signingTime".into());
    let text = std::str::from_utf8(value.value()).map_err(|_| bad())?;
    let text = text.strip_suffix('Z').ok_or_else(bad)?;
    let (year, rest) = match value.tag() {
        Tag::UtcTime if text.len() == 12 => {
            let yy = number(text, 0..2).ok_or_else(bad)?;
            let century = if yy >= 50 { 1900 } else { 2000 };
            (century + yy, text.get(2..).ok_or_else(bad)?)
        }
        Tag::GeneralizedTime if text.len() >= 14 => {
            let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
            let fraction_ok = !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit());
            if whole.len() != 14 || !fraction_ok {
                return Err(bad());
            }
            (number(whole, 0..4).ok_or_else(bad)?, whole.get(4..).ok_or_else(bad)?)
        }
        _ => return Err(bad()),
    };
    calendar(year, rest).ok_or_else(bad)
}

/// Builds a UTC date-time from a year and `MMDDHHMMSS`.
fn calendar(year: u32, rest: &str) -> Option<OffsetDateTime> {
    let field = |i: usize| number(rest, i..i + 2).and_then(|n| u8::try_from(n).ok());
    let month = Month::try_from(field(0)?).ok()?;
    let date = Date::from_calendar_date(i32::try_from(year).ok()?, month, field(2)?).ok()?;
    let time = Time::from_hms(field(4)?, field(6)?, field(8)?).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// The decimal number in `text[range]`, digits only (no sign).
fn number(text: &str, range: std::ops::Range<usize>) -> Option<u32> {
    let digits = text.get(range)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The single value of the attribute `oid`, if present. More than one attribute of that type,
/// or one with other than exactly one value, is an error (RFC 5652 §5.3, §11).
pub fn single_value(
    attributes: &SetOfVec<Attribute>,
    oid: ObjectIdentifier,
) -> Result<Option<&Any>, SignError> {
    let mut matching = attributes.iter().filter(|a| a.oid == oid);
    let Some(attribute) = matching.next() else {
        return Ok(None);
    };
    if matching.next().is_some() || attribute.values.len() != 1 {
        return Err(SignError::Invalid(format!(
            "the signed attribute {oid} must occur once with one value"
        )));
    }
    Ok(attribute.values.iter().next())
}

fn encoding(e: der::Error) -> SignError {
    SignError::Encoding(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn encoded(t: OffsetDateTime) -> Vec<u8> {
        time_value(t).and_then(|v| v.to_der().map_err(encoding)).expect("encodes")
    }

    #[test]
    fn signing_time_is_utctime_from_1950_to_2049() {
        assert_eq!(encoded(datetime!(2020-09-09 20:03:14.75 UTC)), b"\x17\x0d200909200314Z");
        assert_eq!(encoded(datetime!(1950-01-01 0:00 UTC)), b"\x17\x0d500101000000Z");
        assert_eq!(encoded(datetime!(2049-12-31 23:59:59 UTC)), b"\x17\x0d491231235959Z");
    }

    #[test]
    fn signing_time_is_generalized_outside_utctime_range() {
        assert_eq!(encoded(datetime!(2050-01-01 0:00 UTC)), b"\x18\x0f20500101000000Z");
        assert_eq!(encoded(datetime!(1949-12-31 23:59:59 UTC)), b"\x18\x0f19491231235959Z");
    }

    #[test]
    fn signing_time_is_written_in_utc() {
        assert_eq!(encoded(datetime!(2024-05-01 05:00 +5)), b"\x17\x0d240501000000Z");
    }

    #[test]
    fn signing_time_round_trips() {
        for t in [
            datetime!(1950-01-01 0:00 UTC),
            datetime!(2020-09-09 20:03:14 UTC),
            datetime!(2049-12-31 23:59:59 UTC),
            datetime!(2050-01-01 0:00 UTC),
            datetime!(1900-02-28 12:00 UTC),
        ] {
            assert_eq!(parse_time(&time_value(t).expect("encodes")).expect("parses"), t);
        }
    }

    #[test]
    fn generalized_time_fraction_is_accepted() {
        let v = Any::new(Tag::GeneralizedTime, b"20500101000000.5Z".to_vec())
            .expect("valid test value");
        assert_eq!(parse_time(&v).expect("parses"), datetime!(2050-01-01 0:00 UTC));
    }

    #[test]
    fn malformed_times_are_rejected() {
        for (tag, text) in [
            (Tag::UtcTime, &b"2009092003Z"[..]),
            (Tag::UtcTime, b"200909200314"),
            (Tag::UtcTime, b"20+909200314Z"),
            (Tag::UtcTime, b"201309200314Z"),
            (Tag::UtcTime, b"200931200314Z"),
            (Tag::UtcTime, b"20090920031\xffZ"),
            (Tag::GeneralizedTime, b"20500101000000.Z5"),
            (Tag::GeneralizedTime, b"2050010100000Z"),
            (Tag::GeneralizedTime, b"20500101000000.Z"),
            (Tag::UtcTime, "2é090920031Z".as_bytes()),
            (Tag::OctetString, b"200909200314Z"),
        ] {
            let v = Any::new(tag, text.to_vec()).expect("valid test value");
            assert!(parse_time(&v).is_err(), "{text:?}");
        }
    }
}
