//! Web origins as the browser sends them in the WebSocket handshake (RFC 6454 §6.1:
//! `scheme "://" host [ ":" port ]`), parsed once into a normalised [`Origin`], and the patterns
//! of allow-lists (`https://portal.kz`, `https://*.egov.kz`). Pure data, no I/O.

use std::fmt;

/// A parsed, normalised origin: lowercase scheme and host, default port dropped.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
    /// The serialisation, `scheme://host[:port]`.
    text: String,
}

impl Origin {
    /// Parses a serialised origin; `None` for `null`, paths, user info, bad ports or hosts.
    pub fn parse(text: &str) -> Option<Self> {
        let (scheme, rest) = text.trim().split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme.is_empty()
            || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return None;
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = split_port(rest)?;
        let host = host.to_ascii_lowercase();
        if !valid_host(&host) {
            return None;
        }
        let port = port.filter(|p| Some(*p) != default_port(&scheme));
        let text = match port {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        };
        Some(Self { scheme, host, port, text })
    }

    /// The serialisation, `scheme://host[:port]` (default port left out).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The scheme (`https`).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host, lowercase (IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The site the origin belongs to, as the prompt limits count it: the registrable domain
    /// (eTLD+1 from the Public Suffix List, so `a.evil.kz` and `b.evil.kz` are `evil.kz`; under
    /// a private suffix such as `github.io` each registrant is its own site); `localhost` for
    /// every loopback name; the host itself for IP addresses and names that are a public
    /// suffix. Scheme and port are not part of it.
    pub fn site(&self) -> String {
        if self.is_loopback() {
            return "localhost".into();
        }
        if self.host.starts_with('[') || self.host.parse::<std::net::Ipv4Addr>().is_ok() {
            return self.host.clone();
        }
        match psl::domain_str(&self.host) {
            Some(domain) => domain.to_string(),
            None => self.host.clone(),
        }
    }

    /// Whether the host is this machine (`localhost`, `127.0.0.1`, `[::1]`).
    pub fn is_loopback(&self) -> bool {
        matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "[::1]")
            || self.host.ends_with(".localhost")
    }
}

impl serde::Serialize for Origin {
    /// As its serialisation (`https://egov.kz`).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "https" | "wss" => Some(443),
        "http" | "ws" => Some(80),
        _ => None,
    }
}

/// `host[:port]`, with bracketed IPv6; `None` when the port is not a number.
fn split_port(text: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(after) = text.strip_prefix('[') {
        let end = after.find(']')?;
        let host = text.get(..end + 2)?;
        (host, text.get(end + 2..)?.strip_prefix(':'))
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let port = match port {
        Some(port) => Some(port.parse::<u16>().ok()?),
        None => None,
    };
    Some((host, port))
}

fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// One allow-list entry: an exact origin, or `scheme://*.domain[:port]` for every subdomain of
/// `domain` (not `domain` itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    origin: Origin,
    subdomains: bool,
}

impl OriginPattern {
    /// Parses an allow-list entry; `None` when it is not an origin or a `*.` pattern.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().split_once("://*.") {
            Some((scheme, rest)) => {
                let origin = Origin::parse(&format!("{scheme}://{rest}"))?;
                let dots = origin.host.matches('.').count();
                (dots >= 1 && !origin.host.starts_with('['))
                    .then_some(Self { origin, subdomains: true })
            }
            None => Some(Self { origin: Origin::parse(text)?, subdomains: false }),
        }
    }

    /// Whether `origin` is covered by this entry.
    pub fn matches(&self, origin: &Origin) -> bool {
        if !self.subdomains {
            return &self.origin == origin;
        }
        self.origin.scheme == origin.scheme
            && self.origin.port == origin.port
            && origin
                .host
                .strip_suffix(self.origin.host.as_str())
                .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.'))
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.origin.to_string();
        if self.subdomains {
            f.write_str(&text.replacen("://", "://*.", 1))
        } else {
            f.write_str(&text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str) -> Origin {
        Origin::parse(text).unwrap_or_else(|| panic!("{text} parses"))
    }

    #[test]
    fn origins_are_normalised() {
        assert_eq!(origin("HTTPS://EGOV.kz").to_string(), "https://egov.kz");
        assert_eq!(origin("https://egov.kz:443").to_string(), "https://egov.kz");
        assert_eq!(origin("https://esf.gov.kz:8443").to_string(), "https://esf.gov.kz:8443");
        assert_eq!(origin("http://[::1]:8080").to_string(), "http://[::1]:8080");
        assert!(origin("http://localhost:3000").is_loopback());
        assert!(!origin("https://localhost.evil.kz").is_loopback());
    }

    #[test]
    fn subdomains_of_one_registrable_domain_are_one_site() {
        let site = |text: &str| origin(text).site();
        assert_eq!(site("https://a.evil.example"), "evil.example");
        assert_eq!(site("https://x.y.evil.example:8443"), "evil.example");
        assert_eq!(site("http://evil.example"), "evil.example");
        assert_eq!(site("https://a.b.example.co.uk"), "example.co.uk", "a multi-label suffix");
        assert_eq!(site("https://portal.gov.kz"), "portal.gov.kz", "gov.kz is a public suffix");
        assert_eq!(site("https://x.portal.gov.kz"), "portal.gov.kz");
        assert_eq!(site("https://alice.github.io"), "alice.github.io", "a private suffix");
        assert_eq!(site("https://10.0.0.7"), "10.0.0.7");
        assert_eq!(site("http://[::1]:3000"), "localhost");
        assert_eq!(site("http://app.localhost:3000"), "localhost");
        assert_ne!(site("https://evil-a.example"), site("https://evil-b.example"));
    }

    #[test]
    fn junk_is_not_an_origin() {
        for text in [
            "null",
            "",
            "https://",
            "https://a b.kz",
            "https://user@egov.kz",
            "https://egov.kz/path",
            "https://egov.kz:99999",
            "https://egov.kz:x",
            "https://egov..kz",
            "https://[zz]",
        ] {
            assert!(Origin::parse(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn patterns_match_exactly_or_subdomains_only() {
        let exact = OriginPattern::parse("https://egov.kz").expect("pattern");
        assert!(exact.matches(&origin("https://egov.kz")));
        assert!(!exact.matches(&origin("http://egov.kz")));
        assert!(!exact.matches(&origin("https://egov.kz:8443")));
        assert!(!exact.matches(&origin("https://www.egov.kz")));
        let wild = OriginPattern::parse("https://*.egov.kz").expect("pattern");
        assert!(wild.matches(&origin("https://idp.egov.kz")));
        assert!(wild.matches(&origin("https://a.b.egov.kz")));
        assert!(!wild.matches(&origin("https://egov.kz")));
        assert!(!wild.matches(&origin("https://evilegov.kz")));
        assert!(!wild.matches(&origin("https://egov.kz.evil.com")));
        assert!(OriginPattern::parse("https://*.kz").is_none(), "a bare TLD is not a domain");
        assert!(OriginPattern::parse("https://*").is_none());
    }
}
