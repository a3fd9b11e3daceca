//! Loading scenario files (placeholder until the loader lands).

use super::Scenario;
use std::path::Path;

#[derive(Debug)]
pub struct ScenarioError(pub String);

pub fn load(_path: &Path) -> Result<Scenario, ScenarioError> {
    Err(ScenarioError("scenario loading is not written yet".into()))
}

pub fn parse(_text: &str, _file: &str) -> Result<Scenario, ScenarioError> {
    Err(ScenarioError("scenario loading is not written yet".into()))
}
