//! poll-skip (Jepsen): a consumer jumped over records that the final log holds, between two reads of a partition
//! or between a seek and its first read. A read_committed consumer is judged only on the records served to it.
//!
//! Reads of a log that was later truncated count too: once a consumer has read records that the final log does not
//! hold (an unclean election truncated them, and the new leader may have written others at their offsets), the
//! final log's records from the first of those on are still owed to it. Kafka's consumer learns of the truncation (KIP-320) and seeks back there; one that carries on from
//! its old position never reads what the new leader wrote below it.

use super::support::{self, Expect, ReadStep};
use super::txn_fate::{self, Fate, Fates};
use super::{Violation, ViolationKind};
use crate::history::History;
use ksim_model::observe::OffsetValue;
use ksim_model::{Offset, TopicPartition};
use std::collections::BTreeMap;

pub fn check(history: &History) -> Vec<Violation> {
    // Offsets may legitimately be missing (transaction markers, compaction): only records the final log holds
    // count as skipped.
    let reads = support::final_reads(history);
    let fates = txn_fate::all(history);
    let mut violations = Vec::new();
    // Per consumer and partition: the first offset of the records just read that the final log does not hold.
    let mut diverged: BTreeMap<(u32, &TopicPartition), Offset> = BTreeMap::new();
    support::walk_reads(history, |step| {
        let key = (step.process, step.tp);
        if !matches!(step.expect, Expect::After(_)) {
            // A seek (or the first read) starts afresh.
            diverged.remove(&key);
        }
        // A read_committed consumer is served only committed records: aborted and still-open transactional ones
        // are filtered out for it, so passing over them skips nothing.
        let read_committed = history
            .read_committed
            .contains(&step.process)
            .then(|| fates.get(step.tp))
            .flatten();
        let (offset, value) = step.record;
        let lost = reads.get(step.tp).and_then(|log| log.get(&offset)) != Some(&value);
        // Reading on along records the final log lost owes nothing yet; the first read back on the final log does.
        let owed_from = diverged.get(&key).copied().filter(|_| !lost);
        violations.extend(judge(&reads, read_committed, owed_from, &step));
        if lost {
            diverged.entry(key).or_insert(offset);
        } else {
            diverged.remove(&key);
        }
    });
    support::sort(&mut violations);
    violations
}

