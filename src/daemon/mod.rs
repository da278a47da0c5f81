//! The daemon as a library. [`Parts::assemble`] builds the service (with its TSA client and
//! trust store), the protocol dispatcher and the transport limits from the settings, the IT
//! policy, a prompter and a clock; [`start`]
//! binds every listener and serves them until [`Running::stop`]; [`run`] serves until a
//! shutdown future completes. `main` runs it as a process, with the tray and the signals; the
//! integration tests run it in-process on port 0 with the scripted prompter and a pinned clock.

mod assemble;
pub mod logging;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use assemble::{
    origin_policy, refusal_notices, revocation_checker, security, token_modules, token_stores,
    trust_store, Setup,
};

use crate::platform::clock::Clock;
use crate::platform::paths::Paths;
use crate::service::Service;
use crate::transport::tls::{LocalCa, Provenance};
use crate::transport::{self, Handler, Listen, TransportError};

/// File in the data directory naming the URLs the daemon listens on, one `listening on URL`
/// line each, written once every listener is bound (tests and scripts read it for port 0).
pub const LISTENING_FILE: &str = "listening";

/// What went wrong starting the daemon.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// A listener could not be bound, or the local CA could not be made.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A setting cannot be used (a CA file that cannot be read, …).
    #[error("{0}")]
    Config(String),
    /// The data directory could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl DaemonError {
    /// Whether a listening address was already taken (by another Qoltanba or NCALayer).
    pub fn port_taken(&self) -> bool {
        matches!(self, Self::Transport(TransportError::Bind { source, .. })
            if source.kind() == std::io::ErrorKind::AddrInUse)
    }
}

/// The daemon's parts, ready to serve.
pub struct Parts {
    /// The signing service (the tray changes its language).
    pub service: Arc<Service>,
    /// What answers each connection: the protocol dispatcher.
    pub handler: Arc<dyn Handler>,
    /// Connection, message and memory limits.
    pub limits: transport::Limits,
    /// The data directory: local CA (`tls/`) and [`LISTENING_FILE`].
    pub paths: Paths,
    /// The clock the local CA's expiry is judged by.
    pub clock: Clock,
    /// Add the local CA to the user's trust stores when it is created or renewed
    /// (`[trust] install_local_ca`).
    pub install_local_ca: bool,
}

/// A daemon serving its listeners.
pub struct Running {
    urls: Vec<String>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// The URL of each listener, in the order given, with the port actually bound.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// Stops accepting, closes every connection and waits for the listeners to finish.
    pub async fn stop(self) {
        tracing::info!("shutting down");
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Binds every listener (making or loading the local CA when one is `wss`), writes
/// [`LISTENING_FILE`] and serves until [`Running::stop`].
pub async fn start(listens: Vec<Listen>, parts: &Parts) -> Result<Running, DaemonError> {
    let ca = match listens.iter().any(Listen::is_tls) {
        true => Some(LocalCa::load_or_create(&parts.paths.tls_dir(), parts.clock)?),
        false => None,
    };
    if let Some(ca) = ca.as_ref().filter(|ca| parts.install_local_ca && should_trust(ca, parts)) {
        trust_new_ca(ca.ca_pem_path().to_path_buf(), parts.paths.data_dir.clone());
    }
    let status =
        transport::StatusInfo { ca_pem: ca.as_ref().map(|ca| ca.ca_pem_path().to_path_buf()) };
    let (stop, stopped) = watch::channel(false);
    let (mut tasks, mut urls) = (Vec::new(), Vec::new());
    for listen in listens {
        let listener = transport::bind(&listen).await?;
        let address = listener
            .local_addr()
            .map_err(|source| TransportError::Bind { addr: listen.addr(), source })?;
        let url = listen.url_for(address);
        tracing::info!("listening on {url}");
        urls.push(url);
        let tls = listen.is_tls().then(|| ca.as_ref().map(LocalCa::server_config)).flatten();
        let mut stopped = stopped.clone();
        let shutdown = async move {
            let _ = stopped.wait_for(|stopped| *stopped).await;
        };
        let (handler, limits) = (parts.handler.clone(), parts.limits.clone());
        let serve = transport::serve(listener, tls, handler, limits, status.clone(), shutdown);
        tasks.push(tokio::spawn(serve));
    }
    let running = Running { urls, stop, tasks };
    let announced: String = running.urls.iter().map(|u| format!("listening on {u}\n")).collect();
    let path = parts.paths.data_dir.join(LISTENING_FILE);
    let written = std::fs::create_dir_all(&parts.paths.data_dir)
        .and_then(|()| std::fs::write(&path, announced));
    if let Err(source) = written {
        running.stop().await;
        return Err(DaemonError::Write { path, source });
    }
    Ok(running)
}

/// Whether to add the CA on this start: it is new or renewed, or it is in no trust store and
/// the user did not take it out themselves (a reinstalled package after a removal that
/// untrusted it).
fn should_trust(ca: &LocalCa, parts: &Parts) -> bool {
    let data_dir = &parts.paths.data_dir;
    ca.provenance() != Provenance::Loaded
        || (!crate::platform::trust::declined(data_dir)
            && crate::platform::trust::read_record(data_dir).is_ok_and(|r| r.is_empty()))
}

/// Adds a CA this start created or renewed to the user's trust stores, in the background (NSS
/// databases: `~/.pki/nssdb` and every Firefox profile; Windows: the user's Root store), as
/// `qoltanba cert install` does, recorded so `qoltanba cert uninstall` and package removal take
/// it out again. A failure is logged with the fix; the daemon serves either way.
fn trust_new_ca(ca_pem: PathBuf, data_dir: PathBuf) {
    tokio::task::spawn_blocking(move || {
        match crate::platform::trust::install_for_user(&ca_pem, &data_dir) {
            Ok(stores) => {
                for store in stores {
                    tracing::info!(store = %store.location, "the local CA is trusted in this store");
                }
            }
            Err(e) => tracing::warn!(
                "could not add the local CA to the trust stores ({e}); run `qoltanba cert install`"
            ),
        }
    });
}

/// [`start`], then serve until `shutdown` completes.
pub async fn run(
    listens: Vec<Listen>,
    parts: &Parts,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    let running = start(listens, parts).await?;
    shutdown.await;
    running.stop().await;
    Ok(())
}
