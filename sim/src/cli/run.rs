//! `ksim run`: one seed, its report, and optionally its full trace and its HTML view.

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATION};
use crate::host::{run_seed_with, RecordOptions};
use crate::report;
use crate::scenario::Scenario;
use crate::view;
use std::path::Path;
use std::process::ExitCode;

/// Runs `seed`; `reproduce`, when given, replaces the report's `ksim run` command (a compare cell is rerun by
/// `ksim compare`).
#[allow(clippy::too_many_arguments)]
pub fn run(
    scenario: &Scenario,
    path: &str,
    reproduce: Option<String>,
    seed: u64,
    json: bool,
    trace: Option<&Path>,
    html: Option<&Path>,
) -> ExitCode {
    if let Some(Err(e)) = trace.map(install_trace) {
        eprintln!(
            "error: cannot write trace to {}: {e}",
            trace.unwrap().display()
        );
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    // Samples for the view are read-only: the run (and its trace hash) is the same with or without them.
    let options = RecordOptions {
        samples: html.is_some(),
    };
    let output = run_seed_with(scenario, seed, options);
    let mut r = report::build(scenario, path, &output);
    if let Some(command) = reproduce {
        r.reproduce = command;
    }
    if let Some(html) = html {
        if let Err(e) = std::fs::write(html, view::render(&r, &output)) {
            eprintln!("error: cannot write {}: {e}", html.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    if json {
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
