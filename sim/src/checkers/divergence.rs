//! divergence (Kafka's ConsistentCommittedData, TLA+ LogMatchingProperty): two replicas held different records at
//! the same offset below their high watermarks, seen live or in the final in-sync logs.

use super::support;
use super::{Violation, ViolationKind};
use crate::history::{FinalPartition, FinalReplica, History};
use ksim_model::observe::{Observation, OffsetValue};
use ksim_model::{BrokerId, Offset, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

pub fn check(history: &History) -> Vec<Violation> {
    let mut violations = from_observations(history);
    violations.extend(from_final_state(history));
    support::sort(&mut violations);
    violations
}

/// What some replica first exposed at one offset, and every other value exposed there since.
struct Exposed {
    value: u64,
    broker: BrokerId,
    /// Each conflicting value is reported once, not once per replica that repeats it.
    reported: BTreeSet<u64>,
}

/// One record that an observation exposed differently from an earlier one.
struct Conflict {
    offset: Offset,
    earlier: u64,
    earlier_broker: BrokerId,
    now: u64,
}

/// Part (a): replays every HighWatermark observation (leaders and followers) against what was exposed before.
/// After a data loss (power loss, unclean election) offsets get reused with new values: that is divergence too.
fn from_observations(history: &History) -> Vec<Violation> {
    let mut exposed: BTreeMap<(&TopicPartition, Offset), Exposed> = BTreeMap::new();
    let mut violations = Vec::new();
    for (at_ms, observation) in &history.observations {
        let Observation::HighWatermark {
            broker,
            tp,
            exposed: records,
            ..
        } = observation
        else {
            continue;
        };
        let conflicts: Vec<Conflict> = records
            .iter()
            .filter_map(|&record| remember(&mut exposed, tp, *broker, record))
            .collect();
        if !conflicts.is_empty() {
            violations.push(live_violation(tp, *broker, *at_ms, &conflicts));
        }
    }
    violations
}

fn remember<'a>(
    exposed: &mut BTreeMap<(&'a TopicPartition, Offset), Exposed>,
    tp: &'a TopicPartition,
    broker: BrokerId,
    (offset, value): OffsetValue,
) -> Option<Conflict> {
    let first = exposed.entry((tp, offset)).or_insert(Exposed {
        value,
        broker,
        reported: BTreeSet::new(),
    });
    if first.value == value || !first.reported.insert(value) {
        return None;
    }
    Some(Conflict {
        offset,
        earlier: first.value,
        earlier_broker: first.broker,
        now: value,
    })
}

fn live_violation(
    tp: &TopicPartition,
    broker: BrokerId,
    at_ms: u64,
    conflicts: &[Conflict],
) -> Violation {
    let records = conflicts
        .iter()
        .flat_map(|c| [(c.offset, c.earlier), (c.offset, c.now)])
        .collect();
    let earlier_brokers: BTreeSet<BrokerId> = conflicts.iter().map(|c| c.earlier_broker).collect();
    let first = &conflicts[0];
    let message = format!(
        "broker {broker} exposed below its HW {} record(s) of {tp} that differ from what broker(s) {earlier_brokers:?} \
         exposed earlier at the same offsets (first: offset {} was {} on broker {}, now {})",
        conflicts.len(),
        first.offset,
        first.earlier,
        first.earlier_broker,
        first.now
    );
    support::violation(ViolationKind::Divergence, tp, Some(at_ms), records, message)
}

/// Part (b): the final in-sync replicas, each cut at its own HW, must be prefixes of one another. Each is compared
/// with the leader (or, if the leader is not an in-sync replica here, the lowest in-sync broker) so that one odd
/// replica gives one violation, not one per pair.
fn from_final_state(history: &History) -> Vec<Violation> {
    let mut violations = Vec::new();
    for (tp, partition) in &history.final_partitions {
        let in_sync = committed_logs(partition);
        let Some(reference) = reference(partition, &in_sync) else {
            continue;
        };
        for (broker, log) in &in_sync {
            if *broker != reference.0 {
                violations.extend(
                    first_difference(reference, (*broker, log)).map(|d| final_violation(tp, d)),
                );
            }
        }
    }
    violations
}

/// Each in-ISR replica's records below its own HW, as offset -> value.
fn committed_logs(partition: &FinalPartition) -> BTreeMap<BrokerId, BTreeMap<Offset, u64>> {
    let in_isr = |r: &&FinalReplica| partition.isr.contains(&r.broker);
    let below_hw = |r: &FinalReplica| {
        r.records
            .iter()
            .copied()
            .filter(|(o, _)| *o < r.high_watermark)
            .collect()
    };
    partition
        .replicas
        .iter()
        .filter(in_isr)
        .map(|r| (r.broker, below_hw(r)))
        .collect()
}

type CommittedLog<'a> = (BrokerId, &'a BTreeMap<Offset, u64>);

