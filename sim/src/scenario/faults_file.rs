//! A run's fault schedule as a file: `[[at]]` entries in the syntax of a scenario's `[[faults.at]]`, written by
//! `ksim run --faults-out` and replayed by `ksim run --faults`.

use super::ScheduledFault;
use crate::nemesis::fault::Fault;
use serde::Serialize;

#[derive(Serialize)]
struct File<'a> {
    at: Vec<Entry<'a>>,
}

/// One entry, the fault's `kind` and fields beside its time, as the scenario loader reads them.
#[derive(Serialize)]
struct Entry<'a> {
    at_ms: u64,
    duration_ms: u64,
    #[serde(flatten)]
    fault: &'a Fault,
}

/// The schedule as TOML, headed by `comment` (each line prefixed with `# `).
pub fn to_toml(schedule: &[ScheduledFault], comment: &str) -> String {
    let file = File {
        at: schedule
            .iter()
            .map(|f| Entry {
                at_ms: f.at_ms,
                duration_ms: f.duration_ms,
                fault: &f.fault,
            })
            .collect(),
    };
    let body = toml::to_string(&file).expect("a schedule serializes");
    let head: String = comment.lines().map(|l| format!("# {l}\n")).collect();
    format!("{head}{body}")
}
