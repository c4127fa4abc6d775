//! What a seeded fuzz test needs: its seed (from `CHAT_FUZZ_SEED`, so a
//! failing run can be replayed, else a fresh one, printed), a tiny
//! deterministic generator, and the check that every hostile connection
//! is gone afterwards.

use std::thread;
use std::time::{Duration, Instant};

use super::Server;

/// The run's seed: `CHAT_FUZZ_SEED` if set, else from the clock; printed
/// with the test's name so a failure can be replayed.
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("CHAT_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64 | 1)
        });
    eprintln!("{test}: CHAT_FUZZ_SEED={seed}");
    seed
}

/// A tiny deterministic generator (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// `bytes` as they are, cut short, with bytes changed, or replaced by noise.
    pub fn mangle(&mut self, mut bytes: Vec<u8>) -> Vec<u8> {
        match self.below(4) {
            0 => {}
            1 => bytes.truncate(self.below(bytes.len())),
            2 => {
                for _ in 0..1 + self.below(4) {
                    let i = self.below(bytes.len());
                    if let Some(b) = bytes.get_mut(i) {
                        *b = self.next() as u8;
                    }
                }
            }
            _ => bytes = (0..self.below(200)).map(|_| self.next() as u8).collect(),
        }
        bytes
    }
}

/// Waits (bounded) for the server's threads to come back to `baseline`
/// once the hostile connections are done, and that nothing panicked.
pub fn assert_all_gone(server: &Server, baseline: u64, seed: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while server.proc_status("Threads") > baseline && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100));
    }
    let threads = server.proc_status("Threads");
    assert!(
        threads <= baseline,
        "threads leaked: {threads} > {baseline} (seed {seed})"
    );
    assert!(
        !server.stderr.text().contains("panicked"),
        "seed {seed}: {}",
        server.stderr.text()
    );
}
