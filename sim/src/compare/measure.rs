//! What one seed of a cell measured: loss, duplicates, reorders, divergence, availability, latency and
//! throughput, read off the run's history and the checkers' verdicts.

use super::histogram::Histogram;
use crate::checkers::ViolationKind;
use crate::history::{ConsumeOp, History, Outcome};
use crate::host::RunOutput;
use crate::scenario::Scenario;
use ksim_model::ErrorCode;
use ksim_model::TopicPartition;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SeedMeasure {
    pub seed: u64,
    pub sends: u64,
    /// Sends that ended Ok: acknowledged by the cluster (acks 1, all) or handed to the network (acks=0).
    pub ok: u64,
    /// Sends that did not end Ok, by Kafka's error name (`PENDING` when still waiting at the end of the run,
    /// `UNKNOWN` when the outcome is unknown without an error).
    pub failed: BTreeMap<String, u64>,
    /// Produce requests (per partition batch) that expected an answer (acks 1 or all).
    pub produce_requests: u64,
    /// Of those, the ones that found the cluster unavailable: answered NOT_ENOUGH_REPLICAS(_AFTER_APPEND) or
    /// REQUEST_TIMED_OUT, or never answered (timed out on the client, or the connection broke).
    pub unavailable_requests: u64,
    /// How those requests were answered, by Kafka's error name (`NONE`: written), `UNANSWERED` for the rest.
    pub request_outcomes: BTreeMap<String, u64>,
    /// Records the cluster acknowledged that are missing from the final log (lost-write), plus, for acks=0,
    /// records the producer handed over that never reached it.
    pub lost_records: u64,
    pub duplicates: u64,
    pub reorders: u64,
    pub divergence: bool,
    /// Every violation kind the checkers named.
    pub kinds: BTreeSet<ViolationKind>,
    /// The longest stretch of the fault phase in which some partition took no write: no send to it ended Ok (ms).
    pub longest_outage_ms: u64,
    /// Sends ending Ok per simulated second of the fault phase.
    pub ok_per_second: f64,
    /// From send to Ok, in simulated ms.
    pub latency: Histogram,
    /// From send to the first poll that returned the record (read_committed consumers when the run has any).
    pub end_to_end: Histogram,
}

impl SeedMeasure {
    pub fn of(run: &RunOutput, scenario: &Scenario) -> Self {
        let h = &run.history;
        let duration_ms = scenario.duration_ms;
        let produced: BTreeSet<String> = scenario.produced_topics().into_iter().collect();
        let mut m = SeedMeasure {
            seed: run.seed,
            sends: h.sends.len() as u64,
            ..SeedMeasure::default()
        };
        let mut ok_times = Vec::new();
        let mut ok_times_by_partition: BTreeMap<&TopicPartition, Vec<u64>> = BTreeMap::new();
        for s in &h.sends {
            match (s.outcome, s.complete_ms) {
                (Some(Outcome::Ok), Some(done)) => {
                    m.ok += 1;
                    ok_times.push(done);
                    if let Some(tp) = &s.tp {
                        ok_times_by_partition.entry(tp).or_default().push(done);
                    }
                    m.latency.add(done.saturating_sub(s.invoke_ms));
                }
                _ => {
                    let name = match (s.outcome, s.error) {
                        (None, _) => "PENDING".to_string(),
                        (_, Some(e)) => format!("{e:?}"),
                        (_, None) => "UNKNOWN".to_string(),
                    };
                    *m.failed.entry(name).or_default() += 1;
                }
            }
        }
        let requests = &h.produce_requests;
        let answered: u64 = requests.answered.values().sum();
        let refused: u64 = requests
            .answered
            .iter()
            .filter(|(e, _)| shows_unavailability(**e))
            .map(|(_, n)| n)
            .sum();
        m.produce_requests = requests.sent;
        m.request_outcomes = requests
            .answered
            .iter()
            .map(|(e, n)| (format!("{e:?}"), *n))
            .collect();
        if requests.sent > answered {
            m.request_outcomes
                .insert("UNANSWERED".to_string(), requests.sent - answered);
        }
        m.unavailable_requests = refused + requests.sent.saturating_sub(answered);
        // Every partition the workload writes: one that never took a write was out for the whole phase.
        for tp in h.final_partitions.keys() {
            if produced.contains(tp.topic.as_ref()) {
                ok_times_by_partition.entry(tp).or_default();
            }
        }
        m.longest_outage_ms = ok_times_by_partition
            .values_mut()
            .map(|times| longest_outage(times, duration_ms))
            .max()
            .unwrap_or(0);
        m.ok_per_second = ok_times.iter().filter(|&&t| t <= duration_ms).count() as f64
            / (duration_ms as f64 / 1000.0);
        for v in &run.violations {
            m.kinds.insert(v.kind);
            match v.kind {
                ViolationKind::LostWrite => m.lost_records += v.records.len().max(1) as u64,
                ViolationKind::Divergence => m.divergence = true,
                _ => {}
            }
        }
        m.lost_records += fire_and_forget_lost(h);
        m.duplicates = crate::checkers::duplicate::count(h) as u64;
        m.reorders = crate::checkers::reorder::count(h) as u64;
        m.end_to_end = end_to_end(h);
        m
    }
}

