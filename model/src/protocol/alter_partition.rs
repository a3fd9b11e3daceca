//! AlterPartition (API key 56): a leader asks the controller to shrink or expand its ISR.

use crate::error::ErrorCode;
use crate::ids::{BrokerId, LeaderEpoch, TopicPartition};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AlterPartitionRequest {
    pub broker_id: BrokerId,
    pub broker_epoch: i64,
    pub topic_partition: TopicPartition,
    pub leader_epoch: LeaderEpoch,
    pub new_isr: Vec<BrokerId>,
    /// The partition epoch the leader last saw; a mismatch is INVALID_UPDATE_VERSION.
    pub partition_epoch: i32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AlterPartitionResponse {
    pub topic_partition: TopicPartition,
    pub error: ErrorCode,
    pub leader: BrokerId,
    pub leader_epoch: LeaderEpoch,
    pub isr: Vec<BrokerId>,
    pub partition_epoch: i32,
}
