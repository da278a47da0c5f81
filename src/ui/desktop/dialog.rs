//! The signing dialog (eframe/egui, `docs/desktop.md`), run inside the `qoltanba prompt` child.
//! Shows the origin large (warning colour unless trusted), the operation in words, each
//! document (preview, size, SHA-256; digests say they cannot be shown), the key store, the keys
//! once a store is open, and the password; Enter signs, Escape cancels. Answers go to stdout as
//! [`wire`](super::wire) lines; the daemon's lines arrive on a channel fed from stdin.

use std::io::Write as _;
use std::sync::mpsc::Receiver;

use eframe::egui::{self, Color32, Key, RichText, ViewportCommand};
use secrecy::SecretString;

use super::home;
use super::secret_text::SecretText;
use super::wire::{self, DialogRequest, KeyView, RetryView, Standing, ToDialog};
use crate::ui::i18n::{fill, text, Locale, Msg};

/// The PKCS#12 storage name.
const FILE_STORE: &str = "PKCS12";
/// Warning background for an untrusted or first-seen origin.
pub(super) const WARNING: Color32 = Color32::from_rgb(0xff, 0xd0, 0x4a);
/// Background for a trusted origin.
pub(super) const TRUSTED: Color32 = Color32::from_rgb(0xd6, 0xf0, 0xda);
/// Background for a known origin.
pub(super) const KNOWN: Color32 = Color32::from_rgb(0xe8, 0xe8, 0xe8);
/// Text of problems and of invalid certificates.
pub(super) const ERROR: Color32 = Color32::from_rgb(0xb0, 0x00, 0x20);

/// The window title, e.g. "Qoltanba — запрос подписи" (tests find the window by "Qoltanba").
pub fn title(locale: Locale) -> String {
    format!("Qoltanba — {}", text(Msg::DialogTitle, locale))
}

/// Runs the dialog until the user answers and the daemon says done (or stdin closes).
pub fn run(request: DialogRequest, incoming: Receiver<ToDialog>) -> Result<(), String> {
    let locale = request.locale;
    open_window(locale, [640.0, 680.0], move || Dialog::new(request, incoming))
}

/// Opens a dialog window of `size` with `app` in it, as every Qoltanba dialog looks: the title
/// tests find it by, always on top, centred, light, with the fonts of every language.
pub(super) fn open_window<A: eframe::App + 'static>(
    locale: Locale,
    size: [f32; 2],
    app: impl FnOnce() -> A + 'static,
) -> Result<(), String> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(title(locale))
            .with_inner_size(size)
            .with_min_inner_size([420.0, 360.0])
            .with_always_on_top()
            .with_active(true),
        centered: true,
        ..Default::default()
    };
    eframe::run_native(
        "Qoltanba",
        options,
        Box::new(move |cc| {
            cc.egui_ctx.set_visuals(egui::Visuals::light());
            super::fonts::install(&cc.egui_ctx);
            Ok(Box::new(app()))
        }),
    )
    .map_err(|e| e.to_string())
}

/// Where the key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Store {
    File,
    Token(String),
}

/// The dialog's state.
pub struct Dialog {
    request: DialogRequest,
    incoming: Receiver<ToDialog>,
    store: Store,
    file: String,
    /// The password or PIN typed, wiped when sent, on cancel, on close and on drop.
    password: SecretText,
    problem: Option<String>,
    keys: Vec<KeyView>,
    chosen: usize,
    waiting: bool,
    /// "Trust this site from now on" ticked (issue 6: the user may remember the decision).
    remember_origin: bool,
    /// The portal's logo, uploaded on the first frame (`None` inside: nothing to show).
    logo: Option<Option<egui::TextureHandle>>,
    frames: u64,
    /// The frame at which a key list arrived (the test log records it once it settled).
    keys_at: Option<u64>,
    /// Screen positions of the controls, for the test log.
    pub(super) spots: Spots,
}

/// Centres of the controls (window coordinates), recorded for GUI tests.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Spots {
    pub sign: [f32; 2],
    pub cancel: [f32; 2],
    pub password: [f32; 2],
}

impl Dialog {
    fn new(request: DialogRequest, incoming: Receiver<ToDialog>) -> Self {
        let file = request.recent.first().map(|f| home::shown(f)).unwrap_or_default();
        let files_allowed =
            request.storages.as_ref().is_none_or(|s| s.iter().any(|n| n == FILE_STORE));
        let store = match request.tokens.first() {
            Some(token) if !files_allowed => Store::Token(token.clone()),
            _ => Store::File,
        };
        Self {
            request,
            incoming,
            store,
            file,
            password: SecretText::default(),
            problem: None,
            keys: Vec::new(),
            chosen: 0,
            waiting: false,
            remember_origin: false,
            logo: None,
            frames: 0,
            keys_at: None,
            spots: Spots::default(),
        }
    }

