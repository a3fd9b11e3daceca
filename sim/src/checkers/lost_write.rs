//! lost-write (Jepsen): a record the cluster acknowledged is missing from the final log, or sits at another offset.

use super::support::{self, UNKNOWN_OFFSET};
use super::{Violation, ViolationKind};
use crate::history::{FinalPartition, History, Outcome, SendOp};
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
        .filter(|send| is_acknowledged(send))
        .filter_map(|send| judge(&index, send))
        .collect();
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
        }
    }
}

fn judge(index: &BTreeMap<&TopicPartition, ValueIndex>, send: &SendOp) -> Option<Violation> {
    // A partition without a final state (e.g. the run panicked before reading it) cannot be judged.
    let tp = send.tp.as_ref()?;
    let found = index.get(tp)?;
    let acked_offset = send.offset.unwrap_or(UNKNOWN_OFFSET);
    match found.offsets_by_value.get(&send.value) {
        None => Some(missing(tp, send, acked_offset, found.leaderless)),
        Some(_) if found.leaderless => None,
        Some(offsets) if send.offset.is_some_and(|o| !offsets.contains(&o)) => {
            let now_at = *offsets.first().expect("an indexed value has an offset");
            Some(moved(tp, send, acked_offset, now_at))
        }
        Some(_) => None,
    }
}

fn missing(
    tp: &TopicPartition,
    send: &SendOp,
    acked_offset: Offset,
    leaderless: bool,
) -> Violation {
    let place = if leaderless {
        "every final replica (the partition has no leader)"
    } else {
        "the final log"
    };
    let message = format!(
        "producer {} sent value {} to {tp}, acknowledged at offset {acked_offset}, but it is missing from {place}",
        send.process, send.value
    );
    support::violation(
        ViolationKind::LostWrite,
        tp,
        send.complete_ms,
        vec![(acked_offset, send.value)],
        message,
    )
}

fn moved(tp: &TopicPartition, send: &SendOp, acked_offset: Offset, now_at: Offset) -> Violation {
    let message = format!(
        "producer {} sent value {} to {tp}, acknowledged at offset {acked_offset}, but the final log moved it to \
         offset {now_at}",
        send.process, send.value
    );
    let records = vec![(acked_offset, send.value), (now_at, send.value)];
    support::violation(
        ViolationKind::LostWrite,
        tp,
        send.complete_ms,
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
}
