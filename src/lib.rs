//! Qoltanba: an NCALayer-compatible signing bridge for the Kazakh PKI.
//!
//! Layers, and the direction of their dependencies (see `docs/architecture.md`):
//!
//! ```text
//! main, commands, doctor, gui, cli, demo (the binary and its tools)
//!   ▼
//! daemon (the wiring, as a library), config
//!   ▼
//! transport ─► protocol ─► service ◄─ ui
//!                            ├─► sign ─► crypto
//!                            ├─► keystore ─► crypto
//!                            └─► pki ─► crypto
//! platform: used by any module, uses none
//! ```
//!
//! `crypto`, `sign`, `keystore` and `pki` never see JSON, sockets, config files or the UI;
//! `protocol` is pure data; `transport` is the only code that touches sockets; the service owns
//! the consent vocabulary (`service::consent`) and `ui` implements it. `tests/architecture.rs`
//! fails on any edge outside this shape.

pub mod cli;
pub mod config;
pub mod crypto;
pub mod daemon;
pub mod demo;
pub mod doctor;
pub mod keystore;
pub mod pki;
pub mod platform;
pub mod protocol;
pub mod service;
pub mod sign;
pub mod transport;
pub mod ui;
