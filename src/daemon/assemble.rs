//! Building the daemon's parts from its settings: the origin policy (the user's `[policy]` under
//! IT's, with the origins the user chose to trust), the journal, the token modules, the signing
//! service with its prompter and clock, and the transport limits. `qoltanba policy` prints what
//! the same functions build.

use std::sync::Arc;

use super::{DaemonError, Parts};
use crate::config::{Policy, Settings, TrustSettings};
use crate::crypto::Certificate;
use crate::keystore::idcard::{self, store::IdCardStores};
use crate::keystore::pkcs11::{ModuleRegistry, Pkcs11Tokens};
use crate::keystore::{TokenChain, TokenStores};
use crate::pki::trust::TrustStore;
use crate::platform::clock::Clock;
use crate::platform::http::{HttpClient, ProxyEnv};
use crate::platform::paths::Paths;
use crate::protocol::Dispatcher;
use crate::service::audit::{self, Journal};
use crate::service::consent::Prompter;
use crate::service::policy::OriginPolicy;
use crate::service::revocation::RevocationChecker;
use crate::service::security::RefusalHook;
use crate::service::stamps::TimeStamper;
use crate::service::{Security, Service, ServiceSettings};
use crate::transport;

/// File of the origins the user chose to trust, in the data directory.
const REMEMBERED_FILE: &str = "trusted-origins.txt";

/// Everything the daemon is built from.
pub struct Setup<'a> {
    /// Data directory and config file.
    pub paths: &'a Paths,
    /// The user's settings.
    pub settings: &'a Settings,
    /// The IT policy of this computer.
    pub it: &'a Policy,
    /// Who asks the user.
    pub prompter: Arc<dyn Prompter>,
    /// Where the time comes from.
    pub clock: Clock,
    /// Told of each request the origin policy refuses (the desktop notifies the user).
    pub refusals: Option<RefusalHook>,
}

impl Parts {
    /// The service, dispatcher and limits of a daemon with this setup; fails when a CA file of
    /// `[trust] extra_ca` cannot be read.
    pub fn assemble(setup: Setup<'_>) -> Result<Self, DaemonError> {
        let Setup { paths, settings, it, prompter, clock, refusals } = setup;
        let tokens = token_stores(paths, settings, it);
        let trust = Arc::new(trust_store(&settings.trust)?);
        let stamper = Some(Arc::new(time_stamper(settings, it, trust.clone())));
        let revocation = settings
            .revocation
            .check
            .then(|| Arc::new(revocation_checker(settings, Some(paths.data_dir.join("crl")))));
        let service_settings = ServiceSettings {
            locale: settings.ui.locale.clone(),
            clock,
            stamper,
            trust,
            revocation,
            refuse_unknown_revocation: settings.revocation.offline == "refuse",
            waiting: Some(paths.data_dir.join(crate::keystore::waiting::DIR)),
        };
        let mut security = security(paths, settings, it);
        if let Some(hook) = refusals {
            security = security.with_refusal_hook(hook);
        }
        let service = Service::with_security(prompter, service_settings, tokens, security);
        Ok(Self {
            handler: Arc::new(Dispatcher::new(service.clone())),
            service,
            limits: limits(settings),
            paths: paths.clone(),
            clock,
            install_local_ca: settings.trust.install_local_ca,
        })
    }
}

/// The token stores: the PKCS#11 modules, and the ID card first when `[features]
/// experimental-idcard` is on.
pub fn token_stores(paths: &Paths, settings: &Settings, it: &Policy) -> Arc<dyn TokenStores> {
    let modules: Arc<dyn TokenStores> = Arc::new(Pkcs11Tokens::new(&token_modules(settings, it)));
    if !settings.features.experimental_idcard {
        return modules;
    }
    let imported = paths.data_dir.join(idcard::certs::DIR);
    let card: Arc<dyn TokenStores> = Arc::new(IdCardStores::pcsc(imported));
    Arc::new(TokenChain::new(vec![card, modules]))
}

