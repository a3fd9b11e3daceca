//! Reports of a run: the verdict against the scenario's expectations, violations, stats and the trace hash, as
//! text for people and JSON for machines. Both are a pure function of the run, so they are byte-identical per seed.

use crate::checkers::{Violation, ViolationKind};
use crate::history::{GroupOp, History, Outcome};
use crate::host::RunOutput;
use crate::scenario::{Scenario, ScheduledFault};
use crate::swarm::SwarmDraw;
use ksim_model::observe::Observation;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub simulated_ms: u64,
    pub events: u64,
    pub sends: usize,
    pub acknowledged: usize,
    pub failed: usize,
    pub info: usize,
    pub pending: usize,
    pub polled_records: usize,
    pub leader_elections: usize,
    pub unclean_elections: usize,
    pub offline_partitions: usize,
    pub isr_changes: usize,
    pub truncated_records: usize,
    pub faults: usize,
    /// Extra copies of records in the final logs (retries appended twice), flagged or not.
    pub duplicates: usize,
    /// Pairs of one producer's records to one partition that sit in the final log against send order.
    pub reorders: usize,
    /// Transactions by how they ended: committed, aborted (on purpose, after an error, or fenced before it
    /// asked to commit), unknown (a commit without a certain answer), still open at the end.
    pub txn_committed: usize,
    pub txn_aborted: usize,
    pub txn_unknown: usize,
    pub txn_open: usize,
    /// Records read_committed consumers polled.
    pub read_committed_records: usize,
    /// Consumer groups: the generations members were assigned in, records processed, commits by outcome,
    /// partitions revoked (given up) and lost (taken away).
    pub group: GroupStats,
}

/// What a run's consumer groups did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GroupStats {
    pub generations: usize,
    pub processed_records: usize,
    pub commits_ok: usize,
    pub commits_failed: usize,
    pub commits_unknown: usize,
    pub revoked: usize,
    pub lost: usize,
}

fn group_stats(h: &History) -> GroupStats {
    let mut stats = GroupStats::default();
    let mut generations = BTreeSet::new();
    for op in &h.groups.ops {
        match op {
            GroupOp::Assigned {
                group, generation, ..
            } => {
                generations.insert((group, *generation));
            }
            GroupOp::Processed { records, .. } => stats.processed_records += records.len(),
            GroupOp::Commit { outcome, .. } => match outcome {
                Outcome::Ok => stats.commits_ok += 1,
                Outcome::Fail => stats.commits_failed += 1,
                Outcome::Info => stats.commits_unknown += 1,
            },
            GroupOp::Revoked {
                partitions, lost, ..
            } => {
                if *lost {
                    stats.lost += partitions.len();
                } else {
                    stats.revoked += partitions.len();
                }
            }
            _ => {}
        }
    }
    stats.generations = generations.len();
    stats
}

#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub scenario: String,
    pub seed: u64,
    /// True when every violation is one the scenario allows.
    pub ok: bool,
    pub violations: Vec<Violation>,
    /// Kinds found that the scenario does not allow.
    pub unexpected: Vec<ViolationKind>,
    pub stats: Stats,
    pub trace_hash: String,
    pub faults: Vec<ScheduledFault>,
    /// Topics whose partition count the controller raised during the run, in the order it did.
    pub partition_growth: Vec<PartitionGrowth>,
    pub reproduce: String,
    /// What the seed drew for a swarm run (`--swarm`); absent from a plain run's report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swarm: Option<SwarmDraw>,
}

/// One CreatePartitions the controller carried out: when, which topic, and its partition count before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartitionGrowth {
    pub at_ms: u64,
    pub topic: String,
    pub previous_count: i32,
    pub count: i32,
}

/// Every growth the controller observed, from the history.
pub fn partition_growth(run: &RunOutput) -> Vec<PartitionGrowth> {
    run.history
        .observations
        .iter()
        .filter_map(|(at_ms, o)| match o {
            Observation::PartitionsCreated {
                topic,
                previous_count,
                count,
                ..
            } => Some(PartitionGrowth {
                at_ms: *at_ms,
                topic: topic.to_string(),
                previous_count: *previous_count,
                count: *count,
            }),
            _ => None,
        })
        .collect()
}

