//! The answer of an HTTP/1.1 server (RFC 9112): the head parsed with `httparse` (at most
//! 64 KiB, `1xx` interim answers skipped), then the body by `Content-Length`, chunked coding
//! (§7.1) or the end of the stream (§6.3), refused as soon as it would pass the caller's cap so
//! that an oversized body is never read into memory.

use std::io::{BufRead, Read as _};

use super::{bad, io_error, FetchError};

/// The longest response head (status line and header fields), and the longest trailer section.
const MAX_HEAD: usize = 64 * 1024;
/// The longest chunk-size line of a chunked body.
const MAX_LINE: u64 = 1024;
/// How many header fields a response head may have.
const MAX_HEADERS: usize = 64;
/// The most a body buffer reserves before any of the body has arrived.
const PREALLOC: usize = 64 * 1024;

/// How the body of an answer ends (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    Length(usize),
    Chunked,
    Eof,
}

/// The answer being read from `src`, for `host` (named in errors).
pub(super) struct Reader<'a, R> {
    pub(super) src: R,
    pub(super) host: &'a str,
}

impl<R: BufRead> Reader<'_, R> {
    /// The status and body framing of the final answer, past any `1xx` interim answers.
    pub(super) fn head(&mut self) -> Result<(u16, Framing), FetchError> {
        loop {
            let (code, framing) = parse_head(&self.head_bytes()?)?;
            match code {
                101 => return Err(bad("unexpected 101 Switching Protocols")),
                100..=199 => continue,
                _ => return Ok((code, framing)),
            }
        }
    }

    /// The lines of one head up to its empty line; stray empty lines before it are skipped.
    fn head_bytes(&mut self) -> Result<Vec<u8>, FetchError> {
        let mut head = Vec::new();
        loop {
            let start = head.len();
            let cap = (MAX_HEAD + 1).saturating_sub(start) as u64;
            let read = (&mut self.src).take(cap).read_until(b'\n', &mut head);
            let read = read.map_err(|e| io_error(self.host, e))?;
            if head.len() > MAX_HEAD {
                return Err(bad("response head over 64 KiB"));
            }
            if read == 0 {
                return Err(bad("the connection closed before the end of the response head"));
            }
            if matches!(head.get(start..), Some(b"\r\n" | b"\n")) {
                if start > 0 {
                    return Ok(head);
                }
                head.clear();
            }
        }
    }

    pub(super) fn body(&mut self, framing: Framing, max_len: usize) -> Result<Vec<u8>, FetchError> {
        let mut body = Vec::new();
        match framing {
            Framing::Length(len) if len > max_len => Err(FetchError::TooLarge { limit: max_len }),
            Framing::Length(len) => {
                let read = self.append(&mut body, len)?;
                if read < len {
                    return Err(bad("the body ended before its Content-Length"));
                }
                Ok(body)
            }
            Framing::Eof => {
                let read = self.append(&mut body, max_len.saturating_add(1))?;
                if read > max_len {
                    return Err(FetchError::TooLarge { limit: max_len });
                }
                Ok(body)
            }
            Framing::Chunked => self.chunked(max_len),
        }
    }

    /// Appends at most `len` bytes to `body`; how many came.
    fn append(&mut self, body: &mut Vec<u8>, len: usize) -> Result<usize, FetchError> {
        body.reserve(len.min(PREALLOC));
        let read = (&mut self.src).take(len as u64).read_to_end(body);
        read.map_err(|e| io_error(self.host, e))
    }

    /// A chunked body (RFC 9112 §7.1), refused at the first chunk that would pass `max_len`.
    fn chunked(&mut self, max_len: usize) -> Result<Vec<u8>, FetchError> {
        let mut body = Vec::new();
        loop {
            let size = chunk_size(&self.line()?)?;
            if size == 0 {
                return self.trailers().map(|()| body);
            }
            if size > max_len.saturating_sub(body.len()) {
                return Err(FetchError::TooLarge { limit: max_len });
            }
            if self.append(&mut body, size)? < size {
                return Err(bad("the connection closed inside a chunk"));
            }
            if !matches!(self.line()?.as_slice(), b"\r\n" | b"\n") {
                return Err(bad("a chunk is not followed by CRLF"));
            }
        }
    }

    /// Skips the trailer section; the end of the stream ends it too.
    fn trailers(&mut self) -> Result<(), FetchError> {
        let mut total = 0;
        loop {
            let line = self.line()?;
            if line.trim_ascii().is_empty() {
                return Ok(());
            }
            total += line.len();
            if total > MAX_HEAD {
                return Err(bad("trailer section over 64 KiB"));
            }
        }
    }

    /// One line of at most [`MAX_LINE`] bytes (empty at the end of the stream).
    fn line(&mut self) -> Result<Vec<u8>, FetchError> {
        let mut line = Vec::new();
        let read = (&mut self.src).take(MAX_LINE).read_until(b'\n', &mut line);
        read.map_err(|e| io_error(self.host, e))?;
        if line.len() as u64 == MAX_LINE && !line.ends_with(b"\n") {
            return Err(bad("a line of the chunked body is too long"));
        }
        Ok(line)
    }
}

fn chunk_size(line: &[u8]) -> Result<usize, FetchError> {
    let digits = line.split(|&b| b == b';').next().unwrap_or_default().trim_ascii();
    std::str::from_utf8(digits)
        .ok()
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|d| usize::from_str_radix(d, 16).ok())
        .ok_or_else(|| bad("bad chunk size"))
}

/// The status code and body framing of one response head.
fn parse_head(bytes: &[u8]) -> Result<(u16, Framing), FetchError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(bad("incomplete response head")),
        Err(error) => return Err(bad(format!("unparsable response head ({error})"))),
    }
    let code = response.code.ok_or_else(|| bad("no status code"))?;
    Ok((code, framing(response.headers)?))
}

/// Chunked if `Transfer-Encoding` ends with `chunked`, to the end of the stream for another
/// coding; else by `Content-Length` (several must agree); else to the end of the stream.
fn framing(headers: &[httparse::Header<'_>]) -> Result<Framing, FetchError> {
    let values = |name: &'static str| {
        headers.iter().filter(move |h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
    };
    if let Some(codings) = values("transfer-encoding").next_back() {
        let last = codings.rsplit(|&b| b == b',').next().unwrap_or_default().trim_ascii();
        return Ok(if last.eq_ignore_ascii_case(b"chunked") {
            Framing::Chunked
        } else {
            Framing::Eof
        });
    }
    let mut length = None;
    for value in values("content-length") {
        let value = value.trim_ascii();
        let parsed =
            std::str::from_utf8(value).ok().filter(|v| v.bytes().all(|b| b.is_ascii_digit()));
        let n = parsed
            .and_then(|v| v.parse::<usize>().ok())
            .ok_or_else(|| bad("bad Content-Length"))?;
        if length.is_some_and(|known| known != n) {
            return Err(bad("conflicting Content-Length fields"));
        }
        length = Some(n);
    }
    Ok(length.map_or(Framing::Eof, Framing::Length))
}
