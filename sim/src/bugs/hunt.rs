//! Hunting one catalog bug: its scenario over seeds with the bug put back (how soon is it caught?) and with the
//! fix in force (is every one of those seeds clean?).

use super::catalog::Bug;
use crate::checkers::ViolationKind;
use crate::host::run_seed;
use crate::parallel::in_parallel;
use crate::report;
use crate::scenario::Scenario;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Hunt {
    pub bug: String,
    pub scenario: String,
    pub seeds: u64,
    /// Seeds in which the reverted run showed one of the bug's violations.
    pub caught: Vec<u64>,
    /// The violation kinds those seeds showed.
    pub kinds: Vec<ViolationKind>,
    /// Seeds run, from a start to the first that catches it: the median over ten evenly spaced starts.
    pub median_seeds_to_detection: Option<u64>,
    /// Wall time of those seeds, one after another (ms): the median over the same starts.
    pub median_ms_to_detection: Option<u64>,
    /// Seeds in which the run with the fix in force showed a violation its scenario does not allow.
    pub false_positives: Vec<u64>,
}

/// Runs `scenario` over seeds `0..seeds` as it is and with `bug` put back, on `jobs` threads.
pub fn hunt(bug: &Bug, scenario: &Scenario, path: &str, seeds: u64, jobs: usize) -> Hunt {
    hunt_with(bug, scenario, path, seeds, jobs, false)
}

/// `hunt`, with each seed run on its swarm derivation of `scenario` when `swarm` says so: the bug is put back
/// into that derivation, and the fix-on run is the same derivation as it is.
pub fn hunt_with(
    bug: &Bug,
    scenario: &Scenario,
    path: &str,
    seeds: u64,
    jobs: usize,
    swarm: bool,
) -> Hunt {
    let results = in_parallel(seeds as usize, jobs, |i| {
        let seed = i as u64;
        let (fixed, draw) = if swarm {
            let (s, draw) = crate::swarm::swarm(scenario, seed);
            (s, Some(draw))
        } else {
            (scenario.clone(), None)
        };
        let mut reverted = fixed.clone();
        (bug.revert)(&mut reverted);
        // Wall time per seed: what finding the bug costs on this machine, never part of a run.
        #[allow(clippy::disallowed_methods)]
        let started = std::time::Instant::now();
        let bad = run_seed(&reverted, seed);
        let ms = started.elapsed().as_millis() as u64;
        let shown: Vec<ViolationKind> = bad
            .violations
            .iter()
            .map(|v| v.kind)
            .filter(|k| bug.shows.contains(k))
            .collect();
        let run = run_seed(&fixed, seed);
        let good = match draw {
            Some(draw) => report::build_swarm(&fixed, path, &run, draw),
            None => report::build(&fixed, path, &run),
        };
        (seed, shown, ms, good.ok)
    });
    let caught: Vec<u64> = results
        .iter()
        .filter(|r| !r.1.is_empty())
        .map(|r| r.0)
        .collect();
    let mut kinds: Vec<ViolationKind> = results.iter().flat_map(|r| r.1.clone()).collect();
    kinds.sort();
    kinds.dedup();
    let times: Vec<u64> = results.iter().map(|r| r.2).collect();
    let (median_seeds, median_ms) = to_detection(&caught, &times, seeds);
    Hunt {
        bug: bug.name.to_string(),
        scenario: bug.scenario.to_string(),
        seeds,
        caught,
        kinds,
        median_seeds_to_detection: median_seeds,
        median_ms_to_detection: median_ms,
        false_positives: results.iter().filter(|r| !r.3).map(|r| r.0).collect(),
    }
}

/// From each of ten evenly spaced starting seeds, how many seeds (and how much wall time) until one catches the
/// bug, wrapping around; the medians of both. None when no seed catches it.
fn to_detection(caught: &[u64], times: &[u64], seeds: u64) -> (Option<u64>, Option<u64>) {
    if caught.is_empty() {
        return (None, None);
    }
    let mut counts = Vec::new();
    let mut walls = Vec::new();
    for i in 0..10 {
        let start = seeds * i / 10;
        let first = caught
            .iter()
            .copied()
            .find(|&c| c >= start)
            .unwrap_or(caught[0] + seeds);
        let n = first - start + 1;
        counts.push(n);
        walls.push(
            (0..n)
                .map(|k| times[((start + k) % seeds) as usize])
                .sum::<u64>(),
        );
    }
    counts.sort_unstable();
    walls.sort_unstable();
    (Some(counts[5]), Some(walls[5]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_counts_seeds_from_each_start_to_the_next_catch_wrapping_around() {
        // Caught at seeds 3 and 60 of 100; each seed took 2 ms.
        let times = vec![2; 100];
        let (seeds, ms) = to_detection(&[3, 60], &times, 100);
        // Starts 0,10,..,90 need 4, 51, 41, 31, 21, 11, 1, 34, 24, 14 seeds: the 6th smallest is 24.
        assert_eq!((seeds, ms), (Some(24), Some(48)));
        assert_eq!(to_detection(&[], &times, 100), (None, None));
    }
}
