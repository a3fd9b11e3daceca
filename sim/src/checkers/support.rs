//! What the checkers share: building and ordering violations, the final logs as lookups, and the consumer walk.

use super::{Violation, ViolationKind};
use crate::history::{ConsumeOp, FinalPartition, History};
use ksim_model::observe::OffsetValue;
use ksim_model::{Offset, TopicPartition};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// Kafka's "no offset known": stands in for the offset of an Ok send whose offset the producer never learned.
pub(crate) const UNKNOWN_OFFSET: Offset = ksim_model::ids::UNDEFINED_OFFSET;

pub(crate) fn violation(
    kind: ViolationKind,
    tp: &TopicPartition,
    at_ms: Option<u64>,
    records: Vec<OffsetValue>,
    message: String,
) -> Violation {
    Violation {
        kind,
        tp: Some(tp.clone()),
        at_ms,
        records,
        message,
    }
}

/// A total order on violations, so that reports and trace hashes never depend on the order checkers ran in.
pub(crate) fn compare(a: &Violation, b: &Violation) -> Ordering {
    (a.kind, &a.tp, a.at_ms, &a.records, &a.message)
        .cmp(&(b.kind, &b.tp, b.at_ms, &b.records, &b.message))
}

pub(crate) fn sort(violations: &mut [Violation]) {
    violations.sort_by(compare);
}

/// The records `(offset, value)` of a final partition that a checker accepts as "still there".
///
/// With a leader, only the final read counts: that is what every consumer would see. Without one (the run did not
/// converge, reported apart as no-convergence), `read` is empty, so a record counts as kept when any replica still
/// holds it: otherwise every record of a leaderless partition would be reported as lost, hiding the real losses.
pub(crate) enum FinalView {
    Read(BTreeMap<Offset, u64>),
    Leaderless(BTreeSet<OffsetValue>),
}

impl FinalView {
    pub(crate) fn of(partition: &FinalPartition) -> Self {
        match partition.leader {
            Some(_) => FinalView::Read(partition.read.iter().copied().collect()),
            None => FinalView::Leaderless(
                partition
                    .replicas
                    .iter()
                    .flat_map(|r| r.records.iter().copied())
                    .collect(),
            ),
        }
    }

    pub(crate) fn holds(&self, (offset, value): OffsetValue) -> bool {
        match self {
            FinalView::Read(read) => read.get(&offset) == Some(&value),
            FinalView::Leaderless(held) => held.contains(&(offset, value)),
        }
    }

    /// What the final state has at `offset`, in words, for messages.
    pub(crate) fn describe(&self, offset: Offset) -> String {
        match self {
            FinalView::Read(read) => match read.get(&offset) {
                Some(value) => format!("the final log has value {value} there"),
                None => "the final log has no record there".to_string(),
            },
            FinalView::Leaderless(_) => {
                "no final replica holds it (the partition has no leader)".to_string()
            }
        }
    }
}

/// Every final partition as a [`FinalView`], built once so checkers look records up instead of scanning logs.
pub(crate) fn final_views(history: &History) -> BTreeMap<&TopicPartition, FinalView> {
    history
        .final_partitions
        .iter()
        .map(|(tp, p)| (tp, FinalView::of(p)))
        .collect()
}

/// What the final reader read of each partition, by offset: offsets without a record (transaction markers)
/// are simply absent.
pub(crate) fn final_reads(history: &History) -> BTreeMap<&TopicPartition, BTreeMap<Offset, u64>> {
    history
        .final_partitions
        .iter()
        .map(|(tp, p)| (tp, p.read.iter().copied().collect()))
        .collect()
}

/// "1", "1 and 4", "1, 3 and 4": a list in words, for messages.
pub(crate) fn listed<T: std::fmt::Display>(items: &[T]) -> String {
    match items {
        [] => String::new(),
        [only] => only.to_string(),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|i| i.to_string()).collect();
            format!("{} and {last}", init.join(", "))
        }
    }
}

/// What a consumer was entitled to expect before reading its next record of a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Nothing read and no seek yet: any offset is a fine start.
    Anything,
    /// The previous record read (within this poll or an earlier one): the next offset must be greater.
    After(OffsetValue),
    /// A seek moved the position here: the next offset must be at least this.
    AtLeast(Offset),
}

/// One record a consumer read, with the expectation it was read against.
pub(crate) struct ReadStep<'a> {
    pub process: u32,
    pub tp: &'a TopicPartition,
    pub at_ms: u64,
    pub expect: Expect,
    pub record: OffsetValue,
}

/// Walks every consumer's reads, per (process, partition) and in history order, giving each record with what the
/// consumer expected at that point. A Seek resets the expectation: offsets may jump on purpose there.
pub(crate) fn walk_reads<'a>(history: &'a History, mut visit: impl FnMut(ReadStep<'a>)) {
    let mut expectations: BTreeMap<(u32, &TopicPartition), Expect> = BTreeMap::new();
    for op in &history.consumes {
        match op {
            ConsumeOp::Seek {
                process,
                tp,
                offset,
                ..
            } => {
                expectations.insert((*process, tp), Expect::AtLeast(*offset));
            }
            ConsumeOp::Poll {
                process,
                tp,
                records,
                at_ms,
                ..
            } => {
                for &record in records {
                    let expect = expectations
                        .get(&(*process, tp))
                        .copied()
                        .unwrap_or(Expect::Anything);
                    visit(ReadStep {
                        process: *process,
                        tp,
                        at_ms: *at_ms,
                        expect,
                        record,
                    });
                    expectations.insert((*process, tp), Expect::After(record));
                }
            }
        }
    }
}
