//! The full screen's layout and what is drawn on it: messages above (a
//! terminal scroll region, so a new line scrolls only that part), the
//! status line, and the input line pinned at the bottom. Every method
//! returns the bytes to write, so the screen is a value that tests can
//! drive without a terminal. Lines are kept (up to a cap) for scrollback
//! and for redrawing at a new size.

use std::collections::VecDeque;

use super::super::output::{Kind, Line};
use super::status::{self, Status, View};
use super::style::{self, Span, Style};
use super::wrap::{self, Row};
use crate::terminal::editor::Editor;
use crate::terminal::width::str_width;

/// Lines kept for scrollback.
pub const MAX_SCROLLBACK: usize = 5000;

/// A kept line, styled when it arrived (a mention stays a mention).
struct Kept {
    spans: Vec<Span>,
    /// Columns of the part before the text: continuation rows start there.
    indent: usize,
    /// How many rows it takes at the screen's width (kept, so that the
    /// scroll limit is a sum, not a rewrap of the whole scrollback).
    rows: usize,
}

/// The screen.
pub struct Screen {
    width: usize,
    height: usize,
    lines: VecDeque<Kept>,
    /// Rows scrolled back from the newest (0: following new lines).
    scroll: usize,
    view: View,
    pub status: Status,
    pub editor: Editor,
    prompt: String,
    secret: bool,
}

const HIDE_CURSOR: &str = "\x1b[?25l";
const SHOW_CURSOR: &str = "\x1b[?25h";
const CLEAR_LINE: &str = "\x1b[K";

fn goto(row: usize, col: usize) -> String {
    format!("\x1b[{row};{col}H")
}

impl Screen {
    pub fn new(width: usize, height: usize) -> Screen {
        Screen {
            width: width.max(1),
            height: height.max(1),
            lines: VecDeque::new(),
            scroll: 0,
            view: View::default(),
            status: Status::default(),
            editor: Editor::new(),
            prompt: String::new(),
            secret: false,
        }
    }

    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// Rows for messages: all but the status and input lines.
    fn area(&self) -> usize {
        self.height.saturating_sub(2).max(1)
    }

    fn has_status(&self) -> bool {
        self.height >= 3
    }

    /// Everything, from scratch: at start, after a resize, Ctrl-L, or a scroll.
    pub fn full(&mut self) -> String {
        let mut out = String::from(HIDE_CURSOR);
        out.push_str(&format!("\x1b[0m\x1b[1;{}r", self.area()));
        // Every row is overwritten in place (no clearing first, which
        // would flash a blank screen at each resize or page).
        let rows = self.visible_rows();
        let first = self.area() - rows.len() + 1;
        for n in 1..=self.area() {
            out.push_str(&goto(n, 1));
            if n >= first {
                out.push_str(&wrap::render(&rows[n - first]));
            }
            out.push_str(CLEAR_LINE);
        }
        out.push_str(&self.status_line());
        out.push_str(&self.input_line());
        out.push_str(SHOW_CURSOR);
        out
    }

    /// A new size; everything is redrawn.
    pub fn resize(&mut self, width: usize, height: usize) -> String {
        if width.max(1) != self.width {
            self.width = width.max(1);
            for kept in &mut self.lines {
                kept.rows = wrap::wrap(&kept.spans, self.width, kept.indent).len();
            }
        }
        self.height = height.max(1);
        self.scroll = self.scroll.min(self.max_scroll());
        self.full()
    }

    /// Older lines fetched from the server (`/history`), oldest first, put
    /// above everything kept, and the view moved up to show them; without
    /// `more`, a line marks the beginning of the room's history. Lines that
    /// would pass the scrollback cap are dropped (the oldest of them).
    pub fn prepend(&mut self, room: &str, lines: &[Line], more: bool) -> String {
        self.view.fetching = false;
        let mut block: Vec<Kept> = lines.iter().map(|l| self.kept(l).0).collect();
        if !more {
            let start = Line::new(Kind::Notice, format!("--- the beginning of {room} ---"));
            block.insert(0, self.kept(&start).0);
        }
        let room_left = MAX_SCROLLBACK.saturating_sub(self.lines.len());
        let skip = block.len().saturating_sub(room_left);
        for kept in block.into_iter().skip(skip).rev() {
            self.lines.push_front(kept);
        }
        let moved = self.page_up();
        if moved.is_empty() {
            self.full()
        } else {
            moved
        }
    }

