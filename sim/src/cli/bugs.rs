//! `ksim bugs`: every catalog bug put back and hunted over seeds, with the fix in force over the same seeds.

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATION};
use crate::bugs::{hunt_with, CATALOG};
use crate::scenario;
use std::path::Path;
use std::process::ExitCode;

pub fn bugs(
    dir: &Path,
    seeds: u64,
    jobs: Option<usize>,
    only: Option<&str>,
    swarm: bool,
) -> ExitCode {
    let jobs = crate::parallel::threads(jobs);
    let chosen: Vec<_> = CATALOG
        .iter()
        .filter(|b| only.is_none_or(|o| o == b.name))
        .collect();
    if chosen.is_empty() {
        let names: Vec<&str> = CATALOG.iter().map(|b| b.name).collect();
        eprintln!(
            "error: --only names no catalog bug; the bugs are {}",
            names.join(", ")
        );
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    println!("| bug | what it puts back | scenario | caught in | kinds | median seeds to detection | median wall time to detection | fix on: false positives |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut code = EXIT_OK;
    for bug in chosen {
        let path = dir.join(format!("{}.toml", bug.scenario));
        let s = match scenario::load(&path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        };
        let h = hunt_with(bug, &s, &path.display().to_string(), seeds, jobs, swarm);
        if h.caught.is_empty() || !h.false_positives.is_empty() {
            code = EXIT_VIOLATION;
        }
        let kinds: Vec<&str> = h.kinds.iter().map(|k| k.name()).collect();
        println!(
            "| {} | {} | {} | {}/{} {}seeds | {} | {} | {} | {} |",
            bug.name,
            bug.what,
            bug.scenario,
            h.caught.len(),
            h.seeds,
            if swarm { "swarm " } else { "" },
            if kinds.is_empty() {
                "-".to_string()
            } else {
                kinds.join(", ")
            },
            h.median_seeds_to_detection
                .map_or("not caught".to_string(), |n| n.to_string()),
            h.median_ms_to_detection
                .map_or("-".to_string(), |ms| format!("{:.2} s", ms as f64 / 1000.0)),
            if h.false_positives.is_empty() {
                "none".to_string()
            } else {
                format!("seeds {:?}", h.false_positives)
            }
        );
    }
    ExitCode::from(code)
}
