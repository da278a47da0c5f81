//! One document's bytes, as the request carried them. A small document is decoded at once and
//! owned ([`Content::bytes`]). A large one stays where it arrived, a part of the request's text
//! ([`SharedText`]), base64 or plain, and is never copied or decoded whole: reading the request
//! checks its base64 and gathers in the same pass what the dialog shows (size, SHA-256, a
//! preview); a detached signature decodes it again, a piece at a time, into the key's hash
//! ([`Content::digest`]); only an attached CMS, which carries the document, decodes it whole,
//! once ([`Content::to_bytes`]). `Debug` shows the size only.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use super::consent::DocumentSummary;
use super::ServiceError;
use crate::crypto::base64_stream::{self, Base64Error};
use crate::crypto::HashAlgorithm;

/// Decoded bytes kept for the dialog's preview: more than the preview's 12 lines of at most
/// 800 characters can take.
const HEAD: usize = 4096;

/// A part of a request's text, shared with the request rather than copied.
#[derive(Clone)]
pub struct SharedText {
    text: Arc<String>,
    range: Range<usize>,
}

impl SharedText {
    /// `part` as the part of `text` it is, or `None` when it lies elsewhere.
    pub fn within(text: &Arc<String>, part: &str) -> Option<Self> {
        let start = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
        let end = start.checked_add(part.len())?;
        text.get(start..end)?;
        Some(Self { text: Arc::clone(text), range: start..end })
    }

    /// The part.
    pub fn as_str(&self) -> &str {
        self.text.get(self.range.clone()).unwrap_or_default()
    }
}

impl PartialEq for SharedText {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SharedText {}

/// One document to sign.
#[derive(Clone, PartialEq, Eq)]
pub struct Content(Source);

#[derive(Clone, PartialEq, Eq)]
enum Source {
    /// Decoded bytes.
    Bytes(Vec<u8>),
    /// The document is this text (UTF-8).
    Text(SharedText),
    /// The document is this text's base64, checked; `seen` is what the check gathered.
    Base64 { text: SharedText, seen: Seen },
}

/// What the pass over a base64 document found.
#[derive(Clone, PartialEq, Eq)]
struct Seen {
    len: usize,
    sha256: Vec<u8>,
    /// The first [`HEAD`] bytes, when the whole document is readable text.
    head: Option<Vec<u8>>,
}

impl Content {
    /// Bytes already decoded.
    pub fn bytes(data: Vec<u8>) -> Self {
        Self(Source::Bytes(data))
    }

    /// A document that is the text itself.
    pub fn text(text: SharedText) -> Self {
        Self(Source::Text(text))
    }

    /// A document given as base64, checked (and summarised) in one pass without decoding it
    /// whole.
    pub fn base64(text: SharedText) -> Result<Self, Base64Error> {
        let encoded = text.as_str().as_bytes();
        let mut look = Look::new();
        match encoded.len() < PIPELINE_FROM {
            true => base64_stream::decode_with(encoded, |piece| look.feed(piece))?,
            false => pipelined(encoded, &mut look)?,
        }
        let Look { len, sha256, readable, head } = look;
        let head = readable.finish().then_some(head);
        Ok(Self(Source::Base64 { text, seen: Seen { len, sha256: sha256.finish(), head } }))
    }

    /// The document's bytes when they are at hand (not kept as base64).
    fn plain(&self) -> Option<&[u8]> {
        match &self.0 {
            Source::Bytes(data) => Some(data),
            Source::Text(text) => Some(text.as_str().as_bytes()),
            Source::Base64 { .. } => None,
        }
    }

    /// The document's size in bytes.
    pub fn len(&self) -> usize {
        match &self.0 {
            Source::Base64 { seen, .. } => seen.len,
            _ => self.plain().map_or(0, <[u8]>::len),
        }
    }

    /// Whether the document is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the dialog shows of the document.
    pub fn summary(&self) -> DocumentSummary {
        match (&self.0, self.plain()) {
            (Source::Base64 { seen, .. }, _) => DocumentSummary::from_parts(
                seen.len,
                &seen.sha256,
                seen.head.as_deref().map(text_prefix),
            ),
            (_, data) => DocumentSummary::new(data.unwrap_or_default(), false),
        }
    }

