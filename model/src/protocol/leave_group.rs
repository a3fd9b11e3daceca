//! LeaveGroup (API key 13): members leave their group (on close, or when `max.poll.interval.ms` runs out), which
//! starts a rebalance at once instead of after their session timeout.

use crate::error::ErrorCode;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LeaveGroupRequest {
    pub group_id: String,
    pub members: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LeaveGroupResponse {
    pub error: ErrorCode,
    /// Each leaving member's own error.
    pub members: Vec<(String, ErrorCode)>,
}
