//! Base64 decoded a piece at a time, so a document of hundreds of megabytes is checked and
//! hashed without ever being held decoded (or copied without its line breaks). Lenient as the
//! portals need: ASCII whitespace is skipped anywhere and padding is optional. [`decode_with`]
//! accepts what decoding the whole text at once accepts, with the same bytes, and names the
//! same defect when there is one (offsets count symbols, whitespace left out; with several,
//! the whole-text decoder does not always name the first, and each names a real one).
//! [`decode`] is the whole-text form built on it, so there is one decoder.
//!
//! How: text without whitespace is decoded where it lies, [`CHUNK`] symbols at a time; else
//! symbols (whitespace left out) gather in a buffer first. Whole quads are decoded while at
//! least one more symbol follows, so a `=` among them is padding before the end, which
//! the whole-text decoder refuses at the first `=`; what is left at the end is decoded as the
//! end of the text.

use ::base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ::base64::{alphabet, DecodeError, DecodeSliceError, Engine as _};

/// Standard alphabet, padding optional.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Symbols decoded at a time: 48 KiB of output. A multiple of 4.
const CHUNK: usize = 64 << 10;
const _: () = assert!(CHUNK % 4 == 0);

/// Why a text is not base64; its `Display` is the text replies carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Base64Error {
    /// A byte outside the alphabet (or `=` before the end) at this symbol offset.
    #[error("Illegal base64 character {byte:x} at offset {offset}")]
    InvalidByte { offset: usize, byte: u8 },
    /// Any other defect: a length no base64 has, bits left over in the last symbol, padding.
    #[error("Invalid base64: {0}")]
    Invalid(DecodeError),
}

/// Decodes `text` whole.
pub fn decode(text: &[u8]) -> Result<Vec<u8>, Base64Error> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 3);
    decode_with(text, |piece| out.extend_from_slice(piece))?;
    Ok(out)
}

/// Decodes `text`, handing the bytes to `each` in pieces, in order. On an error `each` may
/// have seen the bytes before it.
pub fn decode_with(text: &[u8], each: impl FnMut(&[u8])) -> Result<(), Base64Error> {
    decode_in_chunks(text, CHUNK, each)
}

fn decode_in_chunks(
    text: &[u8],
    chunk: usize,
    mut each: impl FnMut(&[u8]),
) -> Result<(), Base64Error> {
    // Whitespace after the last symbol changes nothing; without it, symbols follow every
    // window but the last.
    let end = text.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(0, |at| at + 1);
    let text = &text[..end];
    let mut symbols: Vec<u8> = Vec::new();
    let mut out = vec![0; chunk / 4 * 3 + 3];
    // Symbols of the text before `symbols[0]`.
    let mut base = 0;
    for (index, window) in text.chunks(chunk).enumerate() {
        let last = (index + 1) * chunk >= text.len();
        let spaced = may_hold_whitespace(window);
        if symbols.is_empty() && !last && !spaced {
            // The usual case, text without line breaks: decoded where it lies.
            let decoded = before_end(window, &mut out).map_err(|e| at(e, base))?;
            each(&out[..decoded]);
            base += window.len();
            continue;
        }
        match spaced {
            false => symbols.extend_from_slice(window),
            true => symbols.extend(window.iter().filter(|b| !b.is_ascii_whitespace())),
        }
        // Whole chunks that at least one more symbol follows.
        let mut start = 0;
        while symbols.len() - start > chunk {
            let quads = &symbols[start..start + chunk];
            let decoded = before_end(quads, &mut out).map_err(|e| at(e, base))?;
            each(&out[..decoded]);
            start += chunk;
            base += chunk;
        }
        symbols.drain(..start);
    }
    let decoded = LENIENT.decode_slice(&symbols, &mut out).map_err(|e| match e {
        DecodeSliceError::DecodeError(e) => at(e, base),
        DecodeSliceError::OutputSliceTooSmall => {
            at(DecodeError::InvalidLength(symbols.len()), base)
        }
    })?;
    each(&out[..decoded]);
    Ok(())
}

/// Whether `window` may hold whitespace: any byte up to the space (a test that vectorises;
/// the filter after it removes only real whitespace).
fn may_hold_whitespace(window: &[u8]) -> bool {
    window.chunks(64).any(|part| part.iter().fold(false, |seen, &b| seen | (b <= b' ')))
}

