//! `ksim check-determinism`: each seed run twice in separate processes, their traces compared event by event,
//! and optionally madsim's own check (every random draw of a second in-process run checked against the first).

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATION};
use crate::determinism::{first_divergence, Divergence};
use crate::host::check_madsim_determinism;
use crate::parallel::in_parallel;
use crate::scenario::Scenario;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// What one seed showed.
enum Verdict {
    Same { events: usize },
    Diverged(Divergence),
    MadsimDiverged(String),
    Failed(String),
}

pub fn check(
    scenario: &Scenario,
    path: &Path,
    seeds: (u64, u64),
    jobs: Option<usize>,
    madsim: bool,
) -> ExitCode {
    let jobs = crate::parallel::threads(jobs);
    let dir = std::env::temp_dir().join(format!("ksim-determinism-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let verdicts = in_parallel((seeds.1 - seeds.0) as usize, jobs, |i| {
        let seed = seeds.0 + i as u64;
        let mut verdict = across_processes(path, seed, &dir);
        if madsim && matches!(verdict, Verdict::Same { .. }) {
            if let Err(message) = check_madsim_determinism(scenario, seed) {
                verdict = Verdict::MadsimDiverged(message);
            }
        }
        (seed, verdict)
    });
    let _ = std::fs::remove_dir_all(&dir);
    let mut code = EXIT_OK;
    for (seed, verdict) in &verdicts {
        match verdict {
            Verdict::Same { events } => {
                let also = if madsim {
                    "; madsim's check passed"
                } else {
                    ""
                };
                println!("seed {seed}: the same {events} events in both processes{also}");
            }
            Verdict::Diverged(d) => {
                code = EXIT_VIOLATION;
                println!("seed {seed}: DIVERGES at event {}", d.event);
                println!(
                    "  first run:  {}",
                    d.first.as_deref().unwrap_or("(trace ended)")
                );
                println!(
                    "  second run: {}",
                    d.second.as_deref().unwrap_or("(trace ended)")
                );
            }
            Verdict::MadsimDiverged(message) => {
                code = EXIT_VIOLATION;
                println!("seed {seed}: the traces agree, but madsim's check found a divergence: {message}");
            }
            Verdict::Failed(message) => {
                eprintln!("error: seed {seed}: {message}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    }
    println!(
        "{}",
        if code == EXIT_OK {
            "result: deterministic"
        } else {
            "result: NOT deterministic"
        }
    );
    ExitCode::from(code)
}

/// Runs `seed` twice, each in a process of its own writing its full trace, and compares the traces.
fn across_processes(path: &Path, seed: u64, dir: &Path) -> Verdict {
    let traces: Vec<PathBuf> = ["first", "second"]
        .iter()
        .map(|run| dir.join(format!("seed-{seed}-{run}.log")))
        .collect();
    for trace in &traces {
        if let Err(message) = run_child(path, seed, trace) {
            return Verdict::Failed(message);
        }
    }
    let read = |p: &PathBuf| std::fs::read_to_string(p).map_err(|e| e.to_string());
    let (first, second) = match (read(&traces[0]), read(&traces[1])) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Verdict::Failed(format!("cannot read a trace: {e}")),
    };
    for t in &traces {
        let _ = std::fs::remove_file(t);
    }
    match first_divergence(&first, &second) {
        None => Verdict::Same {
            events: first.lines().count(),
        },
        Some(d) => Verdict::Diverged(d),
    }
}

/// `ksim run PATH --seed SEED --trace TRACE` in a new process; a run with violations still wrote its trace.
fn run_child(path: &Path, seed: u64, trace: &Path) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find ksim itself: {e}"))?;
    let out = Command::new(exe)
        .arg("run")
        .arg(path)
        .args(["--seed", &seed.to_string(), "--trace"])
        .arg(trace)
        .env("RUST_LOG", "ksim::trace=debug")
        .output()
        .map_err(|e| format!("cannot start ksim: {e}"))?;
    match out.status.code() {
        Some(0) | Some(1) => Ok(()),
        _ => Err(format!(
            "ksim run failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}
