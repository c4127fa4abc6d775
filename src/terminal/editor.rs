//! The input line: text as characters with a cursor, the usual editing
//! keys (left/right, Home/End, by words, Ctrl-U/K/W, Backspace/Delete),
//! recall of earlier lines with Up/Down, and the horizontal window that
//! keeps the cursor visible on a line wider than the screen. Pure: it
//! knows nothing of the terminal.

use super::keys::Key;
use super::width::char_width;

/// Longest input line kept (a message is split at 64 KiB anyway).
pub const MAX_LINE_CHARS: usize = 100_000;
/// Earlier lines kept for recall.
pub const MAX_HISTORY: usize = 500;

/// How a line break (from a paste) is shown in the input line.
const LINE_BREAK_SHOWN: char = '\u{21b5}';

/// The line being typed.
#[derive(Debug, Default)]
pub struct Editor {
    chars: Vec<char>,
    cursor: usize,
    history: Vec<String>,
    /// While recalling: which history entry is shown.
    recall: Option<usize>,
    /// The line being typed when recall started, given back past the newest.
    draft: Vec<char>,
    /// The first character shown (the window over a long line).
    scroll: usize,
}

impl Editor {
    pub fn new() -> Editor {
        Editor::default()
    }

    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The cursor, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn insert(&mut self, c: char) {
        if self.chars.len() < MAX_LINE_CHARS {
            self.chars.insert(self.cursor, c);
            self.cursor += 1;
        }
    }

    pub fn insert_str(&mut self, text: &str) {
        let room = MAX_LINE_CHARS.saturating_sub(self.chars.len());
        let new: Vec<char> = text.chars().take(room).collect();
        let n = new.len();
        self.chars.splice(self.cursor..self.cursor, new);
        self.cursor += n;
    }

