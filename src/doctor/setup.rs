//! What the daemon would work with: the PKCS#11 modules configured (defaults, the user's
//! config, the IT policy: `daemon::token_modules`) with their readers and tokens, never a
//! problem since file keys need none; and the origin policy in force (`daemon::origin_policy`)
//! with the sources it was read from (`PolicySources::places`, shared with `qoltanba policy`).

use super::{Finding, Places, Say, Status, Topic};
use crate::config::{Policy, PolicySources, Settings, SourceKind};
use crate::daemon::{origin_policy, token_modules};
use crate::keystore::pkcs11::survey::{survey, ModuleState};
use crate::service::policy::Mode;
use crate::ui::i18n::doctor::DoctorMsg;

/// One finding per installed module, or one saying there is none.
pub(super) fn tokens(settings: &Settings, it: &Policy, say: Say) -> Vec<Finding> {
    let mut findings = Vec::new();
    for module in survey(&token_modules(settings, it)) {
        let path = super::shown(&module.path);
        let named = [("store", module.storage.as_str()), ("module", path.as_str())];
        match module.state {
            ModuleState::NotInstalled => {}
            ModuleState::Unusable => {
                let text = say.text(DoctorMsg::TokenModuleUnusable, &named);
                findings.push(say.fixable(
                    Topic::Tokens,
                    Status::Warning,
                    text,
                    DoctorMsg::FixTokenModule,
                ));
            }
            ModuleState::Loaded { readers, tokens } => {
                let tokens = match tokens.is_empty() {
                    true => say.text(DoctorMsg::NoneWord, &[]),
                    false => tokens.join(", "),
                };
                let readers = readers.to_string();
                let values = [named[0], named[1], ("readers", &readers), ("tokens", &tokens)];
                let text = say.text(DoctorMsg::TokenModule, &values);
                findings.push(say.finding(Topic::Tokens, Status::Ok, text));
            }
        }
    }
    if findings.is_empty() {
        let text = say.text(DoctorMsg::TokensNone, &[]);
        findings.push(say.finding(Topic::Tokens, Status::Ok, text));
    }
    findings
}

/// The policy in force and its sources; a problem when the IT policy cannot be read.
pub(super) fn policy(
    places: &Places,
    settings: &Settings,
    it: &Result<(Policy, PolicySources), String>,
    say: Say,
) -> Finding {
    let (it, sources) = match it {
        Ok(read) => read,
        Err(reason) => {
            let text = say.text(DoctorMsg::PolicyInvalid, &[("reason", reason)]);
            return say.fixable(Topic::Policy, Status::Problem, text, DoctorMsg::FixPolicy);
        }
    };
    let policy = origin_policy(&places.paths, settings, it);
    let mode = match policy.mode() {
        Mode::Allowlist => "allowlist",
        Mode::Prompt => "prompt",
    };
    let mode = match it.policy.mode == Some(Mode::Allowlist) {
        true => say.text(DoctorMsg::PolicySetByIt, &[("mode", mode)]),
        false => mode.to_string(),
    };
    let (mut file, mut config, mut registry) = (String::new(), String::new(), None);
    for source in sources.places(&places.config_file) {
        let msg = if source.read { DoctorMsg::SourceRead } else { DoctorMsg::SourceAbsent };
        let shown = say.text(msg, &[("path", &source.place)]);
        match source.kind {
            SourceKind::ItFile => file = shown,
            SourceKind::UserConfig => config = shown,
            SourceKind::ItRegistry => registry = Some(shown),
        }
    }
    let count = policy.allowed().len().to_string();
    let values = [("mode", mode.as_str()), ("count", &count), ("file", &file), ("config", &config)];
    let mut text = say.text(DoctorMsg::PolicyInForce, &values);
    if let Some(key) = registry {
        text.push(' ');
        text.push_str(&say.text(DoctorMsg::PolicyRegistry, &[("key", &key)]));
    }
    say.finding(Topic::Policy, Status::Ok, text)
}
