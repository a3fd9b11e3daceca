//! duplicate: a record is in a partition's final log at two or more offsets, and its producer was idempotent.

use super::support;
use super::{Violation, ViolationKind};
use crate::history::{History, SendOp};
use ksim_model::{Offset, TopicPartition};
use std::collections::BTreeMap;

pub fn check(history: &History) -> Vec<Violation> {
    let senders: BTreeMap<u64, &SendOp> = history.sends.iter().map(|s| (s.value, s)).collect();
    let mut violations: Vec<Violation> = copies(history)
        .into_iter()
        .filter_map(|copies| {
            // Without idempotence a retry that lands twice is what Kafka's at-least-once delivery allows: such
            // copies are counted (see `count`), not flagged. A value no send made cannot be judged either way.
            let send = senders.get(&copies.value).filter(|s| s.idempotent)?;
            Some(judge(&copies, send))
        })
        .collect();
    support::sort(&mut violations);
    violations
}

/// The extra copies over every judged partition, idempotent or not: how many records retries wrote once too often.
pub fn count(history: &History) -> usize {
    copies(history).iter().map(|c| c.offsets.len() - 1).sum()
}

/// One value held at two or more offsets of one partition's final log.
struct Copies<'a> {
    tp: &'a TopicPartition,
    value: u64,
    /// Ascending; at least two.
    offsets: Vec<Offset>,
}

/// Every value of a final log that sits at more than one offset. Values are unique per send, so each extra copy
/// can only be a producer retry that the leader appended again.
fn copies(history: &History) -> Vec<Copies<'_>> {
    history
        .final_partitions
        .iter()
        // A leaderless partition has no final read (reported apart as no-convergence), and its replicas' logs are
        // not settled enough to say which copies a consumer would see.
        .filter(|(_, p)| p.leader.is_some())
        .flat_map(|(tp, p)| {
            let mut offsets_by_value: BTreeMap<u64, Vec<Offset>> = BTreeMap::new();
            for &(offset, value) in &p.read {
                offsets_by_value.entry(value).or_default().push(offset);
            }
            offsets_by_value
                .into_iter()
                .filter(|(_, offsets)| offsets.len() > 1)
                .map(move |(value, mut offsets)| {
                    offsets.sort_unstable();
                    Copies { tp, value, offsets }
                })
        })
        .collect()
}

fn judge(copies: &Copies, send: &SendOp) -> Violation {
    let times = match copies.offsets.len() {
        2 => "twice".to_string(),
        n => format!("{n} times"),
    };
    let message = format!(
        "producer {}'s record {:#x} is in {} {times}, at offsets {}",
        send.process,
        copies.value,
        copies.tp,
        support::listed(&copies.offsets)
    );
    let records = copies.offsets.iter().map(|&o| (o, copies.value)).collect();
    support::violation(
        ViolationKind::Duplicate,
        copies.tp,
        Some(send.complete_ms.unwrap_or(send.invoke_ms)),
        records,
        message,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;
    use crate::history::FinalPartition;

    /// A send by `process` that landed at `offset`, from a producer with idempotence on or off.
    fn sent(
        process: u32,
        value: u64,
        p: &TopicPartition,
        offset: Offset,
        idempotent: bool,
    ) -> SendOp {
        SendOp {
            process,
            idempotent,
            ..ok_send(value, p, offset)
        }
    }

    #[test]
    fn a_log_holding_each_record_once_is_clean() {
        let p = tp(0);
        let mut history = with_final(&p, converged(&records(0..4), &[1, 2]));
        history.sends = records(0..4)
            .into_iter()
            .map(|(o, v)| sent(0, v, &p, o, true))
            .collect();
        assert_eq!(check(&history), vec![]);
        assert_eq!(count(&history), 0);
    }

    #[test]
    fn idempotent_producers_record_at_two_offsets_is_a_duplicate() {
        let p = tp(0);
        let value = 0x2_0000_0005;
        let log = [(14, value), (15, 115), (16, 116), (17, value)];
        let mut history = with_final(&p, converged(&log, &[1]));
        history.sends = vec![
            sent(2, value, &p, 14, true),
            sent(2, 115, &p, 15, true),
            sent(2, 116, &p, 16, true),
        ];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].kind, ViolationKind::Duplicate);
        assert_eq!(violations[0].tp, Some(p));
        assert_eq!(violations[0].records, vec![(14, value), (17, value)]);
        assert_eq!(violations[0].at_ms, Some(114));
        assert_eq!(
            violations[0].message,
            "producer 2's record 0x200000005 is in t-0 twice, at offsets 14 and 17"
        );
        assert_eq!(count(&history), 1);
    }

    #[test]
    fn every_copy_is_named_and_a_pending_send_is_dated_by_its_invocation() {
        let p = tp(3);
        let log = [(1, 7), (2, 8), (3, 7), (4, 7)];
        let mut history = with_final(&p, converged(&log, &[1]));
        history.sends = vec![SendOp {
            complete_ms: None,
            outcome: None,
            offset: None,
            ..sent(1, 7, &p, 1, true)
        }];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].records, vec![(1, 7), (3, 7), (4, 7)]);
        assert_eq!(violations[0].at_ms, Some(10));
        assert!(
            violations[0]
                .message
                .ends_with("is in t-3 3 times, at offsets 1, 3 and 4"),
            "{}",
            violations[0].message
        );
        assert_eq!(count(&history), 2);
    }

    #[test]
    fn copies_without_idempotence_are_counted_not_flagged() {
        let (p, q) = (tp(0), tp(1));
        let mut history = with_final(&p, converged(&[(0, 5), (1, 5), (2, 5)], &[1]));
        history
            .final_partitions
            .insert(q.clone(), converged(&[(0, 6), (1, 6)], &[1]));
        history.sends = vec![sent(0, 5, &p, 0, false), sent(1, 6, &q, 0, false)];
        assert_eq!(check(&history), vec![]);
        assert_eq!(count(&history), 3);
    }

    #[test]
    fn leaderless_partition_is_not_judged() {
        let p = tp(0);
        let copies = [(0, 5), (1, 5)];
        let partition = FinalPartition {
            leader: None,
            isr: vec![],
            read: vec![],
            replicas: vec![replica(1, &copies, 2), replica(2, &copies, 2)],
            batches: Vec::new(),
        };
        let mut history = with_final(&p, partition);
        history.sends = vec![sent(0, 5, &p, 0, true)];
        assert_eq!(check(&history), vec![]);
        assert_eq!(count(&history), 0);
    }
}
