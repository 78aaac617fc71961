//! The demo's random numbers: a small PCG (PCG-XSH-RR 64/32, O'Neill 2014) of our own, so that
//! a seed gives the same data set on every platform and with every version of every crate
//! (a re-run of `procura demo load` must produce exactly the records already stored).

/// A PCG-XSH-RR 64/32 generator.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
    increment: u64,
}

const MULTIPLIER: u64 = 6_364_136_223_846_793_005;

impl Rng {
    /// The generator for `seed` and `stream`: different streams give independent sequences,
    /// so that each phase of the generator draws from its own.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = Self {
            state: 0,
            increment: (stream << 1) | 1,
        };
        rng.next_u32();
        rng.state = rng.state.wrapping_add(seed);
        rng.next_u32();
        rng
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        let old = self.state;
        self.state = old.wrapping_mul(MULTIPLIER).wrapping_add(self.increment);
        let xorshifted = (((old >> 18) ^ old) >> 27) as u32;
        let rotation = (old >> 59) as u32;
        xorshifted.rotate_right(rotation)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        (u64::from(self.next_u32()) << 32) | u64::from(self.next_u32())
    }

    /// A uniform number in `0..n`; `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        // Lemire's multiply-and-reject: unbiased.
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(n);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// A uniform index into a slice of `len` elements; `len` must be positive.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// A uniform integer in `low..=high`.
    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        debug_assert!(low <= high);
        low + self.below((high - low) as u64 + 1) as i64
    }

    /// A uniform number in `[0, 1)`, with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Shuffles `items` (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.index(i + 1);
            items.swap(i, j);
        }
    }
}

/// A choice among a fixed set of options with integer weights.
#[derive(Debug, Clone)]
pub struct Weighted {
    cumulative: Vec<u64>,
}

impl Weighted {
    /// Options weighted by `weights`; at least one weight must be positive.
    pub fn new(weights: impl IntoIterator<Item = u64>) -> Self {
        let mut total = 0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect::<Vec<_>>();
        assert!(total > 0, "a weighted choice needs a positive weight");
        Self { cumulative }
    }

    /// The index of a chosen option.
    pub fn pick(&self, rng: &mut Rng) -> usize {
        let total = *self.cumulative.last().unwrap_or(&1);
        let target = rng.below(total);
        self.cumulative.partition_point(|&c| c <= target)
    }
}

/// Picks one of `options` by weight, e.g. `choose(rng, &[(Kind::A, 3), (Kind::B, 1)])`.
pub fn choose<T: Copy>(rng: &mut Rng, options: &[(T, u32)]) -> T {
    let total: u64 = options.iter().map(|(_, w)| u64::from(*w)).sum();
    let mut target = rng.below(total);
    for (option, weight) in options {
        let weight = u64::from(*weight);
        if target < weight {
            return *option;
        }
        target -= weight;
    }
    options[options.len() - 1].0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_is_fixed_for_a_seed_and_stream() {
        let mut a = Rng::new(2021, 7);
        let mut b = Rng::new(2021, 7);
        let first: Vec<u32> = (0..8).map(|_| a.next_u32()).collect();
        let second: Vec<u32> = (0..8).map(|_| b.next_u32()).collect();
        assert_eq!(first, second);
        let mut c = Rng::new(2021, 8);
        let other: Vec<u32> = (0..8).map(|_| c.next_u32()).collect();
        assert_ne!(first, other);
    }

    #[test]
    fn the_reference_sequence_of_pcg32_is_reproduced() {
        // pcg32_srandom_r(42, 54) from the PCG reference implementation (pcg32-demo).
        let mut rng = Rng::new(42, 54);
        let got: Vec<u32> = (0..6).map(|_| rng.next_u32()).collect();
        assert_eq!(
            got,
            vec![
                0xa15c_02b7,
                0x7b47_f409,
                0xba1d_3330,
                0x83d2_f293,
                0xbfa4_784b,
                0xcbed_606e
            ]
        );
    }

    #[test]
    fn bounded_draws_stay_in_bounds_and_cover_them() {
        let mut rng = Rng::new(1, 1);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let x = rng.between(3, 9);
            assert!((3..=9).contains(&x));
            seen[(x - 3) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        let weighted = Weighted::new([0, 5, 0, 1]);
        for _ in 0..200 {
            let i = weighted.pick(&mut rng);
            assert!(i == 1 || i == 3, "{i}");
        }
    }
}
