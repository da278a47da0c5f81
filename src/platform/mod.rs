//! Platform glue: where files live (the `directories` crate, or `--data-dir`), and the clock
//! (the real one, or `QOLTANBA_TEST_NOW` in test builds).

pub mod clock;
pub mod paths;
pub mod trust;
