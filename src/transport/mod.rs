//! The only code that touches sockets: WebSocket over TLS or plain TCP on loopback, the local
//! CA that makes TLS trusted, and native messaging for the browser extension
//! ([`native_messaging`]: the browsers' framing; [`native_relay`]: the host's WebSocket to the
//! daemon).
//!
//! Start-up: [`Listen::parse`] the `--listen` URLs, [`tls::LocalCa::load_or_create`] for
//! `wss://`, [`bind`], then [`serve`] with the protocol `Dispatcher` as [`Handler`].
//! Requests go to the handler untouched; message bodies are never logged. [`probe`] is the
//! one client: `qoltanba doctor` asks a listen address for its status page.

mod conns;
mod error;
mod handler;
mod head;
pub mod listen;
pub mod meter;
pub mod native_messaging;
pub mod native_relay;
pub mod probe;
mod queue;
mod status;
pub mod tls;
pub mod websocket;

pub use error::{ErrorKind, TransportError};
pub use listen::{bind, Listen};
pub use status::StatusInfo;
pub use websocket::{serve, Admission, Handler, Limits};
