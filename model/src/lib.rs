//! Pure Kafka state machines: brokers, controller and clients that take time and messages in and give messages out.
//!
//! Nothing in this crate reads a clock, draws randomness or does I/O. Time arrives as `now_ms`, inputs arrive as
//! messages and timer expiries, and every step returns [`Output`]s for the host (the `sim` crate) to carry out.

pub mod admin;
pub mod broker;
pub mod client;
pub mod config;
pub mod consumer;
pub mod controller;
pub mod error;
pub mod group;
pub mod ids;
pub mod internal_topics;
pub mod log;
pub mod observe;
pub mod output;
pub mod producer;
pub mod protocol;
pub mod record;
pub mod storage;
pub mod txn;

pub use error::ErrorCode;
pub use ids::{BrokerId, LeaderEpoch, NodeId, Offset, TopicPartition, NO_LEADER};
pub use output::Output;
pub use record::{Record, RecordBatch};
