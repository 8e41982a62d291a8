//! A frequency sketch, as TinyLFU keeps one (Einziger, Friedman, Manes: "TinyLFU: A
//! Highly Efficient Cache Admission Policy", 2017; the layout follows Caffeine's
//! `FrequencySketch`): a count-min sketch of 4-bit counters that estimates how often
//! each key was asked for recently, evicted or never stored keys included, in about
//! 2 bytes per key the cache holds.
//!
//! Each key hash picks four counters, one per row (a row is a quarter of each 64-bit
//! word); the estimate is their minimum, an increment raises only the counters at that
//! minimum (conservative update) and saturates at 15. After `10 x` as many increments
//! as there are counters / 4, every counter is halved: the sketch forgets old
//! popularity, so it follows a workload that changes.

/// A count-min sketch of 4-bit counters with periodic halving.
#[derive(Clone, Debug)]
pub struct FrequencySketch {
    table: Box<[u64]>,
    mask: usize,
    /// Increments since the last halving.
    additions: u32,
    /// Increments between halvings.
    period: u32,
}

/// Multipliers spreading a key hash into each row's index.
const SEEDS: [u64; 4] = [
    0x9e37_79b9_7f4a_7c15,
    0xc2b2_ae3d_27d4_eb4f,
    0x1656_67b1_9e37_79f9,
    0x85eb_ca77_c2b2_ae63,
];

impl FrequencySketch {
    /// A sketch for a cache of about `keys` keys (a word, 16 counters, per 4 keys).
    pub fn new(keys: usize) -> FrequencySketch {
        let words = (keys / 4).max(16).next_power_of_two();
        FrequencySketch {
            table: vec![0; words].into_boxed_slice(),
            mask: words - 1,
            additions: 0,
            period: u32::try_from(words * 16 / 4 * 10).unwrap_or(u32::MAX),
        }
    }

    /// How many keys it was sized for.
    pub fn capacity(&self) -> usize {
        self.table.len() * 4
    }

    /// Bytes it occupies.
    pub fn heap_size(&self) -> usize {
        self.table.len() * 8
    }

    #[inline]
    fn slot(&self, hash: u64, row: usize) -> (usize, u32) {
        let h = hash.wrapping_mul(SEEDS[row]);
        let word = (h >> 32) as usize & self.mask;
        // Row `row` owns nibbles 4*row .. 4*row+3 of each word.
        let nibble = (row as u32) * 4 + ((h >> 16) as u32 & 3);
        (word, nibble * 4)
    }

    /// The estimated number of recent accesses of `hash` (0 to 15).
    #[inline]
    pub fn estimate(&self, hash: u64) -> u32 {
        (0..4)
            .map(|row| {
                let (w, shift) = self.slot(hash, row);
                ((self.table[w] >> shift) & 15) as u32
            })
            .min()
            .unwrap_or(0)
    }

    /// Counts one access of `hash`.
    #[inline]
    pub fn increment(&mut self, hash: u64) {
        let slots = [
            self.slot(hash, 0),
            self.slot(hash, 1),
            self.slot(hash, 2),
            self.slot(hash, 3),
        ];
        let min = slots
            .iter()
            .map(|&(w, s)| (self.table[w] >> s) & 15)
            .min()
            .unwrap_or(0);
        if min == 15 {
            return;
        }
        for (w, s) in slots {
            if (self.table[w] >> s) & 15 == min {
                self.table[w] += 1 << s;
            }
        }
        self.additions += 1;
        if self.additions >= self.period {
            self.halve();
        }
    }

    /// Halves every counter.
    fn halve(&mut self) {
        for w in self.table.iter_mut() {
            *w = (*w >> 1) & 0x7777_7777_7777_7777;
        }
        self.additions /= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(i: u64) -> u64 {
        // A stand-in for the keyspace hasher: any well-mixed 64-bit value.
        let mut x = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    #[test]
    fn estimates_follow_counts_and_saturate() {
        let mut s = FrequencySketch::new(1024);
        for _ in 0..5 {
            s.increment(hash(1));
        }
        for _ in 0..40 {
            s.increment(hash(2));
        }
        assert_eq!(s.estimate(hash(1)), 5);
        assert_eq!(s.estimate(hash(2)), 15);
        assert_eq!(s.estimate(hash(3)), 0);
    }

    #[test]
    fn popular_keys_stand_out_among_many_and_old_counts_fade() {
        let mut s = FrequencySketch::new(1000);
        // 10 popular keys seen 8 times each among 3,000 keys seen once.
        for round in 0..8 {
            for k in 0..10 {
                s.increment(hash(k));
            }
            for k in 0..375 {
                s.increment(hash(1000 + round * 375 + k));
            }
        }
        let popular: u32 = (0..10).map(|k| s.estimate(hash(k))).min().unwrap();
        let once: f64 = (1000..4000)
            .map(|k| f64::from(s.estimate(hash(k))))
            .sum::<f64>()
            / 3000.0;
        assert!(popular >= 7, "{popular}");
        assert!(once < 2.0, "{once}");
        // Past the period, everything is halved.
        for k in 0..(s.period as u64) {
            s.increment(hash(10_000 + k));
        }
        assert!(s.estimate(hash(0)) <= popular / 2 + 1);
    }
}
