//! Running a matrix: every (cell, seed) pair on a pool of threads, each a fresh simulation, then the cells'
//! results and the documented guarantees held against them.

use super::cell::CellResult;
use super::claims::{self, Claim};
use super::matrix::{Matrix, Profile, VerdictRules};
use super::measure::SeedMeasure;
use crate::host::run_seed;
use crate::parallel::in_parallel;
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};

/// Everything `ksim compare` found: a pure function of the matrix and the seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompareReport {
    pub matrix: String,
    pub description: String,
    pub base: String,
    /// Seeds A..B (B excluded), the same in every cell.
    pub seeds: (u64, u64),
    pub duration_ms: u64,
    pub settle_ms: u64,
    pub verdict_rules: VerdictRules,
    pub profiles: Vec<Profile>,
    pub cells: Vec<CellResult>,
    pub claims: Vec<Claim>,
}

impl CompareReport {
    /// The cells of one profile, in configuration order.
    pub fn cells_of<'a>(&'a self, profile: &'a str) -> impl Iterator<Item = &'a CellResult> + 'a {
        self.cells.iter().filter(move |c| c.profile == profile)
    }

    /// The same with each cell's number (what `ksim compare --cell` takes).
    pub fn numbered_cells_of<'a>(
        &'a self,
        profile: &'a str,
    ) -> impl Iterator<Item = (usize, &'a CellResult)> + 'a {
        self.cells
            .iter()
            .enumerate()
            .filter(move |(_, c)| c.profile == profile)
    }
}

/// How many simulations a matrix runs over `seeds`.
pub fn runs(matrix: &Matrix, seeds: (u64, u64)) -> u64 {
    matrix.cells().len() as u64 * (seeds.1 - seeds.0)
}

/// Runs every cell over seeds A..B on `jobs` threads, calling `on_done` after each simulation.
pub fn run_matrix(
    matrix: &Matrix,
    seeds: (u64, u64),
    jobs: usize,
    on_done: &(dyn Fn() + Sync),
) -> CompareReport {
    let every: Vec<usize> = (0..matrix.cells().len()).collect();
    let results = run_cells(matrix, &every, seeds, jobs, on_done);
    CompareReport {
        matrix: matrix.name.clone(),
        description: matrix.description.clone(),
        base: matrix.base_path.clone(),
        seeds,
        duration_ms: matrix.base.duration_ms,
        settle_ms: matrix.base.settle_ms,
        verdict_rules: matrix.verdict,
        profiles: matrix.profiles.clone(),
        claims: claims::check(&results, &matrix.profiles),
        cells: results,
    }
}

/// Runs the cells at `indices` (into [`Matrix::cells`]) over seeds A..B on `jobs` threads: every (cell, seed)
/// pair is one job, so a slow cell does not hold a thread while others wait.
pub fn run_cells(
    matrix: &Matrix,
    indices: &[usize],
    seeds: (u64, u64),
    jobs: usize,
    on_done: &(dyn Fn() + Sync),
) -> Vec<CellResult> {
    let all = matrix.cells();
    let cells: Vec<_> = indices.iter().map(|&i| all[i]).collect();
    let scenarios: Vec<Scenario> = cells.iter().map(|c| matrix.scenario(c)).collect();
    let per_cell = (seeds.1 - seeds.0) as usize;
    let measured = in_parallel(scenarios.len() * per_cell, jobs, |job| {
        let (cell, seed) = (job / per_cell, seeds.0 + (job % per_cell) as u64);
        let scenario = &scenarios[cell];
        let m = SeedMeasure::of(&run_seed(scenario, seed), scenario);
        on_done();
        m
    });
    // Job order is cell by cell, seed by seed within each (a seed range is never empty).
    let measured: Vec<&[SeedMeasure]> = measured.chunks(per_cell).collect();
    cells
        .iter()
        .zip(&scenarios)
        .zip(measured)
        .map(|((cell, scenario), seeds)| {
            CellResult::of(
                &cell.profile.name,
                cell.config,
                scenario.brokers,
                seeds,
                &matrix.verdict,
            )
        })
        .collect()
}
