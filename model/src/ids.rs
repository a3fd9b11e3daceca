//! Identifiers shared by every node: brokers, nodes on the network, partitions, offsets and epochs.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Kafka's `broker.id`.
pub type BrokerId = i32;
/// A position in a partition's log.
pub type Offset = i64;
/// Kafka's leader epoch: bumped by the controller on every leader change of a partition.
pub type LeaderEpoch = i32;

/// Kafka's sentinel for "no epoch known" (`UNDEFINED_EPOCH`).
pub const UNDEFINED_EPOCH: LeaderEpoch = -1;
/// Kafka's sentinel for "no offset known" (`UNDEFINED_EPOCH_OFFSET`).
pub const UNDEFINED_OFFSET: Offset = -1;
/// Kafka's `LeaderAndIsr.NoLeader`.
pub const NO_LEADER: BrokerId = -1;

/// Every addressable process in the simulated cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NodeId {
    Broker(BrokerId),
    Controller,
    Client(u32),
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeId::Broker(id) => write!(f, "broker-{id}"),
            NodeId::Controller => write!(f, "controller"),
            NodeId::Client(id) => write!(f, "client-{id}"),
        }
    }
}

/// A topic name and partition index. The name is shared, so cloning a partition id never copies the string.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicPartition {
    pub topic: Arc<str>,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<Arc<str>>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}
