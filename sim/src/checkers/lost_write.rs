//! lost-write (Jepsen): a record the cluster acknowledged is missing from the final log, or sits at another offset;
//! for a transaction whose commit was acknowledged, each of its records must also be committed there.

use super::support::{self, UNKNOWN_OFFSET};
use super::txn_fate::{self, Fate, Fates};
use super::{Violation, ViolationKind};
use crate::history::{FinalPartition, History, Outcome, SendOp, TxnOp};
use ksim_model::observe::OffsetValue;
use ksim_model::{Offset, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

pub fn check(history: &History) -> Vec<Violation> {
    let index: BTreeMap<&TopicPartition, ValueIndex> = history
        .final_partitions
        .iter()
        .map(|(tp, p)| (tp, ValueIndex::of(p)))
        .collect();
    let mut violations: Vec<Violation> = history
        .sends
        .iter()
        // A transactional record the leader acknowledged is durable only if its transaction commits: it is judged
        // with its transaction below, and an aborted transaction's records are not lost writes.
        .filter(|send| is_acknowledged(send) && !send.transactional)
        .filter_map(|send| judge(&index, send))
        .collect();
    violations.extend(committed_transactions(history, &index));
    support::sort(&mut violations);
    violations
}

/// Only an Ok the cluster itself gave counts: Fail, Info and pending sends may or may not have happened
/// (Jepsen's "info means maybe"), and acks=0 Oks come from the client alone.
fn is_acknowledged(send: &SendOp) -> bool {
    send.acknowledged_by_cluster && send.outcome == Some(Outcome::Ok)
}

/// Where each value ended up in one final partition. Values are unique per run, so a value names its record.
struct ValueIndex {
    /// With no final leader only presence on some replica is judged: offsets there are not settled.
    leaderless: bool,
    offsets_by_value: BTreeMap<u64, BTreeSet<Offset>>,
    /// How the transaction of each transactional record of the final read ended (empty without a leader).
    fates: Fates,
}

impl ValueIndex {
    fn of(partition: &FinalPartition) -> Self {
        let leaderless = partition.leader.is_none();
        let records: Vec<_> = if leaderless {
            partition
                .replicas
                .iter()
                .flat_map(|r| r.records.iter().copied())
                .collect()
        } else {
            partition.read.clone()
        };
        let mut offsets_by_value: BTreeMap<u64, BTreeSet<Offset>> = BTreeMap::new();
        for (offset, value) in records {
            offsets_by_value.entry(value).or_default().insert(offset);
        }
        ValueIndex {
            leaderless,
            offsets_by_value,
            fates: txn_fate::of(partition),
        }
    }
}

/// Who promised a record, in words, and when: the leader's acknowledgement of a plain send, or the coordinator's
/// acknowledgement of a transaction's commit.
struct Promise {
    said: String,
    at_ms: Option<u64>,
}

fn judge(index: &BTreeMap<&TopicPartition, ValueIndex>, send: &SendOp) -> Option<Violation> {
    // A partition without a final state (e.g. the run panicked before reading it) cannot be judged.
    let tp = send.tp.as_ref()?;
    let found = index.get(tp)?;
    let acked_offset = send.offset.unwrap_or(UNKNOWN_OFFSET);
    let promise = Promise {
        said: format!(
            "producer {} sent value {} to {tp}, acknowledged at offset {acked_offset}",
            send.process, send.value
        ),
        at_ms: send.complete_ms,
    };
    match found.offsets_by_value.get(&send.value) {
        None => Some(missing(
            tp,
            &promise,
            (acked_offset, send.value),
            found.leaderless,
        )),
        Some(_) if found.leaderless => None,
        Some(offsets) => moved_from(tp, &promise, send, offsets),
    }
}

/// A send acknowledged at one offset whose record the final log holds only at others.
fn moved_from(
    tp: &TopicPartition,
    promise: &Promise,
    send: &SendOp,
    offsets: &BTreeSet<Offset>,
) -> Option<Violation> {
    let acked_offset = send.offset.filter(|o| !offsets.contains(o))?;
    let now_at = *offsets.first().expect("an indexed value has an offset");
    Some(moved(tp, promise, (acked_offset, send.value), now_at))
}

/// A transaction whose commit the coordinator acknowledged promised every record sent in it: each must be in the
/// final log, committed there.
fn committed_transactions(
    history: &History,
    index: &BTreeMap<&TopicPartition, ValueIndex>,
) -> Vec<Violation> {
    let sends: BTreeMap<u64, &SendOp> = history.sends.iter().map(|s| (s.value, s)).collect();
    let mut violations = Vec::new();
    for txn in history.transactions.iter().filter(|t| t.committed()) {
        // The producer flushes every send before it commits, so each has its own SendOp with a partition; one
        // without (or with no final state to look at) cannot be judged.
        for send in txn.values.iter().filter_map(|v| sends.get(v)) {
            violations.extend(judge_committed(index, txn, send));
        }
    }
    violations
}

fn judge_committed(
    index: &BTreeMap<&TopicPartition, ValueIndex>,
    txn: &TxnOp,
    send: &SendOp,
) -> Option<Violation> {
    let tp = send.tp.as_ref()?;
    let found = index.get(tp)?;
    let acked_offset = send.offset.unwrap_or(UNKNOWN_OFFSET);
    let promise = Promise {
        said: format!(
            "producer {} sent value {} to {tp}, acknowledged at offset {acked_offset}, in transaction {} (producer \
             id {}, epoch {}) whose commit was acknowledged",
            txn.process, send.value, txn.transactional_id, txn.producer_id, txn.producer_epoch
        ),
        at_ms: txn.complete_ms,
    };
    let offsets = match found.offsets_by_value.get(&send.value) {
        None => {
            return Some(missing(
                tp,
                &promise,
                (acked_offset, send.value),
                found.leaderless,
            ))
        }
        Some(_) if found.leaderless => return None,
        Some(offsets) => offsets,
    };
    // A copy with no fate (no transactional batch header holds it) is not judged for its transaction: only copies
    // that are all aborted or open show the commit did not take effect.
    let fates: Vec<(Offset, Option<Fate>)> = offsets
        .iter()
        .map(|&o| (o, found.fates.get(&o).map(|r| r.fate)))
        .collect();
    let uncommitted =
        |(_, fate): &(Offset, Option<Fate>)| matches!(fate, Some(Fate::Aborted | Fate::Open));
    if !fates.iter().all(uncommitted) {
        return moved_from(tp, &promise, send, offsets);
    }
    let (offset, fate) = fates[0];
    let fate = fate.expect("every copy has a fate here");
    let message = format!(
        "{}, but the final log holds it at offset {offset} as {}",
        promise.said,
        fate.describe()
    );
    let records = offsets.iter().map(|&o| (o, send.value)).collect();
    Some(support::violation(
        ViolationKind::LostWrite,
        tp,
        promise.at_ms,
        records,
        message,
    ))
}

fn missing(
    tp: &TopicPartition,
    promise: &Promise,
    record: OffsetValue,
    leaderless: bool,
) -> Violation {
    let place = if leaderless {
        "every final replica (the partition has no leader)"
    } else {
        "the final log"
    };
    let message = format!("{}, but it is missing from {place}", promise.said);
    support::violation(
        ViolationKind::LostWrite,
        tp,
        promise.at_ms,
        vec![record],
        message,
    )
}

fn moved(tp: &TopicPartition, promise: &Promise, record: OffsetValue, now_at: Offset) -> Violation {
    let message = format!(
        "{}, but the final log moved it to offset {now_at}",
        promise.said
    );
    let records = vec![record, (now_at, record.1)];
    support::violation(
        ViolationKind::LostWrite,
        tp,
        promise.at_ms,
        records,
        message,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;
    use crate::history::FinalPartition;

    #[test]
    fn acknowledged_writes_in_the_final_log_are_clean() {
        let p = tp(0);
        let mut history = with_final(&p, converged(&records(0..3), &[1, 2, 3]));
        history.sends = records(0..3)
            .into_iter()
            .map(|(o, v)| ok_send(v, &p, o))
            .collect();
        assert_eq!(check(&history), vec![]);
    }

    #[test]
    fn acknowledged_write_missing_from_the_final_log_is_lost() {
        let p = tp(0);
        let mut history = with_final(&p, converged(&records(0..2), &[1, 2]));
        history.sends = vec![ok_send(100, &p, 0), ok_send(102, &p, 2)];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].kind, ViolationKind::LostWrite);
        assert_eq!(violations[0].tp, Some(p));
        assert_eq!(violations[0].records, vec![(2, 102)]);
        assert_eq!(violations[0].at_ms, Some(102));
        assert!(
            violations[0].message.contains("missing from the final log"),
            "{}",
            violations[0].message
        );
    }

    #[test]
    fn acknowledged_write_at_another_offset_is_lost_as_moved() {
        let p = tp(1);
        let mut history = with_final(&p, converged(&[(0, 7), (1, 5)], &[1]));
        history.sends = vec![ok_send(5, &p, 0), ok_send(7, &p, 1)];
        let violations = check(&history);
        let found: Vec<_> = violations
            .iter()
            .map(|v| (v.kind, v.records.clone()))
            .collect();
        assert_eq!(
            found,
            vec![
                (ViolationKind::LostWrite, vec![(0, 5), (1, 5)]),
                (ViolationKind::LostWrite, vec![(1, 7), (0, 7)])
            ]
        );
        assert!(violations.iter().all(|v| v.message.contains("moved")));
    }

    #[test]
    fn info_fail_pending_and_acks_zero_sends_are_never_lost() {
        let p = tp(0);
        let mut history = with_final(&p, converged(&[], &[1]));
        let maybe = [Some(Outcome::Info), Some(Outcome::Fail), None];
        history.sends = maybe
            .into_iter()
            .map(|outcome| SendOp {
                outcome,
                ..ok_send(1, &p, 0)
            })
            .collect();
        history.sends.push(SendOp {
            acknowledged_by_cluster: false,
            ..ok_send(2, &p, 1)
        });
        assert_eq!(check(&history), vec![]);
    }

    #[test]
    fn leaderless_partition_is_judged_only_on_every_replica() {
        let p = tp(0);
        let partition = FinalPartition {
            leader: None,
            isr: vec![],
            read: vec![],
            replicas: vec![
                replica(1, &[(0, 100)], 1),
                replica(2, &[(0, 100), (1, 101)], 1),
            ],
            batches: Vec::new(),
        };
        let mut history = with_final(&p, partition);
        // 101 survives on broker 2 (even at a different offset than acknowledged); 102 is on no replica at all.
        history.sends = vec![
            ok_send(100, &p, 0),
            ok_send(101, &p, 5),
            ok_send(102, &p, 2),
        ];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].records, vec![(2, 102)]);
        assert!(
            violations[0].message.contains("every final replica"),
            "{}",
            violations[0].message
        );
    }

    #[test]
    fn committed_transactions_in_the_log_and_aborted_ones_anywhere_are_clean() {
        let p = tp(0);
        let log = txn_log()
            .txn(7, 0, &[10, 11])
            .commit(7, 0)
            .txn(7, 0, &[12])
            .abort(7, 0);
        let mut history = with_final(&p, log.converged(&[1]));
        // The leader acknowledged 12 and 13, but their transaction aborted: 12 aborted in the log, 13 never got in.
        history.sends = vec![
            txn_send(10, &p, 0),
            txn_send(11, &p, 1),
            txn_send(12, &p, 3),
            txn_send(13, &p, 4),
        ];
        history.transactions = vec![committed_txn(7, &[10, 11]), aborted_txn(7, &[12, 13])];
        assert_eq!(check(&history), vec![]);
    }

    #[test]
    fn a_committed_transactions_record_missing_aborted_or_open_is_lost() {
        let (p, q) = (tp(0), tp(1));
        let mut history = with_final(&p, txn_log().txn(7, 0, &[10]).abort(7, 0).converged(&[1]));
        history
            .final_partitions
            .insert(q.clone(), txn_log().txn(7, 0, &[11]).converged(&[1]));
        history.sends = vec![
            txn_send(10, &p, 0),
            txn_send(11, &q, 0),
            txn_send(12, &q, 1),
        ];
        history.transactions = vec![committed_txn(7, &[10, 11, 12])];
        let violations = check(&history);
        let found: Vec<_> = violations
            .iter()
            .map(|v| (v.kind, v.tp.clone(), v.at_ms, v.records.clone()))
            .collect();
        let kind = ViolationKind::LostWrite;
        assert_eq!(
            found,
            vec![
                (kind, Some(p.clone()), Some(500), vec![(0, 10)]),
                (kind, Some(q.clone()), Some(500), vec![(0, 11)]),
                (kind, Some(q.clone()), Some(500), vec![(1, 12)]),
            ]
        );
        let messages: Vec<&str> = violations.iter().map(|v| v.message.as_str()).collect();
        assert_eq!(
            messages[0],
            "producer 0 sent value 10 to t-0, acknowledged at offset 0, in transaction tx-7 (producer id 7, epoch 0) \
             whose commit was acknowledged, but the final log holds it at offset 0 as aborted"
        );
        assert!(messages[1].contains("as still open"), "{}", messages[1]);
        assert!(
            messages[2].contains("missing from the final log"),
            "{}",
            messages[2]
        );
    }
}
