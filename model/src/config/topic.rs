//! A topic as created: its partition count, replication factor, and its effective topic-level configs.

use super::LogConfig;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicConfig {
    pub name: Arc<str>,
    pub partitions: i32,
    /// `replication.factor`
    pub replication_factor: i32,
    /// `min.insync.replicas` in force for this topic (the topic override, else the broker's).
    pub min_insync_replicas: usize,
    /// `unclean.leader.election.enable` in force for this topic.
    pub unclean_leader_election_enable: bool,
    /// `cleanup.policy`, `segment.ms`, `min.cleanable.dirty.ratio`: what the topic's logs obey.
    pub log: LogConfig,
}
