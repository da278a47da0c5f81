//! Per-install local CA: key used once and destroyed; leaf for 127.0.0.1, ::1 and localhost.
//!
//! On first start [`LocalCa::load_or_create`] generates, in the TLS directory, a CA certificate
//! (ECDSA P-256, basicConstraints CA pathlen 0, name constraints permitting only `localhost`,
//! `127.0.0.1/32` and `::1/128`, 10 years) and uses the CA key exactly once, to sign a leaf
//! (SAN `localhost`, `127.0.0.1`, `::1`; EKU serverAuth; 397 days). The CA key then goes out of
//! scope and is never written anywhere, so even a stolen data directory cannot mint a
//! certificate for another name. Files: `ca.pem` (CA certificate only), `leaf.pem`,
//! `leaf-key.pem` (mode 0600 on unix).
//!
//! Later starts load the leaf and its key. A leaf that expires within 30 days (by
//! the injected [`Clock`]) or files that cannot be used are replaced by a **new** CA and
//! leaf — the old CA key no longer exists — and a warning says the new CA must be trusted again.
//! New certificates are dated by the real wall clock, because browsers check them against theirs.
//!
//! This module must not install the CA anywhere (the trust installer owns that).

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand_core::{OsRng, RngCore};
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, KeyPair, KeyUsagePurpose, NameConstraints,
    SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::platform::clock::Clock;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;

use super::TransportError;

/// The CA certificate (public; the file users import into their trust store).
pub const CA_FILE: &str = "ca.pem";
/// The leaf certificate the server presents.
pub const LEAF_FILE: &str = "leaf.pem";
/// The leaf's private key, the only private key ever written.
pub const LEAF_KEY_FILE: &str = "leaf-key.pem";

/// Leaf validity (the CA/Browser Forum ceiling is 398 days).
const LEAF_DAYS: i64 = 397;
/// CA validity, about 10 years.
const CA_DAYS: i64 = 3652;
/// A leaf expiring sooner than this is renewed at start.
const RENEW_BEFORE_DAYS: i64 = 30;
/// Certificates start this much before issuance, to tolerate small clock differences.
const BACKDATE: Duration = Duration::hours(1);

/// How the certificates in use came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    /// Loaded from the TLS directory as they were.
    Loaded,
    /// Generated because none existed.
    Created,
    /// Regenerated (new CA too) because the leaf was expiring or the files were unusable.
    Renewed,
}

/// The local CA's public side and the TLS server configuration built from its leaf.
#[derive(Debug, Clone)]
pub struct LocalCa {
    server_config: Arc<ServerConfig>,
    ca_pem: PathBuf,
    leaf_not_after: OffsetDateTime,
    provenance: Provenance,
}

impl LocalCa {
    /// Loads the leaf from `tls_dir`, creating or renewing the CA and leaf when needed. Expiry
    /// is judged by `clock`; new certificates are dated by the system clock, which browsers use.
    pub fn load_or_create(tls_dir: &Path, clock: Clock) -> Result<Self, TransportError> {
        Self::load_or_create_at(tls_dir, clock.now(), OffsetDateTime::now_utc())
    }

    /// As [`Self::load_or_create`], judging expiry at `now` and dating new certificates `issue_at`.
    fn load_or_create_at(
        tls_dir: &Path,
        now: OffsetDateTime,
        issue_at: OffsetDateTime,
    ) -> Result<Self, TransportError> {
        let provenance = match load(tls_dir) {
            Ok(stored) if stored.not_after - now > Duration::days(RENEW_BEFORE_DAYS) => {
                return Ok(Self::from_stored(tls_dir, stored, Provenance::Loaded));
            }
            Ok(stored) => {
                tracing::warn!(not_after = %stored.not_after, "local TLS certificate expires soon; \
                    replacing it with a new local CA, which must be trusted again");
                Provenance::Renewed
            }
            Err(Missing::No) => Provenance::Created,
            Err(Missing::Unusable(e)) => {
                tracing::warn!(error = %e, "local TLS files unusable; creating a new local CA, \
                    which must be trusted again");
                Provenance::Renewed
            }
        };
        issue(tls_dir, issue_at)?;
        let stored = load(tls_dir).map_err(Missing::into_error)?;
        tracing::info!(ca = %tls_dir.join(CA_FILE).display(), "created local TLS CA and leaf");
        Ok(Self::from_stored(tls_dir, stored, provenance))
    }