    fn t(&self, msg: Msg) -> &'static str {
        text(msg, self.request.locale)
    }

    /// Applies the daemon's lines that arrived.
    fn receive(&mut self, ctx: &egui::Context) {
        while let Ok(message) = self.incoming.try_recv() {
            match message {
                ToDialog::Retry { retry } => {
                    self.problem = Some(self.retry_text(&retry));
                    self.waiting = false;
                }
                ToDialog::Keys { keys } => {
                    self.keys = keys;
                    self.chosen = 0;
                    self.waiting = false;
                    self.keys_at = Some(self.frames);
                }
                ToDialog::Done
                | ToDialog::Ask(_)
                | ToDialog::ChooseFile { .. }
                | ToDialog::Issue(_) => {
                    self.password.wipe();
                    ctx.send_viewport_cmd(ViewportCommand::Close);
                }
            }
        }
    }

    fn retry_text(&self, retry: &RetryView) -> String {
        match retry {
            RetryView::WrongPassword { left: None } => self.t(Msg::WrongPassword).to_string(),
            RetryView::WrongPassword { left: Some(left) } => format!(
                "{} {}",
                self.t(Msg::WrongPassword),
                fill(self.t(Msg::TriesLeft), &[("left", &left.to_string())])
            ),
            RetryView::NoMatchingKey => self.t(Msg::NoMatchingKey).to_string(),
            RetryView::Problem { text } => text.clone(),
        }
    }

    /// Sign pressed (button or Enter).
    fn sign(&mut self) {
        if self.waiting {
            return;
        }
        if let Some(key) = self.keys.get(self.chosen) {
            let line = serde_json::json!({"type": "key", "alias": key.alias});
            self.waiting = send(wire::plain_line(&line).as_bytes());
            return;
        }
        let file = match &self.store {
            Store::File if self.file.trim().is_empty() => {
                self.problem = Some(self.t(Msg::ChooseStoreFirst).to_string());
                return;
            }
            Store::File => Some(home::typed(&self.file)),
            Store::Token(_) => None,
        };
        let store = match &self.store {
            Store::File => FILE_STORE.to_string(),
            Store::Token(name) => name.clone(),
        };
        let secret = SecretString::from(self.password.take_text().as_str());
        let line = wire::approve_line(&store, file.as_deref(), &secret, self.remember_origin);
        self.waiting = send(&line);
        self.problem = None;
    }

    /// Cancel pressed (button, Escape).
    fn cancel(&mut self, ctx: &egui::Context) {
        self.password.wipe();
        let _ = send(wire::plain_line(&serde_json::json!({"type": "cancel"})).as_bytes());
        ctx.send_viewport_cmd(ViewportCommand::Close);
    }

    fn keyboard(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.key_pressed(Key::Escape)) {
            self.cancel(ctx);
        } else if ctx.input(|i| i.key_pressed(Key::Enter)) {
            self.sign();
        }
    }

    fn bring_to_front(&self, ctx: &egui::Context) {
        if self.frames < 3 {
            ctx.send_viewport_cmd(ViewportCommand::Focus);
            ctx.send_viewport_cmd(ViewportCommand::RequestUserAttention(
                egui::UserAttentionType::Critical,
            ));
        }
    }
}

/// Writes one line to the daemon; false when the pipe is gone.
fn send(line: &[u8]) -> bool {
    let mut out = std::io::stdout().lock();
    out.write_all(line).and_then(|()| out.flush()).is_ok()
}

impl eframe::App for Dialog {
    fn update(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.receive(ctx);
        self.bring_to_front(ctx);
        self.keyboard(ctx);
        egui::TopBottomPanel::bottom("buttons")
            .resizable(false)
            .show(ctx, |ui| self.buttons(ui, ctx));
        egui::CentralPanel::default().show(ctx, |ui| {
            egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
                self.origin(ui);
                ui.add_space(8.0);
                self.documents(ui);
                ui.separator();
                self.key_store(ui);
                self.key_list(ui);
                self.secret(ui);
            });
        });
        self.frames += 1;
        #[cfg(feature = "test-support")]
        super::testlog::record(self, ctx);
        ctx.request_repaint_after(std::time::Duration::from_millis(100));
    }
}

