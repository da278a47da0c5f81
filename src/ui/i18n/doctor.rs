//! The words of `qoltanba doctor`: one [`DoctorMsg`] per sentence, its text in each language
//! in `kk.rs`, `ru.rs` and `en.rs` (`doctor` there), blanks `{name}` filled by
//! [`super::fill`]. Kept apart from [`super::Msg`] (the dialog's and tray's words) so the
//! desktop's table stays short.

use super::{en, kk, ru, Locale};

/// One sentence or label of the doctor's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DoctorMsg {
    /// Mark of a check that passed.
    MarkOk,
    /// Mark of a warning (not a problem).
    MarkWarning,
    /// Mark of a problem.
    MarkProblem,
    /// Label before the fix.
    Fix,
    /// Check name: the daemon.
    TopicDaemon,
    /// Check name: the port.
    TopicPort,
    /// Check name: the local CA in the browsers' stores.
    TopicTrust,
    /// Check name: the native-messaging host.
    TopicNativeHost,
    /// Check name: tokens and readers.
    TopicTokens,
    /// Check name: the policy in force.
    TopicPolicy,
    /// `Qoltanba {version} is running on {url}.`
    DaemonRunning,
    /// `Qoltanba answers on {url}, but its certificate is not from the local CA in {ca}…`
    DaemonForeignCa,
    /// Fix: stop the other copy, start ours.
    FixForeignCa,
    /// `Qoltanba is not running on {url}.`
    DaemonNotRunning,
    /// Fix: start the daemon.
    FixStart,
    /// Fix: free the port first, then start the daemon.
    FixStartAfterPort,
    /// `Port {port} is free.`
    PortFree,
    /// `Port {port} is held by Qoltanba.`
    PortOurs,
    /// `Port {port} is held by another program: {program}.`
    PortHeld,
    /// `Port {port} is held by a program that could not be identified.`
    PortHeldUnknown,
    /// Fix: stop the program or listen elsewhere.
    FixPortHeld,
    /// `Port {port} is held by the official NCALayer ({program})…` and coexistence.
    PortNcaLayer,
    /// Fix: quit NCALayer and turn off its autostart.
    FixNcaLayer,
    /// `The local CA is trusted in {store}.`
    TrustOk,
    /// `The local CA is not trusted in {store}…`
    TrustMissing,
    /// `The local CA is in {store} with trust {flags}, not C,,.`
    TrustWrongFlags,
    /// Fix: `qoltanba cert install`.
    FixTrust,
    /// `There is no local CA yet ({ca}).`
    TrustNoCa,
    /// Fix: the daemon creates the CA on its first start.
    FixNoCa,
    /// `The local CA {ca} cannot be read: {reason}`.
    TrustBadCa,
    /// Fix: move the tls directory aside.
    FixBadCa,
    /// No NSS database found.
    TrustNoStores,
    /// Fix: open the browser once or `cert install`.
    FixNoStores,
    /// certutil is missing.
    TrustNoCertutil,
    /// Fix: install libnss3-tools.
    FixNoCertutil,
    /// `Cannot check {store}: {reason}`.
    TrustUnchecked,
    /// `{browser}: the host {host} is registered ({manifest}).`
    HostOk,
    /// `{browser}: the host {host} is not registered (looked in {places}).`
    HostMissing,
    /// `{browser}: {manifest} is not valid: {reason}.`
    HostInvalid,
    /// Fix: `qoltanba install-browser-support`.
    FixHost,
    /// No browser profile found.
    HostNoBrowser,
    /// Reason: not JSON.
    ReasonNotJson,
    /// Reason: `the name is not {host}`.
    ReasonWrongName,
    /// Reason: the type is not stdio.
    ReasonNotStdio,
    /// Reason: `the program {path} does not exist`.
    ReasonNoProgram,
    /// Reason: `the program {path} is not executable`.
    ReasonNotExecutable,
    /// Reason: our extension is not allowed.
    ReasonWrongExtension,
    /// No token module installed.
    TokensNone,
    /// `{store}: module {module}: readers: {readers}; tokens: {tokens}.`
    TokenModule,
    /// The word for "none" in a list.
    NoneWord,
    /// `{store}: module {module} is installed but does not load.`
    TokenModuleUnusable,
    /// Fix: reinstall the driver or correct the config.
    FixTokenModule,
    /// `Mode {mode}; allowed origins: {count}; IT policy file: {file}; user config: {config}.`
    PolicyInForce,
    /// `; IT registry key: {key}` (Windows).
    PolicyRegistry,
    /// `(set by IT)` after the mode.
    PolicySetByIt,
    /// `{path} (read)`.
    SourceRead,
    /// `{path} (not present)`.
    SourceAbsent,
    /// `The IT policy cannot be read: {reason}`.
    PolicyInvalid,
    /// Fix: ask IT.
    FixPolicy,
    /// No problem found.
    SummaryOk,
    /// `Problems found: {n}.`
    SummaryProblems,
}

