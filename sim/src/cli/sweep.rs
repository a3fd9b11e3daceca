//! `ksim sweep`: many seeds in parallel, a summary of which violations appeared, and how to reproduce each failure.

use super::{EXIT_OK, EXIT_VIOLATION};
use crate::checkers::ViolationKind;
use crate::host::run_seed;
use crate::report::{self, RunReport};
use crate::scenario::Scenario;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

#[derive(Serialize)]
pub struct SweepSummary {
    pub scenario: String,
    pub seeds: u64,
    /// For each violation kind, how many seeds showed it.
    pub seeds_with: BTreeMap<ViolationKind, u64>,
    /// Seeds with a violation the scenario does not allow, with the command that reproduces each.
    pub failing: Vec<(u64, String)>,
    /// Kinds the scenario expects a sweep to find that no seed showed.
    pub not_found: Vec<ViolationKind>,
    pub ok: bool,
}

/// Runs `seeds` on `jobs` threads; each run gets its own runtime on its own thread, so order does not matter.
pub fn run_all(
    scenario: &Scenario,
    path: &str,
    seeds: (u64, u64),
    jobs: usize,
    progress: &ProgressBar,
) -> Vec<RunReport> {
    let next = AtomicU64::new(seeds.0);
    let reports = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= seeds.1 {
                    return;
                }
                let output = run_seed(scenario, seed);
                let r = report::build(scenario, path, &output);
                reports.lock().unwrap().push(r);
                progress.inc(1);
            });
        }
    });
    let mut reports = reports.into_inner().unwrap();
    reports.sort_by_key(|r| r.seed);
    reports
}

pub fn summarize(scenario: &Scenario, reports: &[RunReport]) -> SweepSummary {
    let mut seeds_with: BTreeMap<ViolationKind, u64> = BTreeMap::new();
    for r in reports {
        let mut kinds: Vec<ViolationKind> = r.violations.iter().map(|v| v.kind).collect();
        kinds.sort();
        kinds.dedup();
        for k in kinds {
            *seeds_with.entry(k).or_default() += 1;
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
        .filter(|k| !seeds_with.contains_key(k))
        .collect();
    SweepSummary {
        scenario: scenario.name.clone(),
        seeds: reports.len() as u64,
        ok: failing.is_empty() && not_found.is_empty(),
        seeds_with,
        failing,
        not_found,
    }
}

pub fn sweep(
    scenario: &Scenario,
    path: &str,
    seeds: (u64, u64),
    jobs: Option<usize>,
    json: bool,
) -> ExitCode {
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let progress = ProgressBar::new(seeds.1 - seeds.0);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds {elapsed} (eta {eta})").unwrap(),
    );
    let started = Instant::now();
    let reports = run_all(scenario, path, seeds, jobs, &progress);
    progress.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    let summary = summarize(scenario, &reports);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("summary serializes")
        );
    } else {
        print!("{}", to_text(&summary));
    }
    // Throughput goes to stderr: it is a measurement of this machine, not part of the (deterministic) summary.
    let simulated: f64 = reports
        .iter()
        .map(|r| r.stats.simulated_ms as f64 / 1000.0)
        .sum();
    eprintln!(
        "{} seeds in {wall:.2}s wall on {jobs} jobs: {:.1} seeds/s, {:.0} simulated seconds per wall second",
        reports.len(),
        reports.len() as f64 / wall,
        simulated / wall
    );
    if summary.ok {
        ExitCode::from(EXIT_OK)
    } else {
        ExitCode::from(EXIT_VIOLATION)
    }
}

fn to_text(s: &SweepSummary) -> String {
    let mut t = format!("scenario {}: {} seeds\n", s.scenario, s.seeds);
    if s.seeds_with.is_empty() {
        t.push_str("no violations in any seed\n");
    }
    for (kind, n) in &s.seeds_with {
        t.push_str(&format!("  {kind}: {n} seeds\n"));
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
