//! The one-line progress display of a file transfer: percent done and
//! speed, redrawn in place with `\r` a few times a second, for transfers
//! over 1 MiB (smaller ones finish before a person could read it).

use std::io::{self, Write};
use std::time::{Duration, Instant};

use crate::fileshare::human_size;

/// Transfers larger than this show a progress line.
const SHOWN_ABOVE_BYTES: u64 = 1 << 20;
/// How often the progress line is redrawn.
const REDRAW_EVERY: Duration = Duration::from_millis(200);

/// A one-line progress display (`\r`-redrawn) for transfers over 1 MiB.
pub struct Progress {
    label: String,
    total: u64,
    done: u64,
    started: Instant,
    drawn: Instant,
}

impl Progress {
    /// A display for `total` bytes, labelled `label` (`sending notes.txt`).
    pub fn new(label: String, total: u64) -> Progress {
        let now = Instant::now();
        Progress {
            label,
            total,
            done: 0,
            started: now,
            drawn: now,
        }
    }

    fn is_shown(&self) -> bool {
        self.total > SHOWN_ABOVE_BYTES
    }

    /// Counts `n` more bytes done; redraws at most every `REDRAW_EVERY`.
    pub fn advance(&mut self, n: usize) {
        self.done += n as u64;
        if self.is_shown() && self.drawn.elapsed() >= REDRAW_EVERY {
            self.draw();
            self.drawn = Instant::now();
        }
    }

    fn draw(&self) {
        let percent = self.done.saturating_mul(100) / self.total.max(1);
        let secs = self.started.elapsed().as_secs_f64().max(1e-6);
        let speed = self.done as f64 / secs / 1e6;
        let mut out = io::stdout().lock();
        let _ = write!(
            out,
            "\r{}: {percent:3}% of {}, {speed:.1} MB/s",
            self.label,
            human_size(self.total)
        );
        let _ = out.flush();
    }

    /// Draws the final state and ends the line.
    pub fn finish(&self) {
        if self.is_shown() {
            self.draw();
            println!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transfers_over_a_mebibyte_are_shown() {
        assert!(!Progress::new("x".into(), 1 << 20).is_shown());
        assert!(Progress::new("x".into(), (1 << 20) + 1).is_shown());
    }
}
