//! The progress of a file transfer: percent done and speed, a few times a
//! second, for transfers over 1 MiB (smaller ones finish before a person
//! could read it). Plain mode redraws one line with `\r`; the full screen
//! shows it in the status line.

use std::time::{Duration, Instant};

use crate::fileshare::human_size;

use super::output::Out;

/// Transfers larger than this show their progress.
const SHOWN_ABOVE_BYTES: u64 = 1 << 20;
/// How often the progress is redrawn.
const REDRAW_EVERY: Duration = Duration::from_millis(200);

/// The progress display of one transfer.
pub struct Progress {
    label: String,
    total: u64,
    done: u64,
    started: Instant,
    drawn: Instant,
    out: Out,
}

impl Progress {
    /// A display for `total` bytes, labelled `label` (`sending notes.txt`).
    pub fn new(label: String, total: u64, out: &Out) -> Progress {
        let now = Instant::now();
        Progress {
            label,
            total,
            done: 0,
            started: now,
            drawn: now,
            out: out.clone(),
        }
    }

    fn is_shown(&self) -> bool {
        self.total > SHOWN_ABOVE_BYTES
    }

    /// Counts `n` more bytes done; redraws at most every `REDRAW_EVERY`.
    pub fn advance(&mut self, n: usize) {
        self.done += n as u64;
        if self.is_shown() && self.drawn.elapsed() >= REDRAW_EVERY {
            self.draw(false);
            self.drawn = Instant::now();
        }
    }

    fn draw(&self, done: bool) {
        let percent = self.done.saturating_mul(100) / self.total.max(1);
        let secs = self.started.elapsed().as_secs_f64().max(1e-6);
        let speed = self.done as f64 / secs / 1e6;
        let text = format!(
            "{}: {percent:3}% of {}, {speed:.1} MB/s",
            self.label,
            human_size(self.total)
        );
        self.out.progress(&self.label, &text, done);
    }

    /// Draws the final state and ends the display.
    pub fn finish(&self) {
        if self.is_shown() {
            self.draw(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn only_transfers_over_a_mebibyte_are_shown() {
        let out: Out = Arc::new(super::super::output::Plain);
        assert!(!Progress::new("x".into(), 1 << 20, &out).is_shown());
        assert!(Progress::new("x".into(), (1 << 20) + 1, &out).is_shown());
    }
}
