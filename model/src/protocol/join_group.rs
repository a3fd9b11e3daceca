//! JoinGroup (API key 11): a consumer asks to join its group; the answer comes when the rebalance completes, and
//! the leader's answer lists every member's subscription so it can compute the assignment.

use super::consumer_protocol::Subscription;
use crate::error::ErrorCode;
use serde::{Deserialize, Serialize};

/// Kafka's empty member id: a member joining for the first time.
pub const UNKNOWN_MEMBER_ID: &str = "";

/// One assignment strategy a member supports (`partition.assignment.strategy`), with its subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinGroupProtocol {
    /// The assignor's name: "range", "roundrobin", "sticky", "cooperative-sticky".
    pub name: String,
    pub metadata: Subscription,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JoinGroupRequest {
    pub group_id: String,
    /// `session.timeout.ms`
    pub session_timeout_ms: u64,
    /// The rebalance timeout: the consumer's `max.poll.interval.ms`.
    pub rebalance_timeout_ms: u64,
    pub member_id: String,
    /// "consumer" for consumer groups.
    pub protocol_type: String,
    /// In the member's order of preference.
    pub protocols: Vec<JoinGroupProtocol>,
}

/// One member as the leader learns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinGroupMember {
    pub member_id: String,
    pub metadata: Subscription,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JoinGroupResponse {
    pub error: ErrorCode,
    /// -1 on error.
    pub generation_id: i32,
    /// The strategy the group chose.
    pub protocol_name: Option<String>,
    pub leader: String,
    /// The member's id (a new one with MEMBER_ID_REQUIRED, to join again with).
    pub member_id: String,
    /// Every member and its subscription, for the leader only.
    pub members: Vec<JoinGroupMember>,
}