/// The trusted CAs: the NCA's (its test CAs too with `nca_test`) and `[trust] extra_ca`.
pub fn trust_store(settings: &TrustSettings) -> Result<TrustStore, DaemonError> {
    let mut anchors = crate::pki::roots::production();
    if settings.nca_test {
        anchors.extend(crate::pki::roots::test());
    }
    for file in &settings.extra_ca {
        let unusable = |reason: String| {
            DaemonError::Config(format!("trust.extra_ca: {}: {reason}", file.display()))
        };
        let bytes = std::fs::read(file).map_err(|e| unusable(e.to_string()))?;
        anchors
            .extend(Certificate::all_from_pem_or_der(&bytes).map_err(|e| unusable(e.to_string()))?);
    }
    Ok(TrustStore::new(anchors))
}

/// The OCSP and CRL client of `[revocation]`, keeping CRLs in `cache` when given.
pub fn revocation_checker(
    settings: &Settings,
    cache: Option<std::path::PathBuf>,
) -> RevocationChecker {
    let ocsp_url = Some(settings.revocation.ocsp_url.clone()).filter(|u| !u.is_empty());
    RevocationChecker::new(Arc::new(http_client(settings)), ocsp_url, cache)
}

/// The TSA client of `[tsa]`, at the IT policy's URL when it sets one.
fn time_stamper(settings: &Settings, it: &Policy, trust: Arc<TrustStore>) -> TimeStamper {
    TimeStamper::new(it.tsa.url_over(&settings.tsa), Arc::new(http_client(settings)), trust)
}

/// The HTTP client of the TSA, OCSP and CRL requests: `[tsa]` bounds, through `[network]
/// proxy` or else the proxy of the environment.
fn http_client(settings: &Settings) -> HttpClient {
    let timeout = std::time::Duration::from_secs(settings.tsa.timeout_seconds);
    let proxy = match settings.network.proxy.as_str() {
        "" => ProxyEnv::from_env(),
        proxy => ProxyEnv::from_vars([("http_proxy", proxy)]),
    };
    HttpClient::new(timeout, settings.tsa.retries, proxy)
}

/// The transport limits of `[server]`.
fn limits(settings: &Settings) -> transport::Limits {
    let server = &settings.server;
    transport::Limits {
        max_message_size: server.max_message_bytes,
        max_connections: server.max_connections,
        max_site_connections: server.max_site_connections,
        memory_budget: server.memory_budget_bytes,
        untrusted_memory: server.untrusted_memory_bytes,
        ..transport::Limits::default()
    }
}

/// The daemon's security: the user's `[policy]` under IT's (`it`), remembered origins and the
/// journal in the data directory.
pub fn security(paths: &Paths, settings: &Settings, it: &Policy) -> Security {
    let policy = origin_policy(paths, settings, it);
    tracing::info!(mode = ?policy.mode(), limits = ?policy.limits(), "origin policy");
    let journal = Journal::new(paths.data_dir.join(audit::JOURNAL_FILE));
    Security::new(policy, Some(journal))
}

/// The origin policy: the user's `[policy]` merged under IT's, with the remembered origins.
pub fn origin_policy(paths: &Paths, settings: &Settings, it: &Policy) -> OriginPolicy {
    OriginPolicy::merge(&settings.policy, &it.policy)
        .with_remembered(paths.data_dir.join(REMEMBERED_FILE))
}

/// The token modules: built-in defaults, then the user's config, then the IT policy.
pub fn token_modules(settings: &Settings, it: &Policy) -> ModuleRegistry {
    ModuleRegistry::with_overrides(&settings.pkcs11.modules, &it.pkcs11.modules)
}

/// Notifies the user of a request the origin policy refused, at most once a minute per site.
pub fn refusal_notices(settings: &Settings) -> RefusalHook {
    use std::collections::HashMap;
    use std::time::{Duration, Instant};
    let locale = crate::ui::i18n::Locale::parse_or_default(&settings.ui.locale);
    let notifications = crate::ui::notify::Notifications::for_desktop(locale);
    let last: std::sync::Mutex<HashMap<String, Instant>> = std::sync::Mutex::default();
    RefusalHook(Arc::new(move |origin, reason| {
        let key = origin.unwrap_or("").to_string();
        let Ok(mut last) = last.lock() else { return };
        if last.get(&key).is_some_and(|at| at.elapsed() < Duration::from_secs(60)) {
            return;
        }
        last.insert(key, Instant::now());
        notifications.policy_refused(origin, reason);
    }))
}