/// Decodes whole quads that more symbols follow: a `=` among them is padding before the end.
fn before_end(quads: &[u8], out: &mut [u8]) -> Result<usize, DecodeError> {
    // The SIMD decoder takes the bulk; it does not say where a defect is, so a piece it
    // refuses is decoded again by the one that does.
    // It takes padding at the end of its input, which here is padding before the end: only a
    // piece decoded to its full length has none.
    let whole = quads.len() / 4 * 3;
    match base64_simd::STANDARD.decode(quads, base64_simd::Out::from_slice(out)) {
        Ok(decoded) if decoded.len() == whole => return Ok(whole),
        _ => {}
    }
    let Some(pad) = quads.iter().position(|&b| b == b'=') else {
        return LENIENT.decode_slice(quads, out).map_err(|e| match e {
            DecodeSliceError::DecodeError(e) => e,
            DecodeSliceError::OutputSliceTooSmall => DecodeError::InvalidLength(quads.len()),
        });
    };
    // A byte outside the alphabet before the `=` is reported first, as the whole text would.
    let bad = quads[..pad].iter().position(|&b| !is_symbol(b));
    Err(match bad {
        Some(offset) => DecodeError::InvalidByte(offset, quads[offset]),
        None => DecodeError::InvalidByte(pad, b'='),
    })
}

fn is_symbol(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'+' || byte == b'/'
}

/// The error of a piece whose first symbol is the text's `base`-th, as the whole text's.
fn at(error: DecodeError, base: usize) -> Base64Error {
    match error {
        DecodeError::InvalidByte(offset, byte) => {
            Base64Error::InvalidByte { offset: base + offset, byte }
        }
        DecodeError::InvalidLength(len) => {
            Base64Error::Invalid(DecodeError::InvalidLength(base + len))
        }
        DecodeError::InvalidLastSymbol(offset, byte) => {
            Base64Error::Invalid(DecodeError::InvalidLastSymbol(base + offset, byte))
        }
        DecodeError::InvalidPadding => Base64Error::Invalid(DecodeError::InvalidPadding),
    }
}

#[cfg(test)]
mod tests {
    use super::{decode, decode_in_chunks, Base64Error, LENIENT};
    use ::base64::Engine as _;

    /// The whole-text decoder the pieces must agree with.
    fn whole(text: &[u8]) -> Result<Vec<u8>, Base64Error> {
        let compact: Vec<u8> = text.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
        LENIENT.decode(compact).map_err(|e| super::at(e, 0))
    }

    fn pieces(text: &[u8], chunk: usize) -> Result<Vec<u8>, Base64Error> {
        let mut out = Vec::new();
        decode_in_chunks(text, chunk, |piece| out.extend_from_slice(piece)).map(|()| out)
    }

    #[test]
    fn pieces_agree_with_the_whole_text_on_every_input() {
        let alphabet = b"AAAAQQQQgggwwwB+/=== \n\r\t!\xd0";
        let mut rng = crate::crypto::test_rng::Xorshift::new(0x9E37_79B9_7F4A_7C15);
        for case in 0..60_000 {
            let len = rng.below(40);
            let mut text: Vec<u8> = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
            if case % 3 == 0 {
                // Mostly valid text, with one change.
                let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
                text = ::base64::engine::general_purpose::STANDARD.encode(data).into_bytes();
                if !text.is_empty() && case % 2 == 0 {
                    let at = rng.below(text.len());
                    text[at] = alphabet[rng.below(alphabet.len())];
                }
            }
            let expected = whole(&text);
            for chunk in [4, 8, 12, 16, 64] {
                let got = pieces(&text, chunk);
                let shown = String::from_utf8_lossy(&text);
                match &expected {
                    // With several defects the whole-text decoder does not always name the
                    // first; either names a real one.
                    Err(_) if case % 3 != 0 => assert!(got.is_err(), "{shown:?} / {chunk}"),
                    _ => assert_eq!(got, expected, "{shown:?} in chunks of {chunk}"),
                }
            }
        }
    }

    #[test]
    fn large_text_with_line_breaks_decodes_in_pieces() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let encoded = ::base64::engine::general_purpose::STANDARD.encode(&data);
        let wrapped: Vec<u8> = encoded
            .as_bytes()
            .chunks(76)
            .flat_map(|line| line.iter().copied().chain(*b"\r\n"))
            .collect();
        assert_eq!(decode(&wrapped).expect("valid"), data);
        let mut calls = 0;
        super::decode_with(encoded.as_bytes(), |_| calls += 1).expect("valid");
        assert!(calls > 1, "decoded in pieces");
    }

    #[test]
    fn errors_read_as_before() {
        assert_eq!(
            decode(b"M-EK").expect_err("bad").to_string(),
            "Illegal base64 character 2d at offset 1"
        );
        assert_eq!(
            decode(b"AAAAA").expect_err("bad").to_string(),
            "Invalid base64: Invalid input length: 5"
        );
    }
}
