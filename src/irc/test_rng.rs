//! A tiny seeded generator for the IRC layer's randomized unit tests, so a
//! failing case can be replayed from the seed its assertion prints.
#![cfg(test)]

/// xorshift64*: deterministic and good enough to pick test inputs.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (zero is mapped to a fixed non-zero state).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A string of characters drawn from `alphabet`, its length in `lens`.
    pub fn text(&mut self, alphabet: &[char], lens: std::ops::Range<usize>) -> String {
        let len = lens.start + self.below(lens.len());
        (0..len).map(|_| *self.pick(alphabet)).collect()
    }
}
