//! The desktop half of the composition root: builds the dialog prompter and runs the tray on
//! the main thread while the tokio runtime serves on another thread (`docs/architecture.md`,
//! Threads). Without the `desktop` feature, `--ui gui` is refused with a clear message.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use qoltanba::platform::paths::Paths;
use qoltanba::service::consent::Prompter;
use qoltanba::service::Service;

/// A failure, printed as one line.
type Failure = String;

/// What the desktop needs from the daemon's settings.
pub struct Desktop {
    data_dir: PathBuf,
    #[cfg_attr(not(feature = "desktop"), allow(dead_code))]
    config_file: PathBuf,
    #[cfg_attr(not(feature = "desktop"), allow(dead_code))]
    locale: String,
    #[cfg_attr(not(feature = "desktop"), allow(dead_code))]
    clock: qoltanba::platform::clock::Clock,
    #[cfg(feature = "desktop")]
    board: qoltanba::ui::desktop::Board,
    #[cfg(feature = "desktop")]
    notifications: qoltanba::ui::notify::Notifications,
}

impl Desktop {
    /// The desktop of a daemon with these paths and default language.
    pub fn new(paths: &Paths, locale: &str, clock: qoltanba::platform::clock::Clock) -> Self {
        #[cfg(feature = "desktop")]
        let parsed = qoltanba::ui::i18n::Locale::parse_or_default(locale);
        Self {
            data_dir: paths.data_dir.clone(),
            config_file: paths.config_file(),
            locale: locale.to_string(),
            clock,
            #[cfg(feature = "desktop")]
            board: qoltanba::ui::desktop::Board::default(),
            #[cfg(feature = "desktop")]
            notifications: qoltanba::ui::notify::Notifications::for_desktop(parsed),
        }
    }

    /// The dialog prompter for `gui`; `None` for other modes.
    pub fn prompter(&self, mode: &str) -> Result<Option<Arc<dyn Prompter>>, Failure> {
        if mode != "gui" {
            return Ok(None);
        }
        #[cfg(feature = "desktop")]
        {
            let program = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
            std::fs::create_dir_all(&self.data_dir).map_err(|e| e.to_string())?;
            Ok(Some(Arc::new(qoltanba::ui::desktop::GuiPrompter::new(
                program,
                &self.data_dir,
                self.board.clone(),
                self.notifications.clone(),
            ))))
        }
        #[cfg(not(feature = "desktop"))]
        Err("--ui gui needs a build with the `desktop` feature".into())
    }

    /// Serves on a runtime thread and runs the tray here until quit or the server stops.
    pub fn run_with_tray<F>(
        self,
        runtime: tokio::runtime::Runtime,
        serve: F,
        service: Arc<Service>,
        quit: Arc<tokio::sync::Notify>,
    ) -> Result<(), Failure>
    where
        F: Future<Output = Result<(), Failure>> + Send + 'static,
    {
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        #[cfg(feature = "desktop")]
        self.watch_expiry(done.clone());
        let finished = done.clone();
        let server = std::thread::spawn(move || {
            let result = runtime.block_on(serve);
            finished.store(true, std::sync::atomic::Ordering::SeqCst);
            result
        });
        self.tray(service, quit, done);
        server.join().map_err(|_| "the server thread panicked".to_string())?
    }

    /// Checks the recently used keys for certificates expiring within 30 days at start and then
    /// every hour, so the once-a-day warning comes even on days without a signature.
    #[cfg(feature = "desktop")]
    fn watch_expiry(&self, done: Arc<std::sync::atomic::AtomicBool>) {
        let (data_dir, notifications) = (self.data_dir.clone(), self.notifications.clone());
        let clock = self.clock;
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let watch = qoltanba::ui::notify::ExpiryWatch::load(&data_dir);
                for note in watch.due(clock.now()) {
                    notifications.send(&note);
                }
                for _ in 0..3600 {
                    if done.load(std::sync::atomic::Ordering::SeqCst) {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
        });
    }

    #[cfg(feature = "desktop")]
    fn tray(
        self,
        service: Arc<Service>,
        quit: Arc<tokio::sync::Notify>,
        done: Arc<std::sync::atomic::AtomicBool>,
    ) {
        use qoltanba::ui::desktop::tray::{self, TrayContext};
        use qoltanba::ui::i18n::Locale;
        let notifications = self.notifications.clone();
        let ca_file = self.data_dir.join("tls").join(qoltanba::transport::tls::CA_FILE);
        tray::run(TrayContext {
            board: self.board,
            ca_file,
            data_dir: self.data_dir,
            config_file: self.config_file,
            locale: Locale::parse_or_default(&self.locale),
            on_locale: Box::new(move |locale: Locale| {
                service.set_locale(locale.code());
                notifications.set_locale(locale);
            }),
            stopped: Box::new(move || done.load(std::sync::atomic::Ordering::SeqCst)),
            on_quit: Box::new(move || quit.notify_one()),
        });
    }

    #[cfg(not(feature = "desktop"))]
    fn tray(
        self,
        _service: Arc<Service>,
        _quit: Arc<tokio::sync::Notify>,
        done: Arc<std::sync::atomic::AtomicBool>,
    ) {
        let _ = &self.data_dir;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}
