//! [`GuiPrompter`]: the [`Prompter`] of `--ui gui`. Each prompt starts a `qoltanba prompt` child
//! (the dialog) and talks to it over [`wire`](super::wire); retries go to the same child so the
//! dialog stays open; a cancelled request kills it; a crashed or closed dialog is a cancel.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::memory::Memory;
use super::session::Session;
use super::wire::{
    DialogRequest, DocumentView, FromDialog, IssueKind, IssueRequest, KeyView, RetryView, ToDialog,
};
use super::{Board, TrayState};
use crate::crypto::Certificate;
use crate::keystore::StorageName;
use crate::keystore::{KeyEntry, KeyFilter, KeyType};
use crate::pki::Validity;
use crate::service::consent::{
    Cancel, Credentials, DocumentSummary, InstallAnswer, InstallPrompt, IssuanceRetry, KeyAnswer,
    KeyPrompt, PromptAnswer, PromptOutcome, PromptRequest, Prompter, Retry, Trust,
};
use crate::service::Origin;
use crate::ui::i18n::{self, Locale, Msg};
use crate::ui::notify::{ExpiryWatch, Notifications};

/// Asks through the desktop dialog.
pub struct GuiPrompter {
    program: PathBuf,
    memory: Memory,
    expiry: ExpiryWatch,
    notifications: Notifications,
    board: Board,
    session: Mutex<Option<Session>>,
    file: Mutex<Option<PathBuf>>,
}

impl GuiPrompter {
    /// A prompter starting `program prompt` (normally our own executable), remembering origins,
    /// files and used certificates in `data_dir`.
    pub fn new(program: PathBuf, data_dir: &Path, board: Board, notes: Notifications) -> Self {
        Self {
            program,
            memory: Memory::load(data_dir),
            expiry: ExpiryWatch::load(data_dir),
            notifications: notes,
            board,
            session: Mutex::new(None),
            file: Mutex::new(None),
        }
    }

    /// Shows the key dialog and takes its answer; the dialog closes then (a retry opens it
    /// again with the problem).
    fn issue(&self, request: IssueRequest, cancel: &Cancel) -> Result<Option<FromDialog>, String> {
        self.board.set_state(TrayState::Waiting);
        let answer = self.exchange(|| ToDialog::Issue(Box::new(request.clone())), None, cancel);
        if let Ok(mut slot) = self.session.lock() {
            if let Some(session) = slot.take() {
                session.close();
            }
        }
        self.board.set_state(TrayState::Idle);
        answer
    }

    /// How the dialog colours `origin`.
    fn standing(&self, trust: Trust, origin: Option<&Origin>) -> super::wire::Standing {
        match (trust, self.memory.knows(origin.map(Origin::as_str))) {
            (Trust::Trusted, _) => super::wire::Standing::Trusted,
            (_, true) => super::wire::Standing::Known,
            (_, false) => super::wire::Standing::FirstSeen,
        }
    }

    fn dialog_request(&self, request: &PromptRequest) -> DialogRequest {
        let locale = Locale::parse_or_default(&request.locale);
        DialogRequest {
            origin: request.origin.as_ref().map(ToString::to_string),
            standing: match (
                request.trust,
                self.memory.knows(request.origin.as_ref().map(Origin::as_str)),
            ) {
                (Trust::Trusted, _) => super::wire::Standing::Trusted,
                (_, true) => super::wire::Standing::Known,
                (_, false) => super::wire::Standing::FirstSeen,
            },
            operation: i18n::operation(request.operation, request.documents.len(), locale),
            documents: request.documents.iter().map(document_view).collect(),
            wanted: wanted(&request.filter, locale),
            storages: request
                .storages
                .as_ref()
                .map(|names| names.iter().map(ToString::to_string).collect()),
            tokens: request.tokens.iter().map(ToString::to_string).collect(),
            token_notes: request
                .notices
                .iter()
                .map(|(name, notice)| (name.to_string(), i18n::store_notice(notice, locale)))
                .filter(|(_, note)| !note.is_empty())
                .collect(),
            logo: request.logo.as_deref().map(|png| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(png)
            }),
            recent: self.memory.recent(),
            locale,
        }
    }

    /// Sends `first` to a new dialog (closing any other), or `next` to the open one; the
    /// answer (`None`: closed or cancelled), or why no dialog could be started.
    fn exchange(
        &self,
        first: impl FnOnce() -> ToDialog,
        next: Option<ToDialog>,
        cancel: &Cancel,
    ) -> Result<Option<FromDialog>, String> {
        let mut slot = self.session.lock().map_err(|_| "the dialog state is poisoned")?;
        let reused = match (next, slot.as_mut()) {
            (Some(message), Some(session)) => session.send(&message).is_ok(),
            _ => false,
        };
        if !reused {
            if let Some(session) = slot.take() {
                session.close();
            }
            match Session::start(&self.program, &first()) {
                Ok(session) => *slot = Some(session),
                Err(e) => {
                    tracing::error!("cannot start the dialog ({}): {e}", self.program.display());
                    self.board.set_state(TrayState::Error);
                    return Err(format!("cannot start the dialog: {e}"));
                }
            }
        }
        let answer = slot.as_mut().and_then(|session| session.answer(cancel));
        if answer.is_none() || matches!(answer, Some(FromDialog::Cancel)) {
            slot.take();
        }
        Ok(answer)
    }

    fn remember_use(&self, key: &KeyEntry, now: time::OffsetDateTime) {
        self.expiry.record_use(&key.certificate, now);
        for note in self.expiry.due(now) {
            self.notifications.send(&note);
        }
    }
}

