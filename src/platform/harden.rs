//! Process hardening, applied first thing by every subcommand (`main.rs`) before any password
//! or PIN is read: on Linux the process is made non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`:
//! no core dump, and no `ptrace` or `/proc/<pid>/mem` for other processes of the same user
//! unless they are root/`CAP_SYS_PTRACE`), and on every Unix the core-file limit
//! (`RLIMIT_CORE`) is 0, soft and hard, so no core file is written even if a later `setuid`
//! or a kernel setting would allow one. On Windows nothing is changed here (`docs/security.md`
//! says what protects a process there). A failure is never fatal: [`apply`] records it and
//! [`log`] reports it once logging is set up. See `docs/security.md`.

use std::sync::OnceLock;

/// What one hardening step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Applied.
    Done,
    /// The OS refused (the error number, for the log).
    Failed(i32),
    /// Not available on this OS.
    Unsupported,
}

/// The outcome of [`apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// The process is not dumpable and not traceable by same-user processes (Linux).
    pub non_dumpable: Outcome,
    /// `RLIMIT_CORE` is 0, soft and hard (Unix).
    pub no_core_files: Outcome,
}

static APPLIED: OnceLock<Report> = OnceLock::new();

/// Hardens the running process; idempotent. The first report is kept for [`log`].
pub fn apply() -> Report {
    let report = Report { non_dumpable: non_dumpable(), no_core_files: no_core_files() };
    let _ = APPLIED.set(report);
    report
}

/// Logs the outcome of the first [`apply`]: a warning for each step that failed.
pub fn log() {
    if let Some(report) = APPLIED.get() {
        report.log();
    }
}

impl Report {
    /// A warning for each failed step, a debug line otherwise.
    pub fn log(&self) {
        for (step, outcome) in
            [("non-dumpable", self.non_dumpable), ("no core files", self.no_core_files)]
        {
            match outcome {
                Outcome::Failed(errno) => tracing::warn!(
                    "process hardening '{step}' failed (OS error {errno}); continuing without it"
                ),
                _ => tracing::debug!("process hardening '{step}': {outcome:?}"),
            }
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn non_dumpable() -> Outcome {
    use rustix::process::{set_dumpable_behavior, DumpableBehavior};
    outcome(set_dumpable_behavior(DumpableBehavior::NotDumpable))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn non_dumpable() -> Outcome {
    Outcome::Unsupported
}

#[cfg(unix)]
fn no_core_files() -> Outcome {
    use rustix::process::{setrlimit, Resource, Rlimit};
    outcome(setrlimit(Resource::Core, Rlimit { current: Some(0), maximum: Some(0) }))
}

#[cfg(not(unix))]
fn no_core_files() -> Outcome {
    Outcome::Unsupported
}

#[cfg(unix)]
fn outcome(result: rustix::io::Result<()>) -> Outcome {
    match result {
        Ok(()) => Outcome::Done,
        Err(errno) => Outcome::Failed(errno.raw_os_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn apply_makes_the_process_non_dumpable_without_core_files() {
        use rustix::process::{dumpable_behavior, getrlimit, DumpableBehavior, Resource};
        let report = apply();
        assert_eq!(report, Report { non_dumpable: Outcome::Done, no_core_files: Outcome::Done });
        assert_eq!(dumpable_behavior().expect("PR_GET_DUMPABLE"), DumpableBehavior::NotDumpable);
        let core = getrlimit(Resource::Core);
        assert_eq!((core.current, core.maximum), (Some(0), Some(0)));
        assert_eq!(apply(), report, "applying twice is harmless");
        log();
    }
}
