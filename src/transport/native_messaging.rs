//! Native messaging, the browser extension's path to the daemon (`docs/extension.md`): the
//! browsers' framing (a 32-bit native-endian length, then UTF-8 JSON; Chrome: at most 1 MB to
//! the browser, 64 MiB from it) and the messages the extension and `qoltanba native-host`
//! exchange: `open` with the page's origin (written by the extension from the browser's sender
//! information), `data` pieces of page and daemon messages, `close`/`closed`.
//!
//! Must not: take an origin from anything but the first `open`, allocate a frame before its
//! length is checked, or log message text.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

use crate::service::origin::Origin;

/// The largest frame read from the browser (Chrome's limit to the host; Firefox's is larger, but
/// the extension never sends more than a 256 Ki-character piece).
pub const MAX_FROM_BROWSER: usize = 64 << 20;

/// The largest frame Chrome accepts from a host: 1 MB.
pub const MAX_TO_BROWSER: usize = 1024 * 1024;

/// The JSON-escaped size of the text of one `data` piece sent to the browser, well under
/// [`MAX_TO_BROWSER`] with the envelope around it.
pub const PIECE_TO_BROWSER: usize = 512 << 10;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The stream ended inside a frame.
    #[error("the browser's stream ended inside a message")]
    Truncated,
    /// The length prefix is over [`MAX_FROM_BROWSER`]; nothing of the frame was read.
    #[error("a message of {0} bytes is over the limit of {MAX_FROM_BROWSER} bytes")]
    TooLarge(u64),
    /// Reading failed.
    #[error("reading from the browser failed: {0}")]
    Io(#[from] io::Error),
}

/// Reads one frame; `None` when the stream ends cleanly before a frame (the browser let go).
pub fn read_frame(input: &mut impl Read) -> Result<Option<Vec<u8>>, FrameError> {
    let mut prefix = [0u8; 4];
    let mut got = 0;
    while got < prefix.len() {
        match input.read(&mut prefix[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(FrameError::Truncated),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = u32::from_ne_bytes(prefix);
    let size = usize::try_from(len).unwrap_or(usize::MAX);
    if size > MAX_FROM_BROWSER {
        return Err(FrameError::TooLarge(len.into()));
    }
    let mut frame = vec![0u8; size];
    input.read_exact(&mut frame).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => FrameError::Truncated,
        _ => FrameError::Io(e),
    })?;
    Ok(Some(frame))
}

/// Writes one frame and flushes it.
pub fn write_frame(output: &mut impl Write, json: &[u8]) -> io::Result<()> {
    let len = u32::try_from(json.len())
        .ok()
        .filter(|_| json.len() <= MAX_TO_BROWSER)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "frame over 1 MB"))?;
    output.write_all(&len.to_ne_bytes())?;
    output.write_all(json)?;
    output.flush()
}

/// A message from the extension.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FromExtension {
    /// The page's origin, from the browser: the first message, once.
    Open {
        /// `https://portal.kz`.
        origin: String,
    },
    /// A piece of a page message; the last piece has `more: false`.
    Data {
        /// The text of the piece.
        text: String,
        /// Whether more pieces of the same message follow.
        #[serde(default)]
        more: bool,
    },
    /// The page closed its socket.
    Close {
        /// The page's close code (1000 when absent).
        #[serde(default = "normal_closure")]
        code: u16,
        /// The page's reason.
        #[serde(default)]
        reason: String,
    },
}

fn normal_closure() -> u16 {
    1000
}

impl FromExtension {
    /// Parses one frame; `None` for anything that is not one of the messages.
    pub fn parse(frame: &[u8]) -> Option<Self> {
        serde_json::from_slice(frame).ok()
    }
}

/// A message to the extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ToExtension<'a> {
    /// The daemon accepted the WebSocket.
    Opened,
    /// A piece of a daemon message.
    Data {
        /// The text of the piece.
        text: &'a str,
        /// Whether more pieces of the same message follow.
        more: bool,
    },
    /// The connection is over (the host exits after it).
    Closed {
        /// The WebSocket close code (1006: closed without a close frame, or never opened).
        code: u16,
        /// The reason, for the page and the user.
        reason: String,
        /// Whether the daemon closed it with a close handshake.
        clean: bool,
    },
}

impl ToExtension<'_> {
    /// The JSON of the message.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The origin of an `open` message, when it is a web page's (`http` or `https`): not `null`,
/// not a file or an extension page.
pub fn web_origin(text: &str) -> Option<Origin> {
    Origin::parse(text).filter(|o| matches!(o.scheme(), "http" | "https"))
}