impl DoctorMsg {
    /// Every message, for the translation tests.
    pub const ALL: [DoctorMsg; 61] = {
        use DoctorMsg::*;
        [
            MarkOk,
            MarkWarning,
            MarkProblem,
            Fix,
            TopicDaemon,
            TopicPort,
            TopicTrust,
            TopicNativeHost,
            TopicTokens,
            TopicPolicy,
            DaemonRunning,
            DaemonForeignCa,
            FixForeignCa,
            DaemonNotRunning,
            FixStart,
            FixStartAfterPort,
            PortFree,
            PortOurs,
            PortHeld,
            PortHeldUnknown,
            FixPortHeld,
            PortNcaLayer,
            FixNcaLayer,
            TrustOk,
            TrustMissing,
            TrustWrongFlags,
            FixTrust,
            TrustNoCa,
            FixNoCa,
            TrustBadCa,
            FixBadCa,
            TrustNoStores,
            FixNoStores,
            TrustNoCertutil,
            FixNoCertutil,
            TrustUnchecked,
            HostOk,
            HostMissing,
            HostInvalid,
            FixHost,
            HostNoBrowser,
            ReasonNotJson,
            ReasonWrongName,
            ReasonNotStdio,
            ReasonNoProgram,
            ReasonNotExecutable,
            ReasonWrongExtension,
            TokensNone,
            TokenModule,
            NoneWord,
            TokenModuleUnusable,
            FixTokenModule,
            PolicyInForce,
            PolicyRegistry,
            PolicySetByIt,
            SourceRead,
            SourceAbsent,
            PolicyInvalid,
            FixPolicy,
            SummaryOk,
            SummaryProblems,
        ]
    };
}

/// The text of `msg` in `locale`.
pub fn doctor_text(msg: DoctorMsg, locale: Locale) -> &'static str {
    match locale {
        Locale::Kk => kk::doctor(msg),
        Locale::Ru => ru::doctor(msg),
        Locale::En => en::doctor(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_doctor_message_is_translated_with_the_same_blanks() {
        let blanks = |text: &str| {
            let mut names: Vec<String> = text
                .split('{')
                .skip(1)
                .filter_map(|part| part.split_once('}').map(|(name, _)| name.to_string()))
                .collect();
            names.sort();
            names
        };
        for msg in DoctorMsg::ALL {
            let [kk, ru, en] = Locale::ALL.map(|l| doctor_text(msg, l));
            assert!(!kk.is_empty() && !ru.is_empty() && !en.is_empty(), "{msg:?}");
            assert_eq!(blanks(kk), blanks(en), "{msg:?}");
            assert_eq!(blanks(ru), blanks(en), "{msg:?}");
            let words = !matches!(msg, DoctorMsg::TopicPort | DoctorMsg::FixNoCertutil);
            if words {
                assert_ne!(kk, en, "{msg:?}");
                assert_ne!(ru, en, "{msg:?}");
            }
        }
    }
}
