//! Tests that need an external tool (openssl's GOST engine, SoftHSM2, certutil, Xvfb, Wine, …)
//! skip *visibly* when it is missing, and all in the same way: this one function, shared by the
//! unit tests (`crate::platform::skip`) and the integration tests (`tests/it/main.rs` includes
//! this file). It never passes a test silently: under `QOLTANBA_REQUIRE_ORACLES` (set by
//! `.ci/test.sh`) a missing tool fails the test; otherwise the test prints
//! `SKIPPED: <test> needs <tool>` and returns (docs/testing.md). Test code only.

use std::io::Write as _;

/// The variable under which a missing tool fails the test instead of skipping it.
pub const REQUIRE: &str = "QOLTANBA_REQUIRE_ORACLES";

/// Whether the calling test may go on: `true` when `found`. When not, the test fails if
/// [`REQUIRE`] is set; else `SKIPPED: <test> needs <tool>` goes to the process's stderr (past
/// libtest's capture, so `cargo test` shows it; `.config/nextest.toml` shows it under nextest)
/// and the answer is `false`: the caller returns at once.
#[must_use]
pub fn needs(tool: &str, found: bool) -> bool {
    if found {
        return true;
    }
    let current = std::thread::current();
    let test = current.name().unwrap_or("a test");
    assert!(
        std::env::var_os(REQUIRE).is_none(),
        "{test} needs {tool}, which is missing ({REQUIRE} is set; .ci/test.sh installs it)"
    );
    let line = format!("SKIPPED: {test} needs {tool}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    false
}

/// Whether `program` is an executable file on `PATH`.
pub fn on_path(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
}
