//! reorder: an idempotent producer's records sit in a partition's final log out of the order it sent them.

use super::support;
use super::{Violation, ViolationKind};
use crate::history::{History, SendOp};
use ksim_model::{Offset, TopicPartition};
use std::collections::BTreeMap;

pub fn check(history: &History) -> Vec<Violation> {
    // Kafka promises per-partition order only with idempotence on (or one request in flight, which the history
    // does not record): other producers' reorders are what retries with several requests in flight cause, so
    // they are counted (see `count`), not flagged.
    let mut violations: Vec<Violation> = inversions(history)
        .into_iter()
        .filter(|pair| pair.earlier.send.idempotent && pair.later.send.idempotent)
        .map(|pair| judge(&pair))
        .collect();
    support::sort(&mut violations);
    violations
}

/// The out-of-order pairs over every producer and judged partition, idempotent or not.
pub fn count(history: &History) -> usize {
    inversions(history).len()
}

/// Where a send falls in send order: per producer and partition, by invocation time, then by place in the history
/// (sends invoked in the same millisecond keep the order the history recorded them in).
type SendOrder<'a> = (u32, &'a TopicPartition, u64, usize);

/// A send whose record the final log holds, at the first offset holding it.
#[derive(Clone, Copy)]
struct Placed<'a> {
    send: &'a SendOp,
    offset: Offset,
}

/// Two records one producer sent to one partition one right after the other (counting only records the final log
/// holds), the later one at the lower offset.
struct Inversion<'a> {
    tp: &'a TopicPartition,
    earlier: Placed<'a>,
    later: Placed<'a>,
}

/// Every inversion, found by sorting each (producer, partition)'s records into send order and comparing
/// neighbours. Any record sent later but placed lower makes at least one neighbouring pair descend, so nothing is
/// missed; and a retried batch of k records that lands behind n newer ones is one pair at its edge rather than
/// k·n pairs, which also keeps this O(n log n).
fn inversions(history: &History) -> Vec<Inversion<'_>> {
    let first_offsets = first_offsets(history);
    let mut placed: Vec<(SendOrder, Placed)> = history
        .sends
        .iter()
        .enumerate()
        .filter_map(|(index, send)| {
            // A record missing from the final log has no place to be out of (a loss is lost-write's to report).
            let tp = send.tp.as_ref()?;
            let offset = *first_offsets.get(tp)?.get(&send.value)?;
            let order = (send.process, tp, send.invoke_ms, index);
            Some((order, Placed { send, offset }))
        })
        .collect();
    placed.sort_unstable_by_key(|(order, _)| *order);
    placed
        .windows(2)
        .filter_map(|pair| {
            let ((process, tp, _, _), earlier) = pair[0];
            let ((next_process, next_tp, _, _), later) = pair[1];
            let same_stream = process == next_process && tp == next_tp;
            (same_stream && later.offset < earlier.offset).then_some(Inversion {
                tp,
                earlier,
                later,
            })
        })
        .collect()
}

/// Each value's first offset in every judged partition's final log: further copies are duplicate's to report, and
/// should not make one record look both in and out of order.
fn first_offsets(history: &History) -> BTreeMap<&TopicPartition, BTreeMap<u64, Offset>> {
    history
        .final_partitions
        .iter()
        // A leaderless partition has no final read (reported apart as no-convergence): no order to judge.
        .filter(|(_, p)| p.leader.is_some())
        .map(|(tp, p)| {
            let mut first: BTreeMap<u64, Offset> = BTreeMap::new();
            for &(offset, value) in &p.read {
                first
                    .entry(value)
                    .and_modify(|o| *o = (*o).min(offset))
                    .or_insert(offset);
            }
            (tp, first)
        })
        .collect()
}

