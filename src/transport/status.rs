//! Plain HTTP answers on the WebSocket port: the status page for a browser that opens
//! `https://127.0.0.1:13579/` (version, protocol version, stores, how to trust the local CA),
//! and the short error responses (403, 405, 431, 503). Never reveals anything beyond that.

use std::path::Path;

/// What the status page shows.
#[derive(Debug, Clone, Default)]
pub struct StatusInfo {
    /// The local CA certificate users import (`None` when TLS is off).
    pub ca_pem: Option<std::path::PathBuf>,
}

/// A complete HTTP/1.1 response that closes the connection.
pub(crate) fn response(status: &str, content_type: &str, body: &str, head_only: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\n\
         Content-Type: {content_type}\r\n\
         Content-Length: {len}\r\n\
         Cache-Control: no-store\r\n\
         X-Content-Type-Options: nosniff\r\n\
         Content-Security-Policy: default-src 'none'\r\n\
         Connection: close\r\n\r\n",
        len = body.len(),
    );
    if !head_only {
        out.push_str(body);
    }
    out.into_bytes()
}

/// A short plain-text error response.
pub(crate) fn error(status: &str, text: &str) -> Vec<u8> {
    response(status, "text/plain; charset=utf-8", &format!("{text}\n"), false)
}

/// The status page, `200 OK`.
pub(crate) fn page(info: &StatusInfo, head_only: bool) -> Vec<u8> {
    response("200 OK", "text/html; charset=utf-8", &html(info), head_only)
}

fn html(info: &StatusInfo) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Qoltanba</title></head><body>\n\
         <h1>Qoltanba {version}</h1>\n\
         <p>NCALayer-compatible signing bridge, protocol version {protocol}. \
         Web portals connect to this port over WebSocket.</p>\n\
         <p>Stores: PKCS12 files.</p>\n{trust}</body></html>\n",
        version = env!("CARGO_PKG_VERSION"),
        protocol = crate::protocol::VERSION,
        trust = trust_section(info.ca_pem.as_deref()),
    )
}

fn trust_section(ca_pem: Option<&Path>) -> String {
    let Some(path) = ca_pem else {
        return "<p>TLS is off on this port (test mode).</p>\n".to_owned();
    };
    let path = escape(&path.display().to_string());
    format!(
        "<h2>Trusting the certificate</h2>\n\
         <p>Local CA certificate: <code>{path}</code></p>\n\
         <p>Linux (Chrome, Firefox via NSS): \
         <code>certutil -d sql:$HOME/.pki/nssdb -A -t \"C,,\" -n \"Qoltanba local CA\" -i {path}</code></p>\n\
         <p>Windows: <code>certutil -user -addstore Root {path}</code></p>\n"
    )
}

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_shows_versions_and_escaped_ca_path() {
        let info = StatusInfo { ca_pem: Some("/home/<u>/tls/ca.pem".into()) };
        let text = String::from_utf8(page(&info, false)).expect("utf-8");
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains(concat!("Qoltanba ", env!("CARGO_PKG_VERSION"))));
        assert!(text.contains("protocol version 1.4"));
        assert!(text.contains("Stores: PKCS12 files."));
        assert!(text.contains("/home/&lt;u&gt;/tls/ca.pem"));
        assert!(!text.contains("<u>"));
        let (head, body) = text.split_once("\r\n\r\n").expect("head");
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
    }

    #[test]
    fn head_request_has_no_body() {
        let text = String::from_utf8(page(&StatusInfo::default(), true)).expect("utf-8");
        assert!(text.ends_with("\r\n\r\n"));
    }
}
