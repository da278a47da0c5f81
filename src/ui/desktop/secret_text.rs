//! The password field's text: an egui [`TextBuffer`] kept in one zeroizing allocation. Typing
//! that outgrows it moves the text to a larger one and wipes the old (a plain `String` would
//! free it unwiped); taking the text out leaves a fresh buffer; dropping wipes. It must not
//! hand the text to anything that keeps a copy: egui's own per-frame copies of a password
//! field are dropped each frame, and the dialog clears the field's undo history after every
//! frame ([`SecretText::forget_history`]).

use std::ops::Range;

use eframe::egui::{self, TextBuffer};
use zeroize::{Zeroize as _, Zeroizing};

/// Room reserved up front: longer than any password or PIN typed by hand.
const ROOM: usize = 128;

/// Password or PIN text, wiped whenever it moves or goes.
pub struct SecretText(Zeroizing<String>);

impl Default for SecretText {
    fn default() -> Self {
        Self(Zeroizing::new(String::with_capacity(ROOM)))
    }
}

impl SecretText {
    /// The text, leaving an empty field; the caller's copy is wiped when dropped.
    pub fn take_text(&mut self) -> Zeroizing<String> {
        std::mem::take(self).0
    }

    /// Wipes the text (cancel, close).
    pub fn wipe(&mut self) {
        self.0.zeroize();
    }

    /// Drops the undo history egui keeps for the field with `id` (copies of earlier text).
    pub fn forget_history(ctx: &egui::Context, id: egui::Id) {
        if let Some(mut state) = egui::TextEdit::load_state(ctx, id) {
            state.clear_undoer();
            state.store(ctx, id);
        }
    }

    /// Makes room for `extra` more bytes without an unwiped copy left behind.
    fn reserve(&mut self, extra: usize) {
        let needed = self.0.len() + extra;
        if needed <= self.0.capacity() {
            return;
        }
        let mut larger = Zeroizing::new(String::with_capacity(needed.max(2 * self.0.capacity())));
        larger.push_str(&self.0);
        self.0 = larger; // the old allocation is wiped as it drops
    }
}

impl TextBuffer for SecretText {
    fn is_mutable(&self) -> bool {
        true
    }

    fn as_str(&self) -> &str {
        &self.0
    }

    fn insert_text(&mut self, text: &str, char_index: usize) -> usize {
        let at = self.byte_index_from_char_index(char_index);
        self.reserve(text.len());
        self.0.insert_str(at, text);
        text.chars().count()
    }

    fn delete_char_range(&mut self, char_range: Range<usize>) {
        let start = self.byte_index_from_char_index(char_range.start);
        let end = self.byte_index_from_char_index(char_range.end).max(start);
        self.0.replace_range(start..end, "");
    }

    fn take(&mut self) -> String {
        // egui's default would return an unwiped copy; nothing in TextEdit calls it.
        self.wipe();
        String::new()
    }

    fn type_id(&self) -> std::any::TypeId {
        std::any::TypeId::of::<Self>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 10, item 5: typing past the buffer's size moved the password unwiped.
    #[test]
    fn growing_and_taking_keep_one_wiped_buffer() {
        let mut text = SecretText::default();
        let long = "ж".repeat(ROOM);
        assert_eq!(text.insert_text(&long, 0), ROOM);
        assert!(text.0.capacity() >= 2 * ROOM);
        assert_eq!(text.insert_text("ab", 1), 2);
        assert!(text.as_str().starts_with("жabж"));
        text.delete_char_range(1..3);
        assert_eq!(text.as_str(), long);
        let taken = text.take_text();
        assert_eq!(taken.as_str(), long);
        assert_eq!(text.as_str(), "");
        assert_eq!(text.0.capacity(), ROOM);
    }

    #[test]
    fn wipe_and_egui_take_leave_nothing() {
        let mut text = SecretText::default();
        text.insert_text("Qwerty12", 0);
        assert_eq!(TextBuffer::take(&mut text), "");
        assert_eq!(text.as_str(), "");
        text.insert_text("Qwerty12", 0);
        text.wipe();
        assert_eq!(text.as_str(), "");
        text.clear(); // egui's default: a byte range past the end is clamped
        text.replace_with("1234");
        assert_eq!(text.as_str(), "1234");
    }
}
