//! Where the daemon keeps its files: the data directory (local CA, logs, journal) and the
//! config directory, from the `directories` crate unless `--data-dir` overrides them.

use std::path::{Path, PathBuf};

/// The directories the daemon uses.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Everything the daemon writes.
    pub data_dir: PathBuf,
    /// Where the default config file lives.
    pub config_dir: PathBuf,
}

impl Paths {
    /// The platform defaults, or everything under `data_dir` when given.
    pub fn resolve(data_dir: Option<&Path>) -> std::io::Result<Self> {
        if let Some(dir) = data_dir {
            return Ok(Self { data_dir: dir.to_path_buf(), config_dir: dir.to_path_buf() });
        }
        let dirs =
            directories::ProjectDirs::from("kz", "Qoltanba", "qoltanba").ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no home directory to keep data in",
                )
            })?;
        Ok(Self {
            data_dir: dirs.data_dir().to_path_buf(),
            config_dir: dirs.config_dir().to_path_buf(),
        })
    }

    /// The default config file.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    /// The log file.
    pub fn log_file(&self) -> PathBuf {
        self.data_dir.join("qoltanba.log")
    }

    /// The directory of the local TLS CA and leaf.
    pub fn tls_dir(&self) -> PathBuf {
        self.data_dir.join("tls")
    }
}
