//! The memory budget for WebSocket message bytes, and [`Metered`], which enforces it under
//! tungstenite: it reads each client frame header (RFC 6455 §5.2) before the payload, reserves
//! the payload's size from the connection's [`Account`], and when a message is over the size
//! limit or the budget it lets through only the first [`SAMPLE`] bytes of it as a binary frame
//! and drops the rest unread into memory, so the request can still be answered and the
//! connection stays usable. A [`Ticket`] per data message tells the run loop what happened.
//! Long accepted frames reach tungstenite as pieces of at most [`PIECE`] bytes (more frames of
//! the same message), because tungstenite keeps a buffer as large as the largest frame it saw.
//!
//! Must not: buffer a payload, allocate by a length the peer declares, log or expose payload
//! bytes, or touch anything the server writes.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::head::Replay;

pub use budget::{Account, BudgetLimits, MemoryBudget, Reservation};

mod budget;

/// How many payload bytes of a refused message still reach tungstenite from its start, and
/// about as many from its end (enough to name its module in the error reply, wherever the
/// client's serialiser put `"module"`).
pub const SAMPLE: usize = 4096;

/// The largest frame tungstenite is handed: longer payloads go on as several frames.
/// tungstenite buffers a whole frame and keeps that buffer's capacity for the life of the
/// connection; pieces keep it small. A multiple of 4, so each piece keeps the mask's phase.
pub const PIECE: u64 = 64 << 10;
const _: () = assert!(PIECE % 4 == 0);

/// Most bytes a refused payload is skipped by in one read.
const DISCARD_CHUNK: usize = 4096;
/// Most bytes skipped in one `poll_read` that yields nothing, before giving other tasks a turn.
const DISCARD_PER_POLL: u64 = 1 << 20;
/// The longest client frame header: 2 bytes, a 64-bit length and the mask key.
const MAX_HEADER: usize = 14;

// Opcodes (RFC 6455 §5.2); text (0x1) lies between continuation and binary.
const OP_CONTINUATION: u8 = 0x0;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PONG: u8 = 0xA;
/// The largest control frame payload (RFC 6455 §5.5).
const MAX_CONTROL: u64 = 125;

/// What became of one data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Read whole, within the limits.
    Accepted,
    /// Declared `len` bytes, over the per-message `limit`; only a sample was read.
    TooLarge { len: usize, limit: usize },
    /// Declared `len` bytes, more than the budget has left; only a sample was read.
    OverBudget { len: usize },
}

/// The verdict on one data message and the bytes it holds (keep it until answered).
#[derive(Debug)]
pub struct Ticket {
    /// What happened to the message.
    pub verdict: Verdict,
    /// The budget the message's bytes hold, if any were reserved.
    pub reservation: Option<Reservation>,
}

/// One [`Ticket`] per data message, in the order the messages arrive; shared with [`Metered`].
#[derive(Debug, Clone, Default)]
pub struct Tickets(Arc<Mutex<VecDeque<Ticket>>>);

impl Tickets {
    /// The ticket of the oldest data message not yet taken.
    ///
    /// A message's ticket is queued before the last byte of its last frame is passed on, so
    /// one is always ready when tungstenite yields a text or binary message.
    pub fn next(&self) -> Option<Ticket> {
        self.lock().pop_front()
    }