/// Splits `text` into pieces whose JSON-escaped size is at most `budget` bytes (a character
/// over the budget on its own still makes a piece); the empty text is one empty piece.
pub fn pieces(text: &str, budget: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut cost) = (0, 0);
    for (at, c) in text.char_indices() {
        let size = escaped_len(c);
        if cost + size > budget && at > start {
            out.push(&text[start..at]);
            (start, cost) = (at, 0);
        }
        cost += size;
    }
    out.push(&text[start..]);
    out
}

/// The bytes `c` takes inside a JSON string as serde_json writes it.
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if u32::from(c) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(json: &str) -> Vec<u8> {
        let mut bytes = u32::try_from(json.len()).expect("len").to_ne_bytes().to_vec();
        bytes.extend_from_slice(json.as_bytes());
        bytes
    }

    #[test]
    fn frames_round_trip_and_end_cleanly() {
        let mut out = Vec::new();
        write_frame(&mut out, br#"{"type":"opened"}"#).expect("write");
        write_frame(&mut out, &ToExtension::Opened.to_json()).expect("write");
        let mut input = out.as_slice();
        for _ in 0..2 {
            let got = read_frame(&mut input).expect("read").expect("frame");
            assert_eq!(got, br#"{"type":"opened"}"#);
        }
        assert!(read_frame(&mut input).expect("end").is_none());
    }

    #[test]
    fn an_oversized_or_cut_frame_is_an_error_without_allocation() {
        let huge = (u32::try_from(MAX_FROM_BROWSER).expect("fits") + 1).to_ne_bytes();
        let error = read_frame(&mut huge.as_slice()).expect_err("too large");
        assert!(matches!(error, FrameError::TooLarge(n) if n == MAX_FROM_BROWSER as u64 + 1));
        let max = u32::MAX.to_ne_bytes();
        assert!(matches!(read_frame(&mut max.as_slice()), Err(FrameError::TooLarge(_))));
        let mut cut = frame(r#"{"type":"opened"}"#);
        cut.truncate(8);
        assert!(matches!(read_frame(&mut cut.as_slice()), Err(FrameError::Truncated)));
        assert!(matches!(read_frame(&mut [1u8, 0].as_slice()), Err(FrameError::Truncated)));
        assert!(write_frame(&mut Vec::new(), &vec![b' '; MAX_TO_BROWSER + 1]).is_err());
    }

    #[test]
    fn messages_parse_as_the_contract_says() {
        let open = FromExtension::parse(br#"{"type":"open","origin":"https://a.kz"}"#);
        assert_eq!(open, Some(FromExtension::Open { origin: "https://a.kz".into() }));
        let data = FromExtension::parse(br#"{"type":"data","text":"x","more":true}"#);
        assert_eq!(data, Some(FromExtension::Data { text: "x".into(), more: true }));
        let last = FromExtension::parse(br#"{"type":"data","text":"y"}"#);
        assert_eq!(last, Some(FromExtension::Data { text: "y".into(), more: false }));
        let close = FromExtension::parse(br#"{"type":"close"}"#);
        assert_eq!(close, Some(FromExtension::Close { code: 1000, reason: String::new() }));
        for bad in [&b"{"[..], br#"{"type":"opened"}"#, br#"{"type":"data"}"#, b"[1]", b""] {
            assert_eq!(FromExtension::parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        let closed = ToExtension::Closed { code: 1006, reason: "gone".into(), clean: false };
        let json = String::from_utf8(closed.to_json()).expect("utf-8");
        assert_eq!(json, r#"{"type":"closed","code":1006,"reason":"gone","clean":false}"#);
        let data = ToExtension::Data { text: "a\"b", more: false }.to_json();
        assert_eq!(data, br#"{"type":"data","text":"a\"b","more":false}"#);
    }

    #[test]
    fn only_web_pages_have_an_origin() {
        let ok = web_origin("HTTPS://Esf.Gov.KZ:443").expect("https");
        assert_eq!(ok.as_str(), "https://esf.gov.kz");
        assert!(web_origin("http://127.0.0.1:8080").is_some());
        for bad in [
            "null",
            "",
            "file://",
            "chrome-extension://abc",
            "moz-extension://x",
            "https://a.kz/path",
        ] {
            assert!(web_origin(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn pieces_respect_the_escaped_budget_and_rejoin() {
        let text = "ab\"\u{1}ж😀".repeat(10_000);
        let parts = pieces(&text, 1000);
        assert!(parts.len() > 1);
        assert_eq!(parts.concat(), text);
        for part in &parts {
            let json = ToExtension::Data { text: part, more: true }.to_json();
            assert!(json.len() <= 1000 + 40, "{}", json.len());
        }
        assert_eq!(pieces("", 10), vec![""]);
        let controls = "\u{1}".repeat(PIECE_TO_BROWSER);
        for part in pieces(&controls, PIECE_TO_BROWSER) {
            assert!(ToExtension::Data { text: part, more: true }.to_json().len() <= MAX_TO_BROWSER);
        }
    }
}
