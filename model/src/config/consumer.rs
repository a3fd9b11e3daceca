//! Consumer settings by Kafka's names and defaults (the subset a partition reader needs).

use crate::protocol::IsolationLevel;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerConfig {
    /// `fetch.max.wait.ms`
    pub fetch_max_wait_ms: u64,
    /// `max.poll.records`
    pub max_poll_records: usize,
    /// `request.timeout.ms`
    pub request_timeout_ms: u64,
    /// `retry.backoff.ms`
    pub retry_backoff_ms: u64,
    /// `metadata.max.age.ms`
    pub metadata_max_age_ms: u64,
    /// `isolation.level`
    pub isolation_level: IsolationLevel,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            fetch_max_wait_ms: 500,
            max_poll_records: 500,
            request_timeout_ms: 30_000,
            retry_backoff_ms: 100,
            metadata_max_age_ms: 300_000,
            isolation_level: IsolationLevel::ReadUncommitted,
        }
    }
}
