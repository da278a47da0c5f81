//! The daemon's clock. With the `test-support` feature, `QOLTANBA_TEST_NOW` (RFC 3339) pins it,
//! so expired fixture keys can be used and time rules tested deterministically.

use time::OffsetDateTime;

/// The current time as the daemon sees it.
pub fn now() -> OffsetDateTime {
    #[cfg(feature = "test-support")]
    if let Some(pinned) = pinned() {
        return pinned;
    }
    OffsetDateTime::now_utc()
}

/// The pinned test time, if `QOLTANBA_TEST_NOW` is set and valid.
#[cfg(feature = "test-support")]
fn pinned() -> Option<OffsetDateTime> {
    let text = std::env::var("QOLTANBA_TEST_NOW").ok()?;
    OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339).ok()
}
