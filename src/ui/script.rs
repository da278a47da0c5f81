//! Scripted prompter for tests (feature `test-support`, `--ui script:ANSWERS.jsonl`): each
//! prompt takes the next unused line of the answers file, read lazily so a test may append
//! lines while the daemon runs, and every prompt shown is appended to `ANSWERS.jsonl.seen`
//! before the reply is sent. The contract is `docs/testing.md`; keep it stable.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::i18n::{self, Locale};
use crate::keystore::KeyEntry;
use crate::keystore::StorageName;
use crate::service::consent::{
    Cancel, Credentials, InstallAnswer, InstallPrompt, IssuanceRetry, KeyAnswer, KeyPrompt,
    PromptAnswer, PromptOutcome, PromptRequest, Prompter, Retry,
};
use crate::service::Origin;

/// One line of the answers file.
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    approve: bool,
    #[serde(default)]
    store: Option<String>,
    #[serde(default)]
    file: Option<PathBuf>,
    /// A new key's folder.
    #[serde(default)]
    folder: Option<PathBuf>,
    #[serde(default)]
    password: Option<SecretString>,
    #[serde(default)]
    pin: Option<SecretString>,
    #[serde(default)]
    key: Option<String>,
    /// Test hook: the "user" thinks this long before answering (cancellable).
    #[serde(default)]
    delay_ms: Option<u64>,
    /// Prompt mode: "trust this site from now on".
    #[serde(default)]
    remember_origin: bool,
    /// Test hook: the dialog cannot be shown, for this reason.
    #[serde(default)]
    fail: Option<String>,
    /// Tokens: "remember the PIN for N minutes".
    #[serde(default)]
    remember_minutes: Option<u64>,
    /// Test hook: the key chooser stays open this long; `<answers>.choosing` is written when
    /// it opens (so a test can pull the token out between listing and signing).
    #[serde(default)]
    choose_delay_ms: Option<u64>,
}

/// Answers prompts from a JSONL file.
pub struct ScriptPrompter {
    answers: PathBuf,
    seen: PathBuf,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Lines of the answers file used so far.
    used: usize,
    /// Problems reported to the prompt now open (wrong password, …).
    retries: Vec<String>,
    /// `choose_delay_ms` of the answer in use.
    choose_delay_ms: Option<u64>,
    /// The keys the last key chooser showed greyed, with the reason.
    refused_keys: Vec<serde_json::Value>,
    /// The keys it showed with a warning.
    warned_keys: Vec<serde_json::Value>,
}

impl ScriptPrompter {
    /// A prompter reading `answers` and writing `<answers>.seen`.
    pub fn new(answers: &Path) -> Self {
        let mut seen = answers.as_os_str().to_owned();
        seen.push(".seen");
        Self { answers: answers.to_path_buf(), seen: PathBuf::from(seen), state: Mutex::default() }
    }

    /// Takes the next unused answer line, if any. The position advances only when a line is used.
    fn next_answer(&self, cancel: &Cancel) -> Option<Answer> {
        // The file holds passwords: both copies are wiped when dropped.
        let line = {
            let mut state = self.state.lock().ok()?;
            let text =
                zeroize::Zeroizing::new(std::fs::read_to_string(&self.answers).unwrap_or_default());
            let line = text.lines().filter(|l| !l.trim().is_empty()).nth(state.used)?.to_string();
            state.used += 1;
            zeroize::Zeroizing::new(line)
        };
        let answer: Answer = match serde_json::from_str(&line) {
            Ok(answer) => answer,
            Err(e) => {
                tracing::warn!("answers file: line is not a valid answer ({e}); cancelling");
                return None;
            }
        };
        wait(answer.delay_ms, cancel).then_some(answer)
    }

    fn append_seen(&self, record: serde_json::Value) {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.seen)
            .and_then(|mut file| writeln!(file, "{record}"));
        if let Err(e) = written {
            tracing::warn!("cannot write {}: {e}", self.seen.display());
        }
    }
}

