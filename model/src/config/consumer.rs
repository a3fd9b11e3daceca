//! Consumer settings by Kafka's names and defaults (the subset a partition reader needs).

use super::Fixes;
use crate::consumer::StartPosition;
use crate::group::assignor::Assignor;
use crate::protocol::IsolationLevel;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerConfig {
    /// `fetch.max.wait.ms`
    pub fetch_max_wait_ms: u64,
    /// `max.poll.records`
    pub max_poll_records: usize,
    /// `request.timeout.ms`
    pub request_timeout_ms: u64,
    /// `retry.backoff.ms`
    pub retry_backoff_ms: u64,
    /// `metadata.max.age.ms`
    pub metadata_max_age_ms: u64,
    /// `isolation.level`
    pub isolation_level: IsolationLevel,
    /// Kafka fixes this client has reverted (a run's `[model] revert`; none by default).
    #[serde(default)]
    pub fixes: Fixes,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            fetch_max_wait_ms: 500,
            max_poll_records: 500,
            request_timeout_ms: 30_000,
            retry_backoff_ms: 100,
            metadata_max_age_ms: 300_000,
            isolation_level: IsolationLevel::ReadUncommitted,
            fixes: Fixes::default(),
        }
    }
}

/// A group member's settings (`group.id` and the group-management configs), by Kafka's names and defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMemberConfig {
    /// `group.id`
    pub group_id: String,
    /// `session.timeout.ms`
    pub session_timeout_ms: u64,
    /// `heartbeat.interval.ms`
    pub heartbeat_interval_ms: u64,
    /// `max.poll.interval.ms`, also sent as the rebalance timeout.
    pub max_poll_interval_ms: u64,
    /// `enable.auto.commit`
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms`
    pub auto_commit_interval_ms: u64,
    /// `auto.offset.reset`
    pub auto_offset_reset: StartPosition,
    /// `partition.assignment.strategy`, in order of preference.
    pub partition_assignment_strategy: Vec<Assignor>,
    /// `default.api.timeout.ms`: how long `commitSync` retries.
    pub default_api_timeout_ms: u64,
    /// The application's rebalance listener commits what it processed in `onPartitionsRevoked` (not a Kafka
    /// config: what the application does in its listener).
    pub commit_on_revoke: bool,
}

impl GroupMemberConfig {
    pub fn new(group_id: impl Into<String>) -> Self {
        GroupMemberConfig {
            group_id: group_id.into(),
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3_000,
            max_poll_interval_ms: 300_000,
            enable_auto_commit: true,
            auto_commit_interval_ms: 5_000,
            auto_offset_reset: StartPosition::Latest,
            partition_assignment_strategy: Assignor::DEFAULT_STRATEGY.to_vec(),
            default_api_timeout_ms: 60_000,
            commit_on_revoke: false,
        }
    }
}
