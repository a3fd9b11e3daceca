//! `ksim bugs`: the catalog of historic Kafka bugs, each put back into the model and hunted over seeds.

pub mod catalog;
pub mod hunt;

pub use catalog::{Bug, CATALOG};
pub use hunt::{hunt, hunt_with, Hunt};
