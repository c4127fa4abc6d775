//! The latency histogram: log-linear buckets in constant memory, merged
//! across readers, and the percentiles the report reads from it.

/// Sub-buckets per power of two: values are kept to within 1/128 (0.8%).
const SUB_BUCKET_BITS: u32 = 7;
const SUB_BUCKETS: usize = 1 << SUB_BUCKET_BITS;
/// Values from 2^`TOP_BIT` ns (about 4.9 hours) up share the last bucket.
const TOP_BIT: u32 = 44;
/// Exact buckets below `SUB_BUCKETS`, then one row per power of two.
const BUCKETS: usize = SUB_BUCKETS * (TOP_BIT - SUB_BUCKET_BITS + 1) as usize;

/// A log-linear histogram of nanoseconds in constant memory (38 KiB) however
/// many values it holds. Each reader keeps its own, merged at the end, so
/// recording costs no shared cache lines.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    pub(crate) max: u64,
}

impl Histogram {
    pub(crate) fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS],
            max: 0,
        }
    }

    pub(crate) fn record(&mut self, value: u64) {
        self.counts[bucket_of(value)] += 1;
        self.max = self.max.max(value);
    }

    /// Adds every value `other` holds.
    pub(crate) fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.max = self.max.max(other.max);
    }

    /// The value at or below which a fraction `p` of the values lie.
    pub(crate) fn percentile(&self, p: f64) -> Option<u64> {
        percentile(&self.counts, self.max, p)
    }
}

/// The bucket holding `value`.
fn bucket_of(value: u64) -> usize {
    if value < SUB_BUCKETS as u64 {
        return value as usize;
    }
    if value >> TOP_BIT != 0 {
        return BUCKETS - 1;
    }
    let exponent = 63 - value.leading_zeros(); // >= SUB_BUCKET_BITS
    let shift = exponent - SUB_BUCKET_BITS;
    let sub = (value >> shift) as usize - SUB_BUCKETS;
    SUB_BUCKETS + shift as usize * SUB_BUCKETS + sub
}

/// The largest value that lands in bucket `index`.
fn bucket_high(index: usize) -> u64 {
    if index < SUB_BUCKETS {
        return index as u64;
    }
    let shift = ((index - SUB_BUCKETS) / SUB_BUCKETS) as u32;
    let sub = ((index - SUB_BUCKETS) % SUB_BUCKETS) as u64;
    let low = (SUB_BUCKETS as u64 + sub) << shift;
    low + ((1u64 << shift) - 1)
}

/// The value at or below which a fraction `p` (0..=1) of the recorded values
/// lie: the top of the bucket holding the value of rank ceil(p * count),
/// capped at `max`. `None` when nothing was recorded.
fn percentile(counts: &[u64], max: u64, p: f64) -> Option<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((p.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
    let mut seen = 0;
    for (i, &c) in counts.iter().enumerate() {
        seen += c;
        if seen >= rank {
            return Some(bucket_high(i).min(max));
        }
    }
    Some(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_values_tightly() {
        let top = (1u64 << TOP_BIT) - 1;
        for v in [
            0,
            1,
            127,
            128,
            129,
            255,
            256,
            1000,
            1 << 20,
            123_456_789,
            top,
        ] {
            let b = bucket_of(v);
            assert!(b < BUCKETS, "{v}");
            assert!(bucket_high(b) >= v, "{v}");
            // Within 1/128 above the value.
            assert!(bucket_high(b) - v <= v / 128, "{v}: {}", bucket_high(b));
        }
        assert_eq!(bucket_of(top), BUCKETS - 1);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_of_one_to_a_thousand() {
        let mut h = Histogram::new();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let within = |got: Option<u64>, want: u64| {
            let got = got.unwrap_or(0);
            assert!(got >= want && got - want <= want / 128, "{got} vs {want}");
        };
        within(h.percentile(0.50), 500_000);
        within(h.percentile(0.90), 900_000);
        within(h.percentile(0.99), 990_000);
        assert_eq!(h.percentile(1.0), Some(1_000_000));
        assert_eq!(h.max, 1_000_000);
    }

    #[test]
    fn percentiles_of_nothing_and_of_one_value() {
        assert_eq!(Histogram::new().percentile(0.5), None);
        let mut h = Histogram::new();
        h.record(42);
        assert_eq!(h.percentile(0.0), Some(42));
        assert_eq!(h.percentile(0.99), Some(42));
    }

    #[test]
    fn merged_histograms_hold_both() {
        let (mut low, mut high) = (Histogram::new(), Histogram::new());
        for v in 0..100 {
            low.record(v);
            high.record(1_000_000 + v);
        }
        low.merge(&high);
        assert_eq!(low.counts.iter().sum::<u64>(), 200);
        assert_eq!(low.max, 1_000_099);
        assert!(low.percentile(0.5).is_some_and(|p| p < 100));
        assert!(low.percentile(0.51).is_some_and(|p| p >= 1_000_000));
    }
}
