//! Regression seeds: every failure ever found, as (scenario, seed, violation, note), replayed to show each stays
//! fixed. The file is `scenarios/regressions/seeds.toml`; scenario names resolve in its parent folder.

use crate::checkers::ViolationKind;
use crate::host::run_seed;
use crate::report;
use crate::scenario;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regression {
    /// A scenario of the library, by name.
    pub scenario: String,
    pub seed: u64,
    /// What the seed showed before its fix.
    pub violation: ViolationKind,
    /// What went wrong, and what fixed it.
    pub note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    regression: Vec<Regression>,
}

/// The regressions in `path`, or an error naming the file and line.
pub fn load(path: &Path) -> Result<Vec<Regression>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: File = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map_or(0, |s| text[..s.start].matches('\n').count() + 1);
        format!("{}:{line}: {}", path.display(), e.message())
    })?;
    Ok(file.regression)
}

/// The scenario file a regression names, beside the regressions' folder.
pub fn scenario_path(regressions: &Path, r: &Regression) -> PathBuf {
    let scenarios = regressions
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    scenarios.join(format!("{}.toml", r.scenario))
}

/// Replays one regression: None when it stays fixed, else what went wrong.
pub fn replay(regressions: &Path, r: &Regression) -> Option<String> {
    let path = scenario_path(regressions, r);
    let s = match scenario::load(&path) {
        Ok(s) => s,
        Err(e) => return Some(format!("cannot load its scenario: {e}")),
    };
    let run = run_seed(&s, r.seed);
    let rep = report::build(&s, &path.display().to_string(), &run);
    if report::kinds_seen(&rep).contains(&r.violation) {
        return Some(format!(
            "shows {} again; reproduce: {}",
            r.violation, rep.reproduce
        ));
    }
    if !rep.ok {
        let kinds: Vec<&str> = rep.unexpected.iter().map(|k| k.name()).collect();
        return Some(format!(
            "shows {} its scenario does not allow; reproduce: {}",
            kinds.join(", "),
            rep.reproduce
        ));
    }
    None
}
