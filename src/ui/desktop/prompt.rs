//! `qoltanba prompt`: the dialog process. Reads the first [`wire`](super::wire) line from stdin
//! (what to show), then runs the signing dialog or the file chooser; later lines (retry, keys,
//! done) reach the dialog through a channel fed by a stdin reader thread. End of stdin closes
//! the dialog. Started by the daemon only; a person has no reason to run it.

use std::io::{BufRead as _, Write as _};
use std::sync::mpsc;

use super::wire::{self, ToDialog};
use crate::ui::i18n::{fill, text, Msg};

/// Runs the dialog process; the error is for stderr.
pub fn main() -> Result<(), String> {
    let mut first = String::new();
    std::io::stdin().lock().read_line(&mut first).map_err(|e| e.to_string())?;
    let message: ToDialog =
        serde_json::from_str(&first).map_err(|e| format!("not a dialog request: {e}"))?;
    match message {
        ToDialog::Ask(request) => super::dialog::run(*request, stdin_lines()),
        ToDialog::ChooseFile { origin, extension, locale } => {
            let asks = fill(text(Msg::AsksForFile, locale), &[("extension", &extension)]);
            let who = origin.unwrap_or_else(|| text(Msg::LocalProgram, locale).to_string());
            choose_file(&format!("Qoltanba — {who} {asks}"), &extension);
            Ok(())
        }
        ToDialog::Issue(request) => super::issue_dialog::run(*request, stdin_lines()),
        ToDialog::Retry { .. } | ToDialog::Keys { .. } | ToDialog::Done => Ok(()),
    }
}

/// The daemon's later lines; `Done` when stdin ends.
fn stdin_lines() -> mpsc::Receiver<ToDialog> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str::<ToDialog>(&line) {
                Ok(message) => {
                    if tx.send(message).is_err() {
                        return;
                    }
                }
                Err(e) => eprintln!("qoltanba prompt: ignoring a line: {e}"),
            }
        }
        let _ = tx.send(ToDialog::Done);
    });
    rx
}

/// A native file chooser; answers `file` or `cancel` on stdout.
fn choose_file(title: &str, extension: &str) {
    let mut dialog = rfd::FileDialog::new().set_title(title);
    let extension = extension.trim_start_matches("*.").trim_start_matches('.');
    if !extension.is_empty() && extension != "*" {
        dialog = dialog.add_filter(extension, &[extension]);
    }
    let line = match dialog.pick_file() {
        Some(path) => serde_json::json!({"type": "file", "path": path}),
        None => serde_json::json!({"type": "cancel"}),
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(wire::plain_line(&line).as_bytes()).and_then(|()| out.flush());
}
