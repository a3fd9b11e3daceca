//! lost-consume: a consumer group's committed offset passed a record of the final log that no member of the group
//! processed and no reset skipped on purpose, so the group will never process it.

use super::group_support::{self, CommitWrite, Effect, Skips};
use super::support;
use super::{Violation, ViolationKind};
use crate::history::History;
use ksim_model::observe::OffsetValue;
use ksim_model::{Offset, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

pub fn check(history: &History) -> Vec<Violation> {
    let reads = support::final_reads(history);
    let skips = Skips::of(history);
    let processed = processed_values(history);
    let writes = group_support::commit_writes(history);
    let aborted = group_support::aborted_offsets(history);
    let mut violations = Vec::new();
    for (group, offsets) in group_support::committed_offsets(history) {
        let done = processed.get(group);
        for (tp, committed) in offsets {
            // A leaderless partition has no final read (no-convergence reports it): nothing to judge.
            let Some(read) = reads.get(tp) else { continue };
            let aborted = aborted.get(tp);
            let lost: Vec<OffsetValue> = read
                .range(..committed)
                .map(|(&offset, &value)| (offset, value))
                .filter(|&(offset, value)| {
                    !done.is_some_and(|d| d.contains(&value))
                        && !skips.skipped(group, tp, offset)
                        && !aborted.is_some_and(|a| a.contains(&offset))
                })
                .collect();
            if let Some(&(offset, _)) = lost.first() {
                let passed_by = first_commit_past(&writes, group, tp, offset);
                violations.push(lost_consume(group, tp, committed, lost, passed_by));
            }
        }
    }
    support::sort(&mut violations);
    violations
}

/// Per group, the values its members processed. Processing in a transaction of unknown end counts: it may have
/// committed, and a timeout must not look like a loss. Processing in an aborted transaction does not: its output
/// and its offsets were thrown away together, so the records must be processed again.
fn processed_values(history: &History) -> BTreeMap<&str, BTreeSet<u64>> {
    let mut values: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    for p in group_support::processing(history) {
        if p.effect != Effect::Not {
            let group = values.entry(p.group).or_default();
            group.extend(p.records.iter().map(|&(_, value)| value));
        }
    }
    values
}

/// The first acknowledged commit of the group that moved past `offset`: where the loss became permanent.
fn first_commit_past<'a>(
    writes: &'a [CommitWrite],
    group: &str,
    tp: &TopicPartition,
    offset: Offset,
) -> Option<&'a CommitWrite<'a>> {
    writes
        .iter()
        .filter(|w| w.group == group && w.tp == tp && w.offset > offset)
        .filter(|w| w.acknowledged_ms.is_some())
        .min_by_key(|w| w.acknowledged_ms)
}

