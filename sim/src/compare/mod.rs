//! `ksim compare`: which `acks`, `min.insync.replicas`, `replication.factor`, `unclean.leader.election.enable` and
//! `enable.idempotence` to run, measured under fault profiles over many seeds, with Kafka's documented
//! guarantees held against the measurements, as Markdown, JSON and an HTML page.

pub mod cell;
pub mod charts;
pub mod claims;
pub mod columns;
pub mod histogram;
pub mod html;
pub mod markdown;
pub mod matrix;
pub mod measure;
pub mod run;

pub use matrix::Matrix;
pub use run::{run_matrix, CompareReport};
#[cfg(test)]
mod tests;