    fn push(&self, ticket: Ticket) {
        self.lock().push_back(ticket);
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Ticket>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A client frame header (RFC 6455 §5.2), already checked to be masked.
#[derive(Debug, Clone, Copy)]
struct FrameHeader {
    /// FIN, RSV1-3 and the opcode, as sent.
    first: u8,
    len: u64,
    mask: [u8; 4],
}

impl FrameHeader {
    fn fin(&self) -> bool {
        self.first & 0x80 != 0
    }

    fn opcode(&self) -> u8 {
        self.first & 0x0F
    }

    /// Parses a whole header (`header_len(bytes)` of them).
    fn parse(bytes: &[u8]) -> io::Result<Self> {
        let (len, ext) = match bytes.get(1).map(|b| b & 0x7F) {
            Some(126) => (u64::from(u16::from_be_bytes(array(bytes, 2)?)), 2),
            Some(127) => (u64::from_be_bytes(array(bytes, 2)?), 8),
            Some(short) => (u64::from(short), 0),
            None => return Err(invalid("frame header cut short")),
        };
        if len >> 63 != 0 {
            return Err(invalid("frame length has its top bit set"));
        }
        let first = bytes.first().copied().unwrap_or(0);
        Ok(Self { first, len, mask: array(bytes, 2 + ext)? })
    }

    /// The header as sent to tungstenite, with `first` and `len` replaced.
    fn encode(first: u8, len: u64, mask: [u8; 4]) -> Pending {
        let mut out = Pending::default();
        out.push(&[first]);
        match len {
            0..=125 => out.push(&[0x80 | len as u8]),
            126..=0xFFFF => {
                out.push(&[0x80 | 126]);
                out.push(&(len as u16).to_be_bytes());
            }
            _ => {
                out.push(&[0x80 | 127]);
                out.push(&len.to_be_bytes());
            }
        }
        out.push(&mask);
        out
    }
}

/// The length of the header that starts with `bytes` (2 until its second byte is known).
fn header_len(bytes: &[u8]) -> io::Result<usize> {
    let Some(second) = bytes.get(1) else {
        return Ok(2);
    };
    if second & 0x80 == 0 {
        return Err(invalid("unmasked frame from the client"));
    }
    let ext = match second & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    Ok(2 + ext + 4)
}

/// `N` bytes of `bytes` from `at`.
fn array<const N: usize>(bytes: &[u8], at: usize) -> io::Result<[u8; N]> {
    let slice = bytes.get(at..at.saturating_add(N)).unwrap_or_default();
    slice.try_into().map_err(|_| invalid("frame header cut short"))
}

fn invalid(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// A rewritten frame header waiting for room in the caller's buffer.
#[derive(Debug, Default)]
struct Pending {
    bytes: [u8; MAX_HEADER],
    len: usize,
    pos: usize,
}

impl Pending {
    /// Appends `more`; headers are built by this module and never exceed [`MAX_HEADER`].
    fn push(&mut self, more: &[u8]) {
        let end = (self.len + more.len()).min(MAX_HEADER);
        let room = self.bytes.get_mut(self.len..end).unwrap_or_default();
        let n = room.len();
        room.copy_from_slice(more.get(..n).unwrap_or_default());
        self.len = end;
    }

    /// Moves as much as fits into `buf`.
    fn drain_into(&mut self, buf: &mut ReadBuf<'_>) {
        let rest = self.bytes.get(self.pos..self.len).unwrap_or_default();
        let n = rest.len().min(buf.remaining());
        buf.put_slice(rest.get(..n).unwrap_or_default());
        self.pos += n;
    }
}

/// Where the parser is in the client's byte stream.
#[derive(Debug)]
enum State {
    /// Collecting a frame header.
    Header { bytes: [u8; MAX_HEADER], have: usize },
    /// Passing `piece_left` payload bytes on, then `after` more in further pieces, then
    /// skipping `then_discard`, then passing `then_pass` (the tail of a refused frame, within
    /// the same rewritten frame).
    Pass { piece_left: u64, after: u64, then_discard: u64, then_pass: u64 },
    /// Skipping `remaining` payload bytes of a refused frame, then passing `then_pass`.
    Discard { remaining: u64, then_pass: u64 },
}

impl State {
    fn header() -> Self {
        Self::Header { bytes: [0; MAX_HEADER], have: 0 }
    }
}

/// What the pieces of the current frame are sent as.
#[derive(Debug, Default)]
struct Piece {
    /// RSV bits and opcode of the next piece (FIN clear): continuation after the first.
    first: u8,
    /// Whether the frame is the last of its message.
    fin: bool,
    mask: [u8; 4],
}

/// Why a message was refused.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    TooLarge,
    OverBudget,
}

/// The data message whose frames are arriving.
#[derive(Debug, Default)]
struct InFlight {
    /// Payload bytes declared by its frames so far.
    declared: u64,
    reservation: Option<Reservation>,
    refusal: Option<Refusal>,
}

impl InFlight {
    fn into_ticket(self, limit: usize) -> Ticket {
        let len = usize::try_from(self.declared).unwrap_or(usize::MAX);
        let verdict = match self.refusal {
            None => Verdict::Accepted,
            Some(Refusal::TooLarge) => Verdict::TooLarge { len, limit },
            Some(Refusal::OverBudget) => Verdict::OverBudget { len },
        };
        Ticket { verdict, reservation: self.reservation }
    }
}

/// The client's bytes: those read before the wrapper existed, then the stream ([`Replay`]).
#[derive(Debug)]
struct Input<S> {
    inner: Replay<S>,
}

impl<S: AsyncRead + Unpin> Input<S> {
    /// Reads into `dst`; `Ok(0)` at end of stream (or for an empty `dst`).
    fn poll_read(&mut self, cx: &mut Context<'_>, dst: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(dst);
        ready!(Pin::new(&mut self.inner).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }
}

/// What one step of the parser achieved.
enum Flow {
    /// Progress; step again.
    Go,
    /// The client's stream ended.
    End,
    /// Skipped a lot without producing anything; let other tasks run.
    Yield,
}

/// The connection's stream with client frames metered (see the module documentation); sits
/// under tungstenite, after the HTTP handshake. Writes pass through untouched.
///
/// A fragmented text message refused after its first frame stays a text message whose last
/// kept fragment is cut at [`SAMPLE`] bytes; if that cut splits a UTF-8 sequence, tungstenite
/// fails the connection. Browsers never fragment what they send, so this is accepted.
#[derive(Debug)]
pub struct Metered<S> {
    input: Input<S>,
    account: Account,
    max_message: usize,
    tickets: Tickets,
    state: State,
    pending: Pending,
    piece: Piece,
    message: Option<InFlight>,
    /// Bytes skipped in the current `poll_read`.
    skipped: u64,
}

impl<S> Metered<S> {
    /// Meters `inner`, whose `prefix` (bytes read after the HTTP request head) comes first;
    /// messages over `max_message` bytes are refused. The tickets of its messages go to the
    /// returned queue.
    pub fn new(inner: S, prefix: Vec<u8>, account: Account, max_message: usize) -> (Self, Tickets) {
        let tickets = Tickets::default();
        let metered = Self {
            input: Input { inner: Replay::new(prefix, inner) },
            account,
            max_message,
            tickets: tickets.clone(),
            state: State::header(),
            pending: Pending::default(),
            piece: Piece::default(),
            message: None,
            skipped: 0,
        };
        (metered, tickets)
    }

    /// Decides on a complete header: what tungstenite sees of the frame, and what is skipped.
    fn begin(&mut self, header: FrameHeader) -> io::Result<()> {
        let (first, keep, tail) = match header.opcode() {
            OP_CLOSE..=OP_PONG if header.fin() && header.len <= MAX_CONTROL => {
                (header.first, header.len, 0)
            }
            OP_CONTINUATION..=OP_BINARY => self.data_frame(header)?,
            _ => return Err(invalid("bad control frame or reserved opcode")),
        };
        self.piece = Piece { first: first & 0x7F, fin: header.fin(), mask: header.mask };
        let piece = keep.min(PIECE);
        let then_discard = header.len - keep - tail;
        self.state =
            State::Pass { piece_left: piece, after: keep - piece, then_discard, then_pass: tail };
        // A tail only follows a sample, which is shorter than a piece: one header for both.
        self.emit_piece(piece + tail, keep - piece);
        Ok(())
    }

    /// Queues the header of the next piece, `len` bytes long with `after` more to come.
    fn emit_piece(&mut self, len: u64, after: u64) {
        let fin = if after == 0 && self.piece.fin { 0x80 } else { 0 };
        self.pending = FrameHeader::encode(self.piece.first | fin, len, self.piece.mask);
        self.piece.first = OP_CONTINUATION;
    }

    /// Meters a data frame; its first byte as passed on, how many payload bytes pass from its
    /// start, and how many from its end (a refused single frame: both samples).
    fn data_frame(&mut self, header: FrameHeader) -> io::Result<(u8, u64, u64)> {
        let continuation = header.opcode() == OP_CONTINUATION;
        if continuation != self.message.is_some() {
            return Err(invalid("data frame out of sequence"));
        }
        let message = self.message.get_or_insert_with(InFlight::default);
        message.declared = message.declared.saturating_add(header.len);
        let refused_before = message.refusal.is_some();
        if !refused_before {
            message.refusal = judge(message, &self.account, self.max_message, header.len);
        }
        let sample = SAMPLE as u64;
        let passed = match (message.refusal, refused_before) {
            (None, _) => (header.first, header.len, 0),
            // Truncating a masked payload keeps it valid: the mask is applied by position.
            (Some(_), false) if continuation => (header.first, header.len.min(sample), 0),
            (Some(_), false) => {
                ((header.first & 0xF0) | OP_BINARY, header.len.min(sample), tail(header.len))
            }
            (Some(_), true) => (header.first, 0, 0),
        };
        if header.fin() {
            if let Some(done) = self.message.take() {
                self.tickets.push(done.into_ticket(self.max_message));
            }
        }
        Ok(passed)
    }
}

/// How many bytes from the end of a refused frame of `len` bytes pass after its first
/// [`SAMPLE`]: about [`SAMPLE`], chosen so that the bytes skipped are a multiple of 4 and the
/// tail keeps the mask's phase in the shortened frame; none when the frame is short.
fn tail(len: u64) -> u64 {
    let sample = SAMPLE as u64;
    match len.checked_sub(2 * sample) {
        Some(extra) if extra > 0 => len - sample - extra / 4 * 4,
        _ => len.saturating_sub(sample),
    }
}

/// Reserves a frame's `len` bytes for `message`; why not, when it cannot be.
fn judge(message: &mut InFlight, account: &Account, limit: usize, len: u64) -> Option<Refusal> {
    let within = usize::try_from(message.declared).is_ok_and(|total| total <= limit);
    let Some(n) = usize::try_from(len).ok().filter(|_| within) else {
        return Some(Refusal::TooLarge);
    };
    let reserved = match &mut message.reservation {
        Some(held) => held.grow(n),
        None => account.reserve(n).map(|r| message.reservation = Some(r)).is_some(),
    };
    (!reserved).then_some(Refusal::OverBudget)
}

impl<S: AsyncRead + Unpin> Metered<S> {
    /// One step of the parser; bytes for tungstenite go into `buf`.
    fn step(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<Flow>> {
        match &mut self.state {
            State::Header { bytes, have } => {
                let need = header_len(bytes.get(..*have).unwrap_or_default())?;
                if *have >= need {
                    let header = FrameHeader::parse(bytes.get(..need).unwrap_or_default())?;
                    self.begin(header)?;
                    return Poll::Ready(Ok(Flow::Go));
                }
                let dst = bytes.get_mut(*have..need).unwrap_or_default();
                let n = ready!(self.input.poll_read(cx, dst))?;
                *have += n;
                Poll::Ready(Ok(if n == 0 { Flow::End } else { Flow::Go }))
            }
            State::Pass { piece_left: 0, after: 0, then_discard, then_pass } => {
                let (remaining, then_pass) = (*then_discard, *then_pass);
                self.state = State::Discard { remaining, then_pass };
                Poll::Ready(Ok(Flow::Go))
            }
            State::Pass { piece_left: 0, after, then_discard, then_pass } => {
                let (piece, then_discard, then_pass) =
                    ((*after).min(PIECE), *then_discard, *then_pass);
                let after = *after - piece;
                self.state = State::Pass { piece_left: piece, after, then_discard, then_pass };
                self.emit_piece(piece, after);
                Poll::Ready(Ok(Flow::Go))
            }
            State::Pass { piece_left, .. } => {
                let want = clamp(*piece_left, buf.remaining());
                let n = ready!(self.input.poll_read(cx, buf.initialize_unfilled_to(want)))?;
                buf.advance(n);
                *piece_left -= n as u64;
                Poll::Ready(Ok(if n == 0 { Flow::End } else { Flow::Go }))
            }
            State::Discard { remaining: 0, then_pass: 0 } => {
                self.state = State::header();
                Poll::Ready(Ok(Flow::Go))
            }
            State::Discard { remaining: 0, then_pass } => {
                let piece_left = *then_pass;
                self.state = State::Pass { piece_left, after: 0, then_discard: 0, then_pass: 0 };
                Poll::Ready(Ok(Flow::Go))
            }
            State::Discard { remaining, .. } => {
                if self.skipped >= DISCARD_PER_POLL {
                    return Poll::Ready(Ok(Flow::Yield));
                }
                let mut scratch = [0u8; DISCARD_CHUNK];
                let dst = scratch.get_mut(..clamp(*remaining, DISCARD_CHUNK));
                let n = ready!(self.input.poll_read(cx, dst.unwrap_or_default()))?;
                *remaining -= n as u64;
                self.skipped += n as u64;
                Poll::Ready(Ok(if n == 0 { Flow::End } else { Flow::Go }))
            }
        }
    }
}

/// `remaining` capped at `room`.
fn clamp(remaining: u64, room: usize) -> usize {
    usize::try_from(remaining).map_or(room, |r| r.min(room))
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let start = buf.filled().len();
        this.skipped = 0;
        loop {
            this.pending.drain_into(buf);
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            let produced = buf.filled().len() > start;
            match this.step(cx, buf) {
                Poll::Ready(Ok(Flow::Go)) => {}
                Poll::Ready(Ok(Flow::End)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(Flow::Yield)) if !produced => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Ready(Ok(Flow::Yield)) | Poll::Pending if produced => {
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Ok(Flow::Yield)) | Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().input.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().input.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().input.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().input.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.input.inner.is_write_vectored()
    }
}

#[cfg(test)]
#[path = "meter_tests.rs"]
mod tests;
