//! Zipf sampling shared by the cache benchmarks (`hitratio`, `cachecmp`).

use rand::rngs::SmallRng;
use rand::Rng;

/// Zipf sampling by inverse CDF over ranks 1..=n.
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut total = 0.0;
        for k in 1..=n {
            total += 1.0 / (k as f64).powf(s);
            cdf.push(total);
        }
        for c in cdf.iter_mut() {
            *c /= total;
        }
        Zipf { cdf }
    }

    pub fn sample(&self, rng: &mut SmallRng) -> usize {
        let u: f64 = rng.random();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

/// Key number of Zipf rank `rank` among `keys`: ranks spread over the names, so that
/// popularity is not ordered by name.
pub fn spread(rank: usize, keys: usize) -> usize {
    rank.wrapping_mul(2_654_435_761) % keys
}
