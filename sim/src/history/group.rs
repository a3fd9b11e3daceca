//! What consumer-group members did: the partitions each owned and when, the records each processed, the offsets
//! each committed, and (in consume-transform-produce) which output each input record became.

use super::Outcome;
use ksim_model::observe::OffsetValue;
use ksim_model::{Offset, TopicPartition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a commit was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CommitKind {
    /// `commitSync`/`commitAsync` by the application after it processed what it polled.
    Manual,
    /// `enable.auto.commit`: the positions of what poll returned, every `auto.commit.interval.ms`.
    Auto,
    /// The rebalance listener's commit in `onPartitionsRevoked`, before the partitions are given up.
    Revoke,
    /// `sendOffsetsToTransaction`: the offsets count only if the transaction (`txn`) commits.
    Transactional { txn: usize },
}

/// One thing a member of a consumer group did, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupOp {
    /// SyncGroup answered: the member owns `partitions` in `generation` from now on. With the eager protocol this
    /// is its whole assignment; with the cooperative protocol it is its whole assignment too (what it kept plus
    /// what it was given), and any owned partition missing from it was revoked by a [`GroupOp::Revoked`] first.
    Assigned {
        group: String,
        process: u32,
        member_id: String,
        generation: i32,
        partitions: Vec<TopicPartition>,
        at_ms: u64,
    },
    /// The member gave up `partitions`: `onPartitionsRevoked` (lost = false) before rejoining or after a
    /// cooperative assignment took them away, or `onPartitionsLost` (lost = true) when it learnt it was no longer
    /// in the group (its generation was fenced, its session or poll interval expired, it left).
    Revoked {
        group: String,
        process: u32,
        partitions: Vec<TopicPartition>,
        lost: bool,
        at_ms: u64,
    },
    /// The member's process crashed or closed: it owns nothing from here on.
    Stopped {
        group: String,
        process: u32,
        at_ms: u64,
    },
    /// The member fetched the group's committed offset of a partition it was assigned (OffsetFetch), where it
    /// starts reading; None when the group had none (then `auto.offset.reset` decides, see [`GroupOp::Reset`]).
    Fetched {
        group: String,
        process: u32,
        tp: TopicPartition,
        committed: Option<Offset>,
        at_ms: u64,
    },
    /// The member's position moved on purpose: `auto.offset.reset` (no committed offset, or out of range) or a
    /// truncation found by KIP-320 validation. Records in `[from, to)` were skipped on purpose when `to > from`;
    /// without a position before (`from` None, e.g. `latest` for a group with no committed offset) every record
    /// below `to` was.
    Reset {
        group: String,
        process: u32,
        tp: TopicPartition,
        /// The position before, if it had one.
        from: Option<Offset>,
        to: Offset,
        at_ms: u64,
    },
    /// The application finished processing records of one partition that a poll at `polled_ms` returned, in
    /// offset order. In consume-transform-produce, `txn` is the transaction (index into `History::transactions`)
    /// the processing wrote its output in, so it counts only if that transaction committed.
    Processed {
        group: String,
        process: u32,
        /// The generation the member believed it was in when it polled.
        generation: i32,
        tp: TopicPartition,
        records: Vec<OffsetValue>,
        polled_ms: u64,
        at_ms: u64,
        txn: Option<usize>,
    },
    /// A commit of the next offsets to read, and how it ended (Info: unknown, the answer never came).
    Commit {
        group: String,
        process: u32,
        generation: i32,
        kind: CommitKind,
        offsets: Vec<(TopicPartition, Offset)>,
        outcome: Outcome,
        invoke_ms: u64,
        at_ms: u64,
    },
    /// Consume-transform-produce: input record `input` (its partition, offset and value) was transformed into the
    /// output record `output_value`, sent in transaction `txn` (index into `History::transactions`).
    Transformed {
        group: String,
        process: u32,
        input_tp: TopicPartition,
        input: OffsetValue,
        output_value: u64,
        txn: usize,
        at_ms: u64,
    },
}

impl GroupOp {
    pub fn group(&self) -> &str {
        match self {
            GroupOp::Assigned { group, .. }
            | GroupOp::Revoked { group, .. }
            | GroupOp::Stopped { group, .. }
            | GroupOp::Fetched { group, .. }
            | GroupOp::Reset { group, .. }
            | GroupOp::Processed { group, .. }
            | GroupOp::Commit { group, .. }
            | GroupOp::Transformed { group, .. } => group,
        }
    }

    pub fn at_ms(&self) -> u64 {
        match self {
            GroupOp::Assigned { at_ms, .. }
            | GroupOp::Revoked { at_ms, .. }
            | GroupOp::Stopped { at_ms, .. }
            | GroupOp::Fetched { at_ms, .. }
            | GroupOp::Reset { at_ms, .. }
            | GroupOp::Processed { at_ms, .. }
            | GroupOp::Commit { at_ms, .. }
            | GroupOp::Transformed { at_ms, .. } => *at_ms,
        }
    }
}

/// What the groups of a run were and how they ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupHistory {
    /// Every member's operations, in the order they happened (by `at_ms`, ties in the order recorded). Within one
    /// millisecond the checkers take this order as the order of events (double-owner tells "revoked, then given to
    /// another" from the reverse by it), so record ties in the order they happened.
    pub ops: Vec<GroupOp>,
    /// Per group, the topics it subscribed to and its input for consume-transform-produce.
    pub groups: BTreeMap<String, GroupInfo>,
    /// Per group, its committed offsets as an OffsetFetch (require_stable) answered after the run healed and
    /// settled; a group whose coordinator never answered is absent.
    pub final_committed: BTreeMap<String, BTreeMap<TopicPartition, Offset>>,
}

/// How a group ran.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfo {
    pub topics: Vec<String>,
    /// `partition.assignment.strategy`: "range", "roundrobin", "sticky" or "cooperative-sticky".
    pub assignor: String,
    /// The group's output topics in consume-transform-produce (empty otherwise).
    pub output_topics: Vec<String>,
}
