//! The journal: one JSON line per signature (or failed signing with a chosen key), appended to
//! `journal.jsonl` in the data directory and synced to disk (`fsync`) before the reply is sent.
//! It holds who asked (origin), what (operation, SHA-256 of each document), with which key
//! (alias, certificate subject and serial) and how it ended — never a password, a PIN or
//! document content. Reading skips lines that do not parse (a line torn by a crash), and an
//! append after a torn line starts on a new line, so one crash never hides later entries.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The journal file name in the data directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// RFC 3339 time (the daemon's clock).
    pub time: String,
    /// The handshake origin; `None`: a program on this computer.
    pub origin: Option<String>,
    /// The operation (`cms-attached`, `xml`, …).
    pub operation: String,
    /// SHA-256 hex of each document as signed.
    pub documents: Vec<String>,
    /// The key alias.
    pub key: String,
    /// The certificate subject DN.
    pub subject: String,
    /// The certificate serial number (hex).
    pub serial: String,
    /// `signed` or `failed`.
    pub outcome: String,
}

/// Errors of the journal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// The file could not be written or synced.
    #[error("cannot write the journal {path}: {source}")]
    Write { path: String, source: std::io::Error },
    /// The file could not be read.
    #[error("cannot read the journal {path}: {source}")]
    Read { path: String, source: std::io::Error },
}

/// The append-only journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    lock: Mutex<()>,
}

impl Journal {
    /// The journal at `path` (created on the first append).
    pub fn new(path: PathBuf) -> Self {
        Self { path, lock: Mutex::new(()) }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry and syncs it to disk.
    pub fn append(&self, entry: &Entry) -> Result<(), JournalError> {
        let _guard = self.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let error = |source| JournalError::Write { path: self.path.display().to_string(), source };
        let mut line = serde_json::to_string(entry).map_err(|e| error(e.into()))?;
        line.push('\n');
        let mut file = open_append(&self.path).map_err(error)?;
        if !ends_with_newline(&mut file).map_err(error)? {
            line.insert(0, '\n');
        }
        file.write_all(line.as_bytes()).map_err(error)?;
        file.sync_all().map_err(error)
    }

    /// Every entry that parses, oldest first, and how many lines were skipped.
    pub fn read(path: &Path) -> Result<(Vec<Entry>, usize), JournalError> {
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
            Err(source) => {
                return Err(JournalError::Read { path: path.display().to_string(), source })
            }
        };
        let mut skipped = 0;
        let entries = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .filter_map(|line| {
                let entry = serde_json::from_str(line).ok();
                skipped += usize::from(entry.is_none());
                entry
            })
            .collect();
        Ok((entries, skipped))
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true).read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Whether the file is empty or ends with `\n` (else the last line was torn).
fn ends_with_newline(file: &mut File) -> std::io::Result<bool> {
    if file.metadata()?.len() == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last == *b"\n")
}

/// The journal as a text table for `qoltanba history`.
pub fn table(entries: &[Entry]) -> String {
    let header = ["TIME", "ORIGIN", "OPERATION", "DOCS", "KEY", "SUBJECT", "SERIAL", "OUTCOME"];
    let rows: Vec<[String; 8]> = entries.iter().map(row).collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    push_row(&mut out, &header.map(String::from), &widths);
    for row in &rows {
        push_row(&mut out, row, &widths);
    }
    out
}

fn row(entry: &Entry) -> [String; 8] {
    let docs = match entry.documents.as_slice() {
        [one] => short(one, 16),
        many => format!("{} documents", many.len()),
    };
    [
        entry.time.clone(),
        entry.origin.clone().unwrap_or_else(|| "(program on this computer)".into()),
        entry.operation.clone(),
        docs,
        short(&entry.key, 16),
        short(&entry.subject, 60),
        entry.serial.clone(),
        entry.outcome.clone(),
    ]
}

/// At most `n` characters, with `…` when cut.
fn short(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(n.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn push_row(out: &mut String, cells: &[String; 8], widths: &[usize; 8]) {
    let line: Vec<String> = cells
        .iter()
        .zip(widths)
        .map(|(cell, width)| format!("{cell}{}", " ".repeat(width - cell.chars().count())))
        .collect();
    out.push_str(line.join("  ").trim_end());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> Entry {
        Entry {
            time: format!("2020-06-01T00:00:0{n}Z"),
            origin: Some("https://portal.test.kz".into()),
            operation: "cms-attached".into(),
            documents: vec!["ab".repeat(32)],
            key: "11c707bd".into(),
            subject: "CN=ТЕСТОВ ТЕСТ".into(),
            serial: "0a1b".into(),
            outcome: "signed".into(),
        }
    }

    #[test]
    fn appended_entries_are_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let journal = Journal::new(dir.path().join(JOURNAL_FILE));
        journal.append(&entry(1)).expect("append");
        journal.append(&entry(2)).expect("append");
        let (entries, skipped) = Journal::read(journal.path()).expect("read");
        assert_eq!((entries, skipped), (vec![entry(1), entry(2)], 0));
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_later_appends_survive() {
        let dir = tempfile::tempdir().expect("dir");
        let journal = Journal::new(dir.path().join(JOURNAL_FILE));
        journal.append(&entry(1)).expect("append");
        let mut file = OpenOptions::new().append(true).open(journal.path()).expect("open");
        file.write_all(br#"{"time":"2020-06-01T00:00:0"#).expect("torn write");
        let (entries, skipped) = Journal::read(journal.path()).expect("read");
        assert_eq!((entries.len(), skipped), (1, 1));
        journal.append(&entry(3)).expect("append after the crash");
        let (entries, skipped) = Journal::read(journal.path()).expect("read");
        assert_eq!((entries, skipped), (vec![entry(1), entry(3)], 1));
    }

    #[test]
    fn a_missing_journal_is_empty_and_the_table_has_a_header() {
        let (entries, _) = Journal::read(Path::new("/nonexistent/journal.jsonl")).expect("read");
        assert!(entries.is_empty());
        let text = table(&[entry(1)]);
        assert!(text.starts_with("TIME"), "{text}");
        assert!(text.contains("https://portal.test.kz") && text.contains("signed"), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn the_journal_is_private_to_the_user() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("dir");
        let journal = Journal::new(dir.path().join(JOURNAL_FILE));
        journal.append(&entry(1)).expect("append");
        let mode = std::fs::metadata(journal.path()).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
