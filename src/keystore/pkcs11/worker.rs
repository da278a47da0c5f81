//! One thread per PKCS#11 module. The thread loads the module, owns every session opened on it
//! (cryptoki's `Session` is `Send` but not `Sync`) and runs jobs one at a time, so a module
//! never sees two operations at once. PKCS#11 v2.40 §5.4 (`C_Initialize`, `C_Finalize`).
//!
//! A module file that is absent is skipped quietly; one that fails to load or to initialise, or
//! whose job panics, is reported once in the log and skipped from then on (its storages show no
//! token). A module that crashes the process (a segfault in C) cannot be contained in-process.

use std::cell::OnceCell;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};

use super::errors::{self, Context};
use super::raw::RawModule;
use crate::crypto::DeviceError;

/// How long a caller waits for a job (PIN pads and slow tokens included) before giving up.
const JOB_TIMEOUT: Duration = Duration::from_secs(120);
/// How long dropping a worker waits for its thread to finalise the module.
const FINALIZE_WAIT: Duration = Duration::from_secs(5);

/// A loaded, initialised module, living on its worker thread.
pub(crate) struct Module {
    pub(crate) ctx: Pkcs11,
    path: PathBuf,
    raw: OnceCell<Option<RawModule>>,
}

impl Module {
    /// Re-initialises the module so that tokens inserted or removed since are seen: several
    /// modules (SoftHSM2 among them) build their slot list only in `C_Initialize`. No session
    /// is open between jobs, so nothing is lost.
    pub(crate) fn rescan(&self) -> Result<(), DeviceError> {
        let _ = self.ctx.clone().finalize();
        self.ctx.initialize(init_args()).map_err(|e| errors::map(e, Context::Listing))
    }

    /// The raw entry points, for mechanisms cryptoki cannot name (loaded on first use).
    pub(crate) fn raw(&self) -> Option<&RawModule> {
        self.raw.get_or_init(|| RawModule::load(&self.path)).as_ref()
    }
}

fn init_args() -> CInitializeArgs {
    CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)
}

type Job = Box<dyn FnOnce(&mut State) + Send>;

/// The worker's view of its module.
enum State {
    Unloaded,
    Absent,
    Failed,
    Loaded(Box<Module>),
}

/// The handle of one module's worker thread. Dropping it ends the thread and waits (up to
/// [`FINALIZE_WAIT`]) until the module is finalised and unloaded: a module still inside
/// `C_Finalize` while the process exits races the libraries' exit handlers (SoftHSM2 with
/// OpenSSL 3 then crashes the process after its work is done).
pub(crate) struct Worker {
    path: PathBuf,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    finished: Mutex<Option<mpsc::Receiver<()>>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(jobs) = self.jobs.get_mut() {
            jobs.take();
        }
        let finished = self.finished.get_mut().ok().and_then(Option::take);
        if let Some(finished) = finished {
            if let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(FINALIZE_WAIT) {
                tracing::warn!("PKCS#11 module {} did not finalise in time", self.path.display());
            }
        }
    }
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Worker {
    /// Starts the thread; the module is loaded by the first job.
    pub(crate) fn spawn(path: &Path) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let name = format!("pkcs11:{}", path.file_name().unwrap_or_default().to_string_lossy());
        let spawned = std::thread::Builder::new().name(name).spawn(move || {
            let mut state = State::Unloaded;
            for job in rx {
                job(&mut state);
            }
            // C_Finalize and the library's unloading happen here, before the drop returns.
            drop(state);
            let _ = done_tx.send(());
        });
        if let Err(e) = spawned {
            tracing::error!("cannot start the PKCS#11 worker for {}: {e}", path.display());
        }
        Self {
            path: path.to_path_buf(),
            jobs: Mutex::new(Some(tx)),
            finished: Mutex::new(Some(done_rx)),
        }
    }

    /// The module path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `job` on the module's thread and waits for its result. A module that is absent or
    /// failed gives [`DeviceError::NotPresent`].
    pub(crate) fn run<T, F>(&self, job: F) -> Result<T, DeviceError>
    where
        T: Send + 'static,
        F: FnOnce(&Module) -> Result<T, DeviceError> + Send + 'static,
    {
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        let path = self.path.clone();
        let boxed: Job = Box::new(move |state| {
            let _ = reply_tx.send(execute(state, &path, job));
        });
        let jobs = self.jobs.lock().map_err(|_| gone())?;
        jobs.as_ref().ok_or_else(gone)?.send(boxed).map_err(|_| gone())?;
        drop(jobs);
        reply_rx.recv_timeout(JOB_TIMEOUT).map_err(|e| match e {
            mpsc::RecvTimeoutError::Timeout => {
                DeviceError::Failed("the token did not answer in time".into())
            }
            mpsc::RecvTimeoutError::Disconnected => gone(),
        })?
    }
}

fn gone() -> DeviceError {
    DeviceError::Failed("the PKCS#11 worker stopped".into())
}

/// Loads the module if needed, then runs the job, containing panics.
fn execute<T>(
    state: &mut State,
    path: &Path,
    job: impl FnOnce(&Module) -> Result<T, DeviceError>,
) -> Result<T, DeviceError> {
    if matches!(state, State::Unloaded) {
        *state = load(path);
    }
    let State::Loaded(module) = state else {
        return Err(DeviceError::NotPresent);
    };
    match std::panic::catch_unwind(AssertUnwindSafe(|| job(module))) {
        Ok(result) => result,
        Err(_) => {
            tracing::error!("PKCS#11 module {} failed (panic); skipping it", path.display());
            *state = State::Failed;
            Err(DeviceError::NotPresent)
        }
    }
}

/// Loads and initialises a module. Absent files are quiet; other failures are logged once
/// (the state then stays `Failed`).
fn load(path: &Path) -> State {
    if path.is_absolute() && !path.exists() {
        tracing::debug!("PKCS#11 module {} is not installed", path.display());
        return State::Absent;
    }
    let ctx = match Pkcs11::new(path) {
        Ok(ctx) => ctx,
        Err(_) if !path.is_absolute() => return State::Absent,
        Err(e) => {
            tracing::warn!("PKCS#11 module {} cannot be loaded: {e}; skipping it", path.display());
            return State::Failed;
        }
    };
    if let Err(e) = ctx.initialize(init_args()) {
        tracing::warn!("PKCS#11 module {} failed C_Initialize: {e}; skipping it", path.display());
        return State::Failed;
    }
    tracing::info!("PKCS#11 module {} loaded", path.display());
    State::Loaded(Box::new(Module { ctx, path: path.to_path_buf(), raw: OnceCell::new() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_and_broken_modules_show_no_token() {
        let absent = Worker::spawn(Path::new("/nonexistent/libnothing.so"));
        assert_eq!(absent.run(|_| Ok(())), Err(DeviceError::NotPresent));
        let dir = tempfile::tempdir().expect("temp dir");
        let junk = dir.path().join("libjunk.so");
        std::fs::write(&junk, b"not a library").expect("write");
        let broken = Worker::spawn(&junk);
        assert_eq!(broken.run(|_| Ok(())), Err(DeviceError::NotPresent));
        assert_eq!(broken.run(|_| Ok(())), Err(DeviceError::NotPresent), "still skipped");
    }
}
