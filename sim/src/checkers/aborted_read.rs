//! aborted-read (Jepsen's G1a): a read_committed consumer polled a record that is not committed: aborted or still
//! open in the final log, or written by a transaction that surely did not commit.

use super::support;
use super::txn_fate::{self, Fate, Fates};
use super::{Violation, ViolationKind};
use crate::history::{ConsumeOp, History, TxnOp};
use ksim_model::observe::OffsetValue;
use ksim_model::{Offset, TopicPartition};
use std::collections::BTreeMap;

pub fn check(history: &History) -> Vec<Violation> {
    if history.read_committed.is_empty() {
        return Vec::new();
    }
    let reads = support::final_reads(history);
    let fates = txn_fate::all(history);
    let aborted: BTreeMap<u64, &TxnOp> = history
        .transactions
        .iter()
        .filter(|t| t.aborted())
        .flat_map(|t| t.values.iter().map(move |&v| (v, t)))
        .collect();
    let judge = Judge {
        reads,
        fates,
        aborted,
    };
    let mut violations = Vec::new();
    for op in &history.consumes {
        let ConsumeOp::Poll {
            process,
            tp,
            records,
            at_ms,
            ..
        } = op
        else {
            continue;
        };
        if !history.read_committed.contains(process) {
            continue;
        }
        let uncommitted: Vec<(OffsetValue, String)> = records
            .iter()
            .filter_map(|&r| judge.why_uncommitted(tp, r).map(|why| (r, why)))
            .collect();
        if let Some(((offset, value), why)) = uncommitted.first() {
            let message = format!(
                "read_committed consumer {process} polled {} uncommitted record(s) of {tp} (first: value {value} \
                 at offset {offset}, {why})",
                uncommitted.len()
            );
            let records = uncommitted.iter().map(|(r, _)| *r).collect();
            violations.push(support::violation(
                ViolationKind::AbortedRead,
                tp,
                Some(*at_ms),
                records,
                message,
            ));
        }
    }
    support::sort(&mut violations);
    violations
}

/// What a polled record is judged against: the final logs with their fates, and the transactions that surely did
/// not commit.
struct Judge<'a> {
    reads: BTreeMap<&'a TopicPartition, BTreeMap<Offset, u64>>,
    fates: BTreeMap<&'a TopicPartition, Fates>,
    /// The values written by transactions that `aborted()`, each with its transaction.
    aborted: BTreeMap<u64, &'a TxnOp>,
}

impl Judge<'_> {
    /// Why the record is not committed, in words; None if nothing shows it is not.
    fn why_uncommitted(&self, tp: &TopicPartition, (offset, value): OffsetValue) -> Option<String> {
        // The final log speaks only for the record it holds at that offset: a record it replaced is
        // hw-regression's to report, and its fate here is another record's.
        let same_record = self
            .reads
            .get(tp)
            .is_some_and(|read| read.get(&offset) == Some(&value));
        let fate = self
            .fates
            .get(tp)
            .and_then(|f| f.get(&offset))
            .map(|r| r.fate)
            .filter(|_| same_record);
        match fate {
            Some(fate @ (Fate::Aborted | Fate::Open)) => {
                Some(format!("which the final log holds as {}", fate.describe()))
            }
            _ => self.aborted.get(&value).map(|t| {
                format!(
                    "written by transaction {} (producer id {}, epoch {}) that did not commit",
                    t.transactional_id, t.producer_id, t.producer_epoch
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;
    use crate::history::{Outcome, TxnIntent};

    /// Producer 7 committed 10, 11 and aborted 12; producer 8's 20 is still open; 30 is a plain record.
    fn mixed_log() -> crate::history::FinalPartition {
        txn_log()
            .txn(7, 0, &[10, 11])
            .commit(7, 0)
            .txn(7, 0, &[12])
            .abort(7, 0)
            .plain(&[30])
            .txn(8, 0, &[20])
            .converged(&[1])
    }

    #[test]
    fn read_committed_consumer_reading_only_committed_records_is_clean() {
        let p = tp(0);
        let mut history = with_final(&p, mixed_log());
        history.read_committed.insert(5);
        history.transactions = vec![committed_txn(7, &[10, 11]), aborted_txn(7, &[12])];
        history.consumes = vec![
            // Over the commit marker (2), the aborted 12 (3) and its abort marker (4) to the plain 30 (5).
            poll(5, &p, &[(0, 10), (1, 11), (5, 30)], 20),
            // A read_uncommitted consumer may see everything.
            poll(6, &p, &mixed_log().read, 30),
        ];
        assert_eq!(check(&history), vec![]);
    }

    #[test]
    fn aborted_and_open_records_polled_read_committed_are_aborted_reads() {
        let p = tp(0);
        let mut history = with_final(&p, mixed_log());
        history.read_committed.insert(5);
        history.consumes = vec![poll(5, &p, &[(0, 10), (3, 12), (5, 30), (6, 20)], 40)];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        let v = &violations[0];
        assert_eq!(
            (v.kind, v.tp.clone(), v.at_ms),
            (ViolationKind::AbortedRead, Some(p), Some(40))
        );
        assert_eq!(v.records, vec![(3, 12), (6, 20)]);
        assert!(
            v.message.contains("consumer 5")
                && v.message.contains("2 uncommitted")
                && v.message.contains("value 12 at offset 3")
                && v.message.contains("aborted"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_record_of_a_transaction_that_did_not_commit_is_aborted_even_if_the_log_lost_it() {
        let p = tp(0);
        // The final log lost the record (and its batch): only the transaction's outcome tells.
        let mut history = with_final(&p, txn_log().converged(&[1]));
        history.read_committed.insert(5);
        history.transactions = vec![
            txn(7, &[12], Some(TxnIntent::Commit), Some(Outcome::Fail)),
            // A commit of unknown outcome may have happened: not judged.
            txn(8, &[13], Some(TxnIntent::Commit), Some(Outcome::Info)),
        ];
        history.consumes = vec![poll(5, &p, &[(0, 12), (1, 13)], 40)];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].records, vec![(0, 12)]);
        assert!(
            violations[0].message.contains("transaction tx-7"),
            "{}",
            violations[0].message
        );
    }
}
