//! ksim: Kafka brokers, a controller and clients from `ksim-model`, hosted on madsim's simulated clock and network.

pub mod checkers;
pub mod history;
pub mod nemesis;
pub mod scenario;
