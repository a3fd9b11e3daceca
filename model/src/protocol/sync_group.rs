//! SyncGroup (API key 14): after JoinGroup, the leader sends the assignment it computed and every member gets
//! its own part back.

use super::consumer_protocol::Assignment;
use crate::error::ErrorCode;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SyncGroupRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    /// From the leader: every member's assignment; empty from the others.
    pub assignments: Vec<(String, Assignment)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SyncGroupResponse {
    pub error: ErrorCode,
    pub assignment: Assignment,
}
