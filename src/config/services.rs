//! The settings of the NCA's network services: `[tsa]` (time-stamps), `[trust]` (the CAs a
//! chain may end at), `[revocation]` (OCSP and CRL before signing) and `[network]` (the proxy).
//! Read and validated with the rest of `Settings` (`config.rs`).

use std::path::PathBuf;

use serde::Deserialize;

/// The NCA's production TSA (the test one is `http://test.pki.gov.kz/tsp/`).
pub const DEFAULT_TSA_URL: &str = "http://tsp.pki.gov.kz/";
/// Default TSA timeout for connecting and for each read, in seconds.
pub const DEFAULT_TSA_TIMEOUT_SECONDS: u64 = 10;
/// Default extra attempts after a TSA connection failure, timeout or 5xx.
pub const DEFAULT_TSA_RETRIES: u32 = 1;

/// `[tsa]`: the time-stamp authority (RFC 3161 over HTTP).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TsaSettings {
    /// The TSA's `http://` URL.
    pub url: String,
    /// Connect and read timeout, seconds (1..=120).
    pub timeout_seconds: u64,
    /// Extra attempts after a connection failure, a timeout or a 5xx (0..=5).
    pub retries: u32,
}

impl Default for TsaSettings {
    fn default() -> Self {
        Self {
            url: DEFAULT_TSA_URL.into(),
            timeout_seconds: DEFAULT_TSA_TIMEOUT_SECONDS,
            retries: DEFAULT_TSA_RETRIES,
        }
    }
}

/// `[tsa]` of the IT policy (file or registry, `HKLM\SOFTWARE\Policies\Qoltanba\tsa`): the TSA
/// every user of the computer uses (a company's own TSA or proxy); it wins over the user's.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ItTsaSettings {
    /// The TSA's `http://` URL.
    pub url: Option<String>,
}

impl ItTsaSettings {
    /// Checks the URL; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        match &self.url {
            Some(url) if !url.starts_with("http://") => {
                Err(format!("tsa.url must be an http:// URL, not {url:?}"))
            }
            _ => Ok(()),
        }
    }

    /// The TSA in force: IT's when set, else the user's.
    pub fn url_over<'a>(&'a self, user: &'a TsaSettings) -> &'a str {
        self.url.as_deref().unwrap_or(&user.url)
    }
}

/// `[trust]`: which CAs a certificate's chain may end at.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrustSettings {
    /// PEM or DER files of CA certificates (a PEM file may hold several).
    pub extra_ca: Vec<PathBuf>,
    /// Also trust the NCA's test CAs (test keys, test portals); never for real use.
    pub nca_test: bool,
    /// Add the daemon's own local CA to the user's trust stores when it is created or renewed
    /// (first start), so browsers reach `wss://127.0.0.1:13579` without a manual step.
    pub install_local_ca: bool,
}

/// `[revocation]`: whether a key's certificate is revoked, asked before it signs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RevocationSettings {
    /// Ask at all (OCSP, then the CRLs of the certificate).
    pub check: bool,
    /// When neither OCSP nor a CRL can be had: `allow` (sign, with a warning in the log) or
    /// `refuse`.
    pub offline: String,
    /// An OCSP responder used instead of the certificates' own (`""`: theirs).
    pub ocsp_url: String,
}

impl Default for RevocationSettings {
    fn default() -> Self {
        Self { check: true, offline: "allow".into(), ocsp_url: String::new() }
    }
}

/// `[network]`: the way out to the NCA's services.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSettings {
    /// An HTTP proxy (`http://host:port`) for the TSA, OCSP and CRL requests; `""`: the
    /// `http_proxy`/`no_proxy` environment variables.
    pub proxy: String,
}

impl Default for TrustSettings {
    fn default() -> Self {
        Self { extra_ca: Vec::new(), nca_test: false, install_local_ca: true }
    }
}
