//! The tray icon (`tray-icon`) on the main thread: a coloured state icon (idle / request
//! waiting / error) and a menu — status (listening addresses, stores), signing history, trusting
//! the local certificate, language, settings, quit. On Linux it runs GTK's main loop (the
//! AppIndicator falls back to an XEmbed icon when no StatusNotifier host exists); when no tray
//! can be made at all the loop still runs, so the daemon and its dialogs work without a tray.

use std::path::PathBuf;
use std::time::Duration;

use tray_icon::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use super::{Board, TrayState};
use crate::ui::i18n::{fill, text, Locale, Msg};

/// How often the loop looks at the board and the menu.
const TICK: Duration = Duration::from_millis(50);

/// What the tray needs from the daemon.
pub struct TrayContext {
    /// State written by the prompter.
    pub board: Board,
    /// The daemon's data directory (the `listening` file, logs).
    pub data_dir: PathBuf,
    /// The local CA (`ca.pem`) the "Trust the local certificate" item adds to the browsers.
    pub ca_file: PathBuf,
    /// The config file the Settings item opens.
    pub config_file: PathBuf,
    /// Language at start.
    pub locale: Locale,
    /// Called when the user picks a language.
    pub on_locale: Box<dyn Fn(Locale)>,
    /// True once the daemon stopped (the loop ends).
    pub stopped: Box<dyn Fn() -> bool>,
    /// Called when the user picks Quit.
    pub on_quit: Box<dyn Fn()>,
}

/// The menu items the loop updates or reacts to.
struct Items {
    status: MenuItem,
    stores: MenuItem,
    history: MenuItem,
    trust: MenuItem,
    languages: Vec<(Locale, CheckMenuItem)>,
    settings: MenuItem,
    quit: MenuItem,
    language: Submenu,
}

/// Runs the tray until the daemon stops or the user quits. Returns without error when there
/// is no display or no tray can be made: then it only waits for the daemon to stop.
pub fn run(context: TrayContext) {
    if !init_toolkit() {
        tracing::warn!("no display for the tray icon; running without one");
        return wait_stopped(&context);
    }
    let mut locale = context.locale;
    let items = Items::new(locale);
    let tray = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        build(&items, locale)
    })) {
        Ok(Ok(tray)) => Some(tray),
        Ok(Err(e)) => {
            tracing::warn!("no tray icon ({e}); the daemon runs on, dialogs still appear");
            None
        }
        Err(_) => {
            tracing::warn!("no tray icon (the AppIndicator library is missing); running without");
            None
        }
    };
    let mut shown = None;
    while !(context.stopped)() {
        pump();
        let state = context.board.snapshot();
        let listening = listening(&context);
        if shown.as_ref() != Some(&(state.clone(), listening.clone(), locale)) {
            items.show(tray.as_ref(), &state, &listening, locale);
            shown = Some((state, listening.clone(), locale));
        }
        while let Ok(event) = MenuEvent::receiver().try_recv() {
            match items.action(&event.id) {
                Some(Action::Quit) => return (context.on_quit)(),
                Some(Action::Language(chosen)) => {
                    locale = chosen;
                    (context.on_locale)(chosen);
                }
                Some(action) => action.run(&context, &listening),
                None => {}
            }
        }
    }
}

fn wait_stopped(context: &TrayContext) {
    while !(context.stopped)() {
        std::thread::sleep(TICK);
    }
}

#[cfg(target_os = "linux")]
fn init_toolkit() -> bool {
    gtk::init().is_ok()
}

#[cfg(target_os = "linux")]
fn pump() {
    while gtk::events_pending() {
        gtk::main_iteration_do(false);
    }
    std::thread::sleep(TICK);
}

#[cfg(not(target_os = "linux"))]
fn init_toolkit() -> bool {
    true
}

#[cfg(not(target_os = "linux"))]
fn pump() {
    super::tray_pump::pump(TICK);
}

fn build(items: &Items, locale: Locale) -> Result<TrayIcon, String> {
    let menu = Menu::new();
    menu.append_items(&[
        &items.status,
        &items.stores,
        &PredefinedMenuItem::separator(),
        &items.history,
        &items.trust,
        &items.language,
        &items.settings,
        &PredefinedMenuItem::separator(),
        &items.quit,
    ])
    .map_err(|e| e.to_string())?;
    let mut builder =
        TrayIconBuilder::new().with_menu(Box::new(menu)).with_tooltip(text(Msg::StateIdle, locale));
    if let Some(icon) = icon(TrayState::Idle) {
        builder = builder.with_icon(icon);
    }
    builder.build().map_err(|e| e.to_string())
}

