//! One running `qoltanba prompt` child: its stdin for our lines, a reader thread turning its
//! stdout into a channel of lines, and a kill on drop. A crashed or closed dialog reads as end
//! of file, which the prompter treats as cancel. The child's lines may hold a password (the
//! `approve` line): they are read through zeroizing buffers only, never a `BufReader`.

use std::io::{Read, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::wire::{FromDialog, ToDialog};
use crate::service::consent::Cancel;

/// How often a wait checks the cancel flag.
const POLL: Duration = Duration::from_millis(50);
/// The longest line a dialog sends (an `approve` line with a long path); longer ends the talk.
const MAX_LINE: usize = 64 * 1024;

/// A dialog process and its pipes.
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Zeroizing<String>>,
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
        std::thread::spawn(move || read_lines(stdout, &tx));
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

/// Sends each line of `input` (without its newline) until end of file, a read error, a line
/// over [`MAX_LINE`] or a closed channel. Every byte passes only through wiped buffers.
fn read_lines(mut input: impl Read, lines: &mpsc::Sender<Zeroizing<String>>) {
    let mut chunk = Zeroizing::new([0u8; 4096]);
    let mut line = Zeroizing::new(Vec::with_capacity(1024));
    loop {
        let read = match input.read(&mut chunk[..]) {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        for piece in chunk.get(..read).unwrap_or_default().split_inclusive(|b| *b == b'\n') {
            let (text, ended) = match piece.strip_suffix(b"\n") {
                Some(text) => (text, true),
                None => (piece, false),
            };
            if line.len() + text.len() > MAX_LINE {
                return;
            }
            extend_wiped(&mut line, text);
            if ended {
                let whole = std::mem::replace(&mut line, Zeroizing::new(Vec::with_capacity(1024)));
                if lines.send(into_text(whole)).is_err() {
                    return;
                }
            }
        }
    }
}

/// Appends `bytes`; when `buffer` must grow, its old allocation is wiped, not just freed.
fn extend_wiped(buffer: &mut Zeroizing<Vec<u8>>, bytes: &[u8]) {
    let needed = buffer.len() + bytes.len();
    if needed > buffer.capacity() {
        let mut larger = Zeroizing::new(Vec::with_capacity(needed.max(2 * buffer.capacity())));
        larger.extend_from_slice(buffer);
        *buffer = larger;
    }
    buffer.extend_from_slice(bytes);
}

/// The line as text, moved not copied; a line that is not UTF-8 becomes empty (not an answer).
fn into_text(mut bytes: Zeroizing<Vec<u8>>) -> Zeroizing<String> {
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Zeroizing::new(text),
        Err(error) => {
            drop(Zeroizing::new(error.into_bytes()));
            Zeroizing::new(String::new())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 10, item 5: the daemon read the dialog's password line through unwiped buffers.
    #[test]
    fn lines_arrive_whole_across_reads() {
        let long = "x".repeat(10_000);
        let input = format!("{{\"type\":\"cancel\"}}\n{long}\nлиния\nno newline");
        let (tx, rx) = mpsc::channel();
        read_lines(std::io::Cursor::new(input.into_bytes()), &tx);
        let got: Vec<String> = rx.try_iter().map(|l| l.to_string()).collect();
        assert_eq!(got, [r#"{"type":"cancel"}"#.to_string(), long, "линия".to_string()]);
        assert!(matches!(parse(r#"{"type":"cancel"}"#), Some(FromDialog::Cancel)));
    }

    #[test]
    fn an_overlong_line_ends_the_talk() {
        let input = format!("{}\nnext\n", "y".repeat(MAX_LINE + 1));
        let (tx, rx) = mpsc::channel();
        read_lines(std::io::Cursor::new(input.into_bytes()), &tx);
        assert_eq!(rx.try_iter().count(), 0);
    }

    #[test]
    fn growing_keeps_the_bytes() {
        let mut buffer = Zeroizing::new(Vec::with_capacity(2));
        extend_wiped(&mut buffer, b"abc");
        extend_wiped(&mut buffer, b"defgh");
        assert_eq!(buffer.as_slice(), b"abcdefgh");
    }
}
