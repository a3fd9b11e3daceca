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
    in_parallel((seeds.1 - seeds.0) as usize, jobs, |i| {
        let output = run_seed(scenario, seeds.0 + i as u64);
        let r = report::build(scenario, path, &output);
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
