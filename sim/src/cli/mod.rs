//! The `ksim` command line: `run` one seed, `sweep` many.

mod bench;
mod bugs;
mod check_determinism;
mod compare;
mod regressions;
mod run;
mod shrink;
mod sweep;

use crate::scenario::{self, Scenario};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit codes: the run matched expectations; a violation the scenario does not allow; bad input.
pub const EXIT_OK: u8 = 0;
pub const EXIT_VIOLATION: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

#[derive(Parser)]
#[command(
    name = "ksim",
    version,
    about = "Deterministic simulation of Kafka replication under faults"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one seed of a scenario and print its report.
    Run {
        scenario: PathBuf,
        #[arg(long)]
        seed: u64,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Write the full event trace to this file (filter with RUST_LOG, e.g. RUST_LOG=ksim::trace=debug).
        #[arg(long)]
        trace: Option<PathBuf>,
        /// Write the run as a self-contained HTML page: a space-time diagram of brokers, faults, clients and
        /// the records each violation names.
        #[arg(long)]
        html: Option<PathBuf>,
        /// Replay this fault schedule (a file `--faults-out` wrote, or `[[at]]` entries written by hand in the
        /// syntax of a scenario's `[[faults.at]]`) instead of the one the seed draws.
        #[arg(long)]
        faults: Option<PathBuf>,
        /// Write the run's fault schedule to this file, replayable with `--faults`.
        #[arg(long)]
        faults_out: Option<PathBuf>,
        /// Run the seed's swarm derivation of the scenario (as `ksim sweep --swarm` does) and print what it drew.
        #[arg(long)]
        swarm: bool,
    },
    /// Run a range of seeds and summarise which violations appeared.
    Sweep {
        scenario: PathBuf,
        /// Seeds as A..B (B excluded).
        #[arg(long, value_parser = parse_seed_range)]
        seeds: (u64, u64),
        /// Parallel runs (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
        #[arg(long)]
        json: bool,
        /// Swarm testing: each seed also draws the fault mix, fault rates and durations, network latency and
        /// workload shape, around the scenario's Kafka configuration and expectations.
        #[arg(long)]
        swarm: bool,
    },
    /// Put each historic Kafka bug of the catalog back into the model, hunt it over seeds, and run the same seeds
    /// with the fix in force: how soon each is caught, and whether the fixed model stays clean.
    Bugs {
        /// Seeds 0..N per bug.
        #[arg(long, default_value_t = 1000)]
        seeds: u64,
        #[arg(long)]
        jobs: Option<usize>,
        /// Only this bug (its KIP or JIRA name).
        #[arg(long)]
        only: Option<String>,
        /// Where the library scenarios are.
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
        /// Hunt each bug on its scenario's swarm derivations (the fix-on runs use the same ones).
        #[arg(long)]
        swarm: bool,
    },
    /// Replay every failure ever found (scenarios/regressions/seeds.toml) and check each stays fixed.
    Regressions {
        #[arg(long, default_value = "scenarios/regressions/seeds.toml")]
        file: PathBuf,
    },
    /// Run each seed twice in separate processes and compare the traces event by event, naming the first event
    /// that differs.
    CheckDeterminism {
        scenario: PathBuf,
        /// Seeds as A..B (B excluded).
        #[arg(long, value_parser = parse_seed_range)]
        seeds: (u64, u64),
        /// Seeds checked at once (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Also run madsim's own check: a second in-process run must draw the same random numbers in order.
        #[arg(long)]
        madsim: bool,
    },
    /// Run a matrix of configurations against fault profiles (a file in scenarios/compare/) and report loss,
    /// availability, latency and throughput per cell, with Kafka's documented guarantees checked.
    Compare(compare::CompareArgs),
    /// Reduce a failing seed to a small scenario file that fails the same way: fewer faults, shorter windows,
    /// fewer brokers, records and clients, keeping the violation kind.
    Shrink(shrink::ShrinkArgs),
    /// Benchmark: seeds per second of the reference scenario, and ksim's run time per delivered message against
    /// a bare madsim ping-pong in the same process.
    Bench(bench::BenchArgs),
}

pub(crate) fn parse_seed_range(text: &str) -> Result<(u64, u64), String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("seeds must look like A..B, not `{text}`"))?;
    let a: u64 = a
        .trim()
        .parse()
        .map_err(|_| format!("`{a}` is not a seed"))?;
    let b: u64 = b
        .trim()
        .parse()
        .map_err(|_| format!("`{b}` is not a seed"))?;
    if a >= b {
        return Err(format!("empty seed range {a}..{b}"));
    }
    Ok((a, b))
}

fn load(path: &Path) -> Result<Scenario, ExitCode> {
    scenario::load(path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_BAD_INPUT
            } else {
                EXIT_OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Run {
            scenario,
            seed,
            json,
            trace,
            html,
            faults,
            faults_out,
            swarm,
        } => match load(&scenario) {
            Ok(base) => {
                let path = scenario.display().to_string();
                let (s, draw) = if swarm {
                    let (s, draw) = crate::swarm::swarm(&base, seed);
                    (s, Some(draw))
                } else {
                    (base, None)
                };
                let replay = match faults.as_deref().map(|f| scenario::load_faults(f, &s)) {
                    None => None,
                    Some(Ok(schedule)) => Some(schedule),
                    Some(Err(e)) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(EXIT_BAD_INPUT);
                    }
                };
                // A replayed run is reproduced with the same schedule, or the command reruns another run.
                let reproduce = faults.as_ref().map(|f| {
                    format!(
                        "{}{} --faults {}",
                        crate::report::reproduce_command(&path, seed),
                        if swarm { " --swarm" } else { "" },
                        f.display()
                    )
                });
                let request = run::Request {
                    reproduce,
                    json,
                    trace: trace.as_deref(),
                    html: html.as_deref(),
                    faults: replay,
                    faults_out: faults_out.as_deref(),
                    swarm: draw,
                };
                run::run(&s, &path, seed, request)
            }
            Err(code) => code,
        },
        Command::Sweep {
            scenario,
            seeds,
            jobs,
            json,
            swarm,
        } => match load(&scenario) {
            Ok(s) => sweep::sweep(
                &s,
                &scenario.display().to_string(),
                seeds,
                jobs,
                swarm,
                json,
            ),
            Err(code) => code,
        },
        Command::Bugs {
            seeds,
            jobs,
            only,
            scenarios,
            swarm,
        } => bugs::bugs(&scenarios, seeds, jobs, only.as_deref(), swarm),
        Command::Regressions { file } => regressions::replay_all(&file),
        Command::CheckDeterminism {
            scenario,
            seeds,
            jobs,
            madsim,
        } => match load(&scenario) {
            Ok(s) => check_determinism::check(&s, &scenario, seeds, jobs, madsim),
            Err(code) => code,
        },
        Command::Compare(args) => compare::command(args),
        Command::Shrink(args) => shrink::command(args),
        Command::Bench(args) => bench::command(args),
    }
}