    /// Replaces the whole line, the cursor at `cursor` (clamped).
    pub fn set(&mut self, text: &str, cursor: usize) {
        self.chars = text.chars().take(MAX_LINE_CHARS).collect();
        self.cursor = cursor.min(self.chars.len());
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            self.chars.remove(self.cursor);
        }
    }

    pub fn delete(&mut self) {
        if self.cursor < self.chars.len() {
            self.chars.remove(self.cursor);
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.chars.len());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.chars.len();
    }

    /// To the start of the word before the cursor.
    pub fn word_left(&mut self) {
        self.cursor = self.word_start();
    }

    /// To the end of the word after the cursor.
    pub fn word_right(&mut self) {
        let n = self.chars.len();
        let mut i = self.cursor;
        while i < n && self.chars[i].is_whitespace() {
            i += 1;
        }
        while i < n && !self.chars[i].is_whitespace() {
            i += 1;
        }
        self.cursor = i;
    }

    fn word_start(&self) -> usize {
        let mut i = self.cursor;
        while i > 0 && self.chars[i - 1].is_whitespace() {
            i -= 1;
        }
        while i > 0 && !self.chars[i - 1].is_whitespace() {
            i -= 1;
        }
        i
    }

    /// Ctrl-U: deletes from the start of the line to the cursor.
    pub fn kill_to_start(&mut self) {
        self.chars.drain(..self.cursor);
        self.cursor = 0;
    }

    /// Ctrl-K: deletes from the cursor to the end of the line.
    pub fn kill_to_end(&mut self) {
        self.chars.truncate(self.cursor);
    }

    /// Ctrl-W: deletes the word before the cursor (and the spaces after it).
    pub fn kill_word_back(&mut self) {
        let start = self.word_start();
        self.chars.drain(start..self.cursor);
        self.cursor = start;
    }

    /// Alt-d: deletes the word after the cursor.
    pub fn kill_word_forward(&mut self) {
        let from = self.cursor;
        self.word_right();
        self.chars.drain(from..self.cursor);
        self.cursor = from;
    }

    /// Applies an editing key (moving, inserting, deleting, pasting);
    /// false for any other key, which the caller handles. A paste keeps
    /// its line breaks unless `one_line`, where they become spaces.
    pub fn apply(&mut self, key: &Key, one_line: bool) -> bool {
        match key {
            Key::Char(c) => self.insert(*c),
            Key::Paste(text) if one_line => self.insert_str(&text.replace('\n', " ")),
            Key::Paste(text) => self.insert_str(text),
            Key::Backspace => self.backspace(),
            Key::Delete => self.delete(),
            Key::Left | Key::Ctrl('b') => self.left(),
            Key::Right | Key::Ctrl('f') => self.right(),
            Key::Home | Key::Ctrl('a') => self.home(),
            Key::End | Key::Ctrl('e') => self.end(),
            Key::WordLeft | Key::Alt('b') => self.word_left(),
            Key::WordRight | Key::Alt('f') => self.word_right(),
            Key::Ctrl('u') => self.kill_to_start(),
            Key::Ctrl('k') => self.kill_to_end(),
            Key::Ctrl('w') | Key::AltBackspace => self.kill_word_back(),
            Key::Alt('d') => self.kill_word_forward(),
            _ => return false,
        }
        true
    }

    /// Up: the previous line in the history (the line being typed is kept
    /// and comes back past the newest).
    pub fn older(&mut self) {
        let at = match self.recall {
            None if self.history.is_empty() => return,
            None => {
                self.draft = std::mem::take(&mut self.chars);
                self.history.len() - 1
            }
            Some(0) => return,
            Some(i) => i - 1,
        };
        self.recall = Some(at);
        self.chars = self.history[at].chars().collect();
        self.cursor = self.chars.len();
    }

    /// Down: the next line in the history, then the line being typed.
    pub fn newer(&mut self) {
        let Some(i) = self.recall else {
            return;
        };
        if i + 1 < self.history.len() {
            self.recall = Some(i + 1);
            self.chars = self.history[i + 1].chars().collect();
        } else {
            self.recall = None;
            self.chars = std::mem::take(&mut self.draft);
        }
        self.cursor = self.chars.len();
    }

    /// Enter: the line, and an empty editor. The caller decides whether
    /// it goes into the history ([`Editor::remember`]).
    pub fn take(&mut self) -> String {
        let text = self.text();
        self.chars.clear();
        self.cursor = 0;
        self.scroll = 0;
        self.recall = None;
        self.draft.clear();
        text
    }

    /// Adds a sent line to the history (not a repeat of the last one).
    pub fn remember(&mut self, line: &str) {
        if line.trim().is_empty() || self.history.last().is_some_and(|l| l == line) {
            return;
        }
        if self.history.len() == MAX_HISTORY {
            self.history.remove(0);
        }
        self.history.push(line.to_string());
    }

    /// What fits in `columns`: the visible text and the cursor's column
    /// in it. The window moves only as far as it must to show the cursor.
    pub fn view(&mut self, columns: usize) -> (String, usize) {
        let columns = columns.max(2);
        let shown = |c: char| if c == '\n' { LINE_BREAK_SHOWN } else { c };
        if self.scroll > self.cursor {
            self.scroll = self.cursor;
        }
        // The cursor needs a column of its own at the end.
        let width_to_cursor = |from: usize| -> usize {
            self.chars[from..self.cursor]
                .iter()
                .map(|&c| char_width(shown(c)))
                .sum()
        };
        while self.scroll < self.cursor && width_to_cursor(self.scroll) > columns - 1 {
            self.scroll += 1;
        }
        let mut text = String::new();
        let mut used = 0;
        let mut cursor_col = 0;
        for (i, &c) in self.chars.iter().enumerate().skip(self.scroll) {
            if i == self.cursor {
                cursor_col = used;
            }
            let c = shown(c);
            let w = char_width(c);
            if used + w > columns {
                break;
            }
            text.push(c);
            used += w;
        }
        if self.cursor >= self.chars.len() {
            cursor_col = used;
        }
        (text, cursor_col)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> Editor {
        let mut editor = Editor::new();
        editor.insert_str(text);
        editor
    }

    #[test]
    fn editing_moves_and_deletes() {
        let mut e = typed("hello world");
        e.left();
        e.left();
        e.insert('X');
        assert_eq!(e.text(), "hello worXld");
        e.home();
        e.delete();
        assert_eq!(e.text(), "ello worXld");
        e.end();
        e.backspace();
        assert_eq!(e.text(), "ello worXl");
        e.word_left();
        assert_eq!(e.cursor(), 5);
        e.kill_to_end();
        assert_eq!(e.text(), "ello ");
        e.insert_str("again");
        e.kill_word_back();
        assert_eq!(e.text(), "ello ");
        e.kill_word_back();
        assert_eq!(e.text(), "");
        let mut e = typed("one two three");
        e.home();
        e.word_right();
        assert_eq!(e.cursor(), 3);
        e.kill_word_forward();
        assert_eq!(e.text(), "one three");
        e.kill_to_start();
        assert_eq!((e.text().as_str(), e.cursor()), (" three", 0));
    }

    #[test]
    fn keys_edit_and_others_are_left_to_the_caller() {
        let mut e = Editor::new();
        for key in [
            Key::Char('a'),
            Key::Char('b'),
            Key::Left,
            Key::Paste("x\ny".into()),
        ] {
            assert!(e.apply(&key, false));
        }
        assert_eq!(e.text(), "ax\nyb");
        assert!(e.apply(&Key::Paste("1\n2".into()), true));
        assert_eq!(e.text(), "ax\ny1 2b");
        assert!(e.apply(&Key::Ctrl('u'), false));
        assert_eq!(e.text(), "b");
        for key in [Key::Enter, Key::Tab, Key::Up, Key::PageUp, Key::Ctrl('c')] {
            assert!(!e.apply(&key, false), "{key:?}");
        }
    }

    #[test]
    fn wide_and_multibyte_characters_are_single_steps() {
        let mut e = typed("漢字é");
        e.left();
        e.backspace();
        assert_eq!(e.text(), "漢é");
        let (text, col) = e.view(20);
        assert_eq!((text.as_str(), col), ("漢é", 2));
    }

    #[test]
    fn recall_walks_the_history_and_gives_the_draft_back() {
        let mut e = Editor::new();
        for line in ["first", "second", "second"] {
            e.insert_str(line);
            let line = e.take();
            e.remember(&line);
        }
        e.insert_str("draft");
        e.older();
        assert_eq!(e.text(), "second");
        e.older();
        assert_eq!(e.text(), "first");
        e.older();
        assert_eq!(e.text(), "first", "stays at the oldest");
        e.newer();
        assert_eq!(e.text(), "second");
        e.newer();
        assert_eq!(e.text(), "draft");
        e.newer();
        assert_eq!(e.text(), "draft");
    }

    #[test]
    fn the_history_is_bounded() {
        let mut e = Editor::new();
        for n in 0..MAX_HISTORY + 10 {
            e.remember(&n.to_string());
        }
        assert_eq!(e.history.len(), MAX_HISTORY);
        assert_eq!(e.history[0], "10");
    }

    #[test]
    fn a_long_line_scrolls_to_keep_the_cursor_visible() {
        let mut e = typed(&"abcdefghij".repeat(3));
        let (text, col) = e.view(10);
        assert_eq!((text.as_str(), col), ("bcdefghij", 9));
        e.home();
        let (text, col) = e.view(10);
        assert_eq!((text.as_str(), col), ("abcdefghij", 0));
        let mut wide = typed(&"漢".repeat(10));
        let (text, col) = wide.view(10);
        assert!(col <= 9, "{col}");
        assert!(super::super::width::str_width(&text) <= 10);
    }

    #[test]
    fn a_pasted_line_break_shows_as_an_arrow() {
        let mut e = typed("a\nb");
        assert_eq!(e.view(10).0, "a\u{21b5}b");
        assert_eq!(e.text(), "a\nb");
    }
}
