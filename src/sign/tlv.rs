//! DER at the level of tag, length and value: walking the elements of a structure as received
//! and writing new ones with definite lengths. Used where bytes must stay exactly as they came
//! (signed attributes, other signers of a CMS, a time-stamp token) and the typed `der`
//! structures would re-encode them.

use der::{AnyRef, Decode, Reader, SliceReader};

use super::SignError;

/// The TLVs that make up `bytes`, in order.
pub fn elements(bytes: &[u8]) -> Result<Vec<&[u8]>, SignError> {
    let mut reader = SliceReader::new(bytes).map_err(parse)?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        out.push(reader.tlv_bytes().map_err(parse)?);
    }
    Ok(out)
}

/// The value octets of one TLV.
pub fn value(tlv: &[u8]) -> Result<&[u8], SignError> {
    AnyRef::from_der(tlv).map(|any| any.value()).map_err(parse)
}

/// The elements inside one constructed TLV.
pub fn children(tlv: &[u8]) -> Result<Vec<&[u8]>, SignError> {
    elements(value(tlv)?)
}

/// The identifier octet of a TLV (every tag this crate splices fits in one octet).
pub fn tag(tlv: &[u8]) -> Result<u8, SignError> {
    tlv.first().copied().ok_or_else(|| SignError::CmsParse("empty element".into()))
}

/// A TLV with the identifier octet `tag` around `content`, with a DER length.
pub fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    crate::crypto::der_build::tlv(tag, content)
}

/// A TLV around the concatenation of `parts`.
pub fn encode_all(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    encode(tag, &parts.concat())
}

/// A DER ContentInfo holding SignedData, taken apart at the level of the SignedData fields, so
/// a field can be replaced and the rest put back byte for byte.
pub struct SignedDataTlv<'a> {
    cms: &'a [u8],
    content_type: &'a [u8],
    explicit: &'a [u8],
    signed_data: &'a [u8],
    /// The SignedData fields as received (version … signerInfos).
    pub fields: Vec<&'a [u8]>,
}

impl<'a> SignedDataTlv<'a> {
    /// Takes `cms` apart: ContentInfo { contentType, [0] { SignedData } }.
    pub fn parse(cms: &'a [u8]) -> Result<Self, SignError> {
        let malformed = |what: &str| SignError::CmsParse(format!("{what} is malformed"));
        let outer = children(cms)?;
        let [content_type, explicit] = outer.as_slice() else {
            return Err(malformed("ContentInfo"));
        };
        let inner = children(explicit)?;
        let [signed_data] = inner.as_slice() else {
            return Err(malformed("the [0] content of ContentInfo"));
        };
        let fields = children(signed_data)?;
        Ok(Self { cms, content_type, explicit, signed_data, fields })
    }

    /// The CMS with these SignedData fields instead, the wrapping as received.
    pub fn rebuild(&self, fields: &[&[u8]]) -> Result<Vec<u8>, SignError> {
        let signed_data = encode_all(tag(self.signed_data)?, fields);
        let explicit = encode(tag(self.explicit)?, &signed_data);
        Ok(encode_all(tag(self.cms)?, &[self.content_type, &explicit]))
    }
}

fn parse(e: der::Error) -> SignError {
    SignError::CmsParse(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_definite_and_minimal_and_read_back() {
        for len in [0, 1, 127, 128, 255, 256, 65_535, 65_536, 1_000_000] {
            let tlv = encode(0x04, &vec![7; len]);
            assert_eq!(value(&tlv).expect("parses").len(), len);
            assert_eq!(elements(&tlv).expect("one").len(), 1);
        }
        assert_eq!(encode(0x04, &[1; 128])[..3], [0x04, 0x81, 0x80]);
        assert_eq!(encode(0x30, &[1; 256])[..4], [0x30, 0x82, 0x01, 0x00]);
        let seq = encode_all(0x30, &[&encode(0x02, &[5]), &encode(0x05, &[])]);
        assert_eq!(children(&seq).expect("two"), [&[0x02, 1, 5][..], &[0x05, 0][..]]);
        assert!(elements(&[0x30, 0x05, 0x01]).is_err(), "truncated");
        assert!(tag(&[]).is_err());
    }
}
