//! The key dialog (eframe/egui, `docs/issuance.md`), run inside the `qoltanba prompt` child:
//! a page asks to make a new key, or brings the certificate of one. It shows who asks (the
//! origin, large, coloured by its standing), for whom (the subject) and where the key goes;
//! for a key in a folder the user picks the folder (`~/ЭЦП` to begin with) and types the new
//! password twice (the NCA's
//! rule is checked here and again by the daemon); for a token, its PIN; to install, the
//! waiting key's password. Answers go to stdout as [`wire`](super::wire) lines; a retry
//! (wrong password, weak password) arrives from the daemon and is shown.

use std::io::Write as _;
use std::sync::mpsc::Receiver;

use eframe::egui::{self, Color32, Key, RichText, ViewportCommand};
use secrecy::SecretString;

use super::home;
use super::secret_text::SecretText;
use super::wire::{self, IssueKind, IssueRequest, RetryView, Standing, ToDialog};
use crate::ui::i18n::{text, Msg};

use super::dialog::{ERROR, KNOWN, TRUSTED, WARNING};

/// Runs the key dialog until the user answers and the daemon says done (or stdin closes).
pub fn run(request: IssueRequest, incoming: Receiver<ToDialog>) -> Result<(), String> {
    let locale = request.locale;
    super::dialog::open_window(locale, [560.0, 480.0], move || IssueDialog::new(request, incoming))
}

/// What the user typed, checked before it is sent: the problem to show, if any.
pub fn check(kind: IssueKind, folder: &str, secret: &str, repeat: &str) -> Option<Msg> {
    match kind {
        IssueKind::NewFileKey if folder.trim().is_empty() => Some(Msg::ChooseFolderFirst),
        IssueKind::NewFileKey if crate::keystore::waiting::check_password(secret).is_err() => {
            Some(Msg::NewPasswordRule)
        }
        IssueKind::NewFileKey if secret != repeat => Some(Msg::PasswordsDiffer),
        _ if secret.is_empty() => Some(Msg::EnterSecret),
        _ => None,
    }
}

struct IssueDialog {
    request: IssueRequest,
    incoming: Receiver<ToDialog>,
    folder: String,
    secret: SecretText,
    repeat: SecretText,
    problem: Option<String>,
    waiting: bool,
    frames: u64,
}

impl IssueDialog {
    fn new(request: IssueRequest, incoming: Receiver<ToDialog>) -> Self {
        let problem = request.problem.clone();
        Self {
            request,
            incoming,
            // A folder of its own under the home directory, which the user may change.
            folder: format!("~{}ЭЦП", std::path::MAIN_SEPARATOR),
            secret: SecretText::default(),
            repeat: SecretText::default(),
            problem,
            waiting: false,
            frames: 0,
        }
    }

