//! What the consumer-group checkers share: whether processing and commits took effect, each group's committed
//! offsets, and the records its resets skipped on purpose.

use crate::history::{CommitKind, GroupOp, History, Outcome};
use ksim_model::observe::OffsetValue;
use ksim_model::{Offset, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

/// Whether something a member did inside (or outside) a transaction took effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Effect {
    /// Outside a transaction, or in one whose commit the coordinator acknowledged.
    Surely,
    /// In a transaction whose end is unknown (Info, or never ended): it may have committed, so it is neither
    /// counted against the group nor for it.
    Maybe,
    /// In a transaction that surely did not commit: as if it never happened.
    Not,
}

/// How the transaction `txn` (an index into `History::transactions`) ended, as an [`Effect`]; work done outside a
/// transaction (`None`) surely took effect. An index the history does not hold cannot be judged: Maybe.
pub(crate) fn effect(history: &History, txn: Option<usize>) -> Effect {
    let Some(index) = txn else {
        return Effect::Surely;
    };
    match history.transactions.get(index) {
        Some(t) if t.committed() => Effect::Surely,
        Some(t) if t.aborted() => Effect::Not,
        _ => Effect::Maybe,
    }
}

/// One commit of one partition's offset, as the group coordinator may have taken it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CommitWrite<'a> {
    pub group: &'a str,
    pub process: u32,
    pub kind: CommitKind,
    pub tp: &'a TopicPartition,
    pub offset: Offset,
    pub invoke_ms: u64,
    /// When the coordinator surely had it: the commit's Ok answer, or for a transactional commit the answer to the
    /// EndTxn that committed its transaction. None when it only may have taken effect (Info, or a transaction of
    /// unknown end): it may then have taken effect at any time after `invoke_ms`.
    pub acknowledged_ms: Option<u64>,
}

/// Every commit offset that surely or maybe took effect, in history order. A failed commit, or one made in a
/// transaction that did not commit, never did, so it is left out.
pub(crate) fn commit_writes(history: &History) -> Vec<CommitWrite<'_>> {
    let mut writes = Vec::new();
    for op in &history.groups.ops {
        let GroupOp::Commit {
            group,
            process,
            kind,
            offsets,
            outcome,
            invoke_ms,
            at_ms,
            ..
        } = op
        else {
            continue;
        };
        let Some(acknowledged_ms) = acknowledged(history, *kind, *outcome, *at_ms) else {
            continue;
        };
        writes.extend(offsets.iter().map(|(tp, offset)| CommitWrite {
            group,
            process: *process,
            kind: *kind,
            tp,
            offset: *offset,
            invoke_ms: *invoke_ms,
            acknowledged_ms,
        }));
    }
    writes
}

/// `Some(Some(ms))` when the commit surely took effect by `ms`, `Some(None)` when it maybe did, None when it
/// surely did not.
fn acknowledged(
    history: &History,
    kind: CommitKind,
    outcome: Outcome,
    at_ms: u64,
) -> Option<Option<u64>> {
    let txn = match kind {
        CommitKind::Transactional { txn } => Some(txn),
        CommitKind::Manual | CommitKind::Auto | CommitKind::Revoke => None,
    };
    match (outcome, effect(history, txn)) {
        (Outcome::Fail, _) | (_, Effect::Not) => None,
        (Outcome::Ok, Effect::Surely) => {
            // A transactional commit's offsets become the group's when the transaction's marker is written, which
            // the EndTxn answer confirms; the TxnOffsetCommit answer only staged them.
            let txn_end = txn.and_then(|i| history.transactions.get(i)?.complete_ms);
            Some(Some(txn_end.unwrap_or(at_ms)))
        }
        _ => Some(None),
    }
}

/// Per group and partition, the committed offset the group ended with: the final OffsetFetch's answer, or where
/// that is missing (the coordinator never answered, or had none) the highest acknowledged commit.
pub(crate) fn committed_offsets(
    history: &History,
) -> BTreeMap<&str, BTreeMap<&TopicPartition, Offset>> {
    let mut committed: BTreeMap<&str, BTreeMap<&TopicPartition, Offset>> = BTreeMap::new();
    for write in commit_writes(history) {
        if write.acknowledged_ms.is_some() {
            let offset = committed
                .entry(write.group)
                .or_default()
                .entry(write.tp)
                .or_insert(0);
            *offset = (*offset).max(write.offset);
        }
    }
    for (group, offsets) in &history.groups.final_committed {
        let known = committed.entry(group.as_str()).or_default();
        known.extend(offsets.iter().map(|(tp, &offset)| (tp, offset)));
    }
    committed
}

/// The offset ranges each group's resets skipped on purpose, per partition.
pub(crate) struct Skips<'a>(BTreeMap<(&'a str, &'a TopicPartition), Vec<(Offset, Offset)>>);

impl<'a> Skips<'a> {
    /// A reset skips `[from, to)` when it moves forward; one without a position before (`auto.offset.reset`
    /// = latest for a group with no committed offset) skips everything below `to`.
    pub(crate) fn of(history: &'a History) -> Self {
        let mut skips: BTreeMap<(&str, &TopicPartition), Vec<(Offset, Offset)>> = BTreeMap::new();
        for op in &history.groups.ops {
            if let GroupOp::Reset {
                group,
                tp,
                from,
                to,
                ..
            } = op
            {
                let from = from.unwrap_or(0);
                if *to > from {
                    skips.entry((group, tp)).or_default().push((from, *to));
                }
            }
        }
        Skips(skips)
    }

    pub(crate) fn skipped(&self, group: &str, tp: &TopicPartition, offset: Offset) -> bool {
        self.0.get(&(group, tp)).is_some_and(|ranges| {
            ranges
                .iter()
                .any(|&(from, to)| (from..to).contains(&offset))
        })
    }
}

/// A member's processing of one partition's records, with whether it took effect.
pub(crate) struct Processing<'a> {
    pub group: &'a str,
    pub process: u32,
    pub tp: &'a TopicPartition,
    pub records: &'a [OffsetValue],
    pub at_ms: u64,
    pub effect: Effect,
}

/// Every `Processed` op, in history order, judged by its transaction.
pub(crate) fn processing(history: &History) -> impl Iterator<Item = Processing<'_>> {
    history.groups.ops.iter().filter_map(|op| match op {
        GroupOp::Processed {
            group,
            process,
            tp,
            records,
            at_ms,
            txn,
            ..
        } => Some(Processing {
            group,
            process: *process,
            tp,
            records,
            at_ms: *at_ms,
            effect: effect(history, *txn),
        }),
        _ => None,
    })
}

/// Per partition, the offsets of records whose transaction aborted: no read_committed member is ever handed them,
/// its position moves past them as Kafka's does, and whether a read_uncommitted one processed them does not matter,
/// so a group's input is the final log without them.
pub(crate) fn aborted_offsets(history: &History) -> BTreeMap<&TopicPartition, BTreeSet<Offset>> {
    super::txn_fate::all(history)
        .into_iter()
        .map(|(tp, fates)| {
            let aborted = fates
                .into_iter()
                .filter(|(_, r)| r.fate == super::txn_fate::Fate::Aborted)
                .map(|(offset, _)| offset)
                .collect();
            (tp, aborted)
        })
        .collect()
}