    /// True when the view shows the oldest line kept.
    pub fn at_top(&self) -> bool {
        self.scroll >= self.max_scroll()
    }

    /// Marks older lines as being fetched (shown in the status line).
    pub fn fetching(&mut self) -> String {
        self.view.fetching = true;
        self.redraw_status()
    }

    /// True while older lines are being fetched.
    pub fn is_fetching(&self) -> bool {
        self.view.fetching
    }

    /// The fetch of older lines failed (its error is shown as a line).
    pub fn fetch_failed(&mut self) -> String {
        self.view.fetching = false;
        self.redraw_status()
    }

    /// A line as kept: styled for who we are now, and whether it mentions us.
    fn kept(&self, line: &Line) -> (Kept, bool) {
        let (spans, mention) = style::spans(line, &self.status.nick);
        let indent = match (&line.from, spans.len()) {
            (Some(_), n) if n > 1 => str_width(&line.prefix()),
            _ => 2,
        };
        let rows = wrap::wrap(&spans, self.width, indent).len();
        (
            Kept {
                spans,
                indent,
                rows,
            },
            mention,
        )
    }

    /// Adds a line. Following the newest lines, it scrolls the message area
    /// by its rows; scrolled back, the view stays put and the status line
    /// counts it. A live message that mentions you rings the bell.
    pub fn push(&mut self, line: &Line) -> String {
        let (kept, mention) = self.kept(line);
        let mut out = String::from(HIDE_CURSOR);
        if self.scroll == 0 {
            let bottom = self.area();
            for row in self.rows_of(&kept) {
                out.push_str(&goto(bottom, 1));
                out.push('\n');
                out.push_str(&goto(bottom, 1));
                out.push_str(&wrap::render(&row));
                out.push_str(CLEAR_LINE);
            }
        } else {
            // Keep the view where it is: it now ends further from the bottom.
            self.scroll += kept.rows;
            self.view.unseen += 1;
            self.view.mentioned |= mention;
        }
        self.lines.push_back(kept);
        if self.lines.len() > MAX_SCROLLBACK {
            self.lines.pop_front();
            if self.scroll > 0 {
                self.scroll = self.scroll.min(self.max_scroll());
            }
        }
        if self.scroll > 0 || mention {
            out.push_str(&self.status_line());
        }
        out.push_str(&self.input_line());
        out.push_str(SHOW_CURSOR);
        if mention && line.kind != Kind::History {
            out.push('\x07');
        }
        out
    }

    /// PgUp: a page further back (one row of the old page stays in view).
    pub fn page_up(&mut self) -> String {
        let page = self.area().saturating_sub(1).max(1);
        let scroll = (self.scroll + page).min(self.max_scroll());
        self.scroll_to(scroll)
    }

    /// PgDn: a page nearer the newest; at the bottom, back to following.
    pub fn page_down(&mut self) -> String {
        let page = self.area().saturating_sub(1).max(1);
        self.scroll_to(self.scroll.saturating_sub(page))
    }

    fn scroll_to(&mut self, scroll: usize) -> String {
        if scroll == self.scroll {
            return String::new();
        }
        self.scroll = scroll;
        self.view.scrolled = scroll > 0;
        if scroll == 0 {
            self.view = View {
                fetching: self.view.fetching,
                ..View::default()
            };
        }
        self.full()
    }

    /// The prompt before the input (empty while chatting); a secret
    /// input shows nothing of what is typed.
    pub fn set_prompt(&mut self, prompt: &str, secret: bool) -> String {
        self.prompt = prompt.to_string();
        self.secret = secret;
        format!("{HIDE_CURSOR}{}{SHOW_CURSOR}", self.input_line())
    }

    /// The status line, redrawn (after the status changed).
    pub fn redraw_status(&mut self) -> String {
        format!(
            "{HIDE_CURSOR}{}{}{SHOW_CURSOR}",
            self.status_line(),
            self.input_line()
        )
    }

