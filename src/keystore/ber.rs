//! A small BER reader that normalises BER (indefinite lengths, constructed strings) to DER,
//! so the strict RustCrypto `der` types can parse NCA files (X.690 §8.1.3, §8.7, §10).
//!
//! [`Tlv`] borrows one element of the input and walks its children; [`to_der`] re-encodes an
//! element with definite lengths and constructed universal strings flattened (X.690 §10.1,
//! §10.2). Implicitly tagged constructed strings (such as PKCS#7 `[0] encryptedContent`) are read
//! with [`Tlv::octets`], which concatenates the segments whatever the outer tag is. Recursion is
//! bounded by [`MAX_DEPTH`]; nothing here panics on hostile input. SET OF ordering is left as
//! encoded.

use std::borrow::Cow;

use const_oid::ObjectIdentifier;

/// The deepest nesting of constructed elements the reader accepts.
pub const MAX_DEPTH: usize = 48;

/// Universal tag numbers used by the callers (X.680 §8.4).
pub mod tag {
    /// INTEGER.
    pub const INTEGER: u32 = 2;
    /// BIT STRING.
    pub const BIT_STRING: u32 = 3;
    /// OCTET STRING.
    pub const OCTET_STRING: u32 = 4;
    /// OBJECT IDENTIFIER.
    pub const OID: u32 = 6;
    /// SEQUENCE / SEQUENCE OF.
    pub const SEQUENCE: u32 = 16;
    /// SET / SET OF.
    pub const SET: u32 = 17;
    /// BMPString.
    pub const BMP_STRING: u32 = 30;
}

/// Errors of the BER reader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BerError {
    /// The input ends inside an element.
    #[error("truncated BER data")]
    Truncated,
    /// The encoding breaks a BER rule.
    #[error("malformed BER: {0}")]
    Malformed(&'static str),
    /// The elements nest deeper than [`MAX_DEPTH`].
    #[error("BER nesting deeper than {MAX_DEPTH}")]
    TooDeep,
    /// An element is not of the expected type.
    #[error("unexpected BER element: {0}")]
    Unexpected(&'static str),
}

/// The class of a tag (X.690 §8.1.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// UNIVERSAL.
    Universal,
    /// APPLICATION.
    Application,
    /// Context-specific (`[n]`).
    Context,
    /// PRIVATE.
    Private,
}

/// An identifier octet sequence, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// Tag class.
    pub class: Class,
    /// Constructed (true) or primitive encoding.
    pub constructed: bool,
    /// Tag number.
    pub number: u32,
}

impl Tag {
    /// Whether this is the universal tag `number`, in either encoding.
    pub fn is_universal(&self, number: u32) -> bool {
        self.class == Class::Universal && self.number == number
    }

    /// Whether this is the context-specific tag `[number]`, in either encoding.
    pub fn is_context(&self, number: u32) -> bool {
        self.class == Class::Context && self.number == number
    }
}

/// One BER element borrowed from the input. Its `Debug` shows the tag and length only, since
/// the input may be decrypted key material.
#[derive(Clone, Copy)]
pub struct Tlv<'a> {
    /// The decoded tag.
    pub tag: Tag,
    /// The identifier octets as encoded.
    tag_bytes: &'a [u8],
    /// The contents octets (without the end-of-contents marker of an indefinite length).
    contents: &'a [u8],
    /// The whole element as encoded, header and end-of-contents included.
    raw: &'a [u8],
    depth: usize,
}

impl std::fmt::Debug for Tlv<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tlv").field("tag", &self.tag).field("len", &self.contents.len()).finish()
    }
}

impl<'a> Tlv<'a> {
    /// Parses the one element that fills `input` exactly.
    pub fn parse_all(input: &'a [u8]) -> Result<Self, BerError> {
        let (tlv, rest) = Self::parse(input)?;
        if !rest.is_empty() {
            return Err(BerError::Malformed("trailing data after the element"));
        }
        Ok(tlv)
    }

    /// Parses the first element of `input` and returns it with the bytes after it.
    pub fn parse(input: &'a [u8]) -> Result<(Self, &'a [u8]), BerError> {
        parse_at(input, 0)
    }