/// Sleeps `delay_ms` in small steps; false when cancelled meanwhile.
fn wait(delay_ms: Option<u64>, cancel: &Cancel) -> bool {
    let end = Instant::now() + Duration::from_millis(delay_ms.unwrap_or(0));
    while Instant::now() < end {
        if cancel.is_cancelled() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    !cancel.is_cancelled()
}

impl Prompter for ScriptPrompter {
    fn ask(
        &self,
        _request: &PromptRequest,
        retry: Option<&Retry>,
        cancel: &Cancel,
    ) -> PromptAnswer {
        if let (Some(retry), Ok(mut state)) = (retry, self.state.lock()) {
            state.retries.push(i18n::retry(retry, Locale::En));
        }
        let Some(answer) = self.next_answer(cancel) else {
            return PromptAnswer::Cancel;
        };
        if let Some(reason) = answer.fail {
            return PromptAnswer::Failed(reason);
        }
        if !answer.approve {
            return PromptAnswer::Cancel;
        }
        if let Ok(mut state) = self.state.lock() {
            state.choose_delay_ms = answer.choose_delay_ms;
        }
        let store = match answer.store.as_deref().map(StorageName::parse) {
            None => StorageName::pkcs12(),
            Some(Ok(store)) => store,
            Some(Err(e)) => return PromptAnswer::Failed(format!("answers file: store: {e}")),
        };
        let secret = answer.password.or(answer.pin).unwrap_or_else(|| SecretString::from(""));
        PromptAnswer::Approve(Credentials {
            store,
            file: answer.file,
            secret,
            key: answer.key,
            remember: answer.remember_minutes.map(|m| Duration::from_secs(m * 60)),
            remember_origin: answer.remember_origin,
        })
    }

    fn choose_key(
        &self,
        request: &PromptRequest,
        keys: &[KeyEntry],
        cancel: &Cancel,
    ) -> Option<String> {
        if let Ok(mut state) = self.state.lock() {
            let record = |keys: &[crate::service::consent::RefusedKey]| -> Vec<serde_json::Value> {
                keys.iter()
                    .map(|r| json!({"alias": r.key.alias, "why": i18n::retry(&r.why, Locale::En)}))
                    .collect()
            };
            state.refused_keys = record(&request.refused_keys);
            state.warned_keys = record(&request.warned_keys);
        }
        let delay = self.state.lock().ok().and_then(|s| s.choose_delay_ms);
        if delay.is_some() {
            let mut marker = self.answers.as_os_str().to_owned();
            marker.push(".choosing");
            if let Err(e) = std::fs::write(PathBuf::from(marker), b"") {
                tracing::warn!("cannot write the choosing marker: {e}");
            }
            if !wait(delay, cancel) {
                return None;
            }
        }
        keys.first().map(|k| k.alias.clone())
    }

    fn choose_file(
        &self,
        origin: Option<&Origin>,
        extension: &str,
        cancel: &Cancel,
    ) -> Option<PathBuf> {
        let file = self.next_answer(cancel).filter(|a| a.approve).and_then(|a| a.file);
        self.append_seen(json!({
            "origin": origin,
            "operation": "choose-file",
            "extension": extension,
            "documents": {"count": 0, "sha256": []},
            "keys": [],
            "result": if file.is_some() { "selected" } else { "cancelled" },
        }));
        file
    }

    fn new_key(
        &self,
        prompt: &KeyPrompt,
        retry: Option<IssuanceRetry>,
        cancel: &Cancel,
    ) -> KeyAnswer {
        let answer = self.next_answer(cancel);
        let approved = answer.as_ref().is_some_and(|a| a.approve);
        self.append_seen(json!({
            "origin": prompt.origin,
            "origin_trust": prompt.trust,
            "operation": "new-key",
            "subject": prompt.subject,
            "storage": prompt.storage,
            "locale": prompt.locale,
            "retry": retry.map(|r| i18n::issuance_retry(r, Locale::En)),
            "result": if approved { "approved" } else { "cancelled" },
        }));
        match answer {
            Some(Answer { fail: Some(reason), .. }) => KeyAnswer::Failed(reason),
            Some(Answer { approve: true, pin: Some(pin), .. }) if !prompt.storage.is_file() => {
                KeyAnswer::CreateOnToken(pin)
            }
            Some(Answer {
                approve: true, folder: Some(folder), password: Some(password), ..
            }) => KeyAnswer::Create { folder, password },
            Some(Answer { approve: true, .. }) => {
                KeyAnswer::Failed("answers file: a new key needs folder and password".into())
            }
            _ => KeyAnswer::Cancel,
        }
    }

    fn install_certificate(
        &self,
        prompt: &InstallPrompt,
        retry: Option<IssuanceRetry>,
        cancel: &Cancel,
    ) -> InstallAnswer {
        let answer = self.next_answer(cancel);
        let approved = answer.as_ref().is_some_and(|a| a.approve);
        self.append_seen(json!({
            "origin": prompt.origin,
            "origin_trust": prompt.trust,
            "operation": "install-certificate",
            "subject": prompt.subject,
            "issuer": prompt.issuer,
            "destination": prompt.destination.to_string(),
            "retry": retry.map(|r| i18n::issuance_retry(r, Locale::En)),
            "result": if approved { "approved" } else { "cancelled" },
        }));
        match answer {
            Some(Answer { fail: Some(reason), .. }) => InstallAnswer::Failed(reason),
            Some(Answer { approve: true, password, pin, .. })
                if password.is_some() || pin.is_some() =>
            {
                InstallAnswer::Install(password.or(pin).unwrap_or_else(|| SecretString::from("")))
            }
            _ => InstallAnswer::Cancel,
        }
    }

    fn finish(&self, request: &PromptRequest, outcome: &PromptOutcome) {
        let (retries, refused_keys, warned_keys) = self
            .state
            .lock()
            .map(|mut s| {
                let retries = std::mem::take(&mut s.retries);
                (retries, std::mem::take(&mut s.refused_keys), std::mem::take(&mut s.warned_keys))
            })
            .unwrap_or_default();
        let hashes: Vec<&str> = request.documents.iter().map(|d| d.sha256.as_str()).collect();
        self.append_seen(json!({
            "origin": request.origin,
            "origin_trust": request.trust,
            "operation": request.operation,
            "description": i18n::operation(request.operation, request.documents.len(), Locale::En),
            "documents": {"count": request.documents.len(), "sha256": hashes, "sizes": request.documents.iter().map(|d| d.size).collect::<Vec<_>>()},
            "keys": outcome.keys,
            "filter": {
                "keyType": request.filter.key_type.map(|k| format!("{k:?}")),
                "extKeyUsageOids": request.filter.ext_key_usage_oids,
                "iin": request.filter.iin,
                "bin": request.filter.bin,
                "serialNumber": request.filter.serial_number,
            },
            "storages": request.storages,
            "token_notes": request.notices.iter()
                .map(|(name, notice)| (name.to_string(), i18n::store_notice(notice, Locale::En)))
                .collect::<std::collections::BTreeMap<_, _>>(),
            "locale": request.locale,
            "retries": retries,
            "refused_keys": refused_keys,
            "warned_keys": warned_keys,
            "result": outcome.result,
        }));
    }
}