impl Prompter for GuiPrompter {
    fn ask(&self, request: &PromptRequest, retry: Option<&Retry>, cancel: &Cancel) -> PromptAnswer {
        self.board.set_state(TrayState::Waiting);
        let first = || ToDialog::Ask(Box::new(self.dialog_request(request)));
        let locale = Locale::parse_or_default(&request.locale);
        let next = retry.map(|r| ToDialog::Retry { retry: retry_view(r, locale) });
        match self.exchange(first, next, cancel) {
            Err(reason) => PromptAnswer::Failed(reason),
            Ok(Some(FromDialog::Approve { store, file, secret, remember_origin })) => {
                let Ok(store) = StorageName::parse(&store) else {
                    return PromptAnswer::Failed("the dialog sent no storage name".into());
                };
                if let Ok(mut last) = self.file.lock() {
                    last.clone_from(&file);
                }
                PromptAnswer::Approve(Credentials::chosen(store, file, secret, remember_origin))
            }
            _ => PromptAnswer::Cancel,
        }
    }

    fn choose_key(
        &self,
        request: &PromptRequest,
        keys: &[KeyEntry],
        cancel: &Cancel,
    ) -> Option<String> {
        let chosen = match keys {
            [only] if request.refused_keys.is_empty() && request.warned_keys.is_empty() => {
                only.alias.clone()
            }
            _ => {
                let locale = Locale::parse_or_default(&request.locale);
                let refused = request.refused_keys.iter().map(|r| KeyView {
                    refused: Some(i18n::retry(&r.why, locale)),
                    ..key_view(&r.key, request.now)
                });
                let warning = |key: &KeyEntry| {
                    let warned = request.warned_keys.iter().find(|w| w.key.alias == key.alias);
                    warned.map(|w| i18n::retry(&w.why, locale))
                };
                let views = keys
                    .iter()
                    .map(|key| KeyView { warning: warning(key), ..key_view(key, request.now) })
                    .chain(refused)
                    .collect();
                let message = ToDialog::Keys { keys: views };
                match self.exchange(|| ToDialog::Done, Some(message), cancel).ok()?? {
                    FromDialog::Key { alias } => alias,
                    _ => return None,
                }
            }
        };
        if let Some(key) = keys.iter().find(|k| k.alias == chosen) {
            self.remember_use(key, request.now);
        }
        Some(chosen)
    }

    fn choose_file(
        &self,
        origin: Option<&Origin>,
        extension: &str,
        cancel: &Cancel,
    ) -> Option<PathBuf> {
        self.board.set_state(TrayState::Waiting);
        let locale = Locale::from_system();
        let origin = origin.map(ToString::to_string);
        let first = || ToDialog::ChooseFile { origin, extension: extension.to_string(), locale };
        let answer = self.exchange(first, None, cancel);
        if let Ok(mut slot) = self.session.lock() {
            if let Some(session) = slot.take() {
                session.close();
            }
        }
        self.board.set_state(TrayState::Idle);
        match answer {
            Ok(Some(FromDialog::File { path })) => Some(path),
            _ => None,
        }
    }

