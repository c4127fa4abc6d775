//! The server's standard output. Every thread hands its lines to one printer
//! thread that writes them through a buffer and flushes only when nothing
//! more is waiting, so printing never costs a system call per line under
//! load, yet a lone line (such as the `Socket now listening` one scripts
//! wait for) appears at once.
//!
//! Printing never waits. If standard output stops taking lines (a paused
//! terminal, a pipe nobody reads), lines past the backlog are dropped and
//! counted, and the count is printed once output moves again: the console
//! is a view, `log.txt` is the record, and the chat must not stop for it.
//!
//! When the operator types on a terminal, what is typed is an input line
//! ([`InputLine`]) kept below everything printed: the printer erases it,
//! prints its lines, and draws it again, so a message dump never cuts a
//! command in two (see `operator.rs`).

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::terminal::editor::Editor;
use crate::terminal::width::str_width;

/// Lines waiting for the printer; past this, new lines are dropped, which
/// bounds memory if standard output is slow.
const BACKLOG_LINES: usize = 4 * 1024;
/// How long `flush` waits for the printer (at shutdown).
const FLUSH_WAIT: Duration = Duration::from_secs(2);
/// Lines printed between two drawings of the input line, so that typing
/// shows up even while a flood is being printed.
const BATCH_LINES: usize = 256;
/// Erases the row the cursor is on (the input line).
pub const ERASE_LINE: &str = "\r\x1b[K";
/// What the input line starts with.
const PROMPT: &str = "> ";

/// The operator's input line, drawn below what is printed while `active`.
#[derive(Default)]
pub struct InputLine {
    pub active: bool,
    pub editor: Editor,
}

impl InputLine {
    /// Draws the line on the cursor's row and leaves the cursor where
    /// typing goes.
    pub fn draw(&mut self) -> String {
        let width = crate::terminal::mode::size().map_or(80, |(cols, _)| cols);
        let (text, col) = self.editor.view(width.saturating_sub(PROMPT.len()).max(2));
        // From the end of the text back to the cursor.
        let back = str_width(&text).saturating_sub(col);
        let mut out = format!("{ERASE_LINE}{PROMPT}{text}");
        if back > 0 {
            out.push_str(&format!("\x1b[{back}D"));
        }
        out
    }

    /// The line as it was entered, for the record above the input.
    pub fn entered(text: &str) -> String {
        format!("{ERASE_LINE}{PROMPT}{}\n", crate::text::for_terminal(text))
    }
}

/// The input line, shared by the printer and the thread reading keys.
pub type Pinned = Arc<Mutex<InputLine>>;

/// Locks the input line; an edit cannot panic half-way, so a poisoned
/// lock still holds a usable line.
pub fn lock(pinned: &Pinned) -> MutexGuard<'_, InputLine> {
    pinned.lock().unwrap_or_else(PoisonError::into_inner)
}

enum Line {
    Text(String),
    Flush(SyncSender<()>),
}

/// A handle for printing on the server console; clones share the printer.
#[derive(Clone)]
pub struct Console {
    tx: SyncSender<Line>,
    quiet: bool,
    /// Lines dropped since the printer last said so.
    dropped: Arc<AtomicU64>,
    pinned: Pinned,
}

impl Console {
    /// Starts the printer thread. With `quiet`, per-message dumps are skipped.
    ///
    /// # Errors
    /// The thread could not be started.
    pub fn start(quiet: bool) -> io::Result<(Console, JoinHandle<()>)> {
        let (tx, rx) = mpsc::sync_channel(BACKLOG_LINES);
        let dropped = Arc::new(AtomicU64::new(0));
        let pinned = Pinned::default();
        let handle = {
            let dropped = Arc::clone(&dropped);
            let pinned = Arc::clone(&pinned);
            thread::Builder::new()
                .name("console-out".into())
                .stack_size(64 * 1024)
                .spawn(move || print_lines(&rx, &dropped, &pinned))?
        };
        Ok((
            Console {
                tx,
                quiet,
                dropped,
                pinned,
            },
            handle,
        ))
    }

    /// The operator's input line, which the printer keeps below its lines
    /// while it is active.
    pub fn input_line(&self) -> Pinned {
        Arc::clone(&self.pinned)
    }

    /// Takes the input line off the screen for good, writing `last` in
    /// its place (before the process exits: the printer must not draw it
    /// again after the terminal is restored).
    pub fn close_input_line(&self, last: &str) {
        let mut input = lock(&self.pinned);
        if input.active {
            input.active = false;
            let mut out = io::stdout().lock();
            let _ = out.write_all(format!("{ERASE_LINE}{last}").as_bytes());
            let _ = out.flush();
        }
    }

    /// Prints a line of server activity (connections, joins, leaves, errors).
    pub fn say(&self, line: impl Into<String>) {
        match self.tx.try_send(Line::Text(line.into())) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            // The printer only stops at process exit.
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Prints a per-message dump, built only when it will be printed.
    pub fn message(&self, line: impl FnOnce() -> String) {
        if !self.quiet {
            self.say(line());
        }
    }

    /// Waits (a bounded time) until everything said so far has been written out.
    pub fn flush(&self) {
        let (tx, rx) = mpsc::sync_channel(1);
        if self.tx.try_send(Line::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(FLUSH_WAIT);
        }
    }
}

fn print_lines(rx: &Receiver<Line>, dropped: &AtomicU64, pinned: &Pinned) {
    // Not holding the stdout lock between batches: the thread reading the
    // operator's keys draws the input line too (under the `pinned` lock).
    let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout());
    // A closed or broken stdout must not take the server down: write errors are ignored.
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(first) = next.take() {
            let mut input = lock(pinned);
            if input.active {
                let _ = out.write_all(ERASE_LINE.as_bytes());
            }
            let mut line = first;
            for n in 1.. {
                match line {
                    Line::Text(text) => {
                        let _ = out.write_all(text.as_bytes());
                        let _ = out.write_all(b"\n");
                    }
                    Line::Flush(done) => {
                        let _ = out.flush();
                        let _ = done.send(());
                    }
                }
                match rx.try_recv() {
                    Ok(more) if n >= BATCH_LINES => {
                        next = Some(more);
                        break;
                    }
                    Ok(more) => line = more,
                    Err(_) => break,
                }
            }
            let lost = dropped.swap(0, Ordering::Relaxed);
            if lost > 0 {
                let _ = writeln!(
                    out,
                    "[console] {lost} line(s) not shown: standard output was not keeping up"
                );
            }
            if input.active {
                let _ = out.write_all(input.draw().as_bytes());
            }
            let _ = out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_line_draws_its_text_and_puts_the_cursor_back() {
        let mut line = InputLine::default();
        line.editor.insert_str("/kick bob");
        assert_eq!(line.draw(), "\r\x1b[K> /kick bob");
        line.editor.home();
        assert_eq!(line.draw(), "\r\x1b[K> /kick bob\x1b[9D");
        assert_eq!(InputLine::entered("/ls"), "\r\x1b[K> /ls\n");
    }
}
