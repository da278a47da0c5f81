//! Where the server listens: `--listen` URLs parsed once into a [`Listen`] that can only hold a
//! loopback address, and the loopback checks applied to peers and `Host` headers.
//!
//! Accepted: `wss://` or `ws://`, host `127.0.0.1`, `[::1]` or `localhost` (bound as
//! `127.0.0.1`, never resolved), optional port (default 13579, 0 = any free port), optional
//! trailing `/`. Port 24680 is refused: it belongs to KAZTOKEN's HTTP API (protocol spec §7).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use tokio::net::TcpListener;

use super::TransportError;

/// NCALayer's port.
pub const DEFAULT_PORT: u16 = 13579;
/// KAZTOKEN's HTTP API port, which must never be bound.
pub const KAZTOKEN_PORT: u16 = 24680;

/// A validated loopback listen address and whether it speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    tls: bool,
    addr: SocketAddr,
}

impl Default for Listen {
    /// `wss://127.0.0.1:13579`.
    fn default() -> Self {
        Self { tls: true, addr: SocketAddr::new(Ipv4Addr::LOCALHOST.into(), DEFAULT_PORT) }
    }
}

impl Listen {
    /// Parses `wss://127.0.0.1:13579`, `ws://[::1]:0`, `ws://localhost:8080/` and the like.
    pub fn parse(url: &str) -> Result<Self, TransportError> {
        let invalid = |reason: &str| TransportError::InvalidListen {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = url
            .trim()
            .split_once("://")
            .ok_or_else(|| invalid("expected ws://HOST:PORT or wss://HOST:PORT"))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "wss" => true,
            "ws" => false,
            _ => return Err(invalid("the scheme must be ws:// or wss://")),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@']) {
            return Err(invalid("no path, query or user name may follow the address"));
        }
        let (host, port) = split_host_port(authority).ok_or_else(|| {
            invalid("expected HOST or HOST:PORT (IPv6 addresses in brackets: [::1])")
        })?;
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => p.parse().map_err(|_| invalid("the port must be 0..65535"))?,
        };
        let ip = loopback_ip(host)?;
        if port == KAZTOKEN_PORT {
            return Err(TransportError::ForbiddenPort { port });
        }
        Ok(Self { tls, addr: SocketAddr::new(ip, port) })
    }

    /// Whether connections are TLS (`wss://`).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The socket address to bind.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL clients use for a listener bound at `bound`, e.g. `ws://127.0.0.1:40123`.
    pub fn url_for(&self, bound: SocketAddr) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{bound}")
    }
}

impl FromStr for Listen {
    type Err = TransportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url_for(self.addr))
    }
}

/// Binds the listening socket; `local_addr()` of the result gives the port actually bound.
pub async fn bind(listen: &Listen) -> Result<TcpListener, TransportError> {
    TcpListener::bind(listen.addr)
        .await
        .map_err(|source| TransportError::Bind { addr: listen.addr, source })
}

/// Splits `host[:port]` or `[v6][:port]`; `None` when malformed (e.g. a bare IPv6 address).
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match authority.split_once(':') {
        None if !authority.is_empty() => Some((authority, None)),
        Some((host, port)) if !host.is_empty() && !port.contains(':') => Some((host, Some(port))),
        _ => None,
    }
}

/// The address for an allowed loopback host name or literal.
fn loopback_ip(host: &str) -> Result<IpAddr, TransportError> {
    let lower = host.to_ascii_lowercase();
    let ip = match lower.as_str() {
        "localhost" => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        other => other.parse::<IpAddr>().ok(),
    };
    match ip {
        Some(ip @ IpAddr::V4(v4)) if v4 == Ipv4Addr::LOCALHOST => Ok(ip),
        Some(ip @ IpAddr::V6(v6)) if v6 == Ipv6Addr::LOCALHOST => Ok(ip),
        _ => Err(TransportError::NotLoopback { addr: host.to_owned() }),
    }
}

/// Whether a connecting peer is on this machine (IPv4-mapped IPv6 included).
pub(crate) fn is_loopback_peer(peer: SocketAddr) -> bool {
    peer.ip().to_canonical().is_loopback()
}