fn judge(pair: &Inversion) -> Violation {
    let (earlier, later) = (pair.earlier, pair.later);
    let message = format!(
        "producer {} sent {:#x} before {:#x} to {}, but they sit at offsets {} and {}",
        earlier.send.process,
        earlier.send.value,
        later.send.value,
        pair.tp,
        earlier.offset,
        later.offset
    );
    let records = vec![
        (earlier.offset, earlier.send.value),
        (later.offset, later.send.value),
    ];
    support::violation(
        ViolationKind::Reorder,
        pair.tp,
        Some(later.send.complete_ms.unwrap_or(later.send.invoke_ms)),
        records,
        message,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;
    use crate::history::FinalPartition;

    /// An idempotent send by `process`, invoked at `invoke_ms`, acknowledged at `offset`.
    fn sent(
        process: u32,
        value: u64,
        p: &TopicPartition,
        offset: Offset,
        invoke_ms: u64,
    ) -> SendOp {
        SendOp {
            process,
            idempotent: true,
            transactional: false,
            invoke_ms,
            ..ok_send(value, p, offset)
        }
    }

    #[test]
    fn records_in_send_order_are_clean() {
        let (p, q) = (tp(0), tp(1));
        let mut history = with_final(&p, converged(&records(0..4), &[1]));
        history
            .final_partitions
            .insert(q.clone(), converged(&[(0, 900), (1, 901)], &[1]));
        history.sends = vec![
            // Listed out of invoke order: the invocation time decides, and equal times keep the listed order.
            sent(0, 102, &p, 2, 20),
            sent(0, 100, &p, 0, 10),
            sent(0, 101, &p, 1, 10),
            // Lost from the final log: no place, so nothing to compare.
            sent(0, 555, &p, 9, 15),
            sent(0, 103, &p, 3, 30),
            // Other streams are judged apart: in q, producer 1's 900 sits below producer 0's 901 sent earlier.
            sent(0, 901, &q, 1, 1),
            sent(1, 900, &q, 0, 5),
        ];
        assert_eq!(check(&history), vec![]);
        assert_eq!(count(&history), 0);
    }

    #[test]
    fn a_later_send_at_a_lower_offset_is_a_reorder() {
        let p = tp(1);
        let (a, b) = (0x1_0000_000a, 0x1_0000_000b);
        let mut history = with_final(&p, converged(&[(29, 7), (30, b), (31, a)], &[1, 2]));
        history.sends = vec![sent(1, a, &p, 31, 40), sent(1, b, &p, 30, 41)];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].kind, ViolationKind::Reorder);
        assert_eq!(violations[0].tp, Some(p));
        assert_eq!(violations[0].records, vec![(31, a), (30, b)]);
        assert_eq!(violations[0].at_ms, Some(130));
        assert_eq!(
            violations[0].message,
            "producer 1 sent 0x10000000a before 0x10000000b to t-1, but they sit at offsets 31 and 30"
        );
        assert_eq!(count(&history), 1);
    }

    #[test]
    fn equal_invoke_times_are_ordered_by_the_history() {
        let p = tp(0);
        let mut history = with_final(&p, converged(&records(0..2), &[1]));
        history.sends = vec![sent(0, 101, &p, 1, 10), sent(0, 100, &p, 0, 10)];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].records, vec![(1, 101), (0, 100)]);
    }

    #[test]
    fn a_retried_batch_behind_newer_records_is_reported_once_at_its_edge() {
        let p = tp(0);
        // Sent 100, 101, 102, 103; the first batch (100, 101) was retried and landed after the second.
        let log = [(0, 102), (1, 103), (2, 100), (3, 101)];
        let mut history = with_final(&p, converged(&log, &[1]));
        history.sends = vec![
            sent(0, 100, &p, 2, 10),
            sent(0, 101, &p, 3, 11),
            sent(0, 102, &p, 0, 12),
            sent(0, 103, &p, 1, 13),
        ];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].records, vec![(3, 101), (0, 102)]);
    }

    #[test]
    fn a_duplicate_is_placed_at_its_first_copy() {
        let p = tp(0);
        // 100 was retried and appended again after 101: a duplicate, but not out of order.
        let log = [(0, 100), (1, 101), (2, 100)];
        let mut history = with_final(&p, converged(&log, &[1]));
        history.sends = vec![sent(0, 100, &p, 0, 10), sent(0, 101, &p, 1, 11)];
        assert_eq!(check(&history), vec![]);
    }

    #[test]
    fn reorders_without_idempotence_are_counted_not_flagged() {
        let p = tp(0);
        let log = [(0, 101), (1, 100), (2, 103), (3, 102)];
        let mut history = with_final(&p, converged(&log, &[1]));
        history.sends = (100..104)
            .zip([1, 0, 3, 2])
            .map(|(value, offset)| SendOp {
                idempotent: false,
                transactional: false,
                ..sent(0, value, &p, offset, value)
            })
            .collect();
        assert_eq!(check(&history), vec![]);
        assert_eq!(count(&history), 2);
    }

    #[test]
    fn leaderless_partition_is_not_judged() {
        let p = tp(0);
        let backwards = [(0, 101), (1, 100)];
        let partition = FinalPartition {
            leader: None,
            isr: vec![],
            read: vec![],
            replicas: vec![replica(1, &backwards, 2)],
            batches: Vec::new(),
        };
        let mut history = with_final(&p, partition);
        history.sends = vec![sent(0, 100, &p, 1, 10), sent(0, 101, &p, 0, 11)];
        assert_eq!(check(&history), vec![]);
        assert_eq!(count(&history), 0);
    }
}