    /// The input line, redrawn (after an edit).
    pub fn redraw_input(&mut self) -> String {
        self.input_line()
    }

    fn status_line(&self) -> String {
        if !self.has_status() {
            return String::new();
        }
        let view = View {
            scrolled: self.scroll > 0,
            ..self.view
        };
        let row: Row = status::line(&self.status, view, self.width);
        format!("{}{}", goto(self.height - 1, 1), wrap::render(&row))
    }

    /// The input row, with the cursor left where typing goes.
    fn input_line(&mut self) -> String {
        let prompt_width = str_width(&self.prompt).min(self.width.saturating_sub(2));
        let prompt: String = self.prompt.chars().take(prompt_width).collect();
        let (text, col) = if self.secret {
            (String::new(), 0)
        } else {
            self.editor.view(self.width - prompt_width)
        };
        format!(
            "{}\x1b[0m{prompt}{}{text}{CLEAR_LINE}{}",
            goto(self.height, 1),
            style::switch_to(Style::Plain),
            goto(self.height, prompt_width + col + 1)
        )
    }

    fn rows_of(&self, kept: &Kept) -> Vec<Row> {
        wrap::wrap(&kept.spans, self.width, kept.indent)
    }

    /// The rows in view: the last `area` rows before the scroll point.
    fn visible_rows(&self) -> Vec<Row> {
        let want = self.scroll + self.area();
        let mut rows: Vec<Row> = Vec::new();
        for kept in self.lines.iter().rev() {
            let mut these = self.rows_of(kept);
            these.append(&mut rows);
            rows = these;
            if rows.len() >= want {
                break;
            }
        }
        let end = rows.len().saturating_sub(self.scroll);
        let start = end.saturating_sub(self.area());
        rows[start..end].to_vec()
    }

    /// How far back the view can go: all rows but one page.
    fn max_scroll(&self) -> usize {
        let total: usize = self.lines.iter().map(|k| k.rows).sum();
        total.saturating_sub(self.area())
    }