    fn from_stored(tls_dir: &Path, stored: Stored, provenance: Provenance) -> Self {
        Self {
            server_config: Arc::new(stored.config),
            ca_pem: tls_dir.join(CA_FILE),
            leaf_not_after: stored.not_after,
            provenance,
        }
    }

    /// The rustls server configuration presenting the leaf.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.server_config)
    }

    /// The path of `ca.pem`, the certificate users trust.
    pub fn ca_pem_path(&self) -> &Path {
        &self.ca_pem
    }

    /// When the leaf expires.
    pub fn leaf_not_after(&self) -> OffsetDateTime {
        self.leaf_not_after
    }

    /// Whether the certificates were loaded, created or renewed by this start.
    pub fn provenance(&self) -> Provenance {
        self.provenance
    }
}

/// A usable leaf read from disk.
struct Stored {
    config: ServerConfig,
    not_after: OffsetDateTime,
}

/// Why nothing usable was loaded.
enum Missing {
    /// No leaf yet (first start).
    No,
    /// Files exist but cannot be used.
    Unusable(TransportError),
}

impl Missing {
    fn into_error(self) -> TransportError {
        match self {
            Missing::No => TransportError::BadTlsFile {
                path: PathBuf::from(LEAF_FILE),
                reason: "missing right after it was written".into(),
            },
            Missing::Unusable(e) => e,
        }
    }
}

impl From<TransportError> for Missing {
    fn from(e: TransportError) -> Self {
        Missing::Unusable(e)
    }
}

/// Reads leaf, key and CA, checks they belong together, builds the server config.
fn load(dir: &Path) -> Result<Stored, Missing> {
    let leaf_path = dir.join(LEAF_FILE);
    if !leaf_path.exists() {
        return Err(Missing::No);
    }
    let leaf = read_cert(&leaf_path)?;
    let ca = read_cert(&dir.join(CA_FILE))?;
    let key = read_key(&dir.join(LEAF_KEY_FILE))?;
    let not_after = check_leaf(&leaf, &ca)
        .map_err(|reason| TransportError::BadTlsFile { path: leaf_path, reason })?;
    let config = server_config(leaf, key)?;
    Ok(Stored { config, not_after })
}

fn read_file(path: &Path) -> Result<Vec<u8>, TransportError> {
    fs::read(path).map_err(|source| TransportError::File {
        action: "reading",
        path: path.to_path_buf(),
        source,
    })
}

fn bad(path: &Path, reason: impl Into<String>) -> TransportError {
    TransportError::BadTlsFile { path: path.to_path_buf(), reason: reason.into() }
}

/// The certificates of a PEM file (our local CA's `ca.pem`) as the only roots a client trusts;
/// the error names the file.
pub(crate) fn roots_from_pem(ca_pem: &Path) -> Result<tokio_rustls::rustls::RootCertStore, String> {
    let failed = |e: &dyn std::fmt::Display| format!("{}: {e}", ca_pem.display());
    let pem = std::fs::read(ca_pem).map_err(|e| failed(&e))?;
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.map_err(|e| failed(&e))?).map_err(|e| failed(&e))?;
    }
    Ok(roots)
}

fn read_cert(path: &Path) -> Result<CertificateDer<'static>, TransportError> {
    let text = read_file(path)?;
    let first = rustls_pemfile::certs(&mut text.as_slice()).next();
    match first {
        Some(Ok(cert)) => Ok(cert),
        Some(Err(e)) => Err(bad(path, e.to_string())),
        None => Err(bad(path, "no certificate in file")),
    }
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TransportError> {
    let text = read_file(path)?;
    match rustls_pemfile::private_key(&mut text.as_slice()) {
        Ok(Some(key)) => Ok(key),
        Ok(None) => Err(bad(path, "no private key in file")),
        Err(e) => Err(bad(path, e.to_string())),
    }
}

