//! Logging: to stderr and to the log file in the data directory. No request or document
//! content and no secret is ever passed to a log macro, and the libraries that log whole frames
//! (tungstenite, rustls) are capped at `warn` whatever level is asked for.

use crate::platform::paths::Paths;

/// Starts logging at `level` (or `QOLTANBA_LOG`) to stderr and the data directory's log file.
/// Fails when the log file cannot be opened or logging was already started in this process.
pub fn init(paths: &Paths, level: &str) -> Result<(), String> {
    use tracing_subscriber::{fmt, prelude::*, EnvFilter};
    let data_dir = &paths.data_dir;
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.log_file())
        .map_err(|e| format!("cannot open the log file: {e}"))?;
    let mut filter =
        EnvFilter::try_from_env("QOLTANBA_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    for quiet in ["tungstenite=warn", "tokio_tungstenite=warn", "rustls=warn", "tokio_rustls=warn"]
    {
        if let Ok(directive) = quiet.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_ansi(ansi).with_writer(std::io::stderr))
        .with(fmt::layer().with_ansi(false).with_writer(std::sync::Mutex::new(file)))
        .try_init()
        .map_err(|e| e.to_string())?;
    crate::platform::harden::log();
    Ok(())
}
