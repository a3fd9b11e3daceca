//! A cell's result: its seeds' measurements summed up, and its verdict (safe, lossy, unavailable).

use super::histogram::Histogram;
use super::matrix::{Config, VerdictRules};
use super::measure::SeedMeasure;
use crate::checkers::ViolationKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The points (ms) at which the report gives each cell's cumulative latency distribution.
pub const CDF_POINTS_MS: [u64; 14] = [
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// No acknowledged record lost, no divergence, and writes mostly went through.
    Safe,
    /// Some partition took no write for longer than the matrix allows, but nothing acknowledged was lost.
    Unavailable,
    /// Some seed lost acknowledged records or left replicas diverged.
    Lossy,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Safe => "safe",
            Verdict::Unavailable => "unavailable",
            Verdict::Lossy => "lossy",
        }
    }
}

/// Percentiles of a distribution in simulated ms (None without samples).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: Option<u64>,
    pub p99: Option<u64>,
    pub max: Option<u64>,
}

impl Percentiles {
    fn of(h: &Histogram) -> Self {
        Percentiles {
            p50: h.quantile(0.5),
            p99: h.quantile(0.99),
            max: h.max(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    pub profile: String,
    pub config: Config,
    pub label: String,
    pub brokers: i32,
    pub seeds: u64,
    pub verdict: Verdict,
    /// Seeds that lost acknowledged records, and how many records they lost in all and at most in one seed.
    pub lossy_seeds: u64,
    pub lost_records: u64,
    pub max_lost_in_a_seed: u64,
    /// The first seed that lost records, to reproduce.
    pub first_lossy_seed: Option<u64>,
    pub duplicate_seeds: u64,
    pub duplicates: u64,
    pub reorder_seeds: u64,
    pub reorders: u64,
    pub divergence_seeds: u64,
    pub sends: u64,
    pub ok: u64,
    /// Failed sends by Kafka's error name, over every seed.
    pub failed: BTreeMap<String, u64>,
    /// Produce requests (per partition batch, acks 1 or all) over every seed, and the share of them answered
    /// NOT_ENOUGH_REPLICAS(_AFTER_APPEND) or REQUEST_TIMED_OUT or never answered, in percent.
    pub produce_requests: u64,
    pub unavailable_percent: f64,
    /// How the produce requests were answered, by error name (`NONE`: written; `UNANSWERED`: no answer).
    pub request_outcomes: BTreeMap<String, u64>,
    /// The share of sends that did not end Ok for any reason, in percent.
    pub failed_percent: f64,
    /// The longest stretch without a successful send: median over the seeds, and the worst seed.
    pub longest_outage_median_ms: u64,
    pub longest_outage_max_ms: u64,
    pub latency_ms: Percentiles,
    pub end_to_end_ms: Percentiles,
    /// Successful sends per simulated second of the fault phase, mean over the seeds.
    pub throughput: f64,
    /// The share of successful sends answered within each of [`CDF_POINTS_MS`].
    pub latency_cdf: Vec<f64>,
    /// Seeds in which each checker fired.
    pub seeds_with: BTreeMap<ViolationKind, u64>,
}

impl CellResult {
    pub fn of(
        profile: &str,
        config: Config,
        brokers: i32,
        seeds: &[SeedMeasure],
        rules: &VerdictRules,
    ) -> Self {
        let n = seeds.len() as u64;
        let count = |f: &dyn Fn(&SeedMeasure) -> bool| seeds.iter().filter(|m| f(m)).count() as u64;
        let sum = |f: &dyn Fn(&SeedMeasure) -> u64| seeds.iter().map(f).sum::<u64>();
        let mut latency = Histogram::default();
        let mut end_to_end = Histogram::default();
        let mut failed: BTreeMap<String, u64> = BTreeMap::new();
        let mut request_outcomes: BTreeMap<String, u64> = BTreeMap::new();
        let mut seeds_with: BTreeMap<ViolationKind, u64> = BTreeMap::new();
        for m in seeds {
            latency.merge(&m.latency);
            end_to_end.merge(&m.end_to_end);
            for (e, k) in &m.failed {
                *failed.entry(e.clone()).or_default() += k;
            }
            for (e, k) in &m.request_outcomes {
                *request_outcomes.entry(e.clone()).or_default() += k;
            }
            for &kind in &m.kinds {
                *seeds_with.entry(kind).or_default() += 1;
            }
        }
        let mut outages: Vec<u64> = seeds.iter().map(|m| m.longest_outage_ms).collect();
        outages.sort_unstable();
        let sends = sum(&|m| m.sends);
        let ok = sum(&|m| m.ok);
        let requests = sum(&|m| m.produce_requests);
        let percent = |part: u64, whole: u64| {
            if whole == 0 {
                0.0
            } else {
                round2(100.0 * part as f64 / whole as f64)
            }
        };
        let lossy_seeds = count(&|m| m.lost_records > 0);
        let divergence_seeds = count(&|m| m.divergence);
        let unavailable_percent = percent(sum(&|m| m.unavailable_requests), requests);
        let longest_outage_median_ms = outages.get(outages.len() / 2).copied().unwrap_or(0);
        let verdict = if lossy_seeds + divergence_seeds > 0 {
            Verdict::Lossy
        } else if longest_outage_median_ms >= rules.unavailable_window_ms {
            Verdict::Unavailable
        } else {
            Verdict::Safe
        };
        CellResult {
            profile: profile.to_string(),
            label: config.label(),
            config,
            brokers,
            seeds: n,
            verdict,
            lossy_seeds,
            lost_records: sum(&|m| m.lost_records),
            max_lost_in_a_seed: seeds.iter().map(|m| m.lost_records).max().unwrap_or(0),
            first_lossy_seed: seeds.iter().find(|m| m.lost_records > 0).map(|m| m.seed),
            duplicate_seeds: count(&|m| m.duplicates > 0),
            duplicates: sum(&|m| m.duplicates),
            reorder_seeds: count(&|m| m.reorders > 0),
            reorders: sum(&|m| m.reorders),
            divergence_seeds,
            sends,
            ok,
            failed,
            unavailable_percent,
            failed_percent: percent(sends - ok, sends),
            produce_requests: requests,
            request_outcomes,
            longest_outage_median_ms,
            longest_outage_max_ms: outages.last().copied().unwrap_or(0),
            latency_ms: Percentiles::of(&latency),
            end_to_end_ms: Percentiles::of(&end_to_end),
            throughput: if n == 0 {
                0.0
            } else {
                round2(seeds.iter().map(|m| m.ok_per_second).sum::<f64>() / n as f64)
            },
            latency_cdf: latency
                .cdf(&CDF_POINTS_MS)
                .into_iter()
                .map(|x| (x * 10_000.0).round() / 10_000.0)
                .collect(),
            seeds_with,
        }
    }

    /// The share of seeds that lost acknowledged records, in percent.
    pub fn loss_percent(&self) -> f64 {
        if self.seeds == 0 {
            0.0
        } else {
            round2(100.0 * self.lossy_seeds as f64 / self.seeds as f64)
        }
    }
}

/// Two decimals, so reports print the same figures in every format.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
