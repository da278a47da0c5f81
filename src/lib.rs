//! Qoltanba: an NCALayer-compatible signing bridge for the Kazakh PKI.
//!
//! Layers, and the direction of their dependencies (see `docs/architecture.md`):
//!
//! ```text
//! main ─► transport ─► protocol ─► service ─► sign ─► crypto
//!                                     ├─► keystore ─► crypto
//!                                     ├─► pki ─► crypto
//!                                     └─► ui (trait only)
//! ```
//!
//! `crypto`, `sign`, `keystore` and `pki` never see JSON, sockets, config files or the UI;
//! `protocol` is pure data; `transport` is the only code that touches sockets.

pub mod cli;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod keystore;
pub mod pki;
pub mod platform;
pub mod protocol;
pub mod service;
pub mod sign;
pub mod transport;
pub mod ui;
