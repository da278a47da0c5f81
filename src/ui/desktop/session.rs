//! One running `qoltanba prompt` child: its stdin for our lines, a reader thread turning its
//! stdout into a channel of lines, and a kill on drop. A crashed or closed dialog reads as end
//! of file, which the prompter treats as cancel.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::wire::{FromDialog, ToDialog};
use crate::ui::Cancel;

/// How often a wait checks the cancel flag.
const POLL: Duration = Duration::from_millis(50);

/// A dialog process and its pipes.
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Session {
    /// Starts `program prompt` and sends it the first line.
    pub fn start(program: &std::path::Path, first: &ToDialog) -> std::io::Result<Self> {
        let mut child = Command::new(program)
            .arg("prompt")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("no stdout"))?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut session = Self { stdin: child.stdin.take(), child, lines };
        session.send(first)?;
        Ok(session)
    }

    /// Sends one line.
    pub fn send(&mut self, message: &ToDialog) -> std::io::Result<()> {
        let stdin = self.stdin.as_mut().ok_or_else(|| std::io::Error::other("stdin closed"))?;
        let mut line = serde_json::to_string(message).map_err(std::io::Error::other)?;
        line.push('\n');
        stdin.write_all(line.as_bytes())?;
        stdin.flush()
    }

    /// The next answer; `None` when the dialog ended, sent garbage, or `cancel` was set (then
    /// the dialog is killed).
    pub fn answer(&mut self, cancel: &Cancel) -> Option<FromDialog> {
        loop {
            if cancel.is_cancelled() {
                self.kill();
                return None;
            }
            match self.lines.recv_timeout(POLL) {
                Ok(line) => return parse(&line),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Tells the dialog to close and waits a little for it; kills it after that.
    pub fn close(mut self) {
        let _ = self.send(&ToDialog::Done);
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(POLL);
        }
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            self.kill();
        }
    }
}

fn parse(line: &str) -> Option<FromDialog> {
    match serde_json::from_str(line) {
        Ok(answer) => Some(answer),
        Err(_) => {
            // The line may hold a password: say only that it was not understood.
            tracing::warn!("the dialog sent a line that is not an answer; cancelling");
            None
        }
    }
}