    /// The contents octets as encoded (for a constructed element, its children's encodings).
    pub fn contents(&self) -> &'a [u8] {
        self.contents
    }

    /// The whole element as encoded.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The children of a constructed element.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>, BerError> {
        if !self.tag.constructed {
            return Err(BerError::Unexpected("primitive element where constructed expected"));
        }
        let mut out = Vec::new();
        let mut rest = self.contents;
        while !rest.is_empty() {
            let (child, next) = parse_at(rest, self.depth + 1)?;
            out.push(child);
            rest = next;
        }
        Ok(out)
    }

    /// The children of a SEQUENCE.
    pub fn sequence(&self) -> Result<Vec<Tlv<'a>>, BerError> {
        self.expect_universal(tag::SEQUENCE, "SEQUENCE expected")?;
        self.children()
    }

    /// Fails unless this element has the universal tag `number`.
    pub fn expect_universal(&self, number: u32, what: &'static str) -> Result<(), BerError> {
        match self.tag.is_universal(number) {
            true => Ok(()),
            false => Err(BerError::Unexpected(what)),
        }
    }

    /// The value of a string type, primitive or constructed (segments concatenated, X.690
    /// §8.7.3), whatever the outer tag (so `[0] IMPLICIT OCTET STRING` works too).
    pub fn octets(&self) -> Result<Cow<'a, [u8]>, BerError> {
        if !self.tag.constructed {
            return Ok(Cow::Borrowed(self.contents));
        }
        let mut out = Vec::new();
        for child in self.children()? {
            if child.tag.class != Class::Universal {
                return Err(BerError::Malformed("string segment with a non-universal tag"));
            }
            out.extend_from_slice(&child.octets()?);
        }
        Ok(Cow::Owned(out))
    }

    /// The value of an OBJECT IDENTIFIER.
    pub fn oid(&self) -> Result<ObjectIdentifier, BerError> {
        if !self.tag.is_universal(tag::OID) || self.tag.constructed {
            return Err(BerError::Unexpected("OBJECT IDENTIFIER expected"));
        }
        ObjectIdentifier::from_bytes(self.contents)
            .map_err(|_| BerError::Malformed("invalid OBJECT IDENTIFIER"))
    }

    /// The value of a non-negative INTEGER that fits in a `u64`.
    pub fn uint(&self) -> Result<u64, BerError> {
        if !self.tag.is_universal(tag::INTEGER) || self.tag.constructed {
            return Err(BerError::Unexpected("INTEGER expected"));
        }
        let bytes = self.contents;
        match bytes.first() {
            None => Err(BerError::Malformed("empty INTEGER")),
            Some(first) if first & 0x80 != 0 => Err(BerError::Unexpected("negative INTEGER")),
            Some(_) => {
                let bytes = strip_leading_zeros(bytes);
                if bytes.len() > 8 {
                    return Err(BerError::Unexpected("INTEGER too large"));
                }
                Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
            }
        }
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// Re-encodes one BER element (which must fill `input`) as DER: definite minimal lengths,
/// constructed universal strings flattened to primitive ones.
pub fn to_der(input: &[u8]) -> Result<Vec<u8>, BerError> {
    let tlv = Tlv::parse_all(input)?;
    let mut out = Vec::with_capacity(input.len());
    encode_der(&tlv, &mut out)?;
    Ok(out)
}

/// Appends the DER form of `tlv` to `out`.
pub fn encode_der(tlv: &Tlv<'_>, out: &mut Vec<u8>) -> Result<(), BerError> {
    if !tlv.tag.constructed {
        push_element(out, tlv.tag_bytes, tlv.contents);
        return Ok(());
    }
    if is_string_type(&tlv.tag) {
        let value = flattened_string(tlv)?;
        let mut tag_bytes = tlv.tag_bytes.to_vec();
        if let Some(first) = tag_bytes.first_mut() {
            *first &= !0x20;
        }
        push_element(out, &tag_bytes, &value);
        return Ok(());
    }
    let mut body = Vec::with_capacity(tlv.contents.len());
    for child in tlv.children()? {
        encode_der(&child, &mut body)?;
    }
    push_element(out, tlv.tag_bytes, &body);
    Ok(())
}

/// The value of a constructed universal string; for BIT STRING the unused-bits octet of each
/// segment is dropped and the last one kept (X.690 §8.6.4).
fn flattened_string(tlv: &Tlv<'_>) -> Result<Vec<u8>, BerError> {
    if !tlv.tag.is_universal(tag::BIT_STRING) || !tlv.tag.constructed {
        return Ok(tlv.octets()?.into_owned());
    }
    let mut unused = 0u8;
    let mut bits = Vec::new();
    for child in tlv.children()? {
        let segment = flattened_string(&child)?;
        let (first, rest) =
            segment.split_first().ok_or(BerError::Malformed("empty BIT STRING segment"))?;
        if unused != 0 {
            return Err(BerError::Malformed("unused bits inside a BIT STRING"));
        }
        unused = *first;
        bits.extend_from_slice(rest);
    }
    let mut out = vec![unused];
    out.extend_from_slice(&bits);
    Ok(out)
}

/// Universal string types, which X.690 §8.7 / §8.21 allow in constructed form.
fn is_string_type(tag: &Tag) -> bool {
    tag.class == Class::Universal && matches!(tag.number, 3 | 4 | 12 | 18..=30)
}

fn push_element(out: &mut Vec<u8>, tag_bytes: &[u8], contents: &[u8]) {
    out.extend_from_slice(tag_bytes);
    push_length(out, contents.len());
    out.extend_from_slice(contents);
}

fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let significant = strip_leading_zeros(&bytes);
    out.push(0x80 | significant.len() as u8);
    out.extend_from_slice(significant);
}

