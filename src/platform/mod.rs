//! Platform glue: where files live (the `directories` crate, or `--data-dir`), the clock
//! (the real one, or `QOLTANBA_TEST_NOW` in test builds) and process hardening at
//! start ([`harden`]).

pub mod clock;
pub mod harden;
pub mod paths;
pub mod trust;
