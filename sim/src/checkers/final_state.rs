//! no-convergence: after healing and settling, a partition still has no leader, or an in-sync replica's HW differs
//! from its leader's. A liveness failure, reported apart from the safety checkers.

use super::support;
use super::{Violation, ViolationKind};
use crate::history::{FinalPartition, FinalReplica, History};
use ksim_model::observe::OffsetValue;
use ksim_model::{BrokerId, TopicPartition};

pub fn check(history: &History) -> Vec<Violation> {
    let mut violations: Vec<Violation> = history
        .final_partitions
        .iter()
        .flat_map(|(tp, partition)| judge(tp, partition))
        .collect();
    support::sort(&mut violations);
    violations
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
