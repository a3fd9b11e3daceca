//! The consumer protocol carried inside the group messages (Kafka's `ConsumerProtocol`): what a member subscribes
//! to and owns, and what the leader assigns it. Kafka serialises these into bytes; here they stay typed.

use crate::ids::TopicPartition;
use serde::{Deserialize, Serialize};

/// A member's `ConsumerProtocolSubscription`: its topics, and (for the sticky assignors) what it owns now and
/// in which generation it got it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub topics: Vec<String>,
    pub owned_partitions: Vec<TopicPartition>,
    /// The generation the owned partitions come from; -1 when unknown.
    pub generation_id: i32,
}

/// A member's `ConsumerProtocolAssignment`: the partitions it is to consume.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub partitions: Vec<TopicPartition>,
}
