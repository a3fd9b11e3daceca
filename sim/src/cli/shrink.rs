//! `ksim shrink`: a failing seed reduced to a small scenario file that fails the same way, checked by running the
//! written file twice.

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATION};
use crate::checkers::ViolationKind;
use crate::host::run_seed;
use crate::report;
use crate::scenario::{self, faults_file};
use crate::shrink::{self, describe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ShrinkArgs {
    /// The scenario whose seed fails.
    scenario: PathBuf,
    #[arg(long)]
    seed: u64,
    /// The violation kind to keep (default: the first the scenario does not allow, else the first shown).
    #[arg(long)]
    kind: Option<String>,
    /// Where to write the shrunk scenario (default: NAME-seed-N-shrunk.toml here); its stem becomes its name.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Candidates run at once (default: the number of cores); the result is the same for any number.
    #[arg(long)]
    jobs: Option<usize>,
}

pub fn command(args: ShrinkArgs) -> ExitCode {
    let bad = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let kind = match args
        .kind
        .as_deref()
        .map(|k| (k, ViolationKind::from_name(k)))
    {
        None => None,
        Some((_, Some(k))) => Some(k),
        Some((k, None)) => return bad(format!("--kind {k} is no violation kind")),
    };
    let s = match scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(e) => return bad(e.to_string()),
    };
    let text = std::fs::read_to_string(&args.scenario).expect("the scenario was just read");
    let file = args.scenario.display().to_string();
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("{}-seed-{}-shrunk.toml", s.name, args.seed)));
    let Some(name) = out.file_stem().and_then(|n| n.to_str()).map(str::to_owned) else {
        return bad(format!("--out {} has no file name", out.display()));
    };
    let jobs = crate::parallel::threads(args.jobs);
    eprintln!("shrinking {file} seed {}", args.seed);
    let shrunk = match shrink::shrink(&text, &file, args.seed, kind, jobs, |size| {
        eprintln!("  smaller: {}", describe(size))
    }) {
        Ok(shrunk) => shrunk,
        Err(e) => return bad(e.to_string()),
    };
    let origin = format!("{file} --seed {}", args.seed);
    if let Err(e) = std::fs::write(&out, shrink::to_file(&shrunk, &name, &origin)) {
        return bad(format!("cannot write {}: {e}", out.display()));
    }
    println!(
        "{} at seed {}: shrunk in {} runs from {} to {}",
        shrunk.kind,
        shrunk.seed,
        shrunk.runs,
        describe(&shrunk.before),
        describe(&shrunk.after)
    );
    println!("\nthe minimal fault schedule:");
    print!("{}", faults_file::to_toml(&shrunk.report.faults, ""));
    let shown: Vec<_> = shrunk
        .report
        .violations
        .iter()
        .filter(|v| v.kind == shrunk.kind)
        .collect();
    println!();
    for v in shown.iter().take(3) {
        println!("{}: {}", v.kind, v.message);
    }
    if shown.len() > 3 {
        println!("... and {} more", shown.len() - 3);
    }
    verify(&out, shrunk.seed, shrunk.kind)
}

/// Loads the written file as `ksim run` would and runs it twice: it must show the kind both times, with one trace.
fn verify(out: &Path, seed: u64, kind: ViolationKind) -> ExitCode {
    let s = match scenario::load(out) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: the written file does not load: {e}");
            return ExitCode::from(EXIT_VIOLATION);
        }
    };
    let path = out.display().to_string();
    let runs: Vec<_> = (0..2)
        .map(|_| report::build(&s, &path, &run_seed(&s, seed)))
        .collect();
    let shows = runs.iter().all(|r| report::kinds_seen(r).contains(&kind));
    let same = runs[0].trace_hash == runs[1].trace_hash;
    println!(
        "\nwrote {path}: `ksim run {path} --seed {seed}` {} {kind}, trace hash {} {}",
        if shows { "fails with" } else { "DOES NOT show" },
        runs[0].trace_hash,
        if same {
            "in two runs"
        } else {
            "DIFFERS between two runs"
        },
    );
    if shows && same {
        ExitCode::from(EXIT_OK)
    } else {
        ExitCode::from(EXIT_VIOLATION)
    }
}
