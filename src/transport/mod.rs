//! The only code that touches sockets: WebSocket over TLS or plain TCP on loopback, the local
//! CA that makes TLS trusted, and (later) native messaging for the browser extension.

pub mod tls;
pub mod websocket;
