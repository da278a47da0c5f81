//! The wire layer, pure data: JSON text <-> service calls <-> JSON text, one file per NCALayer
//! module. Every envelope quirk of `ncalayer-protocol.md` lives here and nowhere else.

pub mod accessory;
pub mod applet;
pub mod basics;
pub mod common_utils;
pub mod envelope;

use std::sync::Arc;

use crate::service::{Caller, Service};

/// The protocol version sent in the greeting.
pub const VERSION: &str = "1.4";

/// The greeting sent on every new connection: `{"result":{"version":"1.4"}}`.
pub fn greeting() -> String {
    format!("{{\"result\":{{\"version\":\"{VERSION}\"}}}}")
}

/// Routes one request text to its module and returns exactly one reply text.
pub struct Dispatcher {
    service: Arc<Service>,
}

impl Dispatcher {
    /// A dispatcher over `service`.
    pub fn new(service: Arc<Service>) -> Self {
        Self { service }
    }

    /// The service behind this dispatcher.
    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }

    /// Handles one JSON request (not `--heartbeat--`, which the transport echoes itself).
    pub async fn handle(&self, _caller: &Caller, _text: &str) -> String {
        todo!("protocol")
    }
}