/// The kinds a run showed: its violations, and the duplicates and reorders it only counted (a producer without
/// idempotence is allowed them, and a scenario may still promise to show them).
pub fn kinds_seen(r: &RunReport) -> BTreeSet<ViolationKind> {
    let mut kinds: BTreeSet<ViolationKind> = r.violations.iter().map(|v| v.kind).collect();
    if r.stats.duplicates > 0 {
        kinds.insert(ViolationKind::Duplicate);
    }
    if r.stats.reorders > 0 {
        kinds.insert(ViolationKind::Reorder);
    }
    kinds
}

/// The command that reruns exactly this seed.
pub fn reproduce_command(scenario_path: &str, seed: u64) -> String {
    format!("cargo run --release -p ksim -- run {scenario_path} --seed {seed}")
}

pub fn stats(run: &RunOutput) -> Stats {
    let h = &run.history;
    let count = |o: Option<Outcome>| h.sends.iter().filter(|s| s.outcome == o).count();
    let mut stats = Stats {
        simulated_ms: run.simulated_ms,
        events: run.events,
        sends: h.sends.len(),
        acknowledged: count(Some(Outcome::Ok)),
        failed: count(Some(Outcome::Fail)),
        info: count(Some(Outcome::Info)),
        pending: count(None),
        faults: run.schedule.len(),
        duplicates: crate::checkers::duplicate::count(h),
        reorders: crate::checkers::reorder::count(h),
        ..Stats::default()
    };
    let polled = |committed_only: bool| -> usize {
        h.consumes
            .iter()
            .map(|c| match c {
                crate::history::ConsumeOp::Poll {
                    records, process, ..
                } if !committed_only || h.read_committed.contains(process) => records.len(),
                _ => 0,
            })
            .sum()
    };
    stats.polled_records = polled(false);
    stats.group = group_stats(h);
    stats.read_committed_records = polled(true);
    for t in &h.transactions {
        match t.outcome {
            None => stats.txn_open += 1,
            _ if t.committed() => stats.txn_committed += 1,
            _ if t.aborted() => stats.txn_aborted += 1,
            _ => stats.txn_unknown += 1,
        }
    }
    for (_, o) in &h.observations {
        match o {
            Observation::LeaderElected { unclean, .. } => {
                stats.leader_elections += 1;
                stats.unclean_elections += *unclean as usize;
            }
            Observation::PartitionOffline { .. } => stats.offline_partitions += 1,
            Observation::IsrChanged { .. } => stats.isr_changes += 1,
            Observation::Truncated { removed, .. } => stats.truncated_records += removed.len(),
            _ => {}
        }
    }
    stats
}

pub fn build(scenario: &Scenario, scenario_path: &str, run: &RunOutput) -> RunReport {
    let allowed: BTreeSet<ViolationKind> = scenario.expect.allow.iter().copied().collect();
    let unexpected: BTreeSet<ViolationKind> = run
        .violations
        .iter()
        .map(|v| v.kind)
        .filter(|k| !allowed.contains(k))
        .collect();
    RunReport {
        scenario: scenario.name.clone(),
        seed: run.seed,
        ok: unexpected.is_empty(),
        violations: run.violations.clone(),
        unexpected: unexpected.into_iter().collect(),
        stats: stats(run),
        trace_hash: format!("{:016x}", run.trace_hash),
        faults: run.schedule.clone(),
        partition_growth: partition_growth(run),
        reproduce: reproduce_command(scenario_path, run.seed),
        swarm: None,
    }
}

/// The report of a swarm run: `build`'s against the derived scenario (whose expectations are the base's), with
/// the draw, and a reproduce command that derives the same scenario again.
pub fn build_swarm(
    derived: &Scenario,
    scenario_path: &str,
    run: &RunOutput,
    draw: SwarmDraw,
) -> RunReport {
    let mut r = build(derived, scenario_path, run);
    r.reproduce = format!("{} --swarm", r.reproduce);
    r.swarm = Some(draw);
    r
}