    fn t(&self, msg: Msg) -> &'static str {
        text(msg, self.request.locale)
    }

    fn receive(&mut self, ctx: &egui::Context) {
        while let Ok(message) = self.incoming.try_recv() {
            match message {
                ToDialog::Retry { retry } => {
                    self.problem = Some(match retry {
                        RetryView::Problem { text } => text,
                        _ => self.t(Msg::WrongPassword).to_string(),
                    });
                    self.waiting = false;
                }
                ToDialog::Issue(request) => {
                    self.problem = request.problem;
                    self.waiting = false;
                }
                _ => {
                    self.secret.wipe();
                    self.repeat.wipe();
                    ctx.send_viewport_cmd(ViewportCommand::Close);
                }
            }
        }
    }

    fn approve(&mut self) {
        if self.waiting {
            return;
        }
        let kind = self.request.kind;
        let secret = self.secret.take_text();
        let repeat = self.repeat.take_text();
        if let Some(problem) = check(kind, &self.folder, &secret, &repeat) {
            self.problem = Some(self.t(problem).to_string());
            return;
        }
        let secret = SecretString::from(secret.as_str());
        let folder = (kind == IssueKind::NewFileKey).then(|| home::typed(&self.folder));
        let line = wire::issue_line(folder.as_deref(), &secret);
        self.waiting = send(&line);
        self.problem = None;
    }

    fn cancel(&mut self, ctx: &egui::Context) {
        self.secret.wipe();
        self.repeat.wipe();
        let _ = send(wire::plain_line(&serde_json::json!({"type": "cancel"})).as_bytes());
        ctx.send_viewport_cmd(ViewportCommand::Close);
    }

    fn header(&self, ui: &mut egui::Ui) {
        let (fill, note) = match self.request.standing {
            Standing::Trusted => (TRUSTED, self.t(Msg::Trusted)),
            Standing::Known => (KNOWN, self.t(Msg::NotTrusted)),
            Standing::FirstSeen => (WARNING, self.t(Msg::FirstSeen)),
        };
        let origin =
            self.request.origin.clone().unwrap_or_else(|| self.t(Msg::LocalProgram).to_string());
        egui::Frame::new().fill(fill).inner_margin(12.0).corner_radius(6.0).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(self.t(Msg::RequestedBy)).color(Color32::BLACK));
            ui.label(RichText::new(origin).size(24.0).strong().color(Color32::BLACK));
            ui.label(RichText::new(note).color(Color32::BLACK));
        });
        ui.add_space(6.0);
        let asks = match self.request.kind {
            IssueKind::Install => self.t(Msg::AsksInstall),
            _ => self.t(Msg::AsksNewKey),
        };
        ui.label(RichText::new(asks).size(18.0).strong());
        egui::Grid::new("what").num_columns(2).show(ui, |ui| {
            ui.label(RichText::new(self.t(Msg::KeyFor)).strong());
            ui.label(&self.request.subject);
            ui.end_row();
            if !self.request.issuer.is_empty() {
                ui.label(RichText::new(self.t(Msg::Issuer)).strong());
                ui.label(&self.request.issuer);
                ui.end_row();
            }
            ui.label(RichText::new(self.t(Msg::KeyGoesTo)).strong());
            ui.label(&self.request.destination);
            ui.end_row();
        });
    }

    fn fields(&mut self, ui: &mut egui::Ui) {
        ui.add_space(8.0);
        let kind = self.request.kind;
        if kind == IssueKind::NewFileKey {
            ui.label(RichText::new(self.t(Msg::KeyFolder)).strong());
            ui.horizontal(|ui| {
                let width = (ui.available_width() - 140.0).max(120.0);
                ui.add(egui::TextEdit::singleline(&mut self.folder).desired_width(width));
                if ui.button(self.t(Msg::ChooseFolder)).clicked() {
                    if let Some(path) = rfd::FileDialog::new().pick_folder() {
                        self.folder = home::shown(&path);
                    }
                }
            });
        }
        let label = match kind {
            IssueKind::NewFileKey => self.t(Msg::NewPassword),
            IssueKind::NewTokenKey => self.t(Msg::Pin),
            IssueKind::Install => self.t(Msg::Password),
        };
        ui.label(RichText::new(label).strong());
        let id = egui::Id::new("secret");
        let edit = egui::TextEdit::singleline(&mut self.secret).password(true).id(id);
        let response = ui.add_enabled(!self.waiting, edit.desired_width(260.0));
        SecretText::forget_history(ui.ctx(), id);
        if self.frames < 3 {
            response.request_focus();
        }
        if kind == IssueKind::NewFileKey {
            ui.label(RichText::new(self.t(Msg::NewPasswordRule)).weak());
            ui.label(RichText::new(self.t(Msg::RepeatPassword)).strong());
            let id = egui::Id::new("repeat");
            let edit = egui::TextEdit::singleline(&mut self.repeat).password(true).id(id);
            ui.add_enabled(!self.waiting, edit.desired_width(260.0));
            SecretText::forget_history(ui.ctx(), id);
        }
    }

    fn buttons(&mut self, ui: &mut egui::Ui, ctx: &egui::Context) {
        ui.add_space(6.0);
        if let Some(problem) = &self.problem {
            ui.label(RichText::new(problem).color(ERROR).strong());
        }
        let row = egui::vec2(ui.available_width(), 36.0);
        ui.allocate_ui_with_layout(row, egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let label = match self.request.kind {
                IssueKind::Install => self.t(Msg::InstallCertificate),
                _ => self.t(Msg::CreateKey),
            };
            let approve = egui::Button::new(RichText::new(label).strong().color(Color32::WHITE))
                .fill(Color32::from_rgb(0x1f, 0x5f, 0xbf))
                .min_size(egui::vec2(140.0, 32.0));
            if ui.add_enabled(!self.waiting, approve).clicked() {
                self.approve();
            }
            let cancel = egui::Button::new(self.t(Msg::Cancel)).min_size(egui::vec2(100.0, 32.0));
            if ui.add(cancel).clicked() {
                self.cancel(ctx);
            }
            if self.waiting {
                ui.spinner();
            }
        });
        ui.add_space(6.0);
    }
}

impl eframe::App for IssueDialog {
    fn update(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.receive(ctx);
        if ctx.input(|i| i.key_pressed(Key::Escape)) {
            self.cancel(ctx);
        } else if ctx.input(|i| i.key_pressed(Key::Enter)) {
            self.approve();
        }
        egui::TopBottomPanel::bottom("buttons").show(ctx, |ui| self.buttons(ui, ctx));
        egui::CentralPanel::default().show(ctx, |ui| {
            self.header(ui);
            ui.separator();
            self.fields(ui);
        });
        self.frames += 1;
        ctx.request_repaint_after(std::time::Duration::from_millis(100));
    }
}

/// Writes one line to the daemon; false when the pipe is gone.
fn send(line: &[u8]) -> bool {
    let mut out = std::io::stdout().lock();
    out.write_all(line).and_then(|()| out.flush()).is_ok()
}

impl Drop for IssueDialog {
    fn drop(&mut self) {
        self.secret.wipe();
        self.repeat.wipe();
    }
}

#[cfg(test)]
mod tests {
    use super::{check, IssueKind, Msg};

    #[test]
    fn what_the_user_typed_is_checked_before_it_is_sent() {
        let file = IssueKind::NewFileKey;
        assert_eq!(check(file, "", "Qwerty12", "Qwerty12"), Some(Msg::ChooseFolderFirst));
        assert_eq!(check(file, "/keys", "qwerty", "qwerty"), Some(Msg::NewPasswordRule));
        assert_eq!(check(file, "/keys", "Qwerty12", "Qwerty13"), Some(Msg::PasswordsDiffer));
        assert_eq!(check(file, "/keys", "Qwerty12", "Qwerty12"), None);
        assert_eq!(check(IssueKind::NewTokenKey, "", "", ""), Some(Msg::EnterSecret));
        assert_eq!(check(IssueKind::NewTokenKey, "", "1234", ""), None);
        assert_eq!(check(IssueKind::Install, "", "x", ""), None);
    }
}
