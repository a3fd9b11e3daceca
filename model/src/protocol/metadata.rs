//! Metadata (API key 3): clients learn each partition's leader, and brokers learn it from UpdateMetadata.

use crate::error::ErrorCode;
use crate::ids::{BrokerId, LeaderEpoch, TopicPartition};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MetadataRequest {
    /// None asks for every topic.
    pub topics: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionMetadata {
    pub topic_partition: TopicPartition,
    pub error: ErrorCode,
    pub leader: BrokerId,
    pub leader_epoch: LeaderEpoch,
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MetadataResponse {
    pub brokers: Vec<BrokerId>,
    pub partitions: Vec<PartitionMetadata>,
}
