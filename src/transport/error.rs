//! The transport layer's error type. Connection-level faults are logged and close the
//! connection; these errors surface only at start-up (listen address, bind, local CA).

use std::net::SocketAddr;
use std::path::PathBuf;

/// What went wrong in the transport layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A `--listen` URL that cannot be parsed.
    #[error("invalid listen address {url:?}: {reason}")]
    InvalidListen {
        /// The URL as given.
        url: String,
        /// Why it was refused, and what is accepted instead.
        reason: String,
    },
    /// A listen address that is not loopback.
    #[error(
        "refusing to listen on {addr}: only loopback addresses (127.0.0.1, ::1, localhost) are allowed"
    )]
    NotLoopback {
        /// The host as given.
        addr: String,
    },
    /// A port that must never be bound (KAZTOKEN's HTTP API, protocol spec §7).
    #[error(
        "refusing to listen on port {port}: it belongs to KAZTOKEN's HTTP API and answering there \
         diverts portals away from the WebSocket; choose another port"
    )]
    ForbiddenPort {
        /// The refused port.
        port: u16,
    },
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {source} (is another NCALayer or Qoltanba running?)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Reading or writing a file of the local CA failed.
    #[error("{action} {path}: {source}")]
    File {
        /// What was being done ("reading", "writing", "creating").
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A stored certificate or key cannot be used.
    #[error("unusable TLS file {path}: {reason}")]
    BadTlsFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Generating the local CA or leaf failed.
    #[error("cannot generate the local TLS certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the certificate or key.
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] tokio_rustls::rustls::Error),
}

/// The broad class of a [`TransportError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration asks for something not allowed (fix the `--listen` value).
    Config,
    /// The operating system refused (socket, file).
    Io,
    /// Certificate generation, parsing or TLS set-up.
    Tls,
}

impl TransportError {
    /// The broad class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidListen { .. } | Self::NotLoopback { .. } | Self::ForbiddenPort { .. } => {
                ErrorKind::Config
            }
            Self::Bind { .. } | Self::File { .. } => ErrorKind::Io,
            Self::BadTlsFile { .. } | Self::Generate(_) | Self::Tls(_) => ErrorKind::Tls,
        }
    }
}
