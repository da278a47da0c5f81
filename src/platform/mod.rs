//! Platform glue: where files live (the `directories` crate, or `--data-dir`), and the clock
//! (the real one, or `QOLTANBA_TEST_NOW` in test builds), the browsers' trust stores, and the
//! Windows registry as a source of IT policy.

pub mod clock;
pub mod paths;
pub mod registry;
pub mod trust;