impl Dialog {
    fn origin(&mut self, ui: &mut egui::Ui) {
        let standing = self.request.standing;
        let fill_colour = match standing {
            Standing::Trusted => TRUSTED,
            Standing::Known => KNOWN,
            Standing::FirstSeen => WARNING,
        };
        let origin = self.shown_origin();
        egui::Frame::new().fill(fill_colour).inner_margin(12.0).corner_radius(6.0).show(ui, |ui| {
            ui.set_width(ui.available_width());
            self.show_logo(ui);
            ui.label(RichText::new(self.t(Msg::RequestedBy)).color(Color32::BLACK));
            ui.label(RichText::new(origin).size(26.0).strong().color(Color32::BLACK));
            let note = match standing {
                Standing::Trusted => self.t(Msg::Trusted).to_string(),
                Standing::Known => self.t(Msg::NotTrusted).to_string(),
                Standing::FirstSeen => {
                    format!("⚠ {} {}", self.t(Msg::NotTrusted), self.t(Msg::FirstSeen))
                }
            };
            ui.label(RichText::new(note).strong().color(Color32::BLACK));
            if standing != Standing::Trusted && self.request.origin.is_some() {
                let remember = RichText::new(self.t(Msg::RememberSite)).color(Color32::BLACK);
                ui.checkbox(&mut self.remember_origin, remember);
            }
        });
        ui.add_space(6.0);
        ui.label(RichText::new(&self.request.operation).size(18.0).strong());
        if !self.request.wanted.is_empty() {
            ui.label(&self.request.wanted);
        }
    }

    /// The portal's logo, at most 48 px high, when the request sent one that decodes.
    fn show_logo(&mut self, ui: &mut egui::Ui) {
        let request = &self.request;
        let logo = self.logo.get_or_insert_with(|| {
            let image = request.logo.as_deref().and_then(super::logo::decode)?;
            Some(ui.ctx().load_texture("portal-logo", image, egui::TextureOptions::default()))
        });
        if let Some(texture) = logo {
            ui.add(egui::Image::new(&*texture).max_height(48.0));
        }
    }

    #[cfg(feature = "test-support")]
    /// The size of the logo shown, in pixels (for the test log).
    pub(super) fn logo_size(&self) -> Option<[usize; 2]> {
        self.logo.as_ref()?.as_ref().map(egui::TextureHandle::size)
    }

    /// The origin exactly as shown: the handshake origin the daemon sent.
    pub(super) fn shown_origin(&self) -> String {
        self.request.origin.clone().unwrap_or_else(|| self.t(Msg::LocalProgram).to_string())
    }

    #[cfg(feature = "test-support")]
    /// The standing shown.
    pub(super) fn standing(&self) -> Standing {
        self.request.standing
    }

    #[cfg(feature = "test-support")]
    /// The operation shown.
    pub(super) fn operation(&self) -> &str {
        &self.request.operation
    }

    #[cfg(feature = "test-support")]
    /// How many frames were drawn.
    pub(super) fn frames(&self) -> u64 {
        self.frames
    }

    #[cfg(feature = "test-support")]
    /// The key list shown, and the frame it arrived at.
    pub(super) fn key_list_shown(&self) -> Option<(u64, &[KeyView])> {
        self.keys_at.map(|at| (at, self.keys.as_slice()))
    }

    fn documents(&self, ui: &mut egui::Ui) {
        for (n, doc) in self.request.documents.iter().enumerate() {
            let head = fill(
                self.t(Msg::DocumentSize),
                &[("n", &(n + 1).to_string()), ("size", &doc.size.to_string())],
            );
            ui.label(RichText::new(head).strong());
            ui.label(RichText::new(format!("SHA-256 {}", doc.sha256)).monospace().small());
            match (&doc.preview, doc.digest_only) {
                (_, true) => {
                    ui.label(RichText::new(self.t(Msg::DigestOnly)).italics());
                }
                (Some(preview), false) => preview_box(ui, n, preview),
                (None, false) => {
                    ui.label(RichText::new(self.t(Msg::BinaryData)).italics());
                }
            }
            ui.add_space(6.0);
        }
    }
}

fn preview_box(ui: &mut egui::Ui, n: usize, preview: &str) {
    egui::Frame::new()
        .fill(Color32::from_rgb(0xf6, 0xf6, 0xf2))
        .stroke(egui::Stroke::new(1.0, Color32::from_gray(200)))
        .inner_margin(6.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            egui::ScrollArea::both().id_salt(("preview", n)).max_height(150.0).show(ui, |ui| {
                ui.label(RichText::new(preview).monospace());
            });
        });
}

#[path = "dialog_parts.rs"]
mod parts;

impl Dialog {
    #[cfg(feature = "test-support")]
    /// The dialog language.
    pub(super) fn locale(&self) -> Locale {
        self.request.locale
    }
}