/// Whether a `Host` header names this machine: `127.0.0.1`, `localhost` or `[::1]`, each with
/// an optional port; case-insensitive. Anything else may be DNS rebinding.
pub(crate) fn is_loopback_host(value: &str) -> bool {
    let lower = value.trim().to_ascii_lowercase();
    let (host, port) = match lower.strip_prefix("[::1]") {
        Some(rest) => ("[::1]", rest),
        None => lower.split_at(lower.find(':').unwrap_or(lower.len())),
    };
    let port_ok = match port.strip_prefix(':') {
        Some(digits) => !digits.is_empty() && digits.parse::<u16>().is_ok(),
        None => port.is_empty(),
    };
    port_ok && matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> (bool, String) {
        let listen = Listen::parse(url).expect(url);
        (listen.is_tls(), listen.addr().to_string())
    }

    #[test]
    fn default_is_wss_13579() {
        assert_eq!(Listen::default(), Listen::parse("wss://127.0.0.1:13579").expect("parse"));
        assert_eq!(Listen::default().to_string(), "wss://127.0.0.1:13579");
    }

    #[test]
    fn accepts_loopback_forms() {
        assert_eq!(parsed("wss://127.0.0.1:13579/"), (true, "127.0.0.1:13579".into()));
        assert_eq!(parsed("ws://127.0.0.1:0"), (false, "127.0.0.1:0".into()));
        assert_eq!(parsed("ws://[::1]:8080"), (false, "[::1]:8080".into()));
        assert_eq!(parsed("WSS://LocalHost"), (true, "127.0.0.1:13579".into()));
        assert_eq!(parsed("wss://[::1]"), (true, "[::1]:13579".into()));
    }

    #[test]
    fn refuses_non_loopback() {
        for url in ["wss://0.0.0.0:13579", "ws://192.168.1.5:1", "wss://example.com", "ws://[::]:1"]
        {
            let err = Listen::parse(url).expect_err(url);
            assert!(matches!(err, TransportError::NotLoopback { .. }), "{url}: {err}");
            let text = err.to_string();
            assert!(text.starts_with("refusing to listen on "), "{text}");
            assert!(
                text.ends_with(": only loopback addresses (127.0.0.1, ::1, localhost) are allowed"),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_kaztoken_port() {
        let err = Listen::parse("wss://127.0.0.1:24680").expect_err("24680");
        assert!(matches!(err, TransportError::ForbiddenPort { port: 24680 }));
        assert!(err.to_string().contains("24680"));
    }

    #[test]
    fn refuses_malformed() {
        for url in [
            "127.0.0.1:13579",
            "http://127.0.0.1:1",
            "ws://127.0.0.1:99999",
            "ws://127.0.0.1:x",
            "ws://::1",
            "ws://127.0.0.1:1/path",
            "ws://user@127.0.0.1:1",
            "ws://",
            "ws://[::1",
        ] {
            let err = Listen::parse(url).expect_err(url);
            assert!(matches!(err, TransportError::InvalidListen { .. }), "{url}: {err}");
        }
    }

    #[test]
    fn url_for_bound_port() {
        let listen = Listen::parse("ws://127.0.0.1:0").expect("parse");
        let bound: SocketAddr = "127.0.0.1:40123".parse().expect("addr");
        assert_eq!(listen.url_for(bound), "ws://127.0.0.1:40123");
    }

    #[test]
    fn host_header_check() {
        for ok in
            ["127.0.0.1", "127.0.0.1:13579", "localhost", "LOCALHOST:1", "[::1]", "[::1]:13579"]
        {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "127.0.0.2",
            "[::1]x",
            "localhost:",
            "localhost:99999",
            "",
            "::1",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn peer_check() {
        let peer = |s: &str| s.parse::<SocketAddr>().expect("addr");
        assert!(is_loopback_peer(peer("127.0.0.1:5000")));
        assert!(is_loopback_peer(peer("[::1]:5000")));
        assert!(is_loopback_peer(peer("[::ffff:127.0.0.1]:5000")));
        assert!(!is_loopback_peer(peer("192.168.1.2:5000")));
    }
}
