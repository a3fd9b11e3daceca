//! TxnOffsetCommit (API key 28): a transactional producer writes a consumer group's offsets into its transaction
//! (the second half of `sendOffsetsToTransaction`, after AddOffsetsToTxn); they become the group's committed
//! offsets only when the transaction commits. KIP-447 added the member fields so the group coordinator can refuse
//! offsets from a consumer that no longer owns its partitions.

use crate::error::ErrorCode;
use crate::ids::{Offset, TopicPartition};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TxnOffsetCommitRequest {
    pub transactional_id: String,
    pub group_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// The consumer's generation (KIP-447); -1 when the producer does not speak for a group member.
    pub generation_id: i32,
    /// The consumer's member id; empty (`UNKNOWN_MEMBER_ID`) without one.
    pub member_id: String,
    /// The consumer's `group.instance.id`, for a static member.
    pub group_instance_id: Option<String>,
    /// The next offset to consume, per partition.
    pub offsets: Vec<(TopicPartition, Offset)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TxnOffsetCommitResponse {
    pub results: Vec<(TopicPartition, ErrorCode)>,
}
