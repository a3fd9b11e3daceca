//! CreatePartitions (API key 37): an admin client asks the controller to raise topics' partition counts.

use crate::error::ErrorCode;
use crate::ids::BrokerId;
use serde::{Deserialize, Serialize};

/// One topic to grow: `count` is the new total (Kafka's `NewPartitions.increaseTo`), never a delta.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePartitionsTopic {
    pub name: String,
    pub count: i32,
    /// The replicas of each new partition, in partition order; None lets the controller place them.
    pub assignments: Option<Vec<Vec<BrokerId>>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePartitionsRequest {
    pub topics: Vec<CreatePartitionsTopic>,
    /// How long the caller waits for the partitions to be created (the admin call's `timeoutMs`).
    pub timeout_ms: u64,
    /// Check the request and answer as if it were applied, changing nothing.
    pub validate_only: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePartitionsTopicResult {
    pub name: String,
    pub error: ErrorCode,
    pub error_message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePartitionsResponse {
    /// One result per requested topic, in request order.
    pub results: Vec<CreatePartitionsTopicResult>,
}
