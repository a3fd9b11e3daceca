//! Kafka's `ConsumerGroupMetadata`: what a consumer in a group hands a transactional producer so the offsets it
//! sends to a transaction are checked against the group (KIP-447): the group, its generation and the member.

use crate::protocol::UNKNOWN_MEMBER_ID;

/// Kafka's `JoinGroupRequest.UNKNOWN_GENERATION_ID`: no generation (a consumer outside group management).
pub const UNKNOWN_GENERATION_ID: i32 = -1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerGroupMetadata {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    /// The consumer's `group.instance.id` (static membership).
    pub group_instance_id: Option<String>,
}

impl ConsumerGroupMetadata {
    /// Kafka's `new ConsumerGroupMetadata(groupId)`: the group alone, without a generation or member, so the
    /// group coordinator takes the offsets without checking a member (as before KIP-447).
    pub fn group_only(group_id: &str) -> Self {
        ConsumerGroupMetadata {
            group_id: group_id.to_string(),
            generation_id: UNKNOWN_GENERATION_ID,
            member_id: UNKNOWN_MEMBER_ID.to_string(),
            group_instance_id: None,
        }
    }
}
