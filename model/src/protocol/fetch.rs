//! Fetch (API key 1): followers replicate from leaders and consumers read, both naming the leader epoch (KIP-320).

use crate::error::ErrorCode;
use crate::ids::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use crate::record::RecordBatch;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FetchRequest {
    /// The fetching follower's broker id, or None for a consumer (Kafka's `replica_id` = -1).
    pub replica_id: Option<BrokerId>,
    pub max_wait_ms: u64,
    /// Answer once this many records are available (Kafka counts bytes; records are the unit here).
    pub min_records: usize,
    pub partitions: Vec<FetchPartition>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FetchPartition {
    pub topic_partition: TopicPartition,
    /// The leader epoch the fetcher believes current; None skips the KIP-320 check (old clients).
    pub current_leader_epoch: Option<LeaderEpoch>,
    pub fetch_offset: Offset,
    pub max_records: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FetchResponse {
    pub partitions: Vec<FetchPartitionResponse>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FetchPartitionResponse {
    pub topic_partition: TopicPartition,
    pub error: ErrorCode,
    pub high_watermark: Offset,
    pub log_start_offset: Offset,
    pub log_end_offset: Offset,
    pub batches: Vec<RecordBatch>,
}
