//! The server's standard output. Every thread hands its lines to one printer
//! thread that writes them through a buffer and flushes only when nothing
//! more is waiting, so printing never costs a system call per line under
//! load, yet a lone line (such as the `Socket now listening` one scripts
//! wait for) appears at once.

use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::{self, JoinHandle};

/// Lines waiting for the printer; past this, printing threads wait for it,
/// which bounds memory if standard output is slow.
const BACKLOG_LINES: usize = 4 * 1024;

enum Line {
    Text(String),
    Flush(SyncSender<()>),
}

/// A handle for printing on the server console; clones share the printer.
#[derive(Clone)]
pub struct Console {
    tx: SyncSender<Line>,
    quiet: bool,
}

impl Console {
    /// Starts the printer thread. With `quiet`, per-message dumps are skipped.
    ///
    /// # Errors
    /// The thread could not be started.
    pub fn start(quiet: bool) -> io::Result<(Console, JoinHandle<()>)> {
        let (tx, rx) = mpsc::sync_channel(BACKLOG_LINES);
        let handle = thread::Builder::new()
            .name("console-out".into())
            .stack_size(64 * 1024)
            .spawn(move || print_lines(&rx))?;
        Ok((Console { tx, quiet }, handle))
    }

    /// Prints a line of server activity (connections, joins, leaves, errors).
    pub fn say(&self, line: impl Into<String>) {
        // The printer only stops at process exit; a send error just means that.
        let _ = self.tx.send(Line::Text(line.into()));
    }

    /// Prints a per-message dump, built only when it will be printed.
    pub fn message(&self, line: impl FnOnce() -> String) {
        if !self.quiet {
            self.say(line());
        }
    }

    /// Waits until everything said so far has been written out.
    pub fn flush(&self) {
        let (tx, rx) = mpsc::sync_channel(1);
        if self.tx.send(Line::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }
}

fn print_lines(rx: &Receiver<Line>) {
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
        let _ = out.flush();
    }
}
