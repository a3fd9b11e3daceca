//! OffsetsForLeaderEpoch (API key 23): a follower asks where the leader's log ends for an epoch (KIP-101/KIP-279).

use crate::error::ErrorCode;
use crate::ids::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OffsetsForLeaderEpochRequest {
    pub replica_id: BrokerId,
    pub partitions: Vec<OffsetForLeaderPartition>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OffsetForLeaderPartition {
    pub topic_partition: TopicPartition,
    pub current_leader_epoch: LeaderEpoch,
    /// The epoch whose end offset is wanted: the follower's latest epoch.
    pub leader_epoch: LeaderEpoch,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OffsetsForLeaderEpochResponse {
    pub partitions: Vec<EpochEndOffset>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochEndOffset {
    pub topic_partition: TopicPartition,
    pub error: ErrorCode,
    /// The largest epoch on the leader that is <= the requested one.
    pub leader_epoch: LeaderEpoch,
    pub end_offset: Offset,
}
