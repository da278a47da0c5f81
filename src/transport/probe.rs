//! The client side of the status page, for `qoltanba doctor`: connects to a listen address,
//! does the TLS handshake (`wss://`) recording whether the server's certificate chains to our
//! local CA, asks `GET /` and tells Qoltanba's status page (`status.rs`) from any other program's
//! answer. Blocking, with a short timeout on every step; reads at most [`MAX_ANSWER`] bytes.
//! Sends nothing but the one GET.

use std::io::Read as _;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{DigitallySignedStruct, SignatureScheme};

use super::Listen;

/// The most of an answer read.
pub const MAX_ANSWER: u64 = 64 * 1024;

/// What answered on a listen address.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// Nothing listens (connection refused).
    Nobody,
    /// Qoltanba's status page.
    Qoltanba {
        /// The version the page shows.
        version: String,
        /// For TLS: whether its certificate chains to the given local CA (`None`: plain
        /// `ws://`, or no CA to check against).
        our_ca: Option<bool>,
    },
    /// Something else listens: why it is not Qoltanba (for the log and the doctor's text).
    Other(String),
}

/// Asks what answers on `listen`; `ca_pem` is our local CA (checked for `wss://`).
pub fn probe(listen: &Listen, ca_pem: Option<&Path>, timeout: Duration) -> Answer {
    let addr = listen.addr();
    let tcp = match TcpStream::connect_timeout(&addr, timeout) {
        Ok(tcp) => tcp,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Answer::Nobody,
        Err(e) => return Answer::Other(format!("connect: {e}")),
    };
    let _ = tcp.set_read_timeout(Some(timeout));
    let _ = tcp.set_write_timeout(Some(timeout));
    let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let answer = match listen.is_tls() {
        false => exchange(tcp, request.as_bytes()).map(|text| (text, None)),
        true => tls_exchange(tcp, addr, ca_pem, request.as_bytes()),
    };
    match answer {
        Ok((text, our_ca)) => match status_version(&text) {
            Some(version) => Answer::Qoltanba { version, our_ca },
            None => Answer::Other("the answer is not Qoltanba's status page".into()),
        },
        Err(reason) => Answer::Other(reason),
    }
}

/// Writes `request` and reads the answer (up to [`MAX_ANSWER`] bytes) as text.
fn exchange(
    mut stream: impl std::io::Read + std::io::Write,
    request: &[u8],
) -> Result<String, String> {
    stream.write_all(request).map_err(|e| format!("write: {e}"))?;
    let _ = stream.flush();
    let mut bytes = Vec::new();
    let read = stream.take(MAX_ANSWER).read_to_end(&mut bytes);
    match read {
        Ok(_) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        // A TLS peer closing without close_notify still gave us its page.
        Err(_) if !bytes.is_empty() => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) => Err(format!("read: {e}")),
    }
}

fn tls_exchange(
    tcp: TcpStream,
    addr: SocketAddr,
    ca_pem: Option<&Path>,
    request: &[u8],
) -> Result<(String, Option<bool>), String> {
    let verifier = Arc::new(Recorder::new(ca_pem)?);
    let config = rustls::ClientConfig::builder_with_provider(verifier.provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    let name = ServerName::IpAddress(addr.ip().into());
    let connection =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| format!("TLS: {e}"))?;
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock).map_err(|e| format!("TLS handshake: {e}"))?;
    }
    let text = exchange(stream, request)?;
    Ok((text, verifier.verdict()))
}

/// The version in Qoltanba's status page (`<h1>Qoltanba 0.1.0</h1>`), if `answer` is one.
pub fn status_version(answer: &str) -> Option<String> {
    if !answer.starts_with("HTTP/1.1 200") || !answer.contains("<title>Qoltanba</title>") {
        return None;
    }
    let (_, rest) = answer.split_once("<h1>Qoltanba ")?;
    let (version, _) = rest.split_once("</h1>")?;
    Some(version.trim().to_string())
}

/// A certificate verifier that accepts any server (the doctor wants to see who answers) but
/// records whether the chain leads to our local CA.
#[derive(Debug)]
struct Recorder {
    ours: Option<Arc<dyn ServerCertVerifier>>,
    verdict: Mutex<Option<bool>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl Recorder {
    fn new(ca_pem: Option<&Path>) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let ours = match ca_pem {
            None => None,
            Some(path) => Some(our_verifier(path, &provider)?),
        };
        Ok(Self { ours, verdict: Mutex::new(None), provider })
    }

    fn verdict(&self) -> Option<bool> {
        self.verdict.lock().ok().and_then(|v| *v)
    }
}

fn our_verifier(
    ca_pem: &Path,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, String> {
    let roots = super::tls::roots_from_pem(ca_pem)?;
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(roots.into(), provider.clone())
            .build()
            .map_err(|e| format!("{}: {e}", ca_pem.display()))?;
    Ok(verifier)
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(ours) = &self.ours {
            let chained =
                ours.verify_server_cert(end_entity, intermediates, server_name, ocsp, now).is_ok();
            if let Ok(mut verdict) = self.verdict.lock() {
                *verdict = Some(chained);
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_page_is_recognised_with_its_version() {
        let info = super::super::StatusInfo::default();
        let page = String::from_utf8(super::super::status::page(&info, false)).expect("utf-8");
        assert_eq!(status_version(&page).as_deref(), Some(env!("CARGO_PKG_VERSION")));
        assert_eq!(status_version("HTTP/1.1 200 OK\r\n\r\n<h1>Apache</h1>"), None);
        assert_eq!(status_version("HTTP/1.1 403 Forbidden\r\n\r\nQoltanba"), None);
    }

    #[test]
    fn nobody_listening_is_told_apart() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let listen = Listen::parse(&format!("ws://127.0.0.1:{port}")).expect("url");
        assert_eq!(probe(&listen, None, Duration::from_secs(2)), Answer::Nobody);
    }

    #[test]
    fn a_silent_listener_is_another_program() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let listen = Listen::parse(&format!("wss://127.0.0.1:{port}")).expect("url");
        let answer = probe(&listen, None, Duration::from_millis(300));
        assert!(matches!(answer, Answer::Other(_)), "{answer:?}");
    }
}
