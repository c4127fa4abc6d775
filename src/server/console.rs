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

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Lines waiting for the printer; past this, new lines are dropped, which
/// bounds memory if standard output is slow.
const BACKLOG_LINES: usize = 4 * 1024;
/// How long `flush` waits for the printer (at shutdown).
const FLUSH_WAIT: Duration = Duration::from_secs(2);

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
}

impl Console {
    /// Starts the printer thread. With `quiet`, per-message dumps are skipped.
    ///
    /// # Errors
    /// The thread could not be started.
    pub fn start(quiet: bool) -> io::Result<(Console, JoinHandle<()>)> {
        let (tx, rx) = mpsc::sync_channel(BACKLOG_LINES);
        let dropped = Arc::new(AtomicU64::new(0));
        let handle = {
            let dropped = Arc::clone(&dropped);
            thread::Builder::new()
                .name("console-out".into())
                .stack_size(64 * 1024)
                .spawn(move || print_lines(&rx, &dropped))?
        };
        Ok((Console { tx, quiet, dropped }, handle))
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

fn print_lines(rx: &Receiver<Line>, dropped: &AtomicU64) {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    // A closed or broken stdout must not take the server down: write errors are ignored.
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(line) = next {
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
            next = rx.try_recv().ok();
        }
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let _ = writeln!(
                out,
                "[console] {lost} line(s) not shown: standard output was not keeping up"
            );
        }
        let _ = out.flush();
    }
}
