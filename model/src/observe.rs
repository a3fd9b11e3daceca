//! Observations: what a node tells the checkers and the trace about its own state. They never affect the cluster.

use crate::ids::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A record as a checker sees it: its offset and its unique value.
pub type OffsetValue = (Offset, u64);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Observation {
    /// A broker (re)started and recovered its logs from disk.
    BrokerRecovered {
        broker: BrokerId,
        tp: TopicPartition,
        log_end_offset: Offset,
        high_watermark: Offset,
    },
    BecameLeader {
        broker: BrokerId,
        tp: TopicPartition,
        leader_epoch: LeaderEpoch,
        isr: Vec<BrokerId>,
        log_end_offset: Offset,
    },
    BecameFollower {
        broker: BrokerId,
        tp: TopicPartition,
        leader: BrokerId,
        leader_epoch: LeaderEpoch,
    },
    /// A replica removed the records at and above `offset` (`removed` lists them).
    /// The log cleaner cleaned a replica's compacted log over `first_dirty_offset..first_uncleanable_offset`,
    /// leaving `records_after` of the `records_before` records below the latter.
    LogCleaned {
        broker: BrokerId,
        tp: TopicPartition,
        first_dirty_offset: Offset,
        first_uncleanable_offset: Offset,
        records_before: usize,
        records_after: usize,
    },
    Truncated {
        broker: BrokerId,
        tp: TopicPartition,
        offset: Offset,
        removed: Vec<OffsetValue>,
    },
    /// A replica's high watermark moved; `exposed` lists the records that moved below it.
    HighWatermark {
        broker: BrokerId,
        tp: TopicPartition,
        leader_epoch: LeaderEpoch,
        is_leader: bool,
        old: Offset,
        new: Offset,
        exposed: Vec<OffsetValue>,
    },
    /// The leader's ISR changed after the controller accepted an AlterPartition.
    IsrChanged {
        broker: BrokerId,
        tp: TopicPartition,
        leader_epoch: LeaderEpoch,
        isr: Vec<BrokerId>,
        partition_epoch: i32,
    },
    /// The controller chose a leader (`unclean` when it came from outside the ISR).
    LeaderElected {
        tp: TopicPartition,
        leader: BrokerId,
        leader_epoch: LeaderEpoch,
        isr: Vec<BrokerId>,
        unclean: bool,
    },
    /// The controller found no eligible leader: the partition is offline.
    PartitionOffline {
        tp: TopicPartition,
        leader_epoch: LeaderEpoch,
        isr: Vec<BrokerId>,
    },
    /// The controller raised `topic`'s partition count from `previous_count` to `count` (CreatePartitions);
    /// `replicas` are the new partitions' replicas, in partition order, each led by its first live replica.
    PartitionsCreated {
        topic: Arc<str>,
        previous_count: i32,
        count: i32,
        replicas: Vec<Vec<BrokerId>>,
    },
    BrokerFenced {
        broker: BrokerId,
    },
    BrokerRegistered {
        broker: BrokerId,
        broker_epoch: i64,
    },
}
