//! The only code that touches sockets: WebSocket over TLS or plain TCP on loopback, the local
//! CA that makes TLS trusted, and (later) native messaging for the browser extension.
//!
//! Nothing here reads message bodies beyond routing them: requests go to a [`Handler`]
//! (the protocol layer's `Dispatcher`), and bodies are never logged.

mod error;
pub mod tls;
pub mod websocket;

pub use error::{ErrorKind, TransportError};
