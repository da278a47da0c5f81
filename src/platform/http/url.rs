//! `http://` URLs parsed by hand (RFC 3986 §3, the subset HTTP/1.1 needs): a host name or IP
//! literal, a port, and the origin-form target. Anything that could not be written verbatim in
//! a request line (spaces, control characters, non-ASCII, userinfo) is refused, so a URL cannot
//! smuggle a header into the request.

use std::net::Ipv6Addr;

use super::FetchError;

/// A parsed `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Url {
    /// Lower case; an IPv6 literal without its brackets.
    pub(super) host: String,
    pub(super) port: u16,
    /// The path and query (`/` when the URL has none), without the fragment.
    pub(super) target: String,
}

impl Url {
    pub(super) fn parse(text: &str) -> Result<Self, FetchError> {
        let bad = || FetchError::BadUrl(text.to_owned());
        if text.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(bad());
        }
        let (scheme, rest) = text.split_once("://").ok_or_else(bad)?;
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(if is_scheme(scheme) {
                FetchError::Unsupported(text.to_owned())
            } else {
                bad()
            });
        }
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let (authority, target) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        if authority.contains('@') {
            return Err(bad());
        }
        let (host, port) = host_port(authority, 80).ok_or_else(bad)?;
        let target = if target.starts_with('/') { target.to_owned() } else { format!("/{target}") };
        Ok(Self { host, port, target })
    }

    /// `host[:port]` as the `Host` field and the absolute form write it (port 80 left out).
    pub(super) fn authority(&self) -> String {
        let host =
            if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        match self.port {
            80 => host,
            port => format!("{host}:{port}"),
        }
    }
}

/// A scheme's syntax (RFC 3986 §3.1): a letter, then letters, digits, `+`, `-` or `.`.
fn is_scheme(scheme: &str) -> bool {
    scheme.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// `host[:port]` or `[v6][:port]`: the host, checked and in lower case, and the port
/// (`default` when none is given).
pub(super) fn host_port(authority: &str, default: u16) -> Option<(String, u16)> {
    let (host, port) = split_port(authority)?;
    let port = match port {
        None | Some("") => default,
        Some(digits) => parse_port(digits)?,
    };
    valid_host(host).then(|| (host.to_ascii_lowercase(), port))
}

/// Splits `host[:port]` or `[v6][:port]`; the host without brackets.
pub(super) fn split_port(authority: &str) -> Option<(&str, Option<&str>)> {
    match authority.strip_prefix('[') {
        Some(rest) => {
            let (v6, after) = rest.split_once(']')?;
            v6.parse::<Ipv6Addr>().ok()?;
            match after {
                "" => Some((v6, None)),
                _ => Some((v6, Some(after.strip_prefix(':')?))),
            }
        }
        None => Some(authority.split_once(':').map_or((authority, None), |(h, p)| (h, Some(p)))),
    }
}

/// A port from 1 to 65535, in decimal digits only.
pub(super) fn parse_port(digits: &str) -> Option<u16> {
    let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    all_digits.then(|| digits.parse().ok()).flatten().filter(|port| *port != 0)
}

fn valid_host(host: &str) -> bool {
    let name = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_');
    host.parse::<Ipv6Addr>().is_ok() || (!host.is_empty() && host.bytes().all(name))
}

/// `%XX` escapes decoded (the userinfo of a proxy URL); a `%` without two hex digits stays.
pub(super) fn percent_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        let hex = tail.get(..2).filter(|h| h.iter().all(u8::is_ascii_hexdigit));
        let byte = hex.and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match byte {
            Some(byte) if first == b'%' => {
                out.push(byte);
                rest = tail.get(2..).unwrap_or_default();
            }
            _ => {
                out.push(first);
                rest = tail;
            }
        }
    }
    out
}
