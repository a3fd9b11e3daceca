//! The columns of a compare table, shared by the Markdown and the HTML report so both show the same figures.

use super::cell::{CellResult, Percentiles};
use super::matrix::acks_name;

pub const HEADERS: [&str; 17] = [
    "#",
    "acks",
    "min.insync.replicas",
    "replication.factor",
    "unclean",
    "idempotence",
    "verdict",
    "seeds losing writes",
    "records lost",
    "duplicates",
    "reorders",
    "diverged",
    "unavailable requests",
    "longest outage (median / worst)",
    "latency p50 / p99 / max",
    "end-to-end p50 / p99",
    "throughput",
];

/// Where the verdict sits: each format marks it its own way (a coloured sign, a coloured cell).
pub const VERDICT: usize = 6;

/// Cell number `n`'s row, as text.
pub fn row(n: usize, c: &CellResult) -> [String; 17] {
    let k = &c.config;
    [
        n.to_string(),
        acks_name(k.acks).to_string(),
        k.min_insync_replicas
            .map_or("-".to_string(), |m| m.to_string()),
        k.replication_factor.to_string(),
        k.unclean_leader_election_enable.to_string(),
        k.enable_idempotence.to_string(),
        c.verdict.name().to_string(),
        format!("{}/{}", c.lossy_seeds, c.seeds),
        c.lost_records.to_string(),
        c.duplicates.to_string(),
        c.reorders.to_string(),
        c.divergence_seeds.to_string(),
        format!("{:.2}%", c.unavailable_percent),
        format!(
            "{} / {}",
            seconds(c.longest_outage_median_ms),
            seconds(c.longest_outage_max_ms)
        ),
        three(&c.latency_ms),
        two(&c.end_to_end_ms),
        format!("{:.1}/s", c.throughput),
    ]
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

fn ms(x: Option<u64>) -> String {
    x.map_or("-".to_string(), |v| v.to_string())
}

fn three(p: &Percentiles) -> String {
    format!("{} / {} / {} ms", ms(p.p50), ms(p.p99), ms(p.max))
}

fn two(p: &Percentiles) -> String {
    format!("{} / {} ms", ms(p.p50), ms(p.p99))
}
