//! duplicate-consume: a consumer group processed a record more than once. At-least-once delivery allows it (a
//! rebalance or a crash between processing and commit replays records), so scenarios declare it allowed there;
//! with exactly-once processing it is a violation.

use super::group_support::{self, Effect};
use super::support;
use super::{Violation, ViolationKind};
use crate::history::History;
use ksim_model::observe::OffsetValue;
use ksim_model::TopicPartition;
use std::collections::{BTreeMap, BTreeSet};

/// How many duplicated records a message names one by one before summing up the rest.
const NAMED: usize = 5;

pub fn check(history: &History) -> Vec<Violation> {
    let reads = support::final_reads(history);
    let mut violations: Vec<Violation> = processings(history)
        .into_iter()
        .filter_map(|((group, tp), by_value)| {
            let copies = |value: u64| {
                reads
                    .get(tp)
                    .map_or(0, |read| read.values().filter(|v| **v == value).count())
            };
            let repeated: Vec<Repeated> = by_value
                .into_iter()
                .filter(|(value, times)| processed_twice(times, copies(*value)))
                .map(|(value, times)| Repeated { value, times })
                .collect();
            (!repeated.is_empty()).then(|| duplicate_consume(group, tp, &repeated))
        })
        .collect();
    support::sort(&mut violations);
    violations
}

/// Whether a record was processed more than once: twice at one offset, or more often than the final log holds
/// copies of it. A producer without idempotence may append one record twice (`duplicate`, a write anomaly): the
/// group processing each copy once has not consumed twice; a record truncated and appended again by a retry at
/// another offset, processed at both, has.
fn processed_twice(times: &[Time], copies_in_log: usize) -> bool {
    let offsets: BTreeSet<ksim_model::Offset> = times.iter().map(|t| t.offset).collect();
    offsets.len() < times.len() || times.len() > copies_in_log.max(1)
}

/// One processing of a record: by which member, at which offset, when.
#[derive(Clone, Copy, Debug)]
struct Time {
    process: u32,
    offset: ksim_model::Offset,
    at_ms: u64,
}

/// A record the group processed more than once, with each time, in history order.
struct Repeated {
    value: u64,
    times: Vec<Time>,
}

/// Per group and partition, every processing of each record (by value, which is unique per run: a record the log
/// lost and a retry appended again at another offset is still the same message to the application).
///
/// Only processing that surely took effect counts: in an aborted transaction it was undone, and in one of unknown
/// end it maybe was, and a timeout must not look like a duplicate.
fn processings(history: &History) -> BTreeMap<(&str, &TopicPartition), BTreeMap<u64, Vec<Time>>> {
    let mut seen: BTreeMap<(&str, &TopicPartition), BTreeMap<u64, Vec<Time>>> = BTreeMap::new();
    for p in group_support::processing(history).filter(|p| p.effect == Effect::Surely) {
        let by_value = seen.entry((p.group, p.tp)).or_default();
        for &(offset, value) in p.records {
            by_value.entry(value).or_default().push(Time {
                process: p.process,
                offset,
                at_ms: p.at_ms,
            });
        }
    }
    seen
}

fn duplicate_consume(group: &str, tp: &TopicPartition, repeated: &[Repeated]) -> Violation {
    let named: Vec<String> = repeated.iter().take(NAMED).map(describe).collect();
    let more = match repeated.len().saturating_sub(NAMED) {
        0 => String::new(),
        n => format!("; and {n} more"),
    };
    let message = format!(
        "group {group} processed {} record(s) of {tp} more than once: {}{more}",
        repeated.len(),
        named.join("; ")
    );
    let records: Vec<OffsetValue> = repeated
        .iter()
        .map(|r| (r.times[0].offset, r.value))
        .collect();
    // The first moment a record was processed again.
    let at_ms = repeated.iter().map(|r| r.times[1].at_ms).min();
    support::violation(ViolationKind::DuplicateConsume, tp, at_ms, records, message)
}

