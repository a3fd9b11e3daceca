//! poll-skip (Jepsen): a consumer jumped over records that the final log holds, between two reads of a partition
//! or between a seek and its first read.

use super::support::{self, Expect, ReadStep};
use super::{Violation, ViolationKind};
use crate::history::History;
use ksim_model::observe::OffsetValue;
use ksim_model::{Offset, TopicPartition};
use std::collections::BTreeMap;

pub fn check(history: &History) -> Vec<Violation> {
    // Offsets may legitimately be missing (transaction markers, compaction): only records the final log holds
    // count as skipped.
    let reads: BTreeMap<&TopicPartition, BTreeMap<Offset, u64>> = history
        .final_partitions
        .iter()
        .map(|(tp, p)| (tp, p.read.iter().copied().collect()))
        .collect();
    let mut violations = Vec::new();
    support::walk_reads(history, |step| violations.extend(judge(&reads, &step)));
    support::sort(&mut violations);
    violations
}

fn judge(
    reads: &BTreeMap<&TopicPartition, BTreeMap<Offset, u64>>,
    step: &ReadStep,
) -> Option<Violation> {
    let (offset, value) = step.record;
    // The first offset the consumer should have read next; a read at or below it skipped nothing.
    let (from, why) = match step.expect {
        Expect::After((previous, _)) => (previous + 1, format!("after offset {previous}")),
        Expect::AtLeast(sought) => (sought, format!("after seeking to {sought}")),
        Expect::Anything => return None,
    };
    if offset <= from {
        return None;
    }
    let skipped: Vec<OffsetValue> = reads
        .get(step.tp)?
        .range(from..offset)
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
}