fn parse_at(input: &[u8], depth: usize) -> Result<(Tlv<'_>, &[u8]), BerError> {
    if depth > MAX_DEPTH {
        return Err(BerError::TooDeep);
    }
    let (tag, tag_len) = parse_tag(input)?;
    let after_tag = input.get(tag_len..).ok_or(BerError::Truncated)?;
    let (length, len_len) = parse_length(after_tag)?;
    let header_len = tag_len + len_len;
    let body = input.get(header_len..).ok_or(BerError::Truncated)?;
    let (contents_len, total_len) = match length {
        Some(len) if len <= body.len() => (len, header_len + len),
        Some(_) => return Err(BerError::Truncated),
        None if !tag.constructed => return Err(BerError::Malformed("indefinite primitive")),
        None => {
            let len = indefinite_contents_len(body, depth)?;
            (len, header_len + len + 2)
        }
    };
    let tlv = Tlv {
        tag,
        tag_bytes: input.get(..tag_len).ok_or(BerError::Truncated)?,
        contents: body.get(..contents_len).ok_or(BerError::Truncated)?,
        raw: input.get(..total_len).ok_or(BerError::Truncated)?,
        depth,
    };
    Ok((tlv, input.get(total_len..).ok_or(BerError::Truncated)?))
}

/// Length of the contents of an indefinite-length element, up to its end-of-contents marker.
fn indefinite_contents_len(body: &[u8], depth: usize) -> Result<usize, BerError> {
    let mut rest = body;
    loop {
        match rest {
            [0, 0, ..] => return Ok(body.len() - rest.len()),
            [] | [_] => return Err(BerError::Truncated),
            _ => rest = parse_at(rest, depth + 1)?.1,
        }
    }
}

fn parse_tag(input: &[u8]) -> Result<(Tag, usize), BerError> {
    let first = *input.first().ok_or(BerError::Truncated)?;
    let class = match first >> 6 {
        0 => Class::Universal,
        1 => Class::Application,
        2 => Class::Context,
        _ => Class::Private,
    };
    let constructed = first & 0x20 != 0;
    if first & 0x1F != 0x1F {
        let number = u32::from(first & 0x1F);
        return Ok((Tag { class, constructed, number }, 1));
    }
    let mut number: u32 = 0;
    for (i, byte) in input.iter().enumerate().skip(1).take(4) {
        number = (number << 7) | u32::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            return Ok((Tag { class, constructed, number }, i + 1));
        }
    }
    match input.len() {
        0..=4 => Err(BerError::Truncated),
        _ => Err(BerError::Malformed("tag number too large")),
    }
}

