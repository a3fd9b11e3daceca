//! ksim: Kafka brokers, a controller and clients from `ksim-model`, hosted on madsim's simulated clock and network.

pub mod bench;
pub mod bugs;
pub mod checkers;
pub mod cli;
pub mod compare;
pub mod determinism;
pub mod history;
pub mod host;
pub mod nemesis;
pub mod parallel;
pub mod regressions;
pub mod report;
pub mod scenario;
pub mod shrink;
pub mod swarm;
pub mod sweep;
pub mod view;
pub mod workload;
