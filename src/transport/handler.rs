//! What the server asks of the layer above it: [`Handler`] turns one request text into one
//! reply text and says at the handshake whether an origin may connect and how it is counted
//! ([`Admission`]); the protocol's `Dispatcher` is the handler of the daemon. Must not: touch
//! sockets (the server does), or parse requests (the protocol does).

use std::future::Future;
use std::pin::Pin;

use crate::protocol::Dispatcher;
use crate::service::Caller;

/// How the daemon stands towards a connecting origin (`None`: no `Origin` header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The origin may not use the daemon: HTTP 403 at the handshake.
    Refused,
    /// Admitted; connections and memory are counted under `site`, with the shares of a
    /// trusted caller or of a site not trusted yet.
    Admitted {
        /// The key the connection and memory limits count the caller under.
        site: String,
        /// Whether the caller is trusted (a listed portal, a remembered site, a local program).
        trusted: bool,
    },
}

/// Turns one request text into exactly one reply text.
pub trait Handler: Send + Sync + 'static {
    /// Whether `caller` may connect, and how it is counted (default: everyone, trusted).
    fn admit(&self, caller: &Caller) -> Admission {
        Admission::Admitted { site: caller.origin.shown().unwrap_or_default(), trusted: true }
    }

    /// Handles one request, taking its text (so a large document in it can be used where it
    /// is, not copied). Dropping the future cancels the request (and any prompt it shows).
    fn handle<'a>(
        &'a self,
        caller: &'a Caller,
        text: String,
    ) -> Pin<Box<dyn Future<Output = String> + Send + 'a>>;

    /// The reply to a message of `len` bytes over `limit`; `head` is its first bytes.
    fn too_large(&self, head: &str, len: usize, limit: usize) -> String {
        let _ = head;
        format!(
            "{{\"success\":false,\"errorCode\":\"MESSAGE_TOO_LARGE\",\"message\":\"The request is \
             {len} bytes; the limit is {limit} bytes.\"}}"
        )
    }

    /// The reply to a request of `len` bytes refused because it is over the memory budget of
    /// its site or of the daemon; `head` is its first bytes.
    fn over_budget(&self, head: &str, len: usize) -> String {
        let _ = head;
        format!(
            "{{\"success\":false,\"errorCode\":\"MESSAGE_TOO_LARGE\",\"message\":\"The request \
             of {len} bytes is over the memory budget.\"}}"
        )
    }

    /// The reply to a request refused because too many wait on its connection; `head` is a
    /// sample of its first and last bytes.
    fn too_busy(&self, head: &str) -> String {
        let _ = head;
        "{\"success\":false,\"errorCode\":\"TOO_MANY_REQUESTS\"}".to_string()
    }
}

impl Handler for Dispatcher {
    fn handle<'a>(
        &'a self,
        caller: &'a Caller,
        text: String,
    ) -> Pin<Box<dyn Future<Output = String> + Send + 'a>> {
        Box::pin(Dispatcher::handle(self, caller, text))
    }

    fn too_large(&self, head: &str, len: usize, limit: usize) -> String {
        crate::protocol::too_large(head, len, limit)
    }

    fn too_busy(&self, head: &str) -> String {
        crate::protocol::too_busy(head)
    }

    fn admit(&self, caller: &Caller) -> Admission {
        match self.service().standing(caller) {
            Ok(standing) => Admission::Admitted {
                site: standing.site().to_string(),
                trusted: !standing.untrusted(),
            },
            Err(_) => Admission::Refused,
        }
    }

    fn over_budget(&self, head: &str, len: usize) -> String {
        crate::protocol::over_budget(head, len)
    }
}
