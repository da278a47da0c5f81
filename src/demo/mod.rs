//! `qoltanba demo`: a local test portal. Serves one HTML page on `http://127.0.0.1:PORT/` whose
//! script calls every protocol method through the real WebSocket of a running daemon
//! (`wss://127.0.0.1:13579` unless `?ws=` names another), so a new user can try a signature in
//! minutes. The page is static; this module answers `GET /` and 404 for anything else. A tool
//! beside the daemon, not part of it: it never talks to the daemon itself.

pub mod test_key;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The demo page.
pub const PAGE: &str = include_str!("page.html");

/// The requests the page offers, as (label, JSON) pairs; the page's buttons are built from them.
pub fn requests() -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><demo><test>Qoltanba demo — TEST ONLY</test></demo>";
    let data = "VGVzdCBkb2N1bWVudCBmcm9tIHRoZSBRb2x0YW5iYSBkZW1vIHBhZ2U="; // base64 text
    let hash = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="; // SHA-256 of "test"
    let cu = "kz.gov.pki.knca.commonUtils";
    vec![
        (
            "basics sign: CMS",
            json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{"format":"cms","data":data,"signingParams":{"decode":true,"encapsulate":true},"signerParams":{"extKeyUsageOids":[]},"locale":"en"}}),
        ),
        (
            "basics sign: XML",
            json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{"format":"xml","data":xml,"signingParams":{},"signerParams":{"extKeyUsageOids":[]},"locale":"en"}}),
        ),
        ("getActiveTokens", json!({"module":cu,"method":"getActiveTokens"})),
        ("getKeyInfo", json!({"module":cu,"method":"getKeyInfo","args":["PKCS12"]})),
        (
            "signXml",
            json!({"module":cu,"method":"signXml","args":["PKCS12","SIGNATURE",xml,"",""]}),
        ),
        (
            "signXmls",
            json!({"module":cu,"method":"signXmls","args":["PKCS12","SIGNATURE",[xml,xml],"",""]}),
        ),
        (
            "createCAdESFromBase64",
            json!({"module":cu,"method":"createCAdESFromBase64","args":["PKCS12","SIGNATURE",data,true]}),
        ),
        (
            "createCAdESFromBase64Hash",
            json!({"module":cu,"method":"createCAdESFromBase64Hash","args":["PKCS12","SIGNATURE",hash]}),
        ),
        ("showFileChooser", json!({"module":cu,"method":"showFileChooser","args":["ALL",""]})),
        (
            "createCAdESFromFile (path from showFileChooser)",
            json!({"module":cu,"method":"createCAdESFromFile","args":["PKCS12","SIGNATURE","/path/from/showFileChooser",true]}),
        ),
        (
            "createCMSSignatureFromBase64",
            json!({"module":cu,"method":"createCMSSignatureFromBase64","args":["PKCS12","SIGNATURE",data,true]}),
        ),
        (
            "applyCAdEST",
            json!({"module":cu,"method":"applyCAdEST","args":["PKCS12","SIGNATURE",data]}),
        ),
        ("changeLocale kk", json!({"module":cu,"method":"changeLocale","args":["kk"]})),
        (
            "accessory getBundles",
            json!({"module":"kz.gov.pki.ncalayerservices.accessory","method":"getBundles"}),
        ),
        (
            "accessory getServices",
            json!({"module":"kz.gov.pki.ncalayerservices.accessory","method":"getServices"}),
        ),
        ("legacy applet getVersion", json!({"method":"getVersion","args":[]})),
    ]
}

/// The page with the request list filled in.
pub fn page() -> String {
    let list: Vec<serde_json::Value> = requests()
        .into_iter()
        .map(|(label, request)| serde_json::json!({"label": label, "request": request}))
        .collect();
    let json = serde_json::Value::from(list).to_string().replace("</", "<\\/");
    PAGE.replace("/*REQUESTS*/[]", &json)
}

/// Serves the page on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let body = page();
    loop {
        let (mut stream, _) = listener.accept().await?;
        let body = body.clone();
        tokio::spawn(async move {
            let mut head = [0u8; 2048];
            let n = stream.read(&mut head).await.unwrap_or(0);
            let request = String::from_utf8_lossy(head.get(..n).unwrap_or_default()).to_string();
            let response = match request.split_whitespace().nth(1) {
                Some(path) if path == "/" || path.starts_with("/?") => {
                    response("200 OK", "text/html; charset=utf-8", &body)
                }
                _ => response("404 Not Found", "text/plain", "not found\n"),
            };
            let _ = stream.write_all(&response).await;
        });
    }
}

/// A complete HTTP/1.1 response that closes the connection.
fn response(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_lists_every_module_and_is_marked_test() {
        let page = page();
        for method in [
            "\"sign\"",
            "getKeyInfo",
            "signXmls",
            "createCAdESFromBase64Hash",
            "showFileChooser",
            "changeLocale",
            "getBundles",
        ] {
            assert!(page.contains(method), "{method}");
        }
        assert!(page.contains("TEST"));
        assert!(!page.contains("/*REQUESTS*/"));
    }
}
