//! Sweeps: many seeds of one scenario in parallel, and the summary of which violations appeared in which seeds.

use crate::checkers::ViolationKind;
use crate::host::run_seed;
use crate::parallel::in_parallel;
use crate::report::{self, RunReport};
use crate::scenario::Scenario;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Serialize)]
pub struct SweepSummary {
    pub scenario: String,
    pub seeds: u64,
    /// Each seed ran its own swarm derivation of the scenario (`--swarm`); absent from a plain sweep's JSON.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub swarm: bool,
    /// For each violation kind, how many seeds showed it.
    pub seeds_with: BTreeMap<ViolationKind, u64>,
    /// Duplicates and reorders of producers without idempotence: counted, not violations; seeds that had any.
    pub seeds_counting: BTreeMap<ViolationKind, u64>,
    /// Seeds with a violation the scenario does not allow, with the command that reproduces each.
    pub failing: Vec<(u64, String)>,
    /// Kinds the scenario expects a sweep to find that no seed showed.
    pub not_found: Vec<ViolationKind>,
    pub ok: bool,
}

/// Runs seeds A..B on `jobs` threads, calling `on_done` after each; each run gets its own runtime on its own thread, so order does not matter.
pub fn run_all(
    scenario: &Scenario,
    path: &str,
    seeds: (u64, u64),
    jobs: usize,
    on_done: &(dyn Fn() + Sync),
) -> Vec<RunReport> {
    run_all_with(scenario, path, seeds, jobs, false, on_done)
}

/// `run_all`, with each seed on its own swarm derivation of `scenario` when `swarm` says so.
pub fn run_all_with(
    scenario: &Scenario,
    path: &str,
    seeds: (u64, u64),
    jobs: usize,
    swarm: bool,
    on_done: &(dyn Fn() + Sync),
) -> Vec<RunReport> {
    in_parallel((seeds.1 - seeds.0) as usize, jobs, |i| {
        let seed = seeds.0 + i as u64;
        let r = if swarm {
            let (derived, draw) = crate::swarm::swarm(scenario, seed);
            report::build_swarm(&derived, path, &run_seed(&derived, seed), draw)
        } else {
            report::build(scenario, path, &run_seed(scenario, seed))
        };
        on_done();
        r
    })
}

pub fn summarize(scenario: &Scenario, reports: &[RunReport]) -> SweepSummary {
    let mut seeds_with: BTreeMap<ViolationKind, u64> = BTreeMap::new();
    let mut seeds_counting: BTreeMap<ViolationKind, u64> = BTreeMap::new();
    for r in reports {
        let flagged: BTreeSet<ViolationKind> = r.violations.iter().map(|v| v.kind).collect();
        for k in report::kinds_seen(r) {
            let tally = if flagged.contains(&k) {
                &mut seeds_with
            } else {
                &mut seeds_counting
            };
            *tally.entry(k).or_default() += 1;
        }
    }
    let failing: Vec<(u64, String)> = reports
        .iter()
        .filter(|r| !r.ok)
        .map(|r| (r.seed, r.reproduce.clone()))
        .collect();
    let not_found: Vec<ViolationKind> = scenario
        .expect
        .find
        .iter()
        .copied()
        .filter(|k| !seeds_with.contains_key(k) && !seeds_counting.contains_key(k))
        .collect();
    SweepSummary {
        scenario: scenario.name.clone(),
        seeds: reports.len() as u64,
        swarm: reports.iter().any(|r| r.swarm.is_some()),
        ok: failing.is_empty() && not_found.is_empty(),
        seeds_with,
        seeds_counting,
        failing,
        not_found,
    }
}

/// The summary as a person reads it.
pub fn to_text(s: &SweepSummary) -> String {
    let mut t = format!("scenario {}: {} seeds\n", s.scenario, s.seeds);
    if s.swarm {
        t.push_str("swarm sweep: each seed drew its own fault mix, rates, latency and workload\n");
    }
    if s.seeds_with.is_empty() {
        t.push_str("no violations in any seed\n");
    }
    for (kind, n) in &s.seeds_with {
        t.push_str(&format!("  {kind}: {n} seeds\n"));
    }
    for (kind, n) in &s.seeds_counting {
        t.push_str(&format!(
            "  {kind} (counted, producers without idempotence): {n} seeds\n"
        ));
    }
    for (seed, command) in &s.failing {
        t.push_str(&format!("FAILED seed {seed}: {command}\n"));
    }
    for kind in &s.not_found {
        t.push_str(&format!("EXPECTED {kind} in some seed, found in none\n"));
    }
    t.push_str(if s.ok {
        "result: as expected\n"
    } else {
        "result: FAILED\n"
    });
    t
}
