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
    /// `isolation.level`: how far a consumer may read (followers always read to the log end).
    pub isolation_level: IsolationLevel,
    pub partitions: Vec<FetchPartition>,
}

/// `isolation.level`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IsolationLevel {
    /// Up to the high watermark, open and aborted transactions included (Kafka's default).
    #[default]
    ReadUncommitted,
    /// Up to the last stable offset, with the aborted transactions to skip named.
    ReadCommitted,
}

/// A transaction aborted here that a read_committed consumer must skip: its producer's transactional batches
/// from `first_offset` up to its abort marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortedTransaction {
    pub producer_id: i64,
    pub first_offset: Offset,
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
    /// Where open transactions begin (no further than the high watermark); -1 on error.
    pub last_stable_offset: Offset,
    /// For read_committed: the aborted transactions with records among `batches`.
    pub aborted_transactions: Vec<AbortedTransaction>,
    pub batches: Vec<RecordBatch>,
}
