//! The daemon's clock, injected: the composition root picks it once (the system clock, or in a
//! `test-support` build a time pinned by `QOLTANBA_TEST_NOW`) and hands it to the service, the
//! TLS setup and the tray; nothing below reads the time of day on its own. Tests pin it to the
//! validity of the NCA fixture keys.

use time::OffsetDateTime;

/// A source of the current time: the system's, or one fixed moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    pinned: Option<OffsetDateTime>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { pinned: None }
    }

    /// A clock that always says `at`.
    pub fn pinned(at: OffsetDateTime) -> Self {
        Self { pinned: Some(at) }
    }

    /// A clock pinned to an RFC 3339 time, e.g. `2020-06-01T00:00:00Z`.
    pub fn parse(text: &str) -> Result<Self, time::error::Parse> {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map(Self::pinned)
    }

    /// The current time as the daemon sees it.
    pub fn now(&self) -> OffsetDateTime {
        self.pinned.unwrap_or_else(OffsetDateTime::now_utc)
    }

    /// The clock of a daemon process: the system's, or in a `test-support` build the time in
    /// `QOLTANBA_TEST_NOW` when it is set and valid (process-level tests pin it so).
    pub fn for_process() -> Self {
        #[cfg(feature = "test-support")]
        if let Some(clock) =
            std::env::var("QOLTANBA_TEST_NOW").ok().and_then(|t| Self::parse(&t).ok())
        {
            return clock;
        }
        Self::system()
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;

    #[test]
    fn a_pinned_clock_stands_still_and_the_system_one_moves_on() {
        let pinned = Clock::parse("2020-06-01T00:00:00Z").expect("time");
        assert_eq!(pinned.now().unix_timestamp(), 1_590_969_600);
        assert_eq!(pinned.now(), pinned.now());
        assert!(Clock::system().now().year() >= 2026);
        assert!(Clock::parse("yesterday").is_err());
    }
}
