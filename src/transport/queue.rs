//! The requests of one connection between the socket and the handler: each message becomes a
//! [`Job`] (run, or answered at once as too large, over the memory budget or too busy), the
//! [`Backlog`] keeps replies in request order and disconnects a client far ahead of them, and
//! [`work`] runs the jobs one at a time. A job holds the memory its message reserved until its
//! reply is made. Must not: read or log message bodies beyond the sample that names the module.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::handler::Handler;
use super::meter::{Reservation, Ticket, Verdict};
use crate::service::Caller;

/// Refused requests (beyond `max_pending_requests`) a connection may have unanswered before it
/// is closed with code 1008.
pub const REFUSED_BACKLOG: usize = 256;

/// How the message loop ended.
pub(crate) enum End {
    /// The client closed or vanished.
    Gone,
    /// The server closes with this code and reason.
    Close(CloseCode, &'static str),
}

/// One request of a connection, as the meter let it through.
pub(crate) enum Job {
    /// A request within the limits, with the memory it holds.
    Request(String, Option<Reservation>),
    /// A request over the size limit: only a sample of its first bytes arrived, to name the
    /// module of the reply.
    TooLarge { head: String, len: usize, limit: usize },
    /// A request over the memory budget of its site or of the daemon (sample kept).
    OverBudget { head: String, len: usize },
    /// A request refused because too many wait on its connection (sample kept).
    Busy { head: String },
}

/// One data message as tungstenite gave it.
pub(crate) enum Data {
    /// A text message (UTF-8 already checked).
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl Data {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Text(text) => text.as_bytes(),
            Self::Binary(bytes) => bytes,
        }
    }
}

impl Job {
    /// The job of one data message and the meter's ticket for it; `None` for binary data that
    /// is not UTF-8 (ignored, as browsers never send it).
    pub fn new(data: Data, ticket: Option<Ticket>) -> Option<Self> {
        let (verdict, reservation) = match ticket {
            Some(ticket) => (ticket.verdict, ticket.reservation),
            None => (Verdict::Accepted, None),
        };
        Some(match verdict {
            Verdict::Accepted => match data {
                Data::Text(text) => Self::Request(text, reservation),
                Data::Binary(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => Self::Request(text, reservation),
                    Err(e) => {
                        let len = e.as_bytes().len();
                        tracing::info!(len, "ignored a binary frame that is not UTF-8");
                        return None;
                    }
                },
            },
            Verdict::TooLarge { len, limit } => {
                Self::TooLarge { head: lossy(data.as_bytes()), len, limit }
            }
            Verdict::OverBudget { len } => Self::OverBudget { head: lossy(data.as_bytes()), len },
        })
    }

    /// The job refused as too busy, keeping only a sample of the request.
    fn busy(self) -> Self {
        let head = match self {
            Self::Request(text, _) => sample(&text),
            Self::TooLarge { head, .. } | Self::OverBudget { head, .. } | Self::Busy { head } => {
                head
            }
        };
        Self::Busy { head }
    }
}

/// The first bytes of a refused message as text (a multi-byte character cut at the end is
/// replaced, which cannot change the module name before it).
fn lossy(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The first and last 4 KiB of a request: JSON.stringify puts "module" first, other
/// serialisers may not.
fn sample(text: &str) -> String {
    let head = boundary_before(text, 4096);
    let tail = boundary_after(text, text.len().saturating_sub(4096).max(head));
    format!("{}\n{}", &text[..head], &text[tail..])
}

fn boundary_before(text: &str, mut index: usize) -> usize {
    index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn boundary_after(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index += 1;
    }
    index
}

/// The requests of one connection not answered yet: up to `max_pending` (plus the running
/// one) are run; more are queued as refusals, so replies stay in order; a client far ahead of
/// even those is disconnected.
pub(crate) struct Backlog {
    unanswered: usize,
    max_pending: usize,
}

impl Backlog {
    pub fn new(max_pending: usize) -> Self {
        Self { unanswered: 0, max_pending: max_pending.max(1) }
    }

    /// Queues `job` (as a refusal when too many wait), or says the connection must close.
    pub fn enqueue(&mut self, queue: &mpsc::UnboundedSender<Job>, job: Job) -> Result<(), End> {
        let job = match self.unanswered {
            n if n <= self.max_pending => job,
            n if n <= self.max_pending + REFUSED_BACKLOG => {
                if n == self.max_pending + 1 {
                    tracing::warn!("too many requests waiting for replies; refusing more");
                }
                job.busy()
            }
            _ => {
                tracing::warn!("a client keeps sending without reading replies; closing");
                return Err(End::Close(CloseCode::Policy, "too many pending requests"));
            }
        };
        queue.send(job).map_err(|_| End::Close(CloseCode::Error, "internal error"))?;
        self.unanswered += 1;
        Ok(())
    }

    /// One reply went out.
    pub fn answered(&mut self) {
        self.unanswered = self.unanswered.saturating_sub(1);
    }

    /// Whether every request has its reply.
    pub fn idle(&self) -> bool {
        self.unanswered == 0
    }
}

/// Runs the requests of one connection, one at a time, in order.
pub(crate) async fn work(
    handler: Arc<dyn Handler>,
    caller: Caller,
    mut requests: mpsc::UnboundedReceiver<Job>,
    replies: mpsc::UnboundedSender<String>,
) {
    while let Some(job) = requests.recv().await {
        let reply = match job {
            Job::Request(text, held) => {
                // The reservation is given back once the handler has let go of the text.
                let reply = handler.handle(&caller, text).await;
                drop(held);
                reply
            }
            Job::TooLarge { head, len, limit } => handler.too_large(&head, len, limit),
            Job::OverBudget { head, len } => handler.over_budget(&head, len),
            Job::Busy { head } => handler.too_busy(&head),
        };
        if replies.send(reply).is_err() {
            return;
        }
    }
}
