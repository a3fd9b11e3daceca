//! Checkers: each reads a History and names every violation it finds, with the records involved.

use ksim_model::observe::OffsetValue;
use ksim_model::TopicPartition;
use serde::{Deserialize, Serialize};
use std::fmt;

pub mod aborted_read;
#[cfg(test)]
mod check_all_tests;
pub mod committed_lost;
pub mod divergence;
pub mod double_owner;
pub mod duplicate;
pub mod duplicate_consume;
pub mod eos_violation;
pub mod final_state;
mod group_support;
pub mod hw_regression;
pub mod lost_consume;
pub mod lost_write;
pub mod nonmonotonic_poll;
pub mod offset_regression;
pub mod poll_skip;
pub mod reorder;
mod support;
#[cfg(test)]
mod test_support;
pub mod torn_transaction;
mod txn_fate;
pub mod zombie_write;

use crate::history::History;

/// A checker: a pure function from a history to the violations it names.
pub type Checker = fn(&History) -> Vec<Violation>;

/// Every checker, in a fixed order. `final_state` (no-convergence) is here too: a liveness failure is reported
/// with the rest, and the scenario's allow-list decides what it means.
pub const CHECKERS: [(ViolationKind, Checker); 17] = [
    (ViolationKind::LostWrite, lost_write::check),
    (ViolationKind::Divergence, divergence::check),
    (ViolationKind::HwRegression, hw_regression::check),
    (ViolationKind::CommittedLost, committed_lost::check),
    (ViolationKind::NonmonotonicPoll, nonmonotonic_poll::check),
    (ViolationKind::PollSkip, poll_skip::check),
    (ViolationKind::Duplicate, duplicate::check),
    (ViolationKind::Reorder, reorder::check),
    (ViolationKind::AbortedRead, aborted_read::check),
    (ViolationKind::TornTransaction, torn_transaction::check),
    (ViolationKind::ZombieWrite, zombie_write::check),
    (ViolationKind::NoConvergence, final_state::check),
    (ViolationKind::DoubleOwner, double_owner::check),
    (ViolationKind::LostConsume, lost_consume::check),
    (ViolationKind::DuplicateConsume, duplicate_consume::check),
    (ViolationKind::OffsetRegression, offset_regression::check),
    (ViolationKind::EosViolation, eos_violation::check),
];

/// Runs every checker on `history`. The result is sorted by kind, partition, time, records and message, so it
/// never depends on the order the checkers ran in.
pub fn check_all(history: &History) -> Vec<Violation> {
    let mut violations: Vec<Violation> = CHECKERS
        .iter()
        .flat_map(|(_, check)| check(history))
        .collect();
    sort_violations(&mut violations);
    violations
}

/// Sorts violations into the order `check_all` reports them in (for callers that merge in online violations).
pub fn sort_violations(violations: &mut [Violation]) {
    support::sort(violations);
}

/// The kinds of violation, named after Jepsen's Kafka checker and Kafka's own invariants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ViolationKind {
    #[serde(rename = "lost-write")]
    LostWrite,
    #[serde(rename = "divergence")]
    Divergence,
    #[serde(rename = "hw-regression")]
    HwRegression,
    #[serde(rename = "committed-lost")]
    CommittedLost,
    #[serde(rename = "nonmonotonic-poll")]
    NonmonotonicPoll,
    #[serde(rename = "poll-skip")]
    PollSkip,
    /// An idempotent producer's record is in the final log more than once.
    #[serde(rename = "duplicate")]
    Duplicate,
    /// An idempotent producer's records sit in a partition out of the order it sent them.
    #[serde(rename = "reorder")]
    Reorder,
    /// A read_committed consumer read a record whose transaction aborted or never ended (Jepsen's G1a).
    #[serde(rename = "aborted-read")]
    AbortedRead,
    /// A transaction took effect in part: committed on some partitions and aborted on others, or read in part.
    #[serde(rename = "torn-transaction")]
    TornTransaction,
    /// A fenced producer epoch's batch was appended after a newer epoch of the same producer id had written.
    #[serde(rename = "zombie-write")]
    ZombieWrite,
    /// Two members of a consumer group owned one partition at once, or a member processed one it had given up.
    #[serde(rename = "double-owner")]
    DoubleOwner,
    /// A consumer group committed past a record that none of its members processed or skipped on purpose.
    #[serde(rename = "lost-consume")]
    LostConsume,
    /// A consumer group processed a record more than once (what at-least-once delivery allows).
    #[serde(rename = "duplicate-consume")]
    DuplicateConsume,
    /// A consumer group's committed offset of a partition went back without a reset.
    #[serde(rename = "offset-regression")]
    OffsetRegression,
    /// Consume-transform-produce: a consumed input record has no committed output, or more than one.
    #[serde(rename = "eos-violation")]
    EosViolation,
    /// An online invariant (HW <= LEO, one leader per epoch, ...) failed inside the simulation.
    #[serde(rename = "invariant")]
    Invariant,
    /// After healing, the cluster never converged: a partition without a leader, or replicas that never caught up.
    #[serde(rename = "no-convergence")]
    NoConvergence,
}

impl ViolationKind {
    pub const ALL: [ViolationKind; 18] = [
        ViolationKind::LostWrite,
        ViolationKind::Divergence,
        ViolationKind::HwRegression,
        ViolationKind::CommittedLost,
        ViolationKind::NonmonotonicPoll,
        ViolationKind::PollSkip,
        ViolationKind::Duplicate,
        ViolationKind::Reorder,
        ViolationKind::AbortedRead,
        ViolationKind::TornTransaction,
        ViolationKind::ZombieWrite,
        ViolationKind::DoubleOwner,
        ViolationKind::LostConsume,
        ViolationKind::DuplicateConsume,
        ViolationKind::OffsetRegression,
        ViolationKind::EosViolation,
        ViolationKind::Invariant,
        ViolationKind::NoConvergence,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ViolationKind::LostWrite => "lost-write",
            ViolationKind::Divergence => "divergence",
            ViolationKind::HwRegression => "hw-regression",
            ViolationKind::CommittedLost => "committed-lost",
            ViolationKind::NonmonotonicPoll => "nonmonotonic-poll",
            ViolationKind::PollSkip => "poll-skip",
            ViolationKind::Duplicate => "duplicate",
            ViolationKind::Reorder => "reorder",
            ViolationKind::AbortedRead => "aborted-read",
            ViolationKind::TornTransaction => "torn-transaction",
            ViolationKind::ZombieWrite => "zombie-write",
            ViolationKind::DoubleOwner => "double-owner",
            ViolationKind::LostConsume => "lost-consume",
            ViolationKind::DuplicateConsume => "duplicate-consume",
            ViolationKind::OffsetRegression => "offset-regression",
            ViolationKind::EosViolation => "eos-violation",
            ViolationKind::Invariant => "invariant",
            ViolationKind::NoConvergence => "no-convergence",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One violation: its kind, where, when, the records involved, and a sentence a person can read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub kind: ViolationKind,
    pub tp: Option<TopicPartition>,
    /// Simulated time (ms) of the event that shows the violation, when there is one.
    pub at_ms: Option<u64>,
    /// The offending records as (offset, value).
    pub records: Vec<OffsetValue>,
    pub message: String,
}