    /// The text of the rows in view, for tests.
    #[cfg(test)]
    fn visible_text(&self) -> Vec<String> {
        self.visible_rows()
            .iter()
            .map(|r| r.iter().map(|s| s.text.as_str()).collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(screen: &mut Screen, n: usize) {
        for i in 1..=n {
            screen.push(&Line::info(format!("line {i}")));
        }
    }

    #[test]
    fn new_lines_scroll_the_message_area_only() {
        let mut screen = Screen::new(80, 24);
        screen.editor.insert_str("half a line");
        let out = screen.push(&Line::info("hello"));
        // Written at the bottom of the area (row 22), then the input
        // line (row 24) is redrawn with the cursor after the typed text.
        assert!(out.contains("\x1b[22;1H\n\x1b[22;1H"), "{out:?}");
        assert!(
            out.contains("\x1b[24;1H\x1b[0m\x1b[0mhalf a line\x1b[K\x1b[24;12H"),
            "{out:?}"
        );
        let full = screen.full();
        assert!(full.contains("\x1b[1;22r"), "scroll region: {full:?}");
    }

    #[test]
    fn page_up_shows_earlier_lines_and_page_down_comes_back() {
        let mut screen = Screen::new(80, 12); // 10 rows of messages
        numbered(&mut screen, 50);
        assert_eq!(screen.visible_text().last().unwrap(), "line 50");
        assert!(!screen.page_up().is_empty());
        assert_eq!(screen.visible_text().last().unwrap(), "line 41");
        // Lines arriving now do not move the view; the status counts them.
        numbered(&mut screen, 2);
        assert_eq!(screen.visible_text().last().unwrap(), "line 41");
        assert!(screen.redraw_status().contains("more below: 2 new"));
        for _ in 0..20 {
            screen.page_up();
        }
        assert_eq!(screen.visible_text().first().unwrap(), "line 1");
        for _ in 0..20 {
            screen.page_down();
        }
        assert_eq!(screen.visible_text().last().unwrap(), "line 2");
        assert!(!screen.redraw_status().contains("more below"));
    }

    #[test]
    fn older_lines_go_above_and_into_view() {
        let mut screen = Screen::new(80, 12);
        numbered(&mut screen, 15);
        assert!(!screen.at_top());
        while !screen.page_up().is_empty() {}
        assert!(screen.at_top());
        let older: Vec<Line> = (1..=5).map(|n| Line::info(format!("old {n}"))).collect();
        screen.fetching();
        assert!(screen.redraw_status().contains("fetching older messages"));
        screen.prepend("lobby", &older, false);
        assert!(!screen.redraw_status().contains("fetching"));
        let rows = screen.visible_text();
        assert_eq!(rows[0], "--- the beginning of lobby ---");
        assert_eq!(rows[1], "old 1");
        assert!(screen.at_top());
    }

    #[test]
    fn a_resize_rewraps_what_is_kept() {
        let mut screen = Screen::new(20, 10);
        screen.push(&Line::info("a message long enough to wrap"));
        assert_eq!(screen.visible_text().len(), 2);
        let out = screen.resize(120, 40);
        assert_eq!(screen.visible_text(), ["a message long enough to wrap"]);
        assert!(out.contains("\x1b[1;38r"), "{out:?}");
        assert!(out.contains("\x1b[38;1H"), "drawn at the bottom: {out:?}");
    }

    #[test]
    fn a_mention_rings_the_bell_once_and_is_highlighted() {
        let mut screen = Screen::new(80, 24);
        screen.status.nick = "ntu".into();
        let mention = Line {
            kind: Kind::Message,
            stamp: Some("0:00:01".into()),
            tag: None,
            from: Some("bob".into()),
            text: "ntu: look".into(),
        };
        let out = screen.push(&mention);
        assert!(out.ends_with('\x07'), "{out:?}");
        assert!(out.contains("\x1b[0;30;43mntu: look"), "{out:?}");
        let other = Line {
            text: "nothing".into(),
            ..mention
        };
        assert!(!screen.push(&other).contains('\x07'));
    }

    #[test]
    fn continuation_rows_are_indented_under_the_text() {
        let mut screen = Screen::new(30, 10);
        screen.push(&Line {
            kind: Kind::Message,
            stamp: Some("0:00:01".into()),
            tag: None,
            from: Some("bob".into()),
            text: "one two three four five six".into(),
        });
        let rows = screen.visible_text();
        assert_eq!(rows[0], "0:00:01 [bob]: one two three");
        assert_eq!(rows[1], format!("{}four five six", " ".repeat(15)));
    }

    #[test]
    #[ignore = "a measurement, not a check: cargo test --release push_cost -- --ignored --nocapture"]
    fn push_cost() {
        let mut screen = Screen::new(80, 24);
        screen.status.nick = "ntu".into();
        let line = |n: usize| Line {
            kind: Kind::Message,
            stamp: Some("0:00:01".into()),
            tag: None,
            from: Some("bob".into()),
            text: format!("message {n} with a few more words to make it a usual chat line"),
        };
        let started = std::time::Instant::now();
        let mut bytes = 0;
        for n in 0..20_000 {
            bytes += screen.push(&line(n)).len();
        }
        let following = started.elapsed();
        screen.page_up();
        let started = std::time::Instant::now();
        for n in 0..20_000 {
            bytes += screen.push(&line(n)).len();
        }
        println!(
            "20,000 lines following: {following:?}; 20,000 scrolled back at the cap: {:?}; {bytes} bytes",
            started.elapsed()
        );
    }

    #[test]
    fn scrollback_is_bounded() {
        let mut screen = Screen::new(80, 24);
        numbered(&mut screen, MAX_SCROLLBACK + 10);
        assert_eq!(screen.lines.len(), MAX_SCROLLBACK);
    }

    #[test]
    fn a_secret_input_shows_only_its_prompt() {
        let mut screen = Screen::new(80, 24);
        screen.set_prompt("Password: ", true);
        screen.editor.insert_str("hunter2-secret");
        let out = screen.redraw_input();
        assert!(!out.contains("hunter2"), "{out:?}");
        assert!(out.ends_with("\x1b[24;11H"), "{out:?}");
    }
}
