//! committed-lost (TLA+ NoCommittedRecordLostGlobally): a record a leader exposed below its HW is not in the final
//! log at that offset.

use super::support::{self, FinalView};
use super::{Violation, ViolationKind};
use crate::history::History;
use ksim_model::observe::{Observation, OffsetValue};
use ksim_model::{BrokerId, LeaderEpoch, TopicPartition};
use std::collections::BTreeSet;

pub fn check(history: &History) -> Vec<Violation> {
    let views = support::final_views(history);
    let mut reported: BTreeSet<(&TopicPartition, OffsetValue)> = BTreeSet::new();
    let mut violations = Vec::new();
    for (at_ms, observation) in &history.observations {
        // Only a leader's HW commits: a follower's HW trails the leader's and exposes nothing new.
        let Observation::HighWatermark {
            broker,
            tp,
            leader_epoch,
            is_leader: true,
            exposed,
            ..
        } = observation
        else {
            continue;
        };
        // A partition with no final state (the run ended abnormally) cannot be judged.
        let Some(view) = views.get(tp) else { continue };
        // Each lost record is reported once, at the first leader that committed it.
        let lost: Vec<OffsetValue> = exposed
            .iter()
            .copied()
            .filter(|&r| !view.holds(r) && reported.insert((tp, r)))
            .collect();
        if !lost.is_empty() {
            let message = describe(*broker, *leader_epoch, tp, &lost, view);
            violations.push(support::violation(
                ViolationKind::CommittedLost,
                tp,
                Some(*at_ms),
                lost,
                message,
            ));
        }
    }
    support::sort(&mut violations);
    violations
}

fn describe(
    broker: BrokerId,
    leader_epoch: LeaderEpoch,
    tp: &TopicPartition,
    lost: &[OffsetValue],
    view: &FinalView,
) -> String {
    let (offset, value) = lost[0];
    format!(
        "leader {broker} of {tp} in epoch {leader_epoch} committed {} record(s) that the final state lost \
         (first: value {value} at offset {offset}; {})",
        lost.len(),
        view.describe(offset)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;
    use crate::checkers::ViolationKind;
    use crate::history::FinalPartition;

    #[test]
    fn committed_records_in_the_final_log_are_clean() {
        let p = tp(0);
        let mut history = with_final(&p, converged(&records(0..3), &[1, 2]));
        history.observations = vec![
            (10, hw(1, &p, 1, true, (0, 2), &records(0..2))),
            (20, hw(2, &p, 2, true, (2, 3), &records(2..3))),
        ];
        assert_eq!(check(&history), vec![]);
    }

    #[test]
    fn committed_record_replaced_or_missing_in_the_final_log_is_lost() {
        let p = tp(1);
        let mut history = with_final(&p, converged(&[(0, 100), (1, 555)], &[2]));
        history.observations = vec![
            (10, hw(1, &p, 1, true, (0, 3), &records(0..3))),
            // A follower exposing a record the final log lacks is not a commit.
            (15, hw(3, &p, 1, false, (0, 4), &records(0..4))),
            // Broker 2 commits the same lost record again: reported once, at the first commit.
            (20, hw(2, &p, 2, true, (0, 3), &records(0..3))),
        ];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        let v = &violations[0];
        assert_eq!(
            (v.kind, v.tp.clone(), v.at_ms),
            (ViolationKind::CommittedLost, Some(p), Some(10))
        );
        assert_eq!(v.records, vec![(1, 101), (2, 102)]);
        assert!(
            v.message.contains("leader 1") && v.message.contains("value 555"),
            "{}",
            v.message
        );
    }

    #[test]
    fn leaderless_partition_loses_only_what_no_replica_holds() {
        let p = tp(0);
        let partition = FinalPartition {
            leader: None,
            isr: vec![],
            read: vec![],
            replicas: vec![replica(1, &records(0..1), 1), replica(2, &records(0..2), 2)],
            batches: Vec::new(),
        };
        let mut history = with_final(&p, partition);
        history.observations = vec![(10, hw(1, &p, 1, true, (0, 3), &records(0..3)))];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].records, vec![(2, 102)]);
    }
}
