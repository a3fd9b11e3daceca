//! Configurations by Kafka's names and with Kafka's defaults.

mod broker;
mod consumer;
mod fixes;
mod log;
mod producer;
mod topic;

pub use broker::BrokerConfig;
pub use consumer::{ConsumerConfig, GroupMemberConfig};
pub use fixes::{Fix, Fixes};
pub use log::{CleanupPolicy, LogConfig, DEFAULT_MIN_CLEANABLE_DIRTY_RATIO, DEFAULT_SEGMENT_MS};
pub use producer::{Acks, ProducerConfig};
pub use topic::TopicConfig;
