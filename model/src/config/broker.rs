//! Broker settings (server.properties), plus the one operating-system setting that decides what power loss takes.

use super::Fixes;
use crate::group::coordinator::GroupConfig;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerConfig {
    /// `min.insync.replicas`
    pub min_insync_replicas: usize,
    /// `unclean.leader.election.enable`
    pub unclean_leader_election_enable: bool,
    /// `replica.lag.time.max.ms`
    pub replica_lag_time_max_ms: u64,
    /// `replica.fetch.wait.max.ms`
    pub replica_fetch_wait_max_ms: u64,
    /// `replica.fetch.backoff.ms`
    pub replica_fetch_backoff_ms: u64,
    /// `replica.socket.timeout.ms`: how long a follower waits for a fetch answer before reconnecting.
    pub replica_socket_timeout_ms: u64,
    /// `replica.high.watermark.checkpoint.interval.ms`
    pub replica_high_watermark_checkpoint_interval_ms: u64,
    /// `log.flush.interval.messages` (Kafka's default: never, leaving it to the OS).
    pub log_flush_interval_messages: u64,
    /// `log.flush.interval.ms` (unset by default).
    pub log_flush_interval_ms: Option<u64>,
    /// `log.roll.ms` (`log.roll.hours` = 168 by default): the broker's default `segment.ms` for every topic.
    pub log_roll_ms: u64,
    /// `log.cleaner.enable`: whether this broker runs the log cleaner over its compacted logs.
    pub log_cleaner_enable: bool,
    /// `log.cleaner.backoff.ms`: how long the cleaner sleeps when no log is dirty enough.
    pub log_cleaner_backoff_ms: u64,
    /// `broker.heartbeat.interval.ms`
    pub broker_heartbeat_interval_ms: u64,
    /// `broker.session.timeout.ms`
    pub broker_session_timeout_ms: u64,
    /// Linux `vm.dirty_expire_centisecs`: dirty pages older than this are written back by the kernel.
    pub vm_dirty_expire_centisecs: u64,
    /// The `eligible.leader.replicas.version` feature (KIP-966 part 1, on by default for new clusters since Kafka
    /// 4.1): 1 keeps Eligible Leader Replicas; 0 is Kafka 3.7 to 4.0's election (the strict min-ISR HW rule, but
    /// no ELR), which can make a replica that lost its unflushed tail the leader (the last-replica-standing loss).
    pub eligible_leader_replicas_version: u8,
    /// `transaction.state.log.num.partitions`
    pub transaction_state_log_num_partitions: i32,
    /// `transaction.state.log.replication.factor`
    pub transaction_state_log_replication_factor: i32,
    /// `transaction.state.log.min.isr`
    pub transaction_state_log_min_isr: usize,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often the coordinator looks for
    /// transactions open longer than their `transaction.timeout.ms`.
    pub transaction_abort_timed_out_transaction_cleanup_interval_ms: u64,
    /// `offsets.topic.num.partitions`
    pub offsets_topic_num_partitions: i32,
    /// `offsets.topic.replication.factor`
    pub offsets_topic_replication_factor: i32,
    /// The `group.*` settings of the group coordinator.
    pub group: GroupConfig,
    /// Kafka fixes this run has reverted (none unless a scenario asks).
    pub fixes: Fixes,
}

impl BrokerConfig {
    /// Whether KIP-966's Eligible Leader Replicas are in force.
    pub fn elr_enabled(&self) -> bool {
        self.eligible_leader_replicas_version >= 1
    }
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_backoff_ms: 1_000,
            replica_socket_timeout_ms: 30_000,
            replica_high_watermark_checkpoint_interval_ms: 5_000,
            log_flush_interval_messages: u64::MAX,
            log_flush_interval_ms: None,
            log_roll_ms: super::DEFAULT_SEGMENT_MS,
            log_cleaner_enable: true,
            log_cleaner_backoff_ms: 15_000,
            broker_heartbeat_interval_ms: 2_000,
            broker_session_timeout_ms: 9_000,
            vm_dirty_expire_centisecs: 3_000,
            eligible_leader_replicas_version: 1,
            transaction_state_log_num_partitions: 50,
            transaction_state_log_replication_factor: 3,
            transaction_state_log_min_isr: 2,
            transaction_abort_timed_out_transaction_cleanup_interval_ms: 10_000,
            offsets_topic_num_partitions: 50,
            offsets_topic_replication_factor: 3,
            group: GroupConfig::default(),
            fixes: Fixes::default(),
        }
    }
}
