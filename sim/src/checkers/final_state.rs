//! no-convergence: after healing and settling, a partition still has no leader, an in-sync replica's HW differs
//! from its leader's, a transaction still hangs open in a partition (holding back its last stable offset, so
//! read_committed consumers stall), or a transaction a producer began never ended. Liveness failures, reported
//! apart from the safety checkers.

use super::support;
use super::txn_fate::{self, Fate};
use super::{Violation, ViolationKind};
use crate::history::{FinalPartition, FinalReplica, History};
use ksim_model::observe::OffsetValue;
use ksim_model::{BrokerId, TopicPartition};

pub fn check(history: &History) -> Vec<Violation> {
    let mut violations: Vec<Violation> = history
        .final_partitions
        .iter()
        .flat_map(|(tp, partition)| {
            judge(tp, partition)
                .into_iter()
                .chain(hanging(tp, partition))
        })
        .collect();
    violations.extend(unended(history));
    support::sort(&mut violations);
    violations
}

/// Transactional records no marker of their producer follows: a transaction left open in the final log.
fn hanging(tp: &TopicPartition, partition: &FinalPartition) -> Option<Violation> {
    let open: Vec<OffsetValue> = txn_fate::of(partition)
        .into_iter()
        .filter(|(_, r)| r.fate == Fate::Open)
        .filter_map(|(offset, _)| partition.read.iter().find(|(o, _)| *o == offset).copied())
        .collect();
    let first = open.first()?;
    let message = format!(
        "{tp} holds {} record(s) of a transaction that never ended there (from offset {}): it holds the last \
         stable offset back, and read_committed consumers cannot pass it",
        open.len(),
        first.0
    );
    Some(support::violation(
        ViolationKind::NoConvergence,
        tp,
        None,
        open,
        message,
    ))
}

/// Transactions still open when the run ended, although every producer had time to end or lose them.
fn unended(history: &History) -> Vec<Violation> {
    history
        .transactions
        .iter()
        .filter(|t| t.outcome.is_none())
        .map(|t| Violation {
            kind: ViolationKind::NoConvergence,
            tp: None,
            at_ms: Some(t.invoke_ms),
            records: Vec::new(),
            message: format!(
                "transaction of {} (producer id {}, epoch {}) begun at {} ms never ended",
                t.transactional_id, t.producer_id, t.producer_epoch, t.invoke_ms
            ),
        })
        .collect()
}

fn judge(tp: &TopicPartition, partition: &FinalPartition) -> Vec<Violation> {
    let no_convergence = |message: String, records: Vec<OffsetValue>| {
        support::violation(ViolationKind::NoConvergence, tp, None, records, message)
    };
    let Some(leader) = partition.leader else {
        return vec![no_convergence(
            format!("{tp} has no leader after the cluster healed"),
            Vec::new(),
        )];
    };
    let Some(leader_replica) = find(partition, leader) else {
        return vec![no_convergence(
            format!("{tp} names leader {leader}, which has no final replica"),
            Vec::new(),
        )];
    };
    let mut violations = Vec::new();
    for &broker in partition.isr.iter().filter(|&&b| b != leader) {
        match find(partition, broker) {
            None => violations.push(no_convergence(
                format!("broker {broker} is in the ISR of {tp} but has no final replica"),
                Vec::new(),
            )),
            Some(r) if r.high_watermark != leader_replica.high_watermark => {
                let message = format!(
                    "in-sync broker {broker} of {tp} ended with HW {} but its leader {leader} with HW {}",
                    r.high_watermark, leader_replica.high_watermark
                );
                violations.push(no_convergence(message, between_hws(leader_replica, r)));
            }
            Some(_) => {}
        }
    }
    violations
}

fn find(partition: &FinalPartition, broker: BrokerId) -> Option<&FinalReplica> {
    partition.replicas.iter().find(|r| r.broker == broker)
}

/// The records one replica counts as committed and the other does not yet: what convergence was waiting for.
fn between_hws(a: &FinalReplica, b: &FinalReplica) -> Vec<OffsetValue> {
    let (low, high) = if a.high_watermark < b.high_watermark {
        (a, b)
    } else {
        (b, a)
    };
    let in_gap =
        |(offset, _): &OffsetValue| (low.high_watermark..high.high_watermark).contains(offset);
    high.records.iter().copied().filter(in_gap).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;

    #[test]
    fn a_transaction_left_open_in_the_log_or_never_ended_does_not_converge() {
        let p = tp(0);
        let ended = txn_log()
            .txn(7, 0, &[10, 11])
            .commit(7, 0)
            .txn(8, 0, &[12])
            .abort(8, 0);
        assert_eq!(check(&with_final(&p, ended.converged(&[1, 2]))), vec![]);
        let log = txn_log()
            .txn(7, 0, &[10, 11])
            .commit(7, 0)
            .txn(7, 0, &[12, 13]);
        let records = log.records();
        let mut history = with_final(&p, log.converged(&[1, 2]));
        let mut open = committed_txn(7, &[12, 13]);
        open.outcome = None;
        open.intent = None;
        history.transactions.push(open);
        let violations = check(&history);
        assert_eq!(violations.len(), 2, "{violations:?}");
        assert_eq!(
            violations.iter().map(|v| v.kind).collect::<Vec<_>>(),
            vec![ViolationKind::NoConvergence; 2]
        );
        let hanging = violations.iter().find(|v| v.tp.is_some()).unwrap();
        assert_eq!(hanging.records, records[records.len() - 2..].to_vec());
        assert!(
            hanging.message.contains("never ended there"),
            "{}",
            hanging.message
        );
        assert!(violations.iter().any(|v| v.message.contains("begun at")));
    }

    #[test]
    fn settled_partition_converges() {
        let history = with_final(&tp(0), converged(&records(0..3), &[1, 2, 3]));
        assert_eq!(check(&history), vec![]);
    }

    #[test]
    fn leaderless_partition_does_not_converge() {
        let p = tp(4);
        let partition = FinalPartition {
            leader: None,
            isr: vec![],
            read: vec![],
            replicas: vec![replica(1, &[], 0)],
            batches: Vec::new(),
        };
        let violations = check(&with_final(&p, partition));
        assert_eq!(violations.len(), 1);
        let v = &violations[0];
        assert_eq!(
            (v.kind, v.tp.clone(), v.at_ms, v.records.clone()),
            (ViolationKind::NoConvergence, Some(p), None, vec![])
        );
        assert!(v.message.contains("no leader"), "{}", v.message);
    }

    #[test]
    fn in_sync_replica_with_another_hw_does_not_converge() {
        let p = tp(0);
        let partition = FinalPartition {
            leader: Some(1),
            isr: vec![1, 2, 3],
            read: records(0..4),
            replicas: vec![
                replica(1, &records(0..4), 4),
                replica(2, &records(0..4), 2),
                replica(3, &records(0..4), 4),
            ],
            batches: Vec::new(),
        };
        let violations = check(&with_final(&p, partition));
        assert_eq!(violations.len(), 1);
        let v = &violations[0];
        assert_eq!(
            (v.kind, v.tp.clone()),
            (ViolationKind::NoConvergence, Some(p))
        );
        assert_eq!(v.records, records(2..4));
        assert!(
            v.message.contains("broker 2") && v.message.contains("HW 2"),
            "{}",
            v.message
        );
    }
}