    /// The whole document (decoded once, when it was kept as base64).
    pub fn to_bytes(&self) -> Result<Cow<'_, [u8]>, ServiceError> {
        Ok(match (&self.0, self.plain()) {
            (Source::Base64 { text, .. }, _) => {
                Cow::Owned(base64_stream::decode(text.as_str().as_bytes()).map_err(changed)?)
            }
            (_, data) => Cow::Borrowed(data.unwrap_or_default()),
        })
    }

    /// The document's digest with `hash`, without decoding it whole.
    pub fn digest(&self, hash: HashAlgorithm) -> Result<Vec<u8>, ServiceError> {
        match &self.0 {
            Source::Base64 { seen, .. } if hash == HashAlgorithm::Sha256 => Ok(seen.sha256.clone()),
            Source::Base64 { text, .. } => {
                let mut hasher = hash.hasher();
                base64_stream::decode_with(text.as_str().as_bytes(), |piece| hasher.update(piece))
                    .map_err(changed)?;
                Ok(hasher.finish())
            }
            _ => Ok(hash.digest(self.plain().unwrap_or_default())),
        }
    }
}

impl From<Vec<u8>> for Content {
    fn from(data: Vec<u8>) -> Self {
        Self::bytes(data)
    }
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Content({} bytes)", self.len())
    }
}

/// A base64 text that was checked when the request was read no longer decodes: the request's
/// text is immutable, so this is a defect of ours, reported rather than signed around.
fn changed(error: Base64Error) -> ServiceError {
    ServiceError::Internal(format!("a document checked earlier no longer decodes: {error}"))
}

/// Base64 texts from this long are decoded on one thread and looked at on another.
const PIPELINE_FROM: usize = 1 << 20;

/// What a look at a document's bytes, fed in pieces, gathers for its [`Seen`].
struct Look {
    len: usize,
    sha256: crate::crypto::Hasher,
    readable: Readable,
    head: Vec<u8>,
}

impl Look {
    fn new() -> Self {
        let sha256 = HashAlgorithm::Sha256.hasher();
        Self { len: 0, sha256, readable: Readable::default(), head: Vec::new() }
    }

    fn feed(&mut self, piece: &[u8]) {
        self.sha256.update(piece);
        self.readable.feed(piece);
        let room = HEAD.saturating_sub(self.head.len()).min(piece.len());
        self.head.extend_from_slice(&piece[..room]);
        self.len += piece.len();
    }
}

/// Decodes `encoded` on this thread while `look` takes the pieces on another: hashing costs
/// about what decoding does, so a large document is checked in half the time. Pieces travel
/// in a few reused buffers.
fn pipelined(encoded: &[u8], look: &mut Look) -> Result<(), Base64Error> {
    let (full, to_look) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    let (spent, to_reuse) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let looker = scope.spawn(move || {
            for piece in to_look {
                look.feed(&piece);
                let _ = spent.send(piece);
            }
        });
        let decoded = base64_stream::decode_with(encoded, |piece| {
            let mut buffer = to_reuse.try_recv().unwrap_or_default();
            buffer.clear();
            buffer.extend_from_slice(piece);
            let _ = full.send(buffer);
        });
        drop(full);
        if let Err(panic) = looker.join() {
            std::panic::resume_unwind(panic);
        }
        decoded
    })
}

/// The longest prefix of `head` that is whole UTF-8 (the head may end inside a character).
fn text_prefix(head: &[u8]) -> &str {
    match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default(),
    }
}

/// Whether bytes fed in pieces are readable text as [`DocumentSummary`] judges it: UTF-8
/// throughout, with no control characters but whitespace. A character cut between two pieces
/// is carried over.
#[derive(Default)]
struct Readable {
    failed: bool,
    carry: Vec<u8>,
}

