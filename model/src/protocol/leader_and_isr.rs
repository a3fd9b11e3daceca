//! LeaderAndIsr (API key 4) and UpdateMetadata (API key 6): the controller tells brokers who leads what.

use crate::error::ErrorCode;
use crate::ids::{BrokerId, LeaderEpoch, TopicPartition};
use crate::protocol::PartitionMetadata;
use serde::{Deserialize, Serialize};

/// A partition's state as the controller decided it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderAndIsrPartitionState {
    pub topic_partition: TopicPartition,
    pub leader: BrokerId,
    pub leader_epoch: LeaderEpoch,
    pub isr: Vec<BrokerId>,
    /// Bumped on every change of leader or ISR (the ZooKeeper znode version in Kafka's ZK mode).
    pub partition_epoch: i32,
    pub replicas: Vec<BrokerId>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LeaderAndIsrRequest {
    pub controller_epoch: i32,
    /// The receiving broker's registration epoch, so a request meant for an earlier incarnation is rejected.
    pub broker_epoch: i64,
    pub partition_states: Vec<LeaderAndIsrPartitionState>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LeaderAndIsrResponse {
    pub error: ErrorCode,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UpdateMetadataRequest {
    pub controller_epoch: i32,
    pub live_brokers: Vec<BrokerId>,
    pub partitions: Vec<PartitionMetadata>,
}
