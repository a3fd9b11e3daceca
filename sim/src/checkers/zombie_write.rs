//! zombie-write (Kafka's producer fencing): a producer's data batch sits in a final log after a batch or marker of
//! the same producer id with a higher epoch, so a fenced epoch wrote after its successor.

use super::support;
use super::{Violation, ViolationKind};
use crate::history::{FinalBatch, FinalPartition, History, TxnIntent};
use ksim_model::{Offset, TopicPartition};
use std::collections::BTreeMap;

pub fn check(history: &History) -> Vec<Violation> {
    let mut violations: Vec<Violation> = history
        .final_partitions
        .iter()
        .flat_map(|(tp, partition)| judge(tp, partition))
        .collect();
    support::sort(&mut violations);
    violations
}

/// A leader checks each producer batch's epoch against the newest one it knows for that producer id (Kafka's
/// ProducerStateManager, rebuilt from the log on a new leader) and rejects an older one: so along the log a
/// producer id's epochs never go down. Markers are written by the coordinator, not the producer, but they carry
/// the epoch that fenced the older ones, so they count as the successor too. Idempotent batches are judged as
/// well: an idempotent producer's epoch bump fences its own older batches the same way.
fn judge(tp: &TopicPartition, partition: &FinalPartition) -> Vec<Violation> {
    // The first batch of each producer id's highest epoch so far.
    let mut newest: BTreeMap<i64, &FinalBatch> = BTreeMap::new();
    let mut zombies = Vec::new();
    for batch in &partition.batches {
        let successor = newest.get(&batch.producer_id).copied();
        match successor {
            Some(s) if batch.marker.is_none() && s.producer_epoch > batch.producer_epoch => {
                zombies.push((batch, s));
            }
            Some(s) if s.producer_epoch >= batch.producer_epoch => {}
            _ => {
                newest.insert(batch.producer_id, batch);
            }
        }
    }
    if zombies.is_empty() {
        return Vec::new();
    }
    let values = leader_values(partition);
    zombies
        .into_iter()
        .map(|(zombie, successor)| violation(tp, zombie, successor, &values))
        .collect()
}

/// Every record of the final leader, by offset: the final read, and above the HW the leader's own log, since a
/// zombie batch the HW has not reached yet is a zombie all the same.
fn leader_values(partition: &FinalPartition) -> BTreeMap<Offset, u64> {
    let leader_log = partition
        .replicas
        .iter()
        .filter(|r| Some(r.broker) == partition.leader)
        .flat_map(|r| r.records.iter().copied());
    leader_log.chain(partition.read.iter().copied()).collect()
}

fn violation(
    tp: &TopicPartition,
    zombie: &FinalBatch,
    successor: &FinalBatch,
    values: &BTreeMap<Offset, u64>,
) -> Violation {
    let records = values
        .range(zombie.base_offset..=zombie.last_offset)
        .map(|(o, v)| (*o, *v))
        .collect();
    let kind = if zombie.transactional {
        "transactional"
    } else {
        "idempotent"
    };
    let what = match successor.marker {
        Some(TxnIntent::Commit) => "a COMMIT marker",
        Some(TxnIntent::Abort) => "an ABORT marker",
        None => "a batch",
    };
    let message = format!(
        "producer id {} appended a {kind} batch at offsets {}..={} of {tp} with epoch {} after its epoch {} had \
         written {what} at offset {}: a fenced producer's write got in",
        zombie.producer_id,
        zombie.base_offset,
        zombie.last_offset,
        zombie.producer_epoch,
        successor.producer_epoch,
        successor.base_offset
    );
    support::violation(ViolationKind::ZombieWrite, tp, None, records, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;

    #[test]
    fn epochs_that_never_go_down_per_producer_id_are_clean() {
        let p = tp(0);
        let log = txn_log()
            .txn(7, 0, &[10])
            // The coordinator aborted on a timeout and bumped the epoch; the producer goes on with epoch 1.
            .abort(7, 1)
            .txn(7, 1, &[11])
            // Another producer id keeps its own epochs.
            .idempotent(8, 0, &[20])
            .txn(7, 1, &[12])
            .commit(7, 1)
            .plain(&[30]);
        assert_eq!(check(&with_final(&p, log.converged(&[1]))), vec![]);
    }

    #[test]
    fn an_older_epoch_after_a_newer_marker_or_batch_is_a_zombie_write() {
        let p = tp(0);
        let log = txn_log()
            .txn(7, 0, &[10])
            .abort(7, 1)
            // The fenced epoch 0's retried batch lands after the abort.
            .txn(7, 0, &[11, 12])
            .idempotent(8, 3, &[20])
            .idempotent(8, 2, &[21]);
        let mut partition = log.converged(&[1]);
        // The final read ends before offset 3: offsets 3 and 5 are found in the leader's own log.
        partition.read.truncate(2);
        let violations = check(&with_final(&p, partition));
        let found: Vec<_> = violations
            .iter()
            .map(|v| (v.kind, v.tp.clone(), v.at_ms, v.records.clone()))
            .collect();
        let kind = ViolationKind::ZombieWrite;
        assert_eq!(
            found,
            vec![
                (kind, Some(p.clone()), None, vec![(2, 11), (3, 12)]),
                (kind, Some(p.clone()), None, vec![(5, 21)]),
            ]
        );
        assert_eq!(
            violations[0].message,
            "producer id 7 appended a transactional batch at offsets 2..=3 of t-0 with epoch 0 after its epoch 1 \
             had written an ABORT marker at offset 1: a fenced producer's write got in"
        );
        assert!(
            violations[1].message.contains("idempotent batch")
                && violations[1].message.contains("a batch at offset 4"),
            "{}",
            violations[1].message
        );
    }
}
