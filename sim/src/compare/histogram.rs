//! Exact distributions of simulated milliseconds: counts per millisecond, so percentiles over thousands of runs
//! cost a few kilobytes and merge by adding.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    counts: BTreeMap<u64, u64>,
    total: u64,
}

impl Histogram {
    pub fn add(&mut self, ms: u64) {
        *self.counts.entry(ms).or_default() += 1;
        self.total += 1;
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (&ms, &n) in &other.counts {
            *self.counts.entry(ms).or_default() += n;
        }
        self.total += other.total;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The smallest value at or above which lies no more than `1 - q` of the samples (nearest rank); None when
    /// empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (&ms, &n) in &self.counts {
            seen += n;
            if seen >= rank {
                return Some(ms);
            }
        }
        self.max()
    }

    pub fn max(&self) -> Option<u64> {
        self.counts.keys().next_back().copied()
    }

    /// The share of samples at or below each of `points` (for a cumulative distribution chart).
    pub fn cdf(&self, points: &[u64]) -> Vec<f64> {
        let mut out = Vec::with_capacity(points.len());
        let mut below = 0;
        let mut iter = self.counts.iter().peekable();
        for &p in points {
            while let Some((&ms, &n)) = iter.peek() {
                if ms > p {
                    break;
                }
                below += n;
                iter.next();
            }
            out.push(if self.total == 0 {
                0.0
            } else {
                below as f64 / self.total as f64
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank_and_merging_adds_counts() {
        let mut a = Histogram::default();
        for ms in 1..=90 {
            a.add(ms);
        }
        let mut b = Histogram::default();
        for ms in 91..=100 {
            b.add(ms);
        }
        a.merge(&b);
        assert_eq!(a.count(), 100);
        assert_eq!(a.quantile(0.5), Some(50));
        assert_eq!(a.quantile(0.99), Some(99));
        assert_eq!(a.quantile(1.0), Some(100));
        assert_eq!(a.max(), Some(100));
        assert_eq!(a.cdf(&[0, 50, 100]), vec![0.0, 0.5, 1.0]);
        assert_eq!(Histogram::default().quantile(0.5), None);
    }
}
