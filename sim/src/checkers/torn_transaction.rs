//! torn-transaction: a transaction took effect in part. (a) Its records were committed on some partitions and
//! aborted on others; (b) a read_committed consumer read some records of a committed transaction on a partition and
//! moved past the others it wrote there.

use super::support::{self, Expect};
use super::txn_fate::{self, Fate, Fates};
use super::{Violation, ViolationKind};
use crate::history::{History, TxnOp};
use ksim_model::observe::OffsetValue;
use ksim_model::{Offset, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

pub fn check(history: &History) -> Vec<Violation> {
    let fates = txn_fate::all(history);
    let mut violations = split_outcomes(history, &fates);
    violations.extend(partial_reads(history, &fates));
    support::sort(&mut violations);
    violations
}

/// A transactional record of a final log: where it sits and how its transaction ended there.
type Placed<'a> = (&'a TopicPartition, OffsetValue, Fate);

/// Part (a): the coordinator decides a transaction once and writes the same marker to every partition it touched,
/// so one transaction's records must share one fate. Open records are left out: a marker still on its way is a
/// slow end, not a torn one.
fn split_outcomes(history: &History, fates: &BTreeMap<&TopicPartition, Fates>) -> Vec<Violation> {
    // Values are unique per run, so a value names its record wherever it landed.
    let mut placed: BTreeMap<u64, Vec<Placed>> = BTreeMap::new();
    for (tp, partition) in &history.final_partitions {
        let Some(fates) = fates.get(tp) else { continue };
        for &(offset, value) in &partition.read {
            if let Some(record) = fates.get(&offset) {
                placed
                    .entry(value)
                    .or_default()
                    .push((tp, (offset, value), record.fate));
            }
        }
    }
    history
        .transactions
        .iter()
        .flat_map(|txn| torn(txn, &placed))
        .collect()
}

/// One violation per partition where the transaction aborted although it committed elsewhere: that is where its
/// records went missing.
fn torn(txn: &TxnOp, placed: &BTreeMap<u64, Vec<Placed>>) -> Vec<Violation> {
    let places: Vec<Placed> = txn
        .values
        .iter()
        .flat_map(|v| placed.get(v).into_iter().flatten().copied())
        .collect();
    let committed: Vec<&Placed> = places
        .iter()
        .filter(|(_, _, f)| *f == Fate::Committed)
        .collect();
    if committed.is_empty() {
        return Vec::new();
    }
    let mut aborted: BTreeMap<&TopicPartition, Vec<OffsetValue>> = BTreeMap::new();
    for (tp, record, _) in places.iter().filter(|(_, _, f)| *f == Fate::Aborted) {
        aborted.entry(tp).or_default().push(*record);
    }
    aborted
        .into_iter()
        .map(|(tp, mut records)| {
            records.sort_unstable();
            let message = torn_message(txn, tp, &records, &committed);
            let at_ms = Some(txn.complete_ms.unwrap_or(txn.invoke_ms));
            support::violation(ViolationKind::TornTransaction, tp, at_ms, records, message)
        })
        .collect()
}

fn torn_message(
    txn: &TxnOp,
    tp: &TopicPartition,
    aborted: &[OffsetValue],
    committed: &[&Placed],
) -> String {
    let (offset, value) = aborted[0];
    let (first_tp, (first_offset, first_value), _) = committed[0];
    let committed_on: BTreeSet<String> = committed.iter().map(|(t, _, _)| t.to_string()).collect();
    format!(
        "transaction {} (producer id {}, epoch {}) of producer {} is torn: {} of its record(s) on {tp} were aborted \
         (first: value {value} at offset {offset}) while {} were committed on {} (first: value {first_value} at \
         offset {first_offset} of {first_tp})",
        txn.transactional_id,
        txn.producer_id,
        txn.producer_epoch,
        txn.process,
        aborted.len(),
        committed.len(),
        committed_on.into_iter().collect::<Vec<_>>().join(", ")
    )
}

/// One committed transaction on one partition, as one read_committed consumer met it.
#[derive(Default)]
struct Met {
    /// Its records the consumer read, at any time.
    seen: BTreeSet<OffsetValue>,
    /// Its records the consumer's position moved past without reading them, with the time of the first such poll.
    passed: BTreeMap<OffsetValue, u64>,
}

/// A committed transaction on a partition: the consumer, the partition, the producer id and its COMMIT's offset.
type TxnKey<'a> = (u32, &'a TopicPartition, i64, Offset);

/// Part (b). Moving past a record means reading a later offset right after an earlier one (or right after seeking
/// to or below it), as poll-skip judges. A consumer that starts in the middle of a transaction (at a group's
/// committed offset) has moved past nothing, so it is not judged for the records before its start.
fn partial_reads(history: &History, fates: &BTreeMap<&TopicPartition, Fates>) -> Vec<Violation> {
    let reads = support::final_reads(history);
    let mut met: BTreeMap<TxnKey, Met> = BTreeMap::new();
    support::walk_reads(history, |step| {
        if !history.read_committed.contains(&step.process) {
            return;
        }
        let (Some(read), Some(fates)) = (reads.get(step.tp), fates.get(step.tp)) else {
            return;
        };
        let key = |offset: Offset| {
            let record = fates.get(&offset).filter(|r| r.fate == Fate::Committed)?;
            Some((step.process, step.tp, record.producer_id, record.marker?))
        };
        let (offset, value) = step.record;
        // Only the record the final log holds at that offset belongs to the transaction found there.
        if read.get(&offset) == Some(&value) {
            if let Some(k) = key(offset) {
                met.entry(k).or_default().seen.insert(step.record);
            }
        }
        let from = match step.expect {
            Expect::After((previous, _)) => previous + 1,
            Expect::AtLeast(sought) => sought,
            Expect::Anything => return,
        };
        if offset <= from {
            return;
        }
        for (&o, &v) in read.range(from..offset) {
            if let Some(k) = key(o) {
                met.entry(k)
                    .or_default()
                    .passed
                    .entry((o, v))
                    .or_insert(step.at_ms);
            }
        }
    });
    met.into_iter()
        .filter_map(|(key, met)| partial_read(key, &met))
        .collect()
}

