//! `ksim regressions`: replays every failure ever found and says which stay fixed.

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATION};
use crate::parallel::in_parallel;
use crate::regressions;
use std::path::Path;
use std::process::ExitCode;

pub fn replay_all(file: &Path) -> ExitCode {
    let all = match regressions::load(file) {
        Ok(all) => all,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    // A handful of seeds: one thread each.
    let outcomes = in_parallel(all.len(), all.len(), |i| regressions::replay(file, &all[i]));
    let mut code = EXIT_OK;
    for (r, outcome) in all.iter().zip(&outcomes) {
        match outcome {
            None => println!(
                "{} seed {}: fixed ({} stays away)",
                r.scenario, r.seed, r.violation
            ),
            Some(why) => {
                code = EXIT_VIOLATION;
                println!("{} seed {}: FAILED: {why}", r.scenario, r.seed);
                println!("  was: {}", r.note);
            }
        }
    }
    ExitCode::from(code)
}
