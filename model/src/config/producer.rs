//! Producer settings by Kafka's names, with Kafka 4's defaults.

use serde::{Deserialize, Serialize};

/// `acks`: how many replicas must have a record before the leader answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Acks {
    /// `acks=0`: fire and forget; the client never learns the outcome.
    None,
    /// `acks=1`: the leader's own append.
    Leader,
    /// `acks=all` (or -1): every member of the ISR, and at least `min.insync.replicas` of them.
    All,
}

impl Acks {
    /// The value on the wire.
    pub fn wire(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerConfig {
    /// `acks`
    pub acks: Acks,
    /// `retries`
    pub retries: u32,
    /// `retry.backoff.ms`
    pub retry_backoff_ms: u64,
    /// `request.timeout.ms`
    pub request_timeout_ms: u64,
    /// `delivery.timeout.ms`
    pub delivery_timeout_ms: u64,
    /// `max.in.flight.requests.per.connection`
    pub max_in_flight_requests_per_connection: usize,
    /// `linger.ms`
    pub linger_ms: u64,
    /// `batch.size` in bytes; a record counts as its key and value bytes plus Kafka's per-record overhead.
    pub batch_size: usize,
    /// `metadata.max.age.ms`
    pub metadata_max_age_ms: u64,
    /// `enable.idempotence`: true by default since Kafka 3.0; it needs acks=all, retries > 0 and at most 5
    /// requests in flight (scenario loading applies Kafka's rules for when it silently turns off).
    pub enable_idempotence: bool,
    /// `transactional.id`: set, the producer runs transactions (and idempotence must be on).
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms`: how long the coordinator lets a transaction stay open before aborting it.
    pub transaction_timeout_ms: u64,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            retries: i32::MAX as u32,
            retry_backoff_ms: 100,
            request_timeout_ms: 30_000,
            delivery_timeout_ms: 120_000,
            max_in_flight_requests_per_connection: 5,
            linger_ms: 5,
            batch_size: 16_384,
            metadata_max_age_ms: 300_000,
            enable_idempotence: true,
            transactional_id: None,
            transaction_timeout_ms: 60_000,
        }
    }
}