/// Checks the leaf was issued by this CA (by name) and returns its notAfter.
fn check_leaf(leaf: &[u8], ca: &[u8]) -> Result<OffsetDateTime, String> {
    use der::Decode;
    let leaf = x509_cert::Certificate::from_der(leaf).map_err(|e| e.to_string())?;
    let ca = x509_cert::Certificate::from_der(ca).map_err(|e| e.to_string())?;
    if leaf.tbs_certificate.issuer != ca.tbs_certificate.subject {
        return Err("leaf.pem was not issued by ca.pem".into());
    }
    let secs = leaf.tbs_certificate.validity.not_after.to_unix_duration().as_secs();
    let secs = i64::try_from(secs).map_err(|e| e.to_string())?;
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| e.to_string())
}

/// The TLS server configuration (ring provider, TLS 1.2+, ALPN http/1.1).
fn server_config(
    leaf: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, TransportError> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![leaf], key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// PEM texts of a fresh CA certificate, leaf certificate and leaf key.
struct Generated {
    ca: String,
    leaf: String,
    leaf_key: String,
}

/// Generates a CA, signs one leaf with it, and lets the CA key go out of scope.
fn generate(at: OffsetDateTime) -> Result<Generated, rcgen::Error> {
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let ca = ca_params(at)?.self_signed(&ca_key)?;
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let leaf = leaf_params(at)?.signed_by(&leaf_key, &ca, &ca_key)?;
    drop(ca_key);
    Ok(Generated { ca: ca.pem(), leaf: leaf.pem(), leaf_key: leaf_key.serialize_pem() })
}

fn ca_params(at: OffsetDateTime) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(&format!("Qoltanba local CA ({})", random_hex(6)));
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("localhost".into()),
            GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(Ipv4Addr::LOCALHOST.into(), 32)),
            GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                Ipv6Addr::LOCALHOST.into(),
                128,
            )),
        ],
        excluded_subtrees: Vec::new(),
    });
    params.not_before = at - BACKDATE;
    params.not_after = at + Duration::days(CA_DAYS);
    params.serial_number = Some(random_serial());
    Ok(params)
}

fn leaf_params(at: OffsetDateTime) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::default();
    params.distinguished_name = name("localhost");
    params.subject_alt_names = vec![
        SanType::DnsName("localhost".try_into()?),
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = at - BACKDATE;
    params.not_after = at + Duration::days(LEAF_DAYS) - BACKDATE;
    params.serial_number = Some(random_serial());
    Ok(params)
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Qoltanba");
    dn.push(DnType::CommonName, common_name);
    dn
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A positive 16-byte serial number.
fn random_serial() -> SerialNumber {
    let mut buf = [0u8; 16];
    OsRng.fill_bytes(&mut buf);
    buf[0] &= 0x7f;
    buf[0] |= 0x01;
    SerialNumber::from_slice(&buf)
}

/// Generates and writes `ca.pem`, `leaf.pem`, `leaf-key.pem` into `dir`.
fn issue(dir: &Path, at: OffsetDateTime) -> Result<(), TransportError> {
    create_dir(dir)?;
    let generated = generate(at)?;
    write_atomic(&dir.join(LEAF_KEY_FILE), &generated.leaf_key, true)?;
    write_atomic(&dir.join(LEAF_FILE), &generated.leaf, false)?;
    write_atomic(&dir.join(CA_FILE), &generated.ca, false)
}

fn create_dir(dir: &Path) -> Result<(), TransportError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| TransportError::File {
        action: "creating",
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes `text` to a temporary file next to `path`, then renames it into place.
fn write_atomic(path: &Path, text: &str, secret: bool) -> Result<(), TransportError> {
    let tmp = path.with_extension("pem.tmp");
    let failed =
        |source| TransportError::File { action: "writing", path: path.to_path_buf(), source };
    let _ = fs::remove_file(&tmp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(&tmp).map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    drop(file);
    fs::rename(&tmp, path).map_err(failed)
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
