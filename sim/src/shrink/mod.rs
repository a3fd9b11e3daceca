//! Shrinking a failing run to a small reproduction: the seed's drawn faults become a scripted timeline, then faults,
//! fault windows, brokers, the run's length and the workload are cut for as long as the same violation kind shows.

mod edits;
pub mod search;

pub use edits::{with_schedule, Size};

use crate::checkers::ViolationKind;
use crate::host::run_seed;
use crate::report::{self, RunReport};
use crate::scenario::{self, ScenarioError};
use std::fmt;

/// A shrink's result: the smallest failing scenario found, and how it got there.
#[derive(Clone, Debug)]
pub struct Shrunk {
    pub kind: ViolationKind,
    pub seed: u64,
    /// The shrunk scenario's text, as run.
    pub text: String,
    pub before: Size,
    pub after: Size,
    /// Runs the search made.
    pub runs: u64,
    /// The shrunk scenario's run.
    pub report: RunReport,
}

#[derive(Debug)]
pub enum ShrinkError {
    /// The scenario file does not load.
    Scenario(ScenarioError),
    /// The run shows no violation (or not the one asked for): there is nothing to shrink.
    NothingToShrink(String),
}

impl fmt::Display for ShrinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShrinkError::Scenario(e) => write!(f, "{e}"),
            ShrinkError::NothingToShrink(why) => f.write_str(why),
        }
    }
}

/// The kinds a run of `text` at `seed` shows (violations, and the counted duplicates and reorders), or None when
/// the text is not a valid scenario (a reduction can make it one the loader refuses).
fn kinds(text: &str, seed: u64) -> Option<(Vec<ViolationKind>, RunReport)> {
    let s = scenario::parse(text, "candidate").ok()?;
    let r = report::build(&s, "candidate", &run_seed(&s, seed));
    Some((report::kinds_seen(&r).into_iter().collect(), r))
}

/// Shrinks the run of the scenario `text` (read from `file`) at `seed`, keeping violation `kind` (default: the
/// first the scenario does not allow, else the first shown). `on_step` hears each smaller scenario taken.
pub fn shrink(
    text: &str,
    file: &str,
    seed: u64,
    kind: Option<ViolationKind>,
    jobs: usize,
    mut on_step: impl FnMut(&Size),
) -> Result<Shrunk, ShrinkError> {
    let s = scenario::parse(text, file).map_err(ShrinkError::Scenario)?;
    let output = run_seed(&s, seed);
    let first = report::build(&s, file, &output);
    let shown = report::kinds_seen(&first);
    let kind = match kind {
        Some(k) if shown.contains(&k) => k,
        Some(k) => {
            return Err(ShrinkError::NothingToShrink(format!(
                "seed {seed} of {file} shows no {k} (it shows: {})",
                names(&shown)
            )))
        }
        None => first
            .unexpected
            .first()
            .or(first.violations.first().map(|v| &v.kind))
            .or(shown.first())
            .copied()
            .ok_or_else(|| {
                ShrinkError::NothingToShrink(format!("seed {seed} of {file} shows no violation"))
            })?,
    };
    let before = Size {
        faults: output.schedule.len() as u64,
        ..edits::size(text)
    };
    let scripted = edits::with_schedule(text, &output.schedule);
    if !kinds(&scripted, seed).is_some_and(|(k, _)| k.contains(&kind)) {
        // The schedule as a timeline replays the run exactly (`RandomFaults::apply`): this is a bug of ksim's.
        return Err(ShrinkError::NothingToShrink(format!(
            "the faults seed {seed} drew, written as a timeline, no longer show {kind}: a determinism bug, please report it"
        )));
    }
    let fails = |t: &String| kinds(t, seed).is_some_and(|(k, _)| k.contains(&kind));
    let (text, search_runs) = search::minimize(
        scripted,
        |t: &String| edits::reductions(t),
        fails,
        jobs,
        |t| on_step(&edits::size(t)),
    );
    let runs = 1 + search_runs;
    let (_, report) = kinds(&text, seed).expect("the shrunk scenario ran in the search");
    Ok(Shrunk {
        kind,
        seed,
        after: edits::size(&text),
        text,
        before,
        runs,
        report,
    })
}

/// The shrunk scenario as a file named `name`, headed by a comment saying where it came from.
pub fn to_file(shrunk: &Shrunk, name: &str, origin: &str) -> String {
    let description = format!(
        "{} at seed {}, shrunk from {origin}",
        shrunk.kind, shrunk.seed
    );
    let body = edits::finish(&shrunk.text, name, &description, shrunk.kind.name());
    let head = format!(
        "# Shrunk by `ksim shrink {origin}`: {} in {} runs.\n\
         # From {} to {}.\n\
         # Reproduce: ksim run <this file> --seed {} (fails with {}).\n\n",
        shrunk.kind,
        shrunk.runs,
        describe(&shrunk.before),
        describe(&shrunk.after),
        shrunk.seed,
        shrunk.kind,
    );
    format!("{head}{body}")
}

/// A size as a sentence: "3 faults, 3 brokers, 1 partition, 3 clients at 100 records/s, 60000 ms + 30000 ms settle".
pub fn describe(s: &Size) -> String {
    let plural = |n: u64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}, {}, {} at {} records/s, {} ms + {} ms settle",
        plural(s.faults, "fault"),
        plural(s.brokers, "broker"),
        plural(s.partitions, "partition"),
        plural(s.clients, "client"),
        s.records_per_second,
        s.duration_ms,
        s.settle_ms
    )
}

fn names(kinds: &std::collections::BTreeSet<ViolationKind>) -> String {
    if kinds.is_empty() {
        return "none".to_string();
    }
    kinds
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}