/// Kafka's answers that mean "not now": too few in-sync replicas, or the ISR did not answer in time.
fn shows_unavailability(e: ErrorCode) -> bool {
    matches!(
        e,
        ErrorCode::NOT_ENOUGH_REPLICAS
            | ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
            | ErrorCode::REQUEST_TIMED_OUT
    )
}

/// The longest gap in `0..=duration_ms` between successive successful sends, counting from the first success (the
/// producers need a moment to fetch metadata) to the end of the fault phase; all of it without any success.
fn longest_outage(ok_times: &mut [u64], duration_ms: u64) -> u64 {
    ok_times.sort_unstable();
    let in_phase: Vec<u64> = ok_times
        .iter()
        .copied()
        .filter(|&t| t <= duration_ms)
        .collect();
    let Some(&last) = in_phase.last() else {
        return duration_ms;
    };
    let gaps = in_phase.windows(2).map(|w| w[1] - w[0]);
    gaps.chain([duration_ms - last]).max().unwrap_or(0)
}

/// acks=0 sends the producer counted as done whose record the settled cluster does not have: the loss acks=0
/// accepts, which lost-write does not judge (nobody acknowledged them).
fn fire_and_forget_lost(h: &History) -> u64 {
    let present: BTreeSet<u64> = h
        .final_partitions
        .values()
        .flat_map(|p| p.read.iter().map(|&(_, v)| v))
        .collect();
    h.sends
        .iter()
        .filter(|s| !s.acknowledged_by_cluster && !s.transactional)
        .filter(|s| s.outcome == Some(Outcome::Ok))
        .filter(|s| {
            let tp = s.tp.as_ref();
            let judged = tp
                .and_then(|tp| h.final_partitions.get(tp))
                .is_some_and(|p| p.leader.is_some());
            judged && !present.contains(&s.value)
        })
        .count() as u64
}

/// Send to first delivery, per record: to read_committed consumers when there are any (then only committed
/// records arrive), else to any consumer.
fn end_to_end(h: &History) -> Histogram {
    let mut first_seen: BTreeMap<u64, u64> = BTreeMap::new();
    for c in &h.consumes {
        if let ConsumeOp::Poll {
            process,
            records,
            at_ms,
            ..
        } = c
        {
            if !h.read_committed.is_empty() && !h.read_committed.contains(process) {
                continue;
            }
            for &(_, value) in records {
                first_seen.entry(value).or_insert(*at_ms);
            }
        }
    }
    let mut hist = Histogram::default();
    for s in &h.sends {
        if let Some(&seen) = first_seen.get(&s.value) {
            hist.add(seen.saturating_sub(s.invoke_ms));
        }
    }
    hist
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_outage_counts_the_tail_of_the_fault_phase() {
        assert_eq!(longest_outage(&mut [100, 200, 5_000, 5_100], 6_000), 4_800);
        assert_eq!(longest_outage(&mut [100, 200], 10_000), 9_800);
        assert_eq!(longest_outage(&mut [], 10_000), 10_000);
    }
}
