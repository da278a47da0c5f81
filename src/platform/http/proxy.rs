//! The standard proxy variables, as curl and most HTTP clients read them: `http_proxy` (else
//! `HTTP_PROXY`, else `all_proxy` / `ALL_PROXY`) names an `http://` proxy, `no_proxy` /
//! `NO_PROXY` the hosts reached directly. Loopback hosts are always reached directly. A proxy
//! value that is not an `http://` proxy (`socks5://`, `https://`, garbage) is ignored with a
//! warning that names the variable, never its value: it may hold a password, which is kept only
//! as the `Proxy-Authorization` field and never shown by `Debug`.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use base64::Engine as _;

use super::url::{host_port, parse_port, percent_decode, split_port, Url};

/// The proxy variables; the first one set (and not empty) wins.
const PROXY_VARS: [&str; 4] = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"];
/// The bypass list variables; the first one set (and not empty) wins.
const NO_PROXY_VARS: [&str; 2] = ["no_proxy", "NO_PROXY"];

/// The standard proxy variables.
#[derive(Debug, Clone, Default)]
pub struct ProxyEnv {
    http: Option<Proxy>,
    no_proxy: Vec<NoProxy>,
}

impl ProxyEnv {
    /// From the process environment: `http_proxy` / `HTTP_PROXY` (lowercase wins), else
    /// `all_proxy` / `ALL_PROXY`; `no_proxy` / `NO_PROXY`.
    pub fn from_env() -> Self {
        let names = PROXY_VARS.iter().chain(&NO_PROXY_VARS);
        let vars: Vec<(&str, String)> =
            names.filter_map(|name| Some((*name, std::env::var(name).ok()?))).collect();
        Self::from_vars(vars.iter().map(|(name, value)| (*name, value.as_str())))
    }

    /// From explicit values (tests): `vars` as (name, value) pairs with the same names as
    /// `from_env` reads. An empty value counts as unset.
    pub fn from_vars<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let vars: Vec<(&str, &str)> = vars.into_iter().map(|(n, v)| (n, v.trim())).collect();
        let first = |names: &[&'static str]| {
            let set = |name: &&'static str| vars.iter().find(|(n, v)| n == name && !v.is_empty());
            names.iter().find_map(|name| set(name).map(|(_, value)| (*name, *value)))
        };
        let http = first(&PROXY_VARS).and_then(|(name, value)| {
            let proxy = Proxy::parse(value);
            if proxy.is_none() {
                tracing::warn!(
                    variable = name,
                    "proxy variable ignored: not http://[user:password@]host[:port]"
                );
            }
            proxy
        });
        let no_proxy = first(&NO_PROXY_VARS).map_or_else(Vec::new, |(_, list)| NoProxy::list(list));
        Self { http, no_proxy }
    }

    /// The proxy to use for `url` (None: direct). Loopback hosts (localhost, 127.0.0.0/8, ::1)
    /// never go through a proxy; `no_proxy` entries: `*` (all), exact hosts, domain suffixes
    /// (`example.kz` and `.example.kz` both match `a.example.kz` and `example.kz`), optional
    /// `:port`. None too for a URL that is not a valid `http://` URL.
    pub fn proxy_for(&self, url: &str) -> Option<&Proxy> {
        self.proxy_for_url(&Url::parse(url).ok()?)
    }

    pub(super) fn proxy_for_url(&self, url: &Url) -> Option<&Proxy> {
        let proxy = self.http.as_ref()?;
        let bypass = self.no_proxy.iter().any(|entry| entry.matches(&url.host, url.port));
        (!bypass && !is_loopback(&url.host)).then_some(proxy)
    }
}

/// `localhost` (and its subdomains), 127.0.0.0/8 and `::1`.
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An HTTP proxy: its address and, from the userinfo of its URL, the `Proxy-Authorization`
/// value (Basic, RFC 7617), which `Debug` does not show.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) authorization: Option<String>,
}

impl Proxy {
    /// `http://[user:password@]host[:port][/]` or the same without the scheme; the port is 80
    /// when none is given; userinfo is percent-decoded.
    fn parse(value: &str) -> Option<Self> {
        let rest = match value.split_once("://") {
            Some((scheme, rest)) => scheme.eq_ignore_ascii_case("http").then_some(rest)?,
            None => value,
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        let (userinfo, address) = match authority.rsplit_once('@') {
            Some((userinfo, address)) => (Some(userinfo), address),
            None => (None, authority),
        };
        let (host, port) = host_port(address, 80)?;
        let authorization = userinfo.map(|userinfo| {
            let mut credentials = percent_decode(userinfo);
            if !userinfo.contains(':') {
                credentials.push(b':');
            }
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials))
        });
        Some(Self { host, port, authorization })
    }

    /// The proxy's host name or IP address (an IPv6 literal without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether requests through it carry `Proxy-Authorization` (its URL had userinfo).
    pub fn has_credentials(&self) -> bool {
        self.authorization.is_some()
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("credentials", &self.authorization.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// One `no_proxy` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NoProxy {
    /// `*`: every host.
    All,
    /// A host and its subdomains, on any port or only on `port`.
    Host { name: String, port: Option<u16> },
}

impl NoProxy {
    /// The entries of a list separated by commas or white space; malformed entries are skipped.
    fn list(value: &str) -> Vec<Self> {
        value.split(|c: char| c == ',' || c.is_whitespace()).filter_map(Self::parse).collect()
    }

    fn parse(entry: &str) -> Option<Self> {
        let entry = entry.to_ascii_lowercase();
        if entry == "*" {
            return Some(Self::All);
        }
        let entry = entry.strip_prefix("*.").or_else(|| entry.strip_prefix('.')).unwrap_or(&entry);
        if entry.parse::<Ipv6Addr>().is_ok() {
            return Some(Self::Host { name: entry.to_owned(), port: None });
        }
        let (name, port) = split_port(entry)?;
        let port = match port {
            None => None,
            Some(digits) => Some(parse_port(digits)?),
        };
        (!name.is_empty()).then(|| Self::Host { name: name.to_owned(), port })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        match self {
            Self::All => true,
            Self::Host { name, port: only } => {
                let on_port = only.is_none_or(|only| only == port);
                let suffix = host.strip_suffix(name.as_str());
                on_port && suffix.is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
            }
        }
    }
}
