//! Test hook (feature `test-support`): with `QOLTANBA_TEST_DIALOG_LOG=FILE` the dialog appends
//! one JSON line once its layout settled: the window title, the origin and operation exactly as
//! drawn, the standing, and the centres of Sign, Cancel and the password field (window
//! coordinates, for `xdotool mousemove --window`). Documented in `docs/testing.md`.

use std::io::Write as _;

use eframe::egui;

use super::dialog::Dialog;

/// Frame after which the layout is taken as settled.
const SETTLED: u64 = 15;

/// Appends the record at the settled frame, and one more when a key list settled.
pub(super) fn record(dialog: &Dialog, ctx: &egui::Context) {
    let spots = dialog.spots;
    let scale = ctx.pixels_per_point();
    let at = |p: [f32; 2]| [(p[0] * scale).round(), (p[1] * scale).round()];
    if let Some((arrived, keys)) = dialog.key_list_shown() {
        if dialog.frames() == arrived + SETTLED {
            let keys: Vec<_> = keys
                .iter()
                .map(|k| serde_json::json!({"owner": k.owner, "refused": k.refused, "warning": k.warning}))
                .collect();
            append(&serde_json::json!({"keys": keys, "sign": at(spots.sign)}));
        }
    }
    if dialog.frames() != SETTLED {
        return;
    }
    let line = serde_json::json!({
        "title": super::dialog::title(dialog_locale(dialog)),
        "origin": dialog.shown_origin(),
        "standing": dialog.standing(),
        "operation": dialog.operation(),
        "logo": dialog.logo_size(),
        "sign": at(spots.sign),
        "cancel": at(spots.cancel),
        "password": at(spots.password),
    });
    append(&line);
}

/// One line to `QOLTANBA_TEST_DIALOG_LOG`, when set.
fn append(line: &serde_json::Value) {
    let Some(file) = std::env::var_os("QOLTANBA_TEST_DIALOG_LOG") else { return };
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = written {
        eprintln!("qoltanba prompt: cannot write the test log: {e}");
    }
}

fn dialog_locale(dialog: &Dialog) -> crate::ui::i18n::Locale {
    dialog.locale()
}
