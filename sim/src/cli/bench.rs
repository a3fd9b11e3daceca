//! `ksim bench`: how fast ksim runs Kafka clusters, against madsim's own cost of delivering a message.

use super::EXIT_OK;
use crate::host::run_seed;
use crate::parallel::{in_parallel, threads};
use crate::scenario::Scenario;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// The reference scenario.
    #[arg(default_value = "scenarios/acks-all-min-insync-2.toml")]
    scenario: std::path::PathBuf,
    /// Seeds as A..B (B excluded).
    #[arg(long, value_parser = super::parse_seed_range, default_value = "0..200")]
    seeds: (u64, u64),
    #[arg(long)]
    jobs: Option<usize>,
    /// Round trips of the madsim ping-pong.
    #[arg(long, default_value_t = 200_000)]
    round_trips: u64,
}

pub fn command(args: BenchArgs) -> ExitCode {
    let s: Scenario = match super::load(&args.scenario) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let jobs = threads(args.jobs);
    let (a, b) = args.seeds;
    // Wall-clock time is what a benchmark measures; it never reaches a run.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let runs = in_parallel((b - a) as usize, jobs, |i| {
        #[allow(clippy::disallowed_methods)]
        let t = std::time::Instant::now();
        let out = run_seed(&s, a + i as u64);
        (t.elapsed().as_secs_f64(), out.messages, out.simulated_ms)
    });
    let wall = started.elapsed().as_secs_f64();
    let thread_time: f64 = runs.iter().map(|r| r.0).sum();
    let messages: u64 = runs.iter().map(|r| r.1).sum();
    let simulated: f64 = runs.iter().map(|r| r.2 as f64 / 1000.0).sum();
    let seeds = runs.len() as f64;
    println!(
        "ksim sweep {} seeds {a}..{b}: {wall:.1} s wall on {jobs} jobs, {:.1} seeds/s, {:.0} simulated seconds per wall second",
        s.name,
        seeds / wall,
        simulated / wall
    );
    let per_message = thread_time / messages as f64 * 1e9;
    println!(
        "  {messages} messages delivered, {per_message:.0} ns of run time per delivered message"
    );
    let pp = crate::bench::ping_pong(args.round_trips);
    let bare = pp / (2 * args.round_trips) as f64 * 1e9;
    println!(
        "madsim ping-pong: {} messages in {pp:.2} s, {bare:.0} ns per message",
        2 * args.round_trips
    );
    println!(
        "ratio: ksim spends {:.1}x madsim's bare cost per delivered message (Kafka logic, logs, recording and checkers)",
        per_message / bare
    );
    ExitCode::from(EXIT_OK)
}
