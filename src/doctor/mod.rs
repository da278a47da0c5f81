//! `qoltanba doctor`: checks the installation and explains each finding in the user's language
//! with what to do: the daemon runs ([`listener`]: a TLS handshake and the status page tell
//! Qoltanba from another program), the port is free or held by which program (the official
//! NCALayer is recognised and coexistence explained), the local CA is trusted in every browser
//! store found ([`trust`]), the native-messaging host is registered ([`native`]), the tokens and
//! readers seen and the policy in force ([`setup`]).
//!
//! Every place it reads (home, filesystem root, data directory, config) comes in [`Places`], so
//! tests run it against temporary directories. It reads and reports; it never changes anything.
//! At the command level, beside `commands.rs`: it may use `config`, `daemon`, `transport`,
//! `keystore`, `ui::i18n` and `platform`.

mod listener;
mod native;
mod setup;
mod trust;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Settings;
use crate::platform::paths::Paths;
use crate::ui::i18n::doctor::{doctor_text, DoctorMsg};
use crate::ui::i18n::{fill, Locale};

/// Where the doctor looks.
#[derive(Debug, Clone)]
pub struct Places {
    /// The user's home directory (NSS databases, user-scope host manifests, browser profiles).
    pub home: PathBuf,
    /// The filesystem root for system-scope manifests (`/`; a temporary directory in tests).
    pub root: PathBuf,
    /// The daemon's data and config directories (the local CA is in `tls/`).
    pub paths: Paths,
    /// The user's config file, shown with the policy.
    pub config_file: PathBuf,
}

/// What a check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// The daemon answers on its listen address.
    Daemon,
    /// Who holds the port.
    Port,
    /// The local CA in the browsers' trust stores.
    Trust,
    /// The native-messaging host manifests.
    NativeHost,
    /// PKCS#11 modules, readers and tokens.
    Tokens,
    /// The origin policy and its sources.
    Policy,
}

/// How a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fine.
    Ok,
    /// Worth knowing, not a problem.
    Warning,
    /// Something does not work; the exit code is 1.
    Problem,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What was checked.
    #[serde(rename = "check")]
    pub topic: Topic,
    /// How it stands.
    pub status: Status,
    /// The explanation, in the user's language.
    pub text: String,
    /// What to do, for problems and warnings that have a remedy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// The words of one report, in one language.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Say(pub(crate) Locale);

impl Say {
    /// A message with its blanks filled.
    pub(crate) fn text(self, msg: DoctorMsg, values: &[(&str, &str)]) -> String {
        fill(doctor_text(msg, self.0), values)
    }

    /// A finding with an explanation and no fix.
    pub(crate) fn finding(self, topic: Topic, status: Status, text: String) -> Finding {
        Finding { topic, status, text, fix: None }
    }

    /// A finding with a fix.
    pub(crate) fn fixable(
        self,
        topic: Topic,
        status: Status,
        text: String,
        fix: DoctorMsg,
    ) -> Finding {
        Finding { topic, status, text, fix: Some(self.text(fix, &[])) }
    }
}

/// The findings of every check, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// One per line.
    pub findings: Vec<Finding>,
}

/// Runs every check.
pub fn examine(places: &Places, settings: &Settings, locale: Locale) -> Report {
    let say = Say(locale);
    let it = crate::config::Policy::load_system().map_err(|e| e.to_string());
    let mut findings = listener::check(settings, &places.paths, say);
    findings.extend(trust::check(&places.paths, &places.home, say));
    findings.extend(native::check(&places.home, &places.root, say));
    let policy = it.as_ref().map(|(policy, _)| policy.clone()).unwrap_or_default();
    findings.extend(setup::tokens(settings, &policy, say));
    findings.push(setup::policy(places, settings, &it, say));
    Report { findings }
}

impl Report {
    /// How many problems were found (the exit code is 1 when any).
    pub fn problems(&self) -> usize {
        self.findings.iter().filter(|f| f.status == Status::Problem).count()
    }

    /// The report as text: `[mark] Topic: explanation`, the fix indented below, a summary.
    pub fn text(&self, locale: Locale) -> String {
        let say = Say(locale);
        let mut out = String::new();
        for finding in &self.findings {
            let mark = match finding.status {
                Status::Ok => DoctorMsg::MarkOk,
                Status::Warning => DoctorMsg::MarkWarning,
                Status::Problem => DoctorMsg::MarkProblem,
            };
            let topic = say.text(topic_msg(finding.topic), &[]);
            out.push_str(&format!("[{}] {topic}: {}\n", say.text(mark, &[]), finding.text));
            if let Some(fix) = &finding.fix {
                out.push_str(&format!("    {}: {fix}\n", say.text(DoctorMsg::Fix, &[])));
            }
        }
        let summary = match self.problems() {
            0 => say.text(DoctorMsg::SummaryOk, &[]),
            n => say.text(DoctorMsg::SummaryProblems, &[("n", &n.to_string())]),
        };
        out.push_str(&summary);
        out.push('\n');
        out
    }

    /// The report as JSON, for IT scripts: `{"problems": N, "findings": [{"check", "status",
    /// "text", "fix"?}]}`.
    pub fn json(&self) -> String {
        let value = serde_json::json!({ "problems": self.problems(), "findings": self.findings });
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}

fn topic_msg(topic: Topic) -> DoctorMsg {
    match topic {
        Topic::Daemon => DoctorMsg::TopicDaemon,
        Topic::Port => DoctorMsg::TopicPort,
        Topic::Trust => DoctorMsg::TopicTrust,
        Topic::NativeHost => DoctorMsg::TopicNativeHost,
        Topic::Tokens => DoctorMsg::TopicTokens,
        Topic::Policy => DoctorMsg::TopicPolicy,
    }
}

/// A path for display.
pub(crate) fn shown(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let say = Say(Locale::En);
        let port = say.text(DoctorMsg::PortFree, &[("port", "13579")]);
        let daemon = say.text(DoctorMsg::DaemonNotRunning, &[("url", "wss://127.0.0.1:13579")]);
        Report {
            findings: vec![
                say.fixable(Topic::Daemon, Status::Problem, daemon, DoctorMsg::FixStart),
                say.finding(Topic::Port, Status::Ok, port),
            ],
        }
    }

    #[test]
    fn the_text_has_a_mark_a_topic_a_fix_and_a_summary() {
        let text = report().text(Locale::En);
        assert_eq!(
            text,
            "[problem] Daemon: Qoltanba is not running on wss://127.0.0.1:13579.\n    \
             Fix: Start it: qoltanba run, or systemctl --user start qoltanba, or log out and log in again.\n\
             [ok] Port: Port 13579 is free.\nProblems found: 1.\n"
        );
        let russian = report().text(Locale::Ru);
        assert!(russian.starts_with("[проблема] Служба: "), "{russian}");
        assert!(russian.contains("Найдено проблем: 1."), "{russian}");
    }

    #[test]
    fn the_json_names_each_check_and_counts_problems() {
        let value: serde_json::Value = serde_json::from_str(&report().json()).expect("json");
        assert_eq!(value["problems"], 1);
        assert_eq!(value["findings"][0]["check"], "daemon");
        assert_eq!(value["findings"][0]["status"], "problem");
        assert!(value["findings"][1].get("fix").is_none());
    }
}