    fn new_key(
        &self,
        prompt: &KeyPrompt,
        retry: Option<IssuanceRetry>,
        cancel: &Cancel,
    ) -> KeyAnswer {
        let locale = Locale::parse_or_default(&prompt.locale);
        let kind = match prompt.storage.is_file() {
            true => IssueKind::NewFileKey,
            false => IssueKind::NewTokenKey,
        };
        let request = IssueRequest {
            kind,
            origin: prompt.origin.as_ref().map(ToString::to_string),
            standing: self.standing(prompt.trust, prompt.origin.as_ref()),
            subject: prompt.subject.clone(),
            destination: match kind {
                IssueKind::NewFileKey => i18n::text(Msg::StoreFile, locale).to_string(),
                _ => prompt.storage.to_string(),
            },
            issuer: String::new(),
            problem: retry.map(|r| i18n::issuance_retry(r, locale)),
            locale,
        };
        match self.issue(request, cancel) {
            Err(reason) => KeyAnswer::Failed(reason),
            Ok(Some(FromDialog::Issue { folder: Some(folder), secret }))
                if kind == IssueKind::NewFileKey =>
            {
                KeyAnswer::Create { folder, password: secret }
            }
            Ok(Some(FromDialog::Issue { secret, .. })) if kind == IssueKind::NewTokenKey => {
                KeyAnswer::CreateOnToken(secret)
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
        let locale = Locale::parse_or_default(&prompt.locale);
        let request = IssueRequest {
            kind: IssueKind::Install,
            origin: prompt.origin.as_ref().map(ToString::to_string),
            standing: self.standing(prompt.trust, prompt.origin.as_ref()),
            subject: prompt.subject.clone(),
            destination: match &prompt.destination {
                crate::keystore::waiting::Destination::File(path) => super::home::shown(path),
                token => token.to_string(),
            },
            issuer: prompt.issuer.clone(),
            problem: retry.map(|r| i18n::issuance_retry(r, locale)),
            locale,
        };
        match self.issue(request, cancel) {
            Err(reason) => InstallAnswer::Failed(reason),
            Ok(Some(FromDialog::Issue { secret, .. })) => InstallAnswer::Install(secret),
            _ => InstallAnswer::Cancel,
        }
    }

    fn finish(&self, request: &PromptRequest, outcome: &PromptOutcome) {
        if let Ok(mut slot) = self.session.lock() {
            if let Some(session) = slot.take() {
                session.close();
            }
        }
        let file = self.file.lock().ok().and_then(|mut f| f.take());
        let state = if outcome.result == "failed" { TrayState::Error } else { TrayState::Idle };
        self.board.set_state(state);
        if matches!(outcome.result, "signed" | "selected") {
            self.memory.remember(request.origin.as_ref().map(Origin::as_str), file.as_deref());
        }
    }
}

fn document_view(document: &DocumentSummary) -> DocumentView {
    DocumentView {
        size: document.size,
        sha256: document.sha256.clone(),
        preview: document.preview.clone(),
        digest_only: document.digest_only,
    }
}

fn retry_view(retry: &Retry, locale: Locale) -> RetryView {
    match retry {
        Retry::WrongPassword => RetryView::WrongPassword { left: None },
        Retry::NoMatchingKey => RetryView::NoMatchingKey,
        other => RetryView::Problem { text: i18n::retry(other, locale) },
    }
}

/// What the site accepts, in words (empty: any key).
fn wanted(filter: &KeyFilter, locale: Locale) -> String {
    let mut parts = Vec::new();
    match filter.key_type {
        Some(KeyType::Signature) => parts.push(i18n::text(Msg::RoleSignature, locale).to_string()),
        Some(KeyType::Authentication) => {
            parts.push(i18n::text(Msg::RoleAuthentication, locale).to_string());
        }
        None => {}
    }
    let iin_bin = i18n::text(Msg::IinBin, locale);
    for value in [&filter.iin, &filter.bin].into_iter().flatten().filter(|v| !v.is_empty()) {
        parts.push(format!("{iin_bin} {value}"));
    }
    if parts.is_empty() {
        return String::new();
    }
    i18n::fill(i18n::text(Msg::KeysWanted, locale), &[("what", &parts.join(", "))])
}

/// How the dialog lists a key.
pub fn key_view(key: &KeyEntry, now: time::OffsetDateTime) -> KeyView {
    let c: &Certificate = &key.certificate;
    let status = match crate::pki::validity(c, now) {
        Validity::Valid => "valid",
        Validity::Expired => "expired",
        Validity::NotYetValid => "not-yet-valid",
    };
    let ids: Vec<String> = [c.iin(), c.bin()].into_iter().flatten().collect();
    KeyView {
        alias: key.alias.clone(),
        owner: c.subject_cn().unwrap_or_default(),
        iin_bin: ids.join(" / "),
        role: c.roles().label().to_ascii_lowercase(),
        issuer: c.issuer_cn().unwrap_or_default(),
        validity: format!("{} – {}", c.not_before().date(), c.not_after().date()),
        status: status.to_string(),
        refused: None,
        warning: None,
    }
}
