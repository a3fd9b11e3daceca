//! `ksim run`: one seed, its report, and optionally its full trace and its HTML view.

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATION};
use crate::host::{run_seed_with, RunOptions};
use crate::report;
use crate::scenario::{faults_file, Scenario, ScheduledFault};
use crate::swarm::SwarmDraw;
use crate::view;
use std::path::Path;
use std::process::ExitCode;

/// What `ksim run` (or `ksim compare --cell`) was asked for besides the scenario and seed.
#[derive(Default)]
pub struct Request<'a> {
    /// Replaces the report's `ksim run` command (a compare cell is rerun by `ksim compare`).
    pub reproduce: Option<String>,
    pub json: bool,
    pub trace: Option<&'a Path>,
    pub html: Option<&'a Path>,
    /// A fault schedule to replay instead of the one the seed draws.
    pub faults: Option<Vec<ScheduledFault>>,
    /// Where to write the run's fault schedule, replayable with `--faults`.
    pub faults_out: Option<&'a Path>,
    /// The seed's swarm draw, when the scenario given is its swarm derivation (`--swarm`).
    pub swarm: Option<SwarmDraw>,
}

pub fn run(scenario: &Scenario, path: &str, seed: u64, request: Request) -> ExitCode {
    if let Some(Err(e)) = request.trace.map(install_trace) {
        eprintln!(
            "error: cannot write trace to {}: {e}",
            request.trace.unwrap().display()
        );
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    // Samples for the view are read-only: the run (and its trace hash) is the same with or without them.
    let options = RunOptions {
        samples: request.html.is_some(),
        faults: request.faults,
    };
    let output = run_seed_with(scenario, seed, options);
    let swarm = request.swarm.is_some();
    let mut r = match request.swarm {
        Some(draw) => report::build_swarm(scenario, path, &output, draw),
        None => report::build(scenario, path, &output),
    };
    if let Some(command) = request.reproduce {
        r.reproduce = command;
    }
    if let Some(out) = request.faults_out {
        let comment = format!(
            "The fault schedule of {} seed {seed}. Replay it: ksim run {path} --seed {seed}{} --faults {}",
            scenario.name,
            if swarm { " --swarm" } else { "" },
            out.display()
        );
        if let Err(e) = std::fs::write(out, faults_file::to_toml(&output.schedule, &comment)) {
            eprintln!("error: cannot write {}: {e}", out.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    if let Some(html) = request.html {
        if let Err(e) = std::fs::write(html, view::render(&r, &output)) {
            eprintln!("error: cannot write {}: {e}", html.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    if request.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).expect("report serializes")
        );
    } else {
        print!("{}", report::to_text(&r));
    }
    if r.ok {
        ExitCode::from(EXIT_OK)
    } else {
        eprintln!("seed {seed} failed; reproduce with: {}", r.reproduce);
        ExitCode::from(EXIT_VIOLATION)
    }
}

/// Sends the trace (every event, in order, stamped with simulated time, never wall time) to a file.
fn install_trace(path: &Path) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("ksim::trace=debug"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file))
        .without_time()
        .with_target(false)
        .with_level(false)
        .with_ansi(false)
        .finish();
    // Global, so the simulation's own thread writes to it too.
    tracing::subscriber::set_global_default(subscriber).map_err(std::io::Error::other)
}
