//! The wire layer, pure data: JSON text <-> service calls <-> JSON text, one file per NCALayer
//! module. Every envelope quirk of `ncalayer-protocol.md` lives here and nowhere else.
//!
//! Routing by the request's `module` (§1.6):
//!
//! | `module` | handled by | envelope |
//! |---|---|---|
//! | absent (with `method`), `kz.gov.pki.knca.applet.Applet` | [`applet`] | `{"result":…,"errorCode":…}` |
//! | `kz.gov.pki.knca.basics` | [`basics`] | CommonInvoker `{"body":…,"status":true}` / `{"code","details"?,"message","status":false}` |
//! | `kz.gov.pki.knca.commonUtils` | [`common_utils`] | `{"responseObject"?,"code","message"?,"uuid"?}` |
//! | `kz.gov.pki.ncalayerservices.accessory` | [`accessory`] | bare JSON |
//! | anything else | [`envelope`] | `{"success":false,"errorCode":"MODULE_NOT_FOUND"}` |
//!
//! Text that is not a JSON object gets a top-level error (see [`envelope`]). Every request gets
//! exactly one reply. Strings are escaped the standard serde_json way (org.json's `<\/` is not
//! emulated: clients parse JSON).

pub mod accessory;
pub mod applet;
pub mod basics;
mod common_calls;
pub mod common_utils;
pub mod envelope;
mod errors;
mod issuance_args;
pub mod key_info;
pub mod lifted;
mod sign_args;
#[cfg(test)]
mod test_support;

use std::sync::Arc;

use crate::service::{Caller, Service, ServiceError};

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
    /// The text is shared, not copied, with the documents of a basics `sign` that are long
    /// enough to keep encoded ([`lifted`]).
    pub async fn handle(&self, caller: &Caller, text: String) -> String {
        let text = Arc::new(text);
        let (mut request, lifted) = match envelope::parse_request(&text) {
            Ok(parsed) => parsed,
            Err(reply) => return reply,
        };
        let module = match request.get("module") {
            None => applet::MODULE.to_string(),
            Some(serde_json::Value::String(module)) => module.clone(),
            Some(_) => return envelope::module_not_found(),
        };
        if module != basics::MODULE && !lifted.is_empty() {
            // Only basics `sign` reads lifted documents; anyone else gets every string back.
            match envelope::parse_request_whole(&text) {
                Ok(whole) => request = whole,
                Err(reply) => return reply,
            }
        }
        // Admission happens here, once, before any method of any module runs.
        let guest = match self.service.admit(caller) {
            Ok(guest) => guest,
            Err(error) => return refusal(&module, &request, &error),
        };
        match module.as_str() {
            applet::MODULE => applet::handle(&self.service, &request).await,
            basics::MODULE => {
                let in_text = lifted::InText::new(&text, lifted);
                basics::handle(&self.service, &guest, &request, &in_text).await
            }
            common_utils::MODULE => common_utils::handle(&self.service, &guest, &request).await,
            accessory::MODULE => accessory::handle(&request),
            _ => envelope::module_not_found(),
        }
    }
}

/// The reply to a caller the origin policy refuses, in the envelope of the module it asked.
fn refusal(module: &str, request: &envelope::Request, error: &ServiceError) -> String {
    let wire = errors::wire(error);
    match module {
        applet::MODULE => applet::error_text(&wire.common),
        basics::MODULE => basics::error_text(wire.code, &wire.message),
        common_utils::MODULE => common_utils::error_reply(request, &wire.common),
        _ => envelope::top_level_error(wire.code, Some(&wire.message)),
    }
}

/// The reply to a message over the size limit (`server.max_message_bytes`), in the envelope
/// of the module named in its first bytes; the message itself is never parsed.
pub fn too_large(head: &str, len: usize, limit: usize) -> String {
    let text = format!(
        "The request is {len} bytes; the limit is {limit} bytes (server.max_message_bytes)."
    );
    message_too_large(head, &text)
}

/// The reply to a message the memory budget refuses (`server.untrusted_memory_bytes` for a site
/// not trusted yet, else `server.memory_budget_bytes`), in the envelope of the module named in
/// its first bytes; the message itself was never held.
pub fn over_budget(head: &str, len: usize) -> String {
    let text = format!(
        "The request of {len} bytes does not fit in the memory Qoltanba keeps for this site \
         now; send it again when earlier requests are answered, or ask the administrator to \
         trust the site (policy.allowed_origins)."
    );
    message_too_large(head, &text)
}

