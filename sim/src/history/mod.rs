//! The recorded history of a run: client operations with their outcomes, node observations, and the final logs.

use ksim_model::observe::{Observation, OffsetValue};
use ksim_model::{BrokerId, ErrorCode, LeaderEpoch, Offset, TopicPartition};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub mod group;
pub use group::{CommitKind, GroupHistory, GroupInfo, GroupOp};

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
    /// Sent inside a transaction (see [`TxnOp`]): whether it counts is decided by how its transaction ended.
    #[serde(default)]
    pub transactional: bool,
    pub invoke_ms: u64,
    pub complete_ms: Option<u64>,
    /// None while the send is still pending at the end of the run (a pending send counts as Info).
    pub outcome: Option<Outcome>,
    /// The offset the leader assigned, on Ok.
    pub offset: Option<Offset>,
    pub error: Option<ErrorCode>,
}

/// How a transaction was to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnIntent {
    Commit,
    Abort,
}

/// One transaction of a transactional producer: from `beginTransaction` to the answer to its EndTxn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnOp {
    /// The producer client that ran it.
    pub process: u32,
    pub transactional_id: String,
    /// The producer id and epoch the transaction ran under.
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// The values of the records sent inside the transaction, in send order (each also has a [`SendOp`]).
    pub values: Vec<u64>,
    /// What the producer asked for at the end; None while it had not got there (still open, or fenced first).
    pub intent: Option<TxnIntent>,
    pub invoke_ms: u64,
    pub complete_ms: Option<u64>,
    /// Ok: the coordinator acknowledged the intent (committed, or aborted). Fail: it surely did not commit (no
    /// commit was ever asked for). Info: unknown, e.g. a commit whose answer never came or came as an error.
    /// None while the transaction is still open at the end of the run.
    pub outcome: Option<Outcome>,
    pub error: Option<ErrorCode>,
}

impl TxnOp {
    /// The coordinator acknowledged the commit: every record must be in the log, committed, everywhere.
    pub fn committed(&self) -> bool {
        self.intent == Some(TxnIntent::Commit) && self.outcome == Some(Outcome::Ok)
    }

    /// Surely not committed: an acknowledged abort, or a transaction that never asked to commit and ended.
    pub fn aborted(&self) -> bool {
        matches!(
            (self.intent, self.outcome),
            (Some(TxnIntent::Abort), Some(Outcome::Ok)) | (_, Some(Outcome::Fail))
        )
    }
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

/// The header of a batch a producer with an id wrote, as the final leader's log holds it: enough to tell which
/// transaction a record belongs to, how the transaction ended here, and which producer epoch wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalBatch {
    pub base_offset: Offset,
    pub last_offset: Offset,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// Written inside a transaction.
    pub transactional: bool,
    /// A transaction marker (control batch): how the producer's transaction ended on this partition.
    pub marker: Option<TxnIntent>,
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
    /// The leader's batches written by producers with an id (idempotent or transactional), markers included, in
    /// offset order; empty without a leader.
    #[serde(default)]
    pub batches: Vec<FinalBatch>,
}

/// Everything the checkers judge.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub sends: Vec<SendOp>,
    /// The transactions of transactional producers, in the order they began.
    #[serde(default)]
    pub transactions: Vec<TxnOp>,
    /// The consumer processes reading with `isolation.level` = read_committed.
    #[serde(default)]
    pub read_committed: BTreeSet<u32>,
    pub consumes: Vec<ConsumeOp>,
    /// Node observations in the order they happened, with the simulated time in ms.
    pub observations: Vec<(u64, Observation)>,
    pub final_partitions: BTreeMap<TopicPartition, FinalPartition>,
    /// The consumer groups' members, commits and final committed offsets.
    #[serde(default)]
    pub groups: GroupHistory,
    /// Produce requests on the wire and how brokers answered them.
    #[serde(default)]
    pub produce_requests: ProduceRequests,
}

/// Produce requests that expect an answer (acks 1 or all), counted per partition batch as Kafka answers them:
/// how many clients sent, and the answers that reached them by error name (`NONE` for success). A batch sent
/// but never answered timed out or lost its connection. Counted as the messages pass, outside the trace hash
/// (the trace already holds every message).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProduceRequests {
    pub sent: u64,
    pub answered: BTreeMap<ErrorCode, u64>,
}
