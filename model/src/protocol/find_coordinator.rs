//! FindCoordinator (API key 10): which broker coordinates a transactional id (or, later, a consumer group).

use crate::error::ErrorCode;
use crate::ids::BrokerId;
use serde::{Deserialize, Serialize};

/// Kafka's `CoordinatorType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CoordinatorType {
    Group,
    Transaction,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FindCoordinatorRequest {
    /// The transactional id (or group id).
    pub key: String,
    pub key_type: CoordinatorType,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FindCoordinatorResponse {
    /// NONE, or COORDINATOR_NOT_AVAILABLE while the key's partition has no leader.
    pub error: ErrorCode,
    /// The leader of the key's partition of the internal topic; -1 on error.
    pub node_id: BrokerId,
}