/// "value 101 at offset 1, 2 times (member 1 at 21 ms, member 2 at 40 ms)".
fn describe(r: &Repeated) -> String {
    let times: Vec<String> = r
        .times
        .iter()
        .map(|t| {
            let moved = if t.offset == r.times[0].offset {
                String::new()
            } else {
                format!(" at offset {}", t.offset)
            };
            format!("member {} at {} ms{moved}", t.process, t.at_ms)
        })
        .collect();
    format!(
        "value {} at offset {}, {} times ({})",
        r.value,
        r.times[0].offset,
        r.times.len(),
        times.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;
    use crate::history::{Outcome, TxnIntent};

    #[test]
    fn a_group_that_processed_each_record_once_is_clean() {
        let p = tp(0);
        let ops = vec![
            processed(1, 1, &p, &records(0..2), 20, 21),
            processed(2, 2, &p, &records(2..4), 30, 31),
            // Another group processing the same records is its own business.
            crate::history::GroupOp::Processed {
                group: "other".to_string(),
                process: 3,
                generation: 1,
                tp: p.clone(),
                records: records(0..4),
                polled_ms: 20,
                at_ms: 22,
                txn: None,
            },
        ];
        assert_eq!(check(&group_history(ops, None)), vec![]);
    }

    #[test]
    fn a_record_processed_by_two_members_is_a_duplicate_consume() {
        let p = tp(0);
        let ops = vec![
            processed(1, 1, &p, &records(0..3), 20, 21),
            // Member 1 crashed before committing; member 2 starts over from offset 1.
            processed(2, 2, &p, &records(1..4), 40, 41),
            processed(1, 1, &p, &records(2..3), 50, 52),
        ];
        let violations = check(&group_history(ops, None));
        assert_eq!(violations.len(), 1, "{violations:#?}");
        let v = &violations[0];
        assert_eq!(
            (v.kind, v.tp.clone(), v.at_ms),
            (ViolationKind::DuplicateConsume, Some(p), Some(41))
        );
        assert_eq!(v.records, records(1..3));
        assert_eq!(
            v.message,
            "group g processed 2 record(s) of t-0 more than once: value 101 at offset 1, 2 times (member 1 at \
             21 ms, member 2 at 41 ms); value 102 at offset 2, 3 times (member 1 at 21 ms, member 2 at 41 ms, \
             member 1 at 52 ms)"
        );
    }

    #[test]
    fn processing_undone_by_an_aborted_or_unknown_transaction_is_not_a_duplicate() {
        let p = tp(0);
        let ops = vec![
            in_txn(processed(1, 1, &p, &records(0..2), 20, 21), 0),
            in_txn(processed(1, 1, &p, &records(0..2), 30, 31), 1),
            in_txn(processed(1, 1, &p, &records(0..2), 40, 41), 2),
        ];
        let mut history = group_history(ops, None);
        history.transactions = vec![
            aborted_txn(7, &[900]),
            txn(7, &[901], Some(TxnIntent::Commit), Some(Outcome::Info)),
            committed_txn(7, &[902]),
        ];
        assert_eq!(check(&history), vec![]);
        // Had the second transaction committed, the records were processed twice.
        history.transactions[1] = committed_txn(7, &[901]);
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].records, records(0..2));
    }

    #[test]
    fn each_copy_of_a_record_a_producer_appended_twice_processed_once_is_not_a_duplicate() {
        let p = tp(0);
        // The producer's retry appended value 500 at offsets 0 and 1; the group processed each copy once.
        let twice = [(0, 500), (1, 500)];
        let ops = vec![
            assigned(1, 1, &[&p], 10),
            processed(1, 1, &p, &twice, 20, 21),
        ];
        let mut history = group_history(ops, None);
        history
            .final_partitions
            .insert(p.clone(), converged(&twice, &[1]));
        assert_eq!(check(&history), vec![]);
        // Processing one copy again is a duplicate.
        let ops = vec![
            assigned(1, 1, &[&p], 10),
            processed(1, 1, &p, &twice, 20, 21),
            processed(1, 1, &p, &[(1, 500)], 30, 31),
        ];
        let mut history = group_history(ops, None);
        history.final_partitions.insert(p, converged(&twice, &[1]));
        assert_eq!(check(&history).len(), 1);
    }
}
