//! The lower half of the dialog: key store choice, key list, password, buttons.

use eframe::egui::{self, Color32, RichText};

use super::{home, Dialog, Store, ERROR, FILE_STORE};
use crate::ui::i18n::Msg;

impl Dialog {
    fn file_allowed(&self) -> bool {
        self.request.storages.as_ref().is_none_or(|s| s.iter().any(|n| n == FILE_STORE))
    }

    pub(super) fn key_store(&mut self, ui: &mut egui::Ui) {
        ui.label(RichText::new(self.t(Msg::KeyStore)).strong());
        ui.add_enabled_ui(!self.waiting && self.keys.is_empty(), |ui| {
            if self.file_allowed() {
                let label = self.t(Msg::StoreFile);
                ui.radio_value(&mut self.store, Store::File, label);
                if self.store == Store::File {
                    self.file_row(ui);
                }
            }
            if self.request.tokens.is_empty() {
                ui.label(RichText::new(self.t(Msg::NoTokens)).weak());
            }
            for token in self.request.tokens.clone() {
                ui.horizontal(|ui| {
                    let note = self.request.token_notes.get(&token).cloned();
                    ui.radio_value(&mut self.store, Store::Token(token.clone()), token);
                    if let Some(note) = note {
                        ui.label(RichText::new(note).color(ERROR));
                    }
                });
            }
        });
    }

    fn file_row(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let width = (ui.available_width() - 140.0).max(120.0);
            ui.add(egui::TextEdit::singleline(&mut self.file).desired_width(width));
            if ui.button(self.t(Msg::ChooseFile)).clicked() {
                let picked = rfd::FileDialog::new()
                    .set_title(super::title(self.request.locale))
                    .add_filter("PKCS#12", &["p12", "pfx", "P12", "PFX"])
                    .pick_file();
                if let Some(path) = picked {
                    self.file = home::shown(&path);
                }
            }
        });
        if self.request.recent.len() > 1 {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(self.t(Msg::RecentFiles)).weak());
                for path in self.request.recent.clone() {
                    let name = path.file_name().map(|n| n.to_string_lossy().to_string());
                    let name = name.unwrap_or_else(|| path.display().to_string());
                    if ui.link(name).on_hover_text(home::shown(&path)).clicked() {
                        self.file = home::shown(&path);
                    }
                }
            });
        }
    }

    pub(super) fn key_list(&mut self, ui: &mut egui::Ui) {
        if self.keys.is_empty() {
            return;
        }
        ui.add_space(6.0);
        ui.label(RichText::new(self.t(Msg::Keys)).strong());
        let headers = [Msg::Owner, Msg::IinBin, Msg::Role, Msg::Issuer, Msg::Validity];
        egui::Grid::new("keys").striped(true).show(ui, |ui| {
            ui.label("");
            for header in headers {
                ui.label(RichText::new(self.t(header)).strong());
            }
            ui.end_row();
            for (n, key) in self.keys.clone().iter().enumerate() {
                let usable = key.refused.is_none();
                ui.add_enabled_ui(usable, |ui| ui.radio_value(&mut self.chosen, n, ""));
                let weak = |text: &str| match usable {
                    true => RichText::new(text),
                    false => RichText::new(text).weak(),
                };
                ui.label(weak(&key.owner));
                ui.label(weak(&key.iin_bin));
                ui.label(weak(&self.role_text(&key.role)));
                ui.label(weak(&key.issuer));
                ui.label(self.validity_text(&key.validity, &key.status));
                ui.end_row();
                if let Some(why) = &key.refused {
                    ui.label("");
                    ui.label(RichText::new(why).color(ERROR).small());
                    ui.end_row();
                }
                if let Some(warning) = &key.warning {
                    ui.label("");
                    ui.label(
                        RichText::new(warning)
                            .color(egui::Color32::from_rgb(0xb3, 0x6b, 0x00))
                            .small(),
                    );
                    ui.end_row();
                }
            }
        });
    }

    fn role_text(&self, role: &str) -> String {
        role.split('+')
            .map(|r| match r {
                "signature" => self.t(Msg::RoleSignature),
                "authentication" => self.t(Msg::RoleAuthentication),
                other => other,
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn validity_text(&self, validity: &str, status: &str) -> RichText {
        match status {
            "expired" => RichText::new(format!("{validity} {}", self.t(Msg::Expired))).color(ERROR),
            "not-yet-valid" => {
                RichText::new(format!("{validity} {}", self.t(Msg::NotYetValid))).color(ERROR)
            }
            _ => RichText::new(validity),
        }
    }

    pub(super) fn secret(&mut self, ui: &mut egui::Ui) {
        if !self.keys.is_empty() {
            return;
        }
        ui.add_space(6.0);
        let label = match self.store {
            Store::File => self.t(Msg::Password),
            Store::Token(_) => self.t(Msg::Pin),
        };
        ui.label(RichText::new(label).strong());
        let id = egui::Id::new("secret");
        let edit = egui::TextEdit::singleline(&mut self.password).password(true).id(id);
        let response = ui.add_enabled(!self.waiting, edit.desired_width(260.0));
        super::SecretText::forget_history(ui.ctx(), id);
        self.spots.password = response.rect.center().into();
        if self.frames < 3 || (!self.waiting && self.frames % 10 == 0 && !response.has_focus()) {
            response.request_focus();
        }
    }

    pub(super) fn buttons(&mut self, ui: &mut egui::Ui, ctx: &egui::Context) {
        ui.add_space(6.0);
        if let Some(problem) = &self.problem {
            ui.label(RichText::new(problem).color(ERROR).strong());
        }
        let row = egui::vec2(ui.available_width(), 36.0);
        let layout = egui::Layout::right_to_left(egui::Align::Center);
        ui.allocate_ui_with_layout(row, layout, |ui| {
            let sign_text = match self.keys.is_empty() {
                true => self.t(Msg::Sign),
                false => self.t(Msg::UseKey),
            };
            let sign = egui::Button::new(RichText::new(sign_text).strong().color(Color32::WHITE))
                .fill(Color32::from_rgb(0x1f, 0x5f, 0xbf))
                .min_size(egui::vec2(120.0, 32.0));
            let sign = ui.add_enabled(!self.waiting, sign);
            self.spots.sign = sign.rect.center().into();
            if sign.clicked() {
                self.sign();
            }
            let cancel =
                ui.add(egui::Button::new(self.t(Msg::Cancel)).min_size(egui::vec2(100.0, 32.0)));
            self.spots.cancel = cancel.rect.center().into();
            if cancel.clicked() {
                self.cancel(ctx);
            }
            if self.waiting {
                ui.spinner();
            }
        });
        ui.add_space(6.0);
    }
}