/// `MESSAGE_TOO_LARGE` with `text`, in the envelope of the module named in `head`.
fn message_too_large(head: &str, text: &str) -> String {
    match module_in(head) {
        Some(basics::MODULE) => basics::error_text("MESSAGE_TOO_LARGE", text),
        Some(common_utils::MODULE) => common_utils::error_text(text),
        Some(applet::MODULE) => applet::error_text(text),
        None if head.contains("\"method\"") => applet::error_text(text),
        _ => envelope::top_level_error("MESSAGE_TOO_LARGE", Some(text)),
    }
}

/// The reply to a request refused because too many requests wait on its connection
/// (`TOO_MANY_REQUESTS` / `requests.too_many`), in the envelope of the module it names.
pub fn too_busy(head: &str) -> String {
    match module_in(head) {
        Some(basics::MODULE) => basics::error_text("TOO_MANY_REQUESTS", errors::TOO_MANY_REQUESTS),
        Some(common_utils::MODULE) => common_utils::error_text("requests.too_many"),
        Some(applet::MODULE) => applet::error_text(errors::TOO_MANY_REQUESTS),
        None if head.contains("\"method\"") => applet::error_text(errors::TOO_MANY_REQUESTS),
        _ => envelope::top_level_error("TOO_MANY_REQUESTS", Some(errors::TOO_MANY_REQUESTS)),
    }
}

/// The value of the first `"module":"…"` member in the head of a request, if any.
fn module_in(head: &str) -> Option<&str> {
    let after_key = &head[head.find("\"module\"")? + "\"module\"".len()..];
    let value = after_key.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    value.find('"').map(|end| &value[..end])
}

#[cfg(test)]
mod tests {
    use super::test_support::Harness;

    #[test]
    fn too_large_replies_in_the_envelope_of_the_module_named() {
        let limit =
            "The request is 9000 bytes; the limit is 4096 bytes (server.max_message_bytes).";
        let basics = r#"{"module" : "kz.gov.pki.knca.basics","method":"sign","args":{"data":"AAAA"#;
        assert_eq!(
            super::too_large(basics, 9000, 4096),
            format!(r#"{{"code":"MESSAGE_TOO_LARGE","message":"{limit}","status":false}}"#)
        );
        let common = r#"{"module":"kz.gov.pki.knca.commonUtils","method":"signXml","args":["#;
        assert_eq!(
            super::too_large(common, 9000, 4096),
            format!(r#"{{"code":"500","message":"{limit}"}}"#)
        );
        let applet = r#"{"method":"signXml","args":["#;
        assert_eq!(
            super::too_large(applet, 9000, 4096),
            format!(r#"{{"result":"{limit}","errorCode":"COMMON"}}"#)
        );
        assert_eq!(
            super::too_large("[1,2,3", 9000, 4096),
            format!(r#"{{"success":false,"errorCode":"MESSAGE_TOO_LARGE","message":"{limit}"}}"#)
        );
    }

    #[test]
    fn greeting_is_compact() {
        assert_eq!(super::greeting(), r#"{"result":{"version":"1.4"}}"#);
    }

    #[tokio::test]
    async fn unknown_modules() {
        let h = Harness::new();
        let not_found = r#"{"success":false,"errorCode":"MODULE_NOT_FOUND"}"#;
        assert_eq!(
            h.reply(r#"{"module":"kz.digiflow.mobile.extensions","method":"getVersion"}"#).await,
            not_found
        );
        assert_eq!(h.reply(r#"{"module":"x.y","method":"z","args":[]}"#).await, not_found);
        assert_eq!(h.reply(r#"{"module":5,"method":"z"}"#).await, not_found);
    }

    #[tokio::test]
    async fn malformed_requests() {
        let h = Harness::new();
        let reply = h.reply("{\"module\":").await;
        assert!(
            reply.starts_with(r#"{"success":false,"errorCode":"JSON_PARSE_ERROR","message":"The request is not valid JSON ("#),
            "{reply}"
        );
        assert_eq!(
            h.reply("{}").await,
            r#"{"success":false,"errorCode":"INVALID_REQUEST","message":"The request has neither \"module\" nor \"method\"."}"#
        );
        assert_eq!(
            h.reply("\"sign\"").await,
            r#"{"success":false,"errorCode":"INVALID_REQUEST","message":"The request must be a JSON object with \"module\", \"method\" and \"args\"."}"#
        );
    }
}
