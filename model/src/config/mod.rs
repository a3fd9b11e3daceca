//! Configurations by Kafka's names and with Kafka's defaults.

mod broker;
mod producer;
mod consumer;
mod topic;

pub use broker::BrokerConfig;
pub use consumer::ConsumerConfig;
pub use producer::{Acks, ProducerConfig};
pub use topic::TopicConfig;
