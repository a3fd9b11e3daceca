//! nonmonotonic-poll (Jepsen): a consumer read an offset at or below the one it read before in the same partition,
//! with no seek in between (or below the offset it sought to).

use super::support::{self, Expect, ReadStep};
use super::{Violation, ViolationKind};
use crate::history::History;

pub fn check(history: &History) -> Vec<Violation> {
    let mut violations = Vec::new();
    support::walk_reads(history, |step| violations.extend(judge(&step)));
    support::sort(&mut violations);
    violations
}

/// Each read is judged against the one just before it, so one jump back is reported once, not for every record
/// that follows it.
fn judge(step: &ReadStep) -> Option<Violation> {
    let (offset, value) = step.record;
    let (records, why) = match step.expect {
        Expect::After((previous, previous_value)) if offset <= previous => (
            vec![(previous, previous_value), step.record],
            format!("right after offset {previous} (value {previous_value})"),
        ),
        Expect::AtLeast(sought) if offset < sought => (
            vec![step.record],
            format!("right after seeking to {sought}"),
        ),
        _ => return None,
    };
    let message = format!(
        "consumer {} read offset {offset} (value {value}) of {} {why}",
        step.process, step.tp
    );
    Some(support::violation(
        ViolationKind::NonmonotonicPoll,
        step.tp,
        Some(step.at_ms),
        records,
        message,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;

    #[test]
    fn increasing_reads_and_jumps_back_after_a_seek_are_clean() {
        let p = tp(0);
        let history = consuming(vec![
            poll(0, &p, &records(0..3), 10),
            poll(0, &p, &records(5..6), 20),
            seek(0, &p, 1, 30),
            poll(0, &p, &records(1..3), 40),
            // Another consumer and another partition keep their own order.
            poll(1, &p, &records(0..1), 50),
            poll(0, &tp(1), &records(0..1), 60),
        ]);
        assert_eq!(check(&history), vec![]);
    }

    #[test]
    fn reading_back_within_and_across_polls_is_nonmonotonic() {
        let p = tp(0);
        let history = consuming(vec![
            poll(0, &p, &[(0, 100), (2, 102), (2, 102)], 10),
            poll(0, &p, &[(1, 101), (3, 103)], 20),
        ]);
        let violations = check(&history);
        let found: Vec<_> = violations
            .iter()
            .map(|v| (v.kind, v.tp.clone(), v.at_ms, v.records.clone()))
            .collect();
        let kind = ViolationKind::NonmonotonicPoll;
        assert_eq!(
            found,
            vec![
                (kind, Some(p.clone()), Some(10), vec![(2, 102), (2, 102)]),
                (kind, Some(p.clone()), Some(20), vec![(2, 102), (1, 101)]),
            ]
        );
        assert!(
            violations[1].message.contains("consumer 0 read offset 1"),
            "{}",
            violations[1].message
        );
    }

    #[test]
    fn reading_below_the_sought_offset_is_nonmonotonic() {
        let p = tp(0);
        let history = consuming(vec![seek(0, &p, 5, 10), poll(0, &p, &records(4..6), 20)]);
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].records, vec![(4, 104)]);
        assert!(
            violations[0].message.contains("seeking to 5"),
            "{}",
            violations[0].message
        );
    }
}
