//! The recorded history of a run: client operations with their outcomes, node observations, and the final logs.

use ksim_model::observe::{Observation, OffsetValue};
use ksim_model::{BrokerId, ErrorCode, LeaderEpoch, Offset, TopicPartition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a client operation ended, as Jepsen names it: `Info` means the outcome is unknown (it may have happened).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Ok,
    Fail,
    Info,
}

/// One record a producer sent: invoked at `invoke_ms`, completed (if ever) at `complete_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendOp {
    /// The producer client that sent it.
    pub process: u32,
    /// The record's unique value.
    pub value: u64,
    /// The partition the partitioner chose (None if the send ended before the producer had metadata).
    pub tp: Option<TopicPartition>,
    /// Whether the producer ran with acks=1/all, so an Ok means the cluster acknowledged the record.
    pub acknowledged_by_cluster: bool,
    /// Whether the producer ran with idempotence (`enable.idempotence`, on unless Kafka's rules turn it off): then
    /// a duplicate or a reordering is a violation, without it they are what Kafka's retries are known to cause.
    pub idempotent: bool,
    pub invoke_ms: u64,
    pub complete_ms: Option<u64>,
    /// None while the send is still pending at the end of the run (a pending send counts as Info).
    pub outcome: Option<Outcome>,
    /// The offset the leader assigned, on Ok.
    pub offset: Option<Offset>,
    pub error: Option<ErrorCode>,
}

/// One thing a consumer did to a partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsumeOp {
    /// The consumer moved its position on purpose (start, or an out-of-range reset); offsets may jump.
    Seek {
        process: u32,
        tp: TopicPartition,
        offset: Offset,
        at_ms: u64,
    },
    /// A poll returned these records of one partition, in the order the consumer saw them.
    Poll {
        process: u32,
        tp: TopicPartition,
        records: Vec<OffsetValue>,
        high_watermark: Offset,
        at_ms: u64,
    },
}

/// One replica's log and marks after the run healed and settled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalReplica {
    pub broker: BrokerId,
    pub records: Vec<OffsetValue>,
    pub high_watermark: Offset,
    pub log_end_offset: Offset,
    pub leader_epoch: LeaderEpoch,
}

/// A partition after the run: what a consumer read from its leader, and every replica's own log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalPartition {
    /// None when the partition had no leader at the end (then `read` is empty and the run did not converge).
    pub leader: Option<BrokerId>,
    pub isr: Vec<BrokerId>,
    /// Every record below the leader's HW, read from offset 0 by a consumer after the cluster settled.
    pub read: Vec<OffsetValue>,
    pub replicas: Vec<FinalReplica>,
}

/// Everything the checkers judge.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub sends: Vec<SendOp>,
    pub consumes: Vec<ConsumeOp>,
    /// Node observations in the order they happened, with the simulated time in ms.
    pub observations: Vec<(u64, Observation)>,
    pub final_partitions: BTreeMap<TopicPartition, FinalPartition>,
}
