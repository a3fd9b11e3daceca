//! Configurations by Kafka's names and with Kafka's defaults.

mod broker;
mod producer;
mod consumer;

pub use broker::BrokerConfig;
pub use consumer::ConsumerConfig;
pub use producer::{Acks, ProducerConfig};