impl Readable {
    fn feed(&mut self, mut piece: &[u8]) {
        if self.failed {
            return;
        }
        // First complete a character cut at the end of the last piece, a byte at a time.
        while !self.carry.is_empty() {
            let Some((&byte, rest)) = piece.split_first() else { return };
            piece = rest;
            self.carry.push(byte);
            match std::str::from_utf8(&self.carry) {
                Ok(character) if DocumentSummary::readable(character) => self.carry.clear(),
                Err(e) if e.error_len().is_none() => {}
                _ => return self.fail(),
            }
        }
        let valid = match std::str::from_utf8(piece) {
            Ok(text) => text,
            Err(e) if e.error_len().is_none() => {
                let (valid, cut) = piece.split_at(e.valid_up_to());
                self.carry.extend_from_slice(cut);
                std::str::from_utf8(valid).unwrap_or_default()
            }
            Err(_) => return self.fail(),
        };
        if !DocumentSummary::readable(valid) {
            self.fail();
        }
    }

    fn fail(&mut self) {
        self.failed = true;
        self.carry.clear();
    }

    /// Whether everything fed was readable and nothing is left cut.
    fn finish(self) -> bool {
        !self.failed && self.carry.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::{Content, SharedText};
    use crate::crypto::HashAlgorithm;
    use crate::service::consent::DocumentSummary;
    use base64::Engine as _;
    use std::sync::Arc;

    fn shared(text: &str) -> (Arc<String>, SharedText) {
        let whole = Arc::new(format!("{{\"data\":\"{text}\"}}"));
        let part = &whole[9..9 + text.len()];
        let shared = SharedText::within(&whole, part).expect("inside");
        (Arc::clone(&whole), shared)
    }

    fn encoded(data: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(data)
    }

    #[test]
    fn a_part_is_found_only_inside_its_text() {
        let (whole, part) = shared("QUJD");
        assert_eq!(part.as_str(), "QUJD");
        assert!(SharedText::within(&whole, "elsewhere").is_none());
        assert!(SharedText::within(&whole, &whole[..]).is_some());
    }

    #[test]
    fn a_base64_document_reads_as_its_decoded_bytes() {
        let mut rng = crate::crypto::test_rng::Xorshift::new(0x2545_F491_4F6C_DD1D);
        let samples: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"plain text\nline two\r\nthree".to_vec(),
            "Қолтаңба — қазақша мәтін\n".repeat(3000).into_bytes(),
            // From a megabyte encoded, checked on two threads.
            "Қолтаңба — қазақша мәтін\n".repeat(30_000).into_bytes(),
            (0..1_200_000u32).map(|i| (i % 253) as u8).collect(),
            (0..200_000u32).map(|i| (i % 251) as u8).collect(),
            format!("{}\u{7}", "text ".repeat(20_000)).into_bytes(),
            format!("{}\u{85}", "жол\n".repeat(30_000)).into_bytes(),
        ];
        let random = (0..40).map(|_| {
            let len = rng.below(200_000);
            let pick = "aé\nЖ€😀\t\u{1}".chars().collect::<Vec<_>>();
            (0..len / 3).map(|_| pick[rng.below(pick.len())]).collect::<String>()
        });
        for data in samples.into_iter().chain(random.map(String::into_bytes)) {
            let (_whole, text) = shared(&encoded(&data));
            let content = Content::base64(text).expect("valid");
            assert_eq!(content.len(), data.len());
            assert_eq!(content.summary(), DocumentSummary::new(&data, false));
            assert_eq!(content.to_bytes().expect("decodes").as_ref(), &data[..]);
            for hash in [HashAlgorithm::Sha256, HashAlgorithm::Streebog512] {
                assert_eq!(content.digest(hash).expect("digest"), hash.digest(&data));
            }
        }
    }

    #[test]
    fn bad_base64_is_refused_when_read() {
        let (_whole, text) = shared("QUJD!");
        let error = Content::base64(text).expect_err("bad");
        assert_eq!(error.to_string(), "Illegal base64 character 21 at offset 4");
    }

    #[test]
    fn debug_shows_the_size_only() {
        let (_whole, text) = shared(&encoded(b"TOP-SECRET"));
        let shown = format!("{:?}", Content::base64(text).expect("valid"));
        assert_eq!(shown, "Content(10 bytes)");
    }
}