fn reference<'a>(
    partition: &FinalPartition,
    in_sync: &'a BTreeMap<BrokerId, BTreeMap<Offset, u64>>,
) -> Option<CommittedLog<'a>> {
    let leader = partition.leader.and_then(|l| in_sync.get_key_value(&l));
    leader
        .or_else(|| in_sync.iter().next())
        .map(|(b, log)| (*b, log))
}

/// Where two committed logs first disagree: a different value, or a record one holds and the other lacks while
/// both claim that offset is below their HW.
struct Difference {
    offset: Offset,
    left: (BrokerId, Option<u64>),
    right: (BrokerId, Option<u64>),
}

fn first_difference((lb, left): CommittedLog, (rb, right): CommittedLog) -> Option<Difference> {
    // Offsets past either log's end are beyond that replica's HW, so only the common span is judged.
    let end = left
        .keys()
        .next_back()
        .min(right.keys().next_back())
        .copied()?;
    let offsets: BTreeSet<Offset> = left
        .range(..=end)
        .chain(right.range(..=end))
        .map(|(o, _)| *o)
        .collect();
    offsets
        .into_iter()
        .find(|o| left.get(o) != right.get(o))
        .map(|offset| Difference {
            offset,
            left: (lb, left.get(&offset).copied()),
            right: (rb, right.get(&offset).copied()),
        })
}

fn final_violation(tp: &TopicPartition, d: Difference) -> Violation {
    let records = [d.left.1, d.right.1]
        .into_iter()
        .flatten()
        .map(|value| (d.offset, value))
        .collect();
    let show = |v: Option<u64>| v.map_or("no record".to_string(), |v| format!("value {v}"));
    let message = format!(
        "in-sync replicas of {tp} differ below their HWs at offset {}: broker {} has {}, broker {} has {}",
        d.offset,
        d.left.0,
        show(d.left.1),
        d.right.0,
        show(d.right.1)
    );
    support::violation(ViolationKind::Divergence, tp, None, records, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;
    use crate::history::FinalPartition;

    #[test]
    fn replicas_exposing_the_same_records_are_clean() {
        let p = tp(0);
        let mut history = with_final(&p, converged(&records(0..3), &[1, 2]));
        history.observations = vec![
            (10, hw(1, &p, 1, true, (0, 2), &records(0..2))),
            (11, hw(2, &p, 1, false, (0, 3), &records(0..3))),
            (12, hw(1, &p, 1, true, (2, 3), &records(2..3))),
        ];
        assert_eq!(check(&history), vec![]);
    }

    #[test]
    fn another_replica_exposing_a_different_value_at_an_offset_diverges() {
        let p = tp(0);
        let mut history = with_final(&p, converged(&[(0, 100), (1, 201)], &[2]));
        history.observations = vec![
            (10, hw(1, &p, 1, true, (0, 2), &[(0, 100), (1, 101)])),
            // After an unclean election broker 2 reuses offset 1 for another record.
            (20, hw(2, &p, 2, true, (0, 2), &[(0, 100), (1, 201)])),
            // Broker 3 repeats the new value: the same conflict, reported once.
            (30, hw(3, &p, 2, false, (0, 2), &[(0, 100), (1, 201)])),
        ];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        let v = &violations[0];
        assert_eq!(
            (v.kind, v.tp.clone(), v.at_ms),
            (ViolationKind::Divergence, Some(p), Some(20))
        );
        assert_eq!(v.records, vec![(1, 101), (1, 201)]);
        assert!(
            v.message.contains("broker 2") && v.message.contains("broker 1"),
            "{}",
            v.message
        );
    }

    #[test]
    fn final_in_sync_replicas_that_are_not_prefixes_diverge() {
        let p = tp(3);
        let partition = FinalPartition {
            leader: Some(1),
            isr: vec![1, 2, 3],
            read: records(0..3),
            replicas: vec![
                replica(1, &records(0..3), 3),
                // A prefix of the leader's log: fine.
                replica(2, &records(0..2), 2),
                replica(3, &[(0, 100), (1, 999), (2, 102)], 3),
                // Not in the ISR: not judged.
                replica(4, &[(0, 555)], 1),
            ],
            batches: Vec::new(),
        };
        let violations = check(&with_final(&p, partition));
        assert_eq!(violations.len(), 1);
        let v = &violations[0];
        assert_eq!(
            (v.kind, v.tp.clone(), v.at_ms),
            (ViolationKind::Divergence, Some(p), None)
        );
        assert_eq!(v.records, vec![(1, 101), (1, 999)]);
        assert!(v.message.contains("offset 1"), "{}", v.message);
    }

    #[test]
    fn records_above_a_replicas_own_hw_are_not_judged() {
        let p = tp(0);
        let partition = FinalPartition {
            leader: Some(1),
            isr: vec![1, 2],
            read: records(0..2),
            replicas: vec![
                replica(1, &records(0..2), 2),
                replica(2, &[(0, 100), (1, 101), (2, 777)], 2),
            ],
            batches: Vec::new(),
        };
        assert_eq!(check(&with_final(&p, partition)), vec![]);
    }
}
