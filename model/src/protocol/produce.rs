//! Produce (API key 0): a client appends batches to partition leaders.

use crate::error::ErrorCode;
use crate::ids::{Offset, TopicPartition};
use crate::record::{BatchAttributes, BatchProducer, Record};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProduceRequest {
    /// 0, 1 or -1 (all).
    pub acks: i16,
    /// How long the leader may wait for the ISR before answering REQUEST_TIMED_OUT (the client's `request.timeout.ms`).
    pub timeout_ms: u64,
    pub partitions: Vec<ProducePartition>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProducePartition {
    pub topic_partition: TopicPartition,
    pub records: Arc<[Record]>,
    /// The batch header's producer id, epoch and base sequence; None from a producer without idempotence.
    pub producer: Option<BatchProducer>,
    /// The batch header's attributes: transactional or not (clients never send control batches).
    pub attributes: BatchAttributes,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProduceResponse {
    pub partitions: Vec<ProducePartitionResponse>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProducePartitionResponse {
    pub topic_partition: TopicPartition,
    pub error: ErrorCode,
    /// The offset of the batch's first record, or -1 on error.
    pub base_offset: Offset,
}