/// `read_committed` holds the partition's transaction fates when the consumer reads committed only; `diverged` the
/// first offset of the records the final log lost that the consumer has just read, if it has.
fn judge(
    reads: &BTreeMap<&TopicPartition, BTreeMap<Offset, u64>>,
    read_committed: Option<&Fates>,
    diverged: Option<Offset>,
    step: &ReadStep,
) -> Option<Violation> {
    let (offset, value) = step.record;
    // The first offset the consumer should have read next; a read at or below it skipped nothing.
    let (from, why) = match (step.expect, diverged) {
        (Expect::After((previous, _)), Some(first)) => (
            first,
            format!(
                "after reading offsets {first} to {previous}, records the final log does not hold"
            ),
        ),
        (Expect::After((previous, _)), None) => (previous + 1, format!("after offset {previous}")),
        (Expect::AtLeast(sought), _) => (sought, format!("after seeking to {sought}")),
        (Expect::Anything, _) => return None,
    };
    if offset <= from {
        return None;
    }
    let served = |o: &Offset| {
        read_committed
            .and_then(|fates| fates.get(o))
            .is_none_or(|r| r.fate == Fate::Committed)
    };
    let skipped: Vec<OffsetValue> = reads
        .get(step.tp)?
        .range(from..offset)
        .filter(|(o, _)| served(o))
        .map(|(o, v)| (*o, *v))
        .collect();
    if skipped.is_empty() {
        return None;
    }
    let message = format!(
        "consumer {} read offset {offset} (value {value}) of {} {why}, skipping {} record(s) of the final log",
        step.process,
        step.tp,
        skipped.len()
    );
    Some(support::violation(
        ViolationKind::PollSkip,
        step.tp,
        Some(step.at_ms),
        skipped,
        message,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;

    #[test]
    fn reading_every_record_is_clean_even_across_gaps_the_final_log_has() {
        let p = tp(0);
        // Offset 2 is absent from the final log (say, a transaction marker), so jumping over it skips nothing.
        let log = [(0, 100), (1, 101), (3, 103), (4, 104)];
        let mut history = with_final(&p, converged(&log, &[1]));
        history.consumes = vec![
            poll(0, &p, &log[..2], 10),
            poll(0, &p, &log[2..], 20),
            seek(0, &p, 3, 30),
            poll(0, &p, &log[2..], 40),
        ];
        assert_eq!(check(&history), vec![]);
    }

    #[test]
    fn jumping_over_records_within_and_across_polls_skips_them() {
        let p = tp(0);
        let mut history = with_final(&p, converged(&records(0..8), &[1]));
        history.consumes = vec![
            poll(0, &p, &[(0, 100), (2, 102)], 10),
            poll(0, &p, &[(5, 105), (6, 106)], 20),
        ];
        let violations = check(&history);
        let found: Vec<_> = violations
            .iter()
            .map(|v| (v.kind, v.tp.clone(), v.at_ms, v.records.clone()))
            .collect();
        let kind = ViolationKind::PollSkip;
        assert_eq!(
            found,
            vec![
                (kind, Some(p.clone()), Some(10), vec![(1, 101)]),
                (kind, Some(p.clone()), Some(20), vec![(3, 103), (4, 104)]),
            ]
        );
        assert!(
            violations[1].message.contains("after offset 2"),
            "{}",
            violations[1].message
        );
    }

    #[test]
    fn first_read_past_the_sought_offset_skips_the_records_between() {
        let p = tp(0);
        let mut history = with_final(&p, converged(&records(0..8), &[1]));
        history.consumes = vec![
            poll(0, &p, &records(0..2), 5),
            seek(0, &p, 3, 10),
            poll(0, &p, &records(5..6), 20),
        ];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].records, vec![(3, 103), (4, 104)]);
        assert!(
            violations[0].message.contains("seeking to 3"),
            "{}",
            violations[0].message
        );
    }

    #[test]
    fn carrying_on_past_a_truncated_log_skips_what_the_new_leader_wrote_below() {
        let p = tp(0);
        // The consumer read offsets 0-5 from the old leader; an unclean election kept only 0-2 and the new leader
        // wrote 903-905 at offsets 3-5. Carrying on at 6 (no KIP-320 validation) skips those three.
        let log = [
            (0, 100),
            (1, 101),
            (2, 102),
            (3, 903),
            (4, 904),
            (5, 905),
            (6, 906),
        ];
        let mut history = with_final(&p, converged(&log, &[1]));
        history.consumes = vec![
            poll(0, &p, &records(0..6), 10),
            poll(0, &p, &[(6, 906)], 20),
        ];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].records, vec![(3, 903), (4, 904), (5, 905)]);
        assert!(
            violations[0].message.contains("offsets 3 to 5"),
            "{}",
            violations[0].message
        );
        // Seeking back to where the logs part (what KIP-320's validation does) reads them all: clean.
        history.consumes = vec![
            poll(0, &p, &records(0..6), 10),
            seek(0, &p, 3, 15),
            poll(0, &p, &log[3..], 20),
        ];
        assert_eq!(check(&history), vec![]);
    }

    #[test]
    fn read_committed_consumer_passing_aborted_and_open_records_skips_nothing() {
        let p = tp(0);
        let log = txn_log()
            .txn(7, 0, &[10])
            .abort(7, 0)
            .txn(8, 0, &[20])
            .plain(&[30])
            .txn(7, 0, &[11])
            .commit(7, 0)
            .plain(&[31]);
        let mut history = with_final(&p, log.converged(&[1]));
        history.read_committed.insert(5);
        // Consumer 5 reads committed only: it never sees the aborted 10 (offset 0) nor producer 8's open 20 (2).
        history.consumes = vec![
            seek(5, &p, 0, 10),
            poll(5, &p, &[(3, 30), (4, 11), (6, 31)], 20),
        ];
        assert_eq!(check(&history), vec![]);
        // The same reads by a read_uncommitted consumer skip both.
        history.read_committed.clear();
        let violations = check(&history);
        let skipped: Vec<_> = violations.iter().map(|v| v.records.clone()).collect();
        assert_eq!(skipped, vec![vec![(0, 10), (2, 20)]]);
    }

    #[test]
    fn read_committed_consumer_passing_a_committed_record_skips_it() {
        let p = tp(0);
        let log = txn_log()
            .txn(7, 0, &[10, 11])
            .commit(7, 0)
            .txn(7, 0, &[12])
            .abort(7, 0)
            .plain(&[30]);
        let mut history = with_final(&p, log.converged(&[1]));
        history.read_committed.insert(5);
        history.consumes = vec![poll(5, &p, &[(0, 10), (5, 30)], 20)];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].kind, ViolationKind::PollSkip);
        // The committed 11 is skipped; the aborted 12 (offset 3) is not, nor the markers at 2 and 4.
        assert_eq!(violations[0].records, vec![(1, 11)]);
    }
}
