//! A small deterministic generator for tests that walk many generated cases (xorshift64,
//! Marsaglia 2003): the same cases on every run, no dependency. Never for keys or nonces.

/// Xorshift64 from a non-zero seed.
pub(crate) struct Xorshift(u64);

impl Xorshift {
    /// A generator from `seed` (0 is replaced, as xorshift would stay at 0).
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next 64 bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (`n > 0`; the tiny bias does not matter to tests).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