impl Items {
    fn new(locale: Locale) -> Self {
        let item = |msg| MenuItem::new(text(msg, locale), true, None);
        let languages: Vec<(Locale, CheckMenuItem)> = Locale::ALL
            .iter()
            .map(|&l| (l, CheckMenuItem::new(l.native_name(), true, l == locale, None)))
            .collect();
        let language = Submenu::new(text(Msg::Language, locale), true);
        for (_, check) in &languages {
            let _ = language.append(check);
        }
        Self {
            status: MenuItem::new("", false, None),
            stores: MenuItem::new("", false, None),
            history: item(Msg::OpenHistory),
            trust: item(Msg::TrustCertificate),
            languages,
            settings: item(Msg::Settings),
            quit: item(Msg::Quit),
            language,
        }
    }

    /// Shows `state` in the icon, tooltip and status lines, in `locale`.
    fn show(
        &self,
        tray: Option<&TrayIcon>,
        state: &super::BoardState,
        listening: &[String],
        locale: Locale,
    ) {
        let address = listening.join(", ");
        self.status.set_text(fill(text(Msg::Listening, locale), &[("address", &address)]));
        let mut stores = vec!["PKCS12".to_string()];
        stores.extend(state.stores.iter().cloned());
        self.stores
            .set_text(fill(text(Msg::StoresSeen, locale), &[("stores", &stores.join(", "))]));
        self.history.set_text(text(Msg::OpenHistory, locale));
        self.trust.set_text(text(Msg::TrustCertificate, locale));
        self.language.set_text(text(Msg::Language, locale));
        self.settings.set_text(text(Msg::Settings, locale));
        self.quit.set_text(text(Msg::Quit, locale));
        for (l, check) in &self.languages {
            check.set_checked(*l == locale);
        }
        if let Some(tray) = tray {
            let tip = match state.state {
                TrayState::Idle => Msg::StateIdle,
                TrayState::Waiting => Msg::StateWaiting,
                TrayState::Error => Msg::StateError,
            };
            let _ = tray.set_icon(icon(state.state));
            let _ = tray.set_tooltip(Some(text(tip, locale)));
        }
    }

    fn action(&self, id: &tray_icon::menu::MenuId) -> Option<Action> {
        if id == self.quit.id() {
            return Some(Action::Quit);
        }
        if let Some((l, _)) = self.languages.iter().find(|(_, c)| c.id() == id) {
            return Some(Action::Language(*l));
        }
        [
            (&self.history, Action::History),
            (&self.trust, Action::Trust),
            (&self.settings, Action::Settings),
        ]
        .into_iter()
        .find(|(item, _)| item.id() == id)
        .map(|(_, action)| action)
    }
}

/// What a menu item does.
enum Action {
    History,
    Trust,
    Language(Locale),
    Settings,
    Quit,
}

impl Action {
    fn run(&self, context: &TrayContext, listening: &[String]) {
        match self {
            Self::History => {
                let journal = context.data_dir.join(crate::service::audit::JOURNAL_FILE);
                super::open::open(if journal.exists() { journal } else { context.data_dir.clone() })
            }
            Self::Trust => {
                super::open::trust_local_ca(&context.ca_file, &context.data_dir, listening)
            }
            Self::Settings => super::open::edit_config(&context.config_file),
            Self::Language(_) | Self::Quit => {}
        }
    }
}

/// The addresses in `DIR/listening`.
fn listening(context: &TrayContext) -> Vec<String> {
    std::fs::read_to_string(context.data_dir.join("listening"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("listening on "))
        .map(str::to_string)
        .collect()
}

/// A 32×32 disc in the state's colour with a white ring.
pub fn icon(state: TrayState) -> Option<Icon> {
    let colour: [u8; 3] = match state {
        TrayState::Idle => [0x1f, 0x7a, 0x4d],
        TrayState::Waiting => [0xf0, 0xa0, 0x00],
        TrayState::Error => [0xc0, 0x10, 0x20],
    };
    const SIZE: u32 = 32;
    let mut rgba = Vec::with_capacity((SIZE * SIZE * 4) as usize);
    for y in 0..SIZE {
        for x in 0..SIZE {
            let (dx, dy) = (x as f32 - 15.5, y as f32 - 15.5);
            let r = (dx * dx + dy * dy).sqrt();
            let pixel = match r {
                r if r <= 11.0 => [colour[0], colour[1], colour[2], 255],
                r if r <= 14.5 => [255, 255, 255, 255],
                _ => [0, 0, 0, 0],
            };
            rgba.extend_from_slice(&pixel);
        }
    }
    Icon::from_rgba(rgba, SIZE, SIZE).ok()
}