/// Returns the length (`None` for indefinite) and the size of the length octets.
fn parse_length(input: &[u8]) -> Result<(Option<usize>, usize), BerError> {
    let first = *input.first().ok_or(BerError::Truncated)?;
    match first {
        0x80 => Ok((None, 1)),
        0..=0x7F => Ok((Some(usize::from(first)), 1)),
        0xFF => Err(BerError::Malformed("reserved length octet")),
        _ => {
            let count = usize::from(first & 0x7F);
            if count > 4 {
                return Err(BerError::Malformed("length too large"));
            }
            let bytes = input.get(1..=count).ok_or(BerError::Truncated)?;
            let len = bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            Ok((Some(len), 1 + count))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indefinite_sequence_with_constructed_octets_becomes_der() {
        // SEQUENCE(indef) { OCTET STRING(constructed, indef) { 04 01 AA, 04 02 BB CC }, NULL }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x01, 0xAA, 0x04, 0x02, 0xBB, 0xCC, 0x00, 0x00, 0x05,
            0x00, 0x00, 0x00,
        ];
        let der = to_der(&ber).expect("valid BER");
        assert_eq!(der, [0x30, 0x07, 0x04, 0x03, 0xAA, 0xBB, 0xCC, 0x05, 0x00]);
    }

    #[test]
    fn implicit_constructed_context_string_is_read_by_octets() {
        let ber = [0xA0, 0x80, 0x04, 0x02, 0x01, 0x02, 0x04, 0x01, 0x03, 0x00, 0x00];
        let tlv = Tlv::parse_all(&ber).expect("valid BER");
        assert!(tlv.tag.is_context(0));
        assert_eq!(&*tlv.octets().expect("segments"), &[1, 2, 3]);
        // Re-encoded as DER, a context tag keeps its children (it may be EXPLICIT).
        assert_eq!(
            to_der(&ber).expect("valid"),
            [0xA0, 0x07, 0x04, 0x02, 0x01, 0x02, 0x04, 0x01, 0x03]
        );
    }

    #[test]
    fn long_lengths_and_integers() {
        let mut ber = vec![0x04, 0x82, 0x01, 0x00];
        ber.extend(std::iter::repeat_n(7u8, 256));
        let tlv = Tlv::parse_all(&ber).expect("valid");
        assert_eq!(tlv.contents().len(), 256);
        assert_eq!(to_der(&ber).expect("valid"), ber);
        let int = Tlv::parse_all(&[0x02, 0x02, 0x04, 0x00]).expect("valid");
        assert_eq!(int.uint(), Ok(1024));
        let neg = Tlv::parse_all(&[0x02, 0x01, 0x80]).expect("valid");
        assert!(neg.uint().is_err());
    }

    #[test]
    fn constructed_bit_string_keeps_last_unused_bits() {
        let ber = [0x23, 0x80, 0x03, 0x02, 0x00, 0xAA, 0x03, 0x02, 0x04, 0xF0, 0x00, 0x00];
        assert_eq!(to_der(&ber).expect("valid"), [0x03, 0x03, 0x04, 0xAA, 0xF0]);
    }

    #[test]
    fn hostile_inputs_are_errors() {
        let cases: &[&[u8]] = &[
            &[],
            &[0x30],
            &[0x30, 0x80],
            &[0x30, 0x80, 0x00],
            &[0x04, 0x80, 0x00, 0x00],
            &[0x04, 0x85, 1, 1, 1, 1, 1],
            &[0x04, 0x05, 1],
            &[0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00],
            &[0x30, 0x02, 0x04, 0x05],
            &[0x04, 0x01, 0x00, 0x00],
        ];
        for case in cases {
            assert!(to_der(case).is_err(), "{case:02x?}");
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut ber = Vec::new();
        for _ in 0..10_000 {
            ber.extend_from_slice(&[0x30, 0x80]);
        }
        for _ in 0..10_000 {
            ber.extend_from_slice(&[0x00, 0x00]);
        }
        assert_eq!(to_der(&ber), Err(BerError::TooDeep));
    }
}