fn partial_read((process, tp, producer_id, marker): TxnKey, met: &Met) -> Option<Violation> {
    let missed: Vec<(OffsetValue, u64)> = met
        .passed
        .iter()
        .filter(|(r, _)| !met.seen.contains(r))
        .map(|(r, at)| (*r, *at))
        .collect();
    let &(seen_offset, seen_value) = met.seen.first()?;
    let &((offset, value), _) = missed.first()?;
    let at_ms = missed.iter().map(|(_, at)| *at).min();
    let message = format!(
        "read_committed consumer {process} read {} record(s) of producer id {producer_id}'s transaction committed at \
         offset {marker} of {tp} (first: value {seen_value} at offset {seen_offset}) but moved past {} other(s) of \
         it (first: value {value} at offset {offset})",
        met.seen.len(),
        missed.len()
    );
    let records = missed.into_iter().map(|(r, _)| r).collect();
    Some(support::violation(
        ViolationKind::TornTransaction,
        tp,
        at_ms,
        records,
        message,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;

    #[test]
    fn a_transaction_committed_everywhere_and_read_whole_is_clean() {
        let (p, q) = (tp(0), tp(1));
        let mut history = with_final(
            &p,
            txn_log().txn(7, 0, &[10, 11]).commit(7, 0).converged(&[1]),
        );
        history.final_partitions.insert(
            q.clone(),
            txn_log()
                .txn(7, 0, &[12])
                .commit(7, 0)
                // An aborted transaction aborted everywhere is not torn either.
                .txn(7, 0, &[13])
                .abort(7, 0)
                .converged(&[1]),
        );
        history.transactions = vec![committed_txn(7, &[10, 11, 12]), aborted_txn(7, &[13])];
        history.read_committed.extend([5, 6]);
        history.consumes = vec![
            poll(5, &p, &[(0, 10), (1, 11)], 20),
            // Another consumer starting mid-transaction (at a group's committed offset) moved past nothing.
            poll(6, &p, &[(1, 11)], 20),
        ];
        assert_eq!(check(&history), vec![]);
    }

    #[test]
    fn a_transaction_committed_on_one_partition_and_aborted_on_another_is_torn() {
        let (p, q) = (tp(0), tp(1));
        let mut history = with_final(
            &p,
            txn_log().txn(7, 0, &[10, 11]).commit(7, 0).converged(&[1]),
        );
        history.final_partitions.insert(
            q.clone(),
            txn_log()
                .plain(&[1])
                .txn(7, 0, &[12, 13])
                .abort(7, 0)
                .converged(&[1]),
        );
        history.transactions = vec![committed_txn(7, &[10, 11, 12, 13])];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        let v = &violations[0];
        assert_eq!(
            (v.kind, v.tp.clone(), v.at_ms),
            (ViolationKind::TornTransaction, Some(q), Some(500))
        );
        assert_eq!(v.records, vec![(1, 12), (2, 13)]);
        assert!(
            v.message.contains("transaction tx-7")
                && v.message.contains("2 of its record(s) on t-1 were aborted")
                && v.message.contains("2 were committed on t-0"),
            "{}",
            v.message
        );
    }

    #[test]
    fn moving_past_part_of_a_committed_transaction_read_in_part_is_torn() {
        let p = tp(0);
        // Producer 7's transaction wrote 10, 11, 12 in two batches, interleaved with a plain record.
        let log = txn_log()
            .txn(7, 0, &[10, 11])
            .plain(&[30])
            .txn(7, 0, &[12])
            .commit(7, 0)
            .plain(&[31]);
        let mut history = with_final(&p, log.converged(&[1]));
        history.read_committed.insert(5);
        history.consumes = vec![
            poll(5, &p, &[(0, 10)], 20),
            // Jumped from offset 0 to the plain 30, past 11.
            poll(5, &p, &[(2, 30)], 30),
            poll(5, &p, &[(3, 12), (5, 31)], 40),
        ];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        let v = &violations[0];
        assert_eq!(
            (v.kind, v.tp.clone(), v.at_ms),
            (ViolationKind::TornTransaction, Some(p), Some(30))
        );
        assert_eq!(v.records, vec![(1, 11)]);
        assert!(
            v.message.contains("consumer 5 read 2 record(s)")
                && v.message.contains("committed at offset 4"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_read_uncommitted_consumer_or_a_transaction_read_later_is_not_judged() {
        let p = tp(0);
        let log = txn_log().txn(7, 0, &[10, 11, 12]).commit(7, 0);
        let mut history = with_final(&p, log.converged(&[1]));
        history.read_committed.insert(5);
        history.consumes = vec![
            poll(6, &p, &[(0, 10), (2, 12)], 20),
            poll(5, &p, &[(0, 10), (2, 12)], 20),
            // Consumer 5 seeks back and reads 11 after all.
            seek(5, &p, 1, 30),
            poll(5, &p, &[(1, 11)], 40),
        ];
        assert_eq!(check(&history), vec![]);
    }
}