fn lost_consume(
    group: &str,
    tp: &TopicPartition,
    committed: Offset,
    lost: Vec<OffsetValue>,
    passed_by: Option<&CommitWrite>,
) -> Violation {
    let (offset, value) = lost[0];
    let by = match passed_by {
        Some(w) => format!(
            "; member {}'s commit of offset {} acknowledged at {} ms first moved past it",
            w.process,
            w.offset,
            w.acknowledged_ms.unwrap_or_default()
        ),
        None => String::new(),
    };
    let message = format!(
        "group {group} committed {tp} up to offset {committed} but no member processed {} record(s) below it \
         (first: value {value} at offset {offset}){by}",
        lost.len()
    );
    let at_ms = passed_by.and_then(|w| w.acknowledged_ms);
    support::violation(ViolationKind::LostConsume, tp, at_ms, lost, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;
    use crate::history::{FinalPartition, Outcome};

    /// Group `g` over partition t-0 holding records 0..4, with `ops` and a final committed offset of `committed`.
    fn consumed(ops: Vec<crate::history::GroupOp>, committed: Option<Offset>) -> History {
        let p = tp(0);
        let final_committed = committed.map(|c| vec![(p.clone(), c)]);
        let mut history = group_history(ops, final_committed.as_deref());
        history
            .final_partitions
            .insert(p, converged(&records(0..4), &[1]));
        history
    }

    #[test]
    fn a_group_that_processed_everything_it_committed_is_clean() {
        let p = tp(0);
        let ops = vec![
            assigned(1, 1, &[&p], 10),
            processed(1, 1, &p, &records(0..2), 20, 21),
            commit(1, 1, &[(p.clone(), 2)], Outcome::Ok, (22, 23)),
            // Member 2 processed the rest after a rebalance: it is the group that counts.
            assigned(2, 2, &[&p], 30),
            processed(2, 2, &p, &records(2..4), 31, 32),
            commit(2, 2, &[(p.clone(), 4)], Outcome::Ok, (33, 34)),
        ];
        assert_eq!(check(&consumed(ops, Some(4))), vec![]);
    }

    #[test]
    fn committing_past_records_no_member_processed_is_a_lost_consume() {
        let p = tp(0);
        let ops = vec![
            assigned(1, 1, &[&p], 10),
            processed(1, 1, &p, &records(0..1), 20, 21),
            commit(1, 1, &[(p.clone(), 3)], Outcome::Ok, (22, 23)),
        ];
        let violations = check(&consumed(ops, Some(3)));
        assert_eq!(violations.len(), 1, "{violations:#?}");
        let v = &violations[0];
        assert_eq!(
            (v.kind, v.tp.clone(), v.at_ms),
            (ViolationKind::LostConsume, Some(p), Some(23))
        );
        assert_eq!(v.records, records(1..3));
        assert_eq!(
            v.message,
            "group g committed t-0 up to offset 3 but no member processed 2 record(s) below it (first: value 101 \
             at offset 1); member 1's commit of offset 3 acknowledged at 23 ms first moved past it"
        );
    }

    #[test]
    fn without_a_final_answer_the_highest_acknowledged_commit_counts() {
        let p = tp(0);
        let ops = vec![
            processed(1, 1, &p, &records(0..1), 20, 21),
            commit(1, 1, &[(p.clone(), 1)], Outcome::Ok, (22, 23)),
            // A commit of unknown outcome or a failed one does not raise the bar.
            commit(1, 1, &[(p.clone(), 4)], Outcome::Info, (24, 25)),
            commit(1, 1, &[(p.clone(), 3)], Outcome::Fail, (26, 27)),
        ];
        assert_eq!(check(&consumed(ops.clone(), None)), vec![]);
        // The final answer overrides: the Info commit did take effect, and records 1..4 were never processed.
        let violations = check(&consumed(ops, Some(4)));
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].records, records(1..4));
        assert_eq!(violations[0].at_ms, None);
    }

    #[test]
    fn records_a_reset_skipped_on_purpose_are_not_lost() {
        let p = tp(0);
        let ops = vec![
            // No committed offset and auto.offset.reset=latest: everything below 2 is skipped on purpose.
            fetched(1, &p, None, 10),
            reset(1, &p, None, 2, 11),
            processed(1, 1, &p, &records(2..3), 20, 21),
            // Out of range at 3: reset forward to 4, skipping 3.
            reset(1, &p, Some(3), 4, 22),
        ];
        assert_eq!(check(&consumed(ops, Some(4))), vec![]);
    }

    #[test]
    fn processing_in_an_aborted_transaction_does_not_count_but_an_unknown_one_may() {
        let p = tp(0);
        let ops = vec![
            in_txn(processed(1, 1, &p, &records(0..2), 20, 21), 0),
            in_txn(processed(1, 1, &p, &records(2..4), 30, 31), 1),
        ];
        let mut history = consumed(ops, Some(4));
        history.transactions = vec![
            aborted_txn(7, &[900]),
            txn(
                7,
                &[901],
                Some(crate::history::TxnIntent::Commit),
                Some(Outcome::Info),
            ),
        ];
        let violations = check(&history);
        assert_eq!(violations.len(), 1, "{violations:#?}");
        assert_eq!(violations[0].records, records(0..2));
    }

    #[test]
    fn a_leaderless_partition_is_not_judged() {
        let p = tp(0);
        let mut history = consumed(Vec::new(), Some(4));
        history.final_partitions.insert(
            p,
            FinalPartition {
                leader: None,
                isr: vec![],
                read: vec![],
                replicas: vec![replica(1, &records(0..4), 4)],
                batches: Vec::new(),
            },
        );
        assert_eq!(check(&history), vec![]);
    }

    #[test]
    fn records_of_an_aborted_transaction_below_the_committed_offset_are_not_lost() {
        let p = tp(0);
        // Offsets 0-1 aborted (marker at 2), 3 committed (marker at 4): a read_committed member only sees 3.
        let log = txn_log()
            .txn(7, 0, &[100, 101])
            .abort(7, 0)
            .txn(7, 0, &[102])
            .commit(7, 0);
        let ops = vec![
            assigned(1, 1, &[&p], 10),
            processed(1, 1, &p, &[(3, 102)], 20, 21),
            commit(1, 1, &[(p.clone(), 5)], Outcome::Ok, (22, 23)),
        ];
        let mut history = group_history(ops, Some(&[(p.clone(), 5)]));
        history
            .final_partitions
            .insert(p.clone(), log.converged(&[1]));
        assert_eq!(check(&history), vec![]);
        // Had the committed one been skipped, it would be lost.
        let ops = vec![
            assigned(1, 1, &[&p], 10),
            commit(1, 1, &[(p.clone(), 5)], Outcome::Ok, (22, 23)),
        ];
        let mut history = group_history(ops, Some(&[(p.clone(), 5)]));
        let log = txn_log()
            .txn(7, 0, &[100, 101])
            .abort(7, 0)
            .txn(7, 0, &[102])
            .commit(7, 0);
        history.final_partitions.insert(p, log.converged(&[1]));
        let lost = check(&history);
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].records, vec![(3, 102)]);
    }
}
