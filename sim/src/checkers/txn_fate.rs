//! Transaction fates: whether each transactional record of a final log is committed, aborted or still open there.

use crate::history::{FinalPartition, History, TxnIntent};
use ksim_model::{Offset, TopicPartition};
use std::collections::BTreeMap;

/// How a transactional record's transaction ended on its partition, by Kafka's rule: the first marker of the same
/// producer id after the record decides (COMMIT or ABORT); with none yet, the transaction is still open there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Fate {
    Committed,
    Aborted,
    Open,
}

impl Fate {
    /// The fate in words, for messages: "the final log has it ...".
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Fate::Committed => "committed",
            Fate::Aborted => "aborted",
            Fate::Open => "still open (no marker of its producer follows it)",
        }
    }
}

/// One transactional record of a final log: its fate, and which transaction on this partition it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TxnRecord {
    pub fate: Fate,
    pub producer_id: i64,
    /// The offset of the marker that ended its transaction here (None while open). With the producer id it names
    /// the transaction on this partition, so the records one transaction wrote here can be told apart from the
    /// records of that producer's next transaction.
    pub marker: Option<Offset>,
}

/// The transactional records of one final partition's `read`, by offset. Records written without a transaction
/// (plain or idempotent producers) are absent: they have no fate to judge.
pub(crate) type Fates = BTreeMap<Offset, TxnRecord>;

/// The fates of the records of `partition.read`, from the final leader's batch headers.
///
/// Every marker of the leader's log counts, even one above its HW: the final state is settled, so such a marker
/// is only waiting for its followers, and calling its records open would make a slow end look like a violation.
pub(crate) fn of(partition: &FinalPartition) -> Fates {
    // Walking the log backwards, the last marker seen of a producer is the first one after the current batch.
    let mut next_marker: BTreeMap<i64, (Offset, TxnIntent)> = BTreeMap::new();
    // Each transactional data batch by base offset: (last offset, its records' fate).
    let mut spans: BTreeMap<Offset, (Offset, TxnRecord)> = BTreeMap::new();
    for batch in partition.batches.iter().rev() {
        match batch.marker {
            Some(intent) => {
                next_marker.insert(batch.producer_id, (batch.base_offset, intent));
            }
            None if batch.transactional => {
                let ended = next_marker.get(&batch.producer_id).copied();
                let fate = match ended {
                    Some((_, TxnIntent::Commit)) => Fate::Committed,
                    Some((_, TxnIntent::Abort)) => Fate::Aborted,
                    None => Fate::Open,
                };
                let record = TxnRecord {
                    fate,
                    producer_id: batch.producer_id,
                    marker: ended.map(|(offset, _)| offset),
                };
                spans.insert(batch.base_offset, (batch.last_offset, record));
            }
            None => {}
        }
    }
    partition
        .read
        .iter()
        .filter_map(|&(offset, _)| {
            let (_, &(last, record)) = spans.range(..=offset).next_back()?;
            (offset <= last).then_some((offset, record))
        })
        .collect()
}

/// The fates of every final partition, built once so checkers look records up instead of scanning batches.
/// A leaderless partition has no batches, so nothing of it has a fate.
pub(crate) fn all(history: &History) -> BTreeMap<&TopicPartition, Fates> {
    history
        .final_partitions
        .iter()
        .map(|(tp, p)| (tp, of(p)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;

    fn fates_by_offset(partition: &FinalPartition) -> Vec<(Offset, Fate)> {
        of(partition)
            .into_iter()
            .map(|(o, r)| (o, r.fate))
            .collect()
    }

    #[test]
    fn the_next_marker_of_the_same_producer_decides() {
        // Producers 7 and 8 interleave: 8's abort at offset 3 says nothing of 7's records, 7's commit at 5 does.
        let partition = txn_log()
            .txn(7, 0, &[10, 11])
            .txn(8, 0, &[20])
            .abort(8, 0)
            .plain(&[30])
            .commit(7, 0)
            .txn(7, 0, &[12])
            .idempotent(9, 0, &[40])
            .converged(&[1]);
        use Fate::*;
        assert_eq!(
            fates_by_offset(&partition),
            vec![(0, Committed), (1, Committed), (2, Aborted), (6, Open)]
        );
        let fates = of(&partition);
        assert_eq!(fates[&0].marker, Some(5));
        assert_eq!(fates[&2].marker, Some(3));
        assert_eq!(fates[&6].marker, None);
        assert_eq!(fates[&2].producer_id, 8);
    }

    #[test]
    fn only_records_of_the_read_have_a_fate() {
        let mut partition = txn_log().txn(7, 0, &[10, 11]).commit(7, 0).converged(&[1]);
        // The final read stopped at the HW after offset 0.
        partition.read.truncate(1);
        assert_eq!(fates_by_offset(&partition), vec![(0, Fate::Committed)]);
    }
}
