//! OffsetCommit (API key 8) and OffsetFetch (API key 9): a group's committed positions, kept by its coordinator
//! in `__consumer_offsets`.

use crate::error::ErrorCode;
use crate::ids::{Offset, TopicPartition};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OffsetCommitRequest {
    pub group_id: String,
    /// -1 with an empty member id: a commit outside group management (allowed while the group is Empty).
    pub generation_id: i32,
    pub member_id: String,
    /// The next offset to consume, per partition.
    pub offsets: Vec<(TopicPartition, Offset)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OffsetCommitResponse {
    pub results: Vec<(TopicPartition, ErrorCode)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OffsetFetchRequest {
    pub group_id: String,
    /// None asks for every partition the group has committed.
    pub partitions: Option<Vec<TopicPartition>>,
    /// KIP-447: answer UNSTABLE_OFFSET_COMMIT for a partition with a commit still being stored, rather than an
    /// offset about to change (Kafka's consumer always asks this).
    pub require_stable: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OffsetFetchResponse {
    pub error: ErrorCode,
    /// The committed offset per partition (-1 for a partition with none), with the partition's error.
    pub offsets: Vec<(TopicPartition, Offset, ErrorCode)>,
}