/// The swarm draw as one line of a text report.
fn swarm_line(d: &SwarmDraw) -> String {
    let kinds: Vec<String> = d
        .kinds
        .iter()
        .map(|k| {
            serde_json::to_value(k)
                .expect("kind serializes")
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    let timeline = match d.timeline_kept {
        None => "",
        Some(true) => "; scripted faults kept",
        Some(false) => "; scripted faults dropped",
    };
    let mut workload = format!(
        "producers {} at {}/s, keys {}, consumers {}",
        d.producers, d.records_per_second, d.keys, d.consumers
    );
    if d.read_committed_consumers > 0 {
        workload.push_str(&format!(
            ", read_committed consumers {}",
            d.read_committed_consumers
        ));
    }
    if d.transactional_producers > 0 {
        workload.push_str(&format!(
            ", transactional producers {} ({} records each, {} zombie restarts)",
            d.transactional_producers, d.records_per_transaction, d.zombie_restarts
        ));
    }
    if let Some(members) = d.group_members {
        workload.push_str(&format!(", group members {members}"));
    }
    format!(
        "swarm: faults {} every {}..{}ms for {}..{}ms{timeline}; latency {}..{}ms; {workload}",
        kinds.join(", "),
        d.interval_ms.0,
        d.interval_ms.1,
        d.fault_duration_ms.0,
        d.fault_duration_ms.1,
        d.latency_ms.0,
        d.latency_ms.1
    )
}

/// The report as a person reads it.
pub fn to_text(r: &RunReport) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "scenario {}  seed {}", r.scenario, r.seed);
    if let Some(draw) = &r.swarm {
        let _ = writeln!(t, "{}", swarm_line(draw));
    }
    let s = &r.stats;
    let _ = writeln!(
        t,
        "simulated {:.1}s, {} events; sends {} (ok {}, fail {}, info {}, pending {}); polled {} records; \
         duplicates {}, reorders {}",
        s.simulated_ms as f64 / 1000.0,
        s.events,
        s.sends,
        s.acknowledged,
        s.failed,
        s.info,
        s.pending,
        s.polled_records,
        s.duplicates,
        s.reorders
    );
    let _ = writeln!(
        t,
        "elections {} (unclean {}), offline {}, ISR changes {}, truncated records {}, faults {}",
        s.leader_elections,
        s.unclean_elections,
        s.offline_partitions,
        s.isr_changes,
        s.truncated_records,
        s.faults
    );
    if s.txn_committed + s.txn_aborted + s.txn_unknown + s.txn_open > 0 {
        let _ = writeln!(
            t,
            "transactions: committed {}, aborted {}, unknown {}, open {}; read_committed polled {} records",
            s.txn_committed, s.txn_aborted, s.txn_unknown, s.txn_open, s.read_committed_records
        );
    }
    let g = &s.group;
    if g.generations > 0 {
        let _ = writeln!(
            t,
            "group: {} generations, processed {} records; commits ok {}, failed {}, unknown {}; partitions revoked {}, lost {}",
            g.generations, g.processed_records, g.commits_ok, g.commits_failed, g.commits_unknown, g.revoked, g.lost
        );
    }
    for f in &r.faults {
        let _ = writeln!(
            t,
            "  fault at {}ms for {}ms: {:?}",
            f.at_ms, f.duration_ms, f.fault
        );
    }
    for g in &r.partition_growth {
        let _ = writeln!(
            t,
            "  partitions of {} grew from {} to {} at {}ms",
            g.topic, g.previous_count, g.count, g.at_ms
        );
    }
    if r.violations.is_empty() {
        let _ = writeln!(t, "no violations");
    }
    for v in &r.violations {
        let tp = v.tp.as_ref().map_or("-".to_string(), |tp| tp.to_string());
        let at = v.at_ms.map_or(String::new(), |ms| format!(" at {ms}ms"));
        let _ = writeln!(t, "VIOLATION {} on {tp}{at}: {}", v.kind, v.message);
        if !v.records.is_empty() {
            let shown: Vec<String> = v
                .records
                .iter()
                .take(10)
                .map(|(o, val)| format!("{o}:{val:#x}"))
                .collect();
            let more = v.records.len().saturating_sub(10);
            let tail = if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            };
            let _ = writeln!(t, "  records (offset:value) {}{tail}", shown.join(" "));
        }
    }
    let _ = writeln!(t, "trace_hash {}", r.trace_hash);
    if r.ok {
        let _ = writeln!(t, "result: as expected");
    } else {
        let kinds: Vec<&str> = r.unexpected.iter().map(|k| k.name()).collect();
        let _ = writeln!(t, "result: FAILED, unexpected {}", kinds.join(", "));
        let _ = writeln!(t, "reproduce: {}", r.reproduce);
    }
    t
}
