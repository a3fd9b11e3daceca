//! Loading a scenario file: TOML in, a whole validated Scenario out, or one error naming file, line, column and key.
//!
//! The document is parsed into toml's spanned tree (`DeTable`) and walked by hand rather than through serde, so every
//! error, from a wrong type to an impossible cluster, can name the full key path and point at its line.

mod faults;
mod group;
mod kafka;
mod matrix;
mod sections;
#[cfg(test)]
mod tests;
mod walk;

use super::{Scenario, ScheduledFault};
use std::fmt;
use std::ops::Range;
use std::path::Path;
use toml::de::DeTable;
use walk::{Bad, Table};

/// Why a scenario did not load. `line` and `column` are 1-based; both are 0 when the file could not be read at all.
/// `key` is the TOML path of the offending key (`broker."min.insync.replicas"`, `topic[0].name`), or empty when
/// a syntax error names none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file, self.message),
            line => write!(f, "{}:{line}:{}: {}", self.file, self.column, self.message),
        }
    }
}

impl std::error::Error for ScenarioError {}

/// Reads and validates the scenario at `path`; its `name` must equal the file's stem.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let (file, text) = read(path, "scenario")?;
    let stem = path.file_stem().and_then(|s| s.to_str());
    parse_named(&text, &file, stem)
}

/// The file's name as errors give it, and its text; `what` names the kind of file in the error.
fn read(path: &Path, what: &str) -> Result<(String, String), ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        line: 0,
        column: 0,
        key: String::new(),
        message: format!("cannot read the {what}: {e}"),
    })?;
    Ok((file, text))
}

/// Reads and validates a comparison matrix; its `base` scenario is resolved against the matrix file's folder and
/// its `name` must equal the file's stem.
pub fn load_matrix(path: &Path) -> Result<crate::compare::Matrix, ScenarioError> {
    let (file, text) = read(path, "matrix")?;
    let stem = path.file_stem().and_then(|s| s.to_str());
    let dir = path.parent().unwrap_or(Path::new("."));
    let doc = DeTable::parse(&text).map_err(|e| syntax_error(&e, &text, &file))?;
    matrix::matrix(&Table::root(&doc), stem, dir).map_err(|f| match f {
        matrix::Failure::Here(bad) => locate(bad, &text, &file),
        matrix::Failure::Base(e) => e,
    })
}

/// Reads a fault schedule for `scenario` (`ksim run --faults`), checked as the scenario's own `[[faults.at]]`
/// entries are: brokers that exist, starts inside the fault phase, targets the scenario has.
pub fn load_faults(path: &Path, scenario: &Scenario) -> Result<Vec<ScheduledFault>, ScenarioError> {
    let (file, text) = read(path, "fault schedule")?;
    let doc = DeTable::parse(&text).map_err(|e| syntax_error(&e, &text, &file))?;
    faults::schedule(&Table::root(&doc), &faults::Limits::of(scenario))
        .map_err(|bad| locate(bad, &text, &file))
}

/// Validates a scenario from text; `file` only names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    parse_named(text, file, None)
}

fn parse_named(text: &str, file: &str, stem: Option<&str>) -> Result<Scenario, ScenarioError> {
    let doc = DeTable::parse(text).map_err(|e| syntax_error(&e, text, file))?;
    sections::scenario(&Table::root(&doc), stem).map_err(|bad| locate(bad, text, file))
}

fn locate(bad: Bad, text: &str, file: &str) -> ScenarioError {
    let (line, column) = position(text, bad.span.start);
    ScenarioError {
        file: file.to_owned(),
        line,
        column,
        key: bad.key,
        message: bad.message,
    }
}

/// toml's own errors carry a span but no key; the key is read off the offending line (`key = ...` or `[table]`).
fn syntax_error(e: &toml::de::Error, text: &str, file: &str) -> ScenarioError {
    let span = e.span().unwrap_or(0..0);
    let key = key_on_line(text, &span);
    let detail = e.message().trim().replace('\n', "; ");
    let message = match key.as_str() {
        "" => format!("TOML syntax error: {detail}"),
        key => format!("TOML syntax error at {key}: {detail}"),
    };
    locate(Bad { span, key, message }, text, file)
}

fn key_on_line(text: &str, span: &Range<usize>) -> String {
    let start = floor_boundary(text, span.start);
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("").trim();
    let key = match line.strip_prefix('[') {
        Some(header) => header
            .trim_start_matches('[')
            .split(']')
            .next()
            .unwrap_or(""),
        None => line
            .split('=')
            .next()
            .filter(|_| line.contains('='))
            .unwrap_or(""),
    };
    let looks_like_key = key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.\" ".contains(c));
    if looks_like_key {
        key.trim().to_owned()
    } else {
        String::new()
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..floor_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}
