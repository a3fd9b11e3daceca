//! `ksim compare`: run a matrix of configurations against fault profiles and write its reports.

use super::{parse_seed_range, run as run_one, EXIT_BAD_INPUT, EXIT_OK};
use crate::compare::{claims, html, markdown, run, CompareReport, Matrix};
use crate::scenario;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct CompareArgs {
    matrix: PathBuf,
    /// Seeds per cell as A..B (B excluded); default: 0..the matrix's `seeds`.
    #[arg(long, value_parser = parse_seed_range)]
    seeds: Option<(u64, u64)>,
    /// Parallel runs (default: the number of cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Write compare-NAME.md, .json and .html into this folder instead of printing the Markdown.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run one seed (`--seed`) of the cell numbered N in the report (the `#` column) and print its report, as
    /// `ksim run` would; `--html` draws it.
    #[arg(long, requires = "seed", conflicts_with_all = ["out", "seeds", "jobs"])]
    cell: Option<usize>,
    #[arg(long, requires = "cell")]
    seed: Option<u64>,
    #[arg(long, requires = "cell")]
    html: Option<PathBuf>,
    /// Render the reports from this compare JSON (written by `--out`) instead of running the matrix again: for a
    /// change to the reports' presentation only.
    #[arg(long, requires = "out", conflicts_with = "cell")]
    from: Option<PathBuf>,
}

pub fn command(args: CompareArgs) -> ExitCode {
    let m = match scenario::load_matrix(&args.matrix) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if let (Some(n), Some(seed)) = (args.cell, args.seed) {
        return cell(&m, &args.matrix, n, seed, args.html.as_deref());
    }
    // Fail before hours of runs, not after.
    if let Some(Err(e)) = args.out.as_deref().map(std::fs::create_dir_all) {
        eprintln!("error: cannot create {}: {e}", args.out.unwrap().display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    match (args.from, args.out) {
        (Some(json), Some(out)) => rerender(&json, &out),
        (_, out) => compare(&m, args.seeds, args.jobs, out.as_deref()),
    }
}

/// One seed of cell `n`, reported as `ksim run` reports, with the command that reruns it.
fn cell(m: &Matrix, matrix: &Path, n: usize, seed: u64, html: Option<&Path>) -> ExitCode {
    let cells = m.cells();
    let Some(c) = cells.get(n) else {
        eprintln!(
            "error: {}: --cell {n}: the matrix has cells 0..{}",
            matrix.display(),
            cells.len()
        );
        return ExitCode::from(EXIT_BAD_INPUT);
    };
    let path = matrix.display().to_string();
    let command = format!("cargo run --release -p ksim -- compare {path} --cell {n} --seed {seed}");
    eprintln!("cell {n}: {} under {}", c.config.label(), c.profile.name);
    let request = run_one::Request {
        reproduce: Some(command),
        html,
        ..run_one::Request::default()
    };
    run_one::run(&m.scenario(c), &path, seed, request)
}

fn compare(
    matrix: &Matrix,
    seeds: Option<(u64, u64)>,
    jobs: Option<usize>,
    out: Option<&Path>,
) -> ExitCode {
    let seeds = seeds.unwrap_or((0, matrix.seeds));
    let jobs = crate::parallel::threads(jobs);
    let total = run::runs(matrix, seeds);
    let progress = ProgressBar::new(total);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs {elapsed} (eta {eta})").unwrap(),
    );
    // Wall-clock time measures this machine's speed for the user; it never reaches the (deterministic) report.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let report = run::run_matrix(matrix, seeds, jobs, &|| progress.inc(1));
    progress.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    if let Some(dir) = out {
        if let Err(code) = write(&report, dir) {
            return code;
        }
    } else {
        print!("{}", markdown::render(&report));
    }
    // A measurement of this machine, not part of the (deterministic) report.
    let simulated =
        total as f64 * (matrix.base.duration_ms + matrix.base.settle_ms) as f64 / 1000.0;
    eprintln!(
        "{total} runs in {wall:.1}s wall on {jobs} jobs: {:.1} runs/s, at least {:.0} simulated seconds per wall second",
        total as f64 / wall,
        simulated / wall
    );
    ExitCode::from(EXIT_OK)
}

/// Writes compare-NAME.md, .json and .html into `dir`.
fn write(report: &CompareReport, dir: &Path) -> Result<(), ExitCode> {
    let json = serde_json::to_string_pretty(report).expect("report serializes") + "\n";
    let files = [
        (
            format!("compare-{}.md", report.matrix),
            markdown::render(report),
        ),
        (format!("compare-{}.json", report.matrix), json),
        (
            format!("compare-{}.html", report.matrix),
            html::render(report),
        ),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return Err(ExitCode::from(EXIT_BAD_INPUT));
        }
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// Renders the reports again from a compare JSON, judging its cells against the guarantees again, without
/// running anything.
fn rerender(json: &Path, out: &Path) -> ExitCode {
    let mut report: CompareReport = match std::fs::read_to_string(json)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", json.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    // The guarantees follow from the cells: a change to how they are judged needs no new runs either.
    report.claims = claims::check(&report.cells, &report.profiles);
    match write(&report, out) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(code) => code,
    }
}
