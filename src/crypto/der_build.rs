//! Building DER by hand for the structures Qoltanba writes (PKCS#12 files, PKCS#8 keys,
//! certificate requests): a TLV with its definite length, and the few types those use. Each
//! function returns the whole encoding, so structures read as nested calls. Must not: be used
//! to read DER (that is `der` and `keystore::ber`).

/// A TLV with a one-byte `tag` and definite length.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of encoded items.
pub fn seq(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &items.concat())
}

/// A DER SET OF: elements sorted by their encodings (X.690 §11.6).
pub fn set(items: &[Vec<u8>]) -> Vec<u8> {
    let mut sorted = items.to_vec();
    sorted.sort();
    tlv(0x31, &sorted.concat())
}

/// `[n]` EXPLICIT (constructed context tag) around `content`.
pub fn explicit(n: u8, content: &[u8]) -> Vec<u8> {
    tlv(0xA0 | n, content)
}

/// `[n]` IMPLICIT of a primitive value.
pub fn implicit_primitive(n: u8, content: &[u8]) -> Vec<u8> {
    tlv(0x80 | n, content)
}

/// An OCTET STRING.
pub fn octets(content: &[u8]) -> Vec<u8> {
    tlv(0x04, content)
}

/// A BIT STRING with no unused bits.
pub fn bits(content: &[u8]) -> Vec<u8> {
    tlv(0x03, &[&[0][..], content].concat())
}

/// NULL.
pub fn null() -> Vec<u8> {
    vec![0x05, 0x00]
}

/// A non-negative INTEGER.
pub fn integer(value: u32) -> Vec<u8> {
    unsigned(&value.to_be_bytes())
}

/// A non-negative INTEGER from big-endian bytes (leading zeros dropped, a sign byte added).
pub fn unsigned(be: &[u8]) -> Vec<u8> {
    let mut bytes: Vec<u8> = be.iter().copied().skip_while(|b| *b == 0).collect();
    if bytes.first().is_none_or(|b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    tlv(0x02, &bytes)
}

/// An OBJECT IDENTIFIER from its dotted form (which the callers write as constants).
pub fn oid(dotted: &str) -> Vec<u8> {
    let parsed = const_oid::ObjectIdentifier::new(dotted);
    tlv(0x06, parsed.as_ref().map(|o| o.as_bytes()).unwrap_or_default())
}

/// A UTF8String.
pub fn utf8(text: &str) -> Vec<u8> {
    tlv(0x0C, text.as_bytes())
}

/// A BMPString (UTF-16 big-endian).
pub fn bmp(text: &str) -> Vec<u8> {
    let units: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    tlv(0x1E, &units)
}

/// A BOOLEAN.
pub fn boolean(value: bool) -> Vec<u8> {
    tlv(0x01, &[if value { 0xFF } else { 0x00 }])
}

#[cfg(test)]
mod tests {
    use super::{integer, oid, seq, set, tlv, unsigned};

    #[test]
    fn encodings_are_der() {
        assert_eq!(integer(0), [2, 1, 0]);
        assert_eq!(integer(1024), [2, 2, 4, 0]);
        assert_eq!(unsigned(&[0, 0, 0x80]), [2, 2, 0, 0x80]);
        assert_eq!(
            oid("1.2.840.113549.1.9.21"),
            [6, 9, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 1, 9, 21]
        );
        assert_eq!(tlv(4, &[0; 200])[..3], [4, 0x81, 200]);
        assert_eq!(set(&[vec![2, 1, 9], vec![2, 1, 1]]), [0x31, 6, 2, 1, 1, 2, 1, 9]);
        assert_eq!(seq(&[]), [0x30, 0]);
    }
}
