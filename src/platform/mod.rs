//! Platform glue: where files live (the `directories` crate, or `--data-dir`), the clock
//! (the real one, or `QOLTANBA_TEST_NOW` in test builds), the browsers' trust stores and their
//! native-messaging hosts ([`browsers`]), the
//! Windows registry as a source of IT policy ([`registry`]), process hardening at start
//! ([`harden`]), the program holding a local port ([`ports`]), memory locked against swap for remembered secrets ([`locked`]) and a small
//! blocking HTTP/1.1 client for the TSA, OCSP and CRL services ([`http`]).

pub mod browsers;
pub mod clock;
pub mod harden;
pub mod http;
pub mod locked;
pub mod paths;
pub mod ports;
pub mod registry;
#[cfg(test)]
pub mod skip;
pub mod trust;
