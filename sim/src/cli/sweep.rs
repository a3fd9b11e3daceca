//! `ksim sweep`: many seeds in parallel with a progress bar, the summary, and the measured throughput.

use super::{EXIT_OK, EXIT_VIOLATION};
use crate::scenario::Scenario;
use crate::sweep::{run_all_with, summarize, to_text};
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;
use std::time::Instant;

pub fn sweep(
    scenario: &Scenario,
    path: &str,
    seeds: (u64, u64),
    jobs: Option<usize>,
    swarm: bool,
    json: bool,
) -> ExitCode {
    let jobs = crate::parallel::threads(jobs);
    let progress = ProgressBar::new(seeds.1 - seeds.0);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds {elapsed} (eta {eta})").unwrap(),
    );
    // Wall-clock time measures this machine's speed for the user; it never reaches the (deterministic) report.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let reports = run_all_with(scenario, path, seeds, jobs, swarm, &|| progress.inc(1));
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
