//! hw-regression (Kafka's MonotonicHighWatermark): a leader's HW went backwards within one epoch, or a consumer was
//! served a record that the final log no longer holds.

use super::support;
use super::{Violation, ViolationKind};
use crate::history::{ConsumeOp, History};
use ksim_model::observe::{Observation, OffsetValue};
use ksim_model::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

pub fn check(history: &History) -> Vec<Violation> {
    let mut violations = leader_regressions(history);
    violations.extend(served_then_gone(history));
    support::sort(&mut violations);
    violations
}

/// A leader's HW history within one (broker, partition, epoch).
#[derive(Default)]
struct LeaderHw {
    last: Option<Offset>,
    /// Records this leader exposed, so a regression can name the ones that fell back above the HW.
    exposed: BTreeMap<Offset, u64>,
}

/// Part (a). Both the observation's own `old` and the last HW seen for the same epoch are checked: the first
/// catches a regression inside one step, the second one that a restart or a bug hid from the `old` field.
fn leader_regressions(history: &History) -> Vec<Violation> {
    let mut leaders: BTreeMap<(BrokerId, &TopicPartition, LeaderEpoch), LeaderHw> = BTreeMap::new();
    let mut violations = Vec::new();
    for (at_ms, observation) in &history.observations {
        let Observation::HighWatermark {
            broker,
            tp,
            leader_epoch,
            is_leader: true,
            old,
            new,
            exposed,
        } = observation
        else {
            continue;
        };
        let track = leaders.entry((*broker, tp, *leader_epoch)).or_default();
        let before = track.last.map_or(*old, |last| last.max(*old));
        if *new < before {
            let fell_back: Vec<OffsetValue> = track
                .exposed
                .range(*new..before)
                .map(|(o, v)| (*o, *v))
                .collect();
            let message = format!(
                "leader {broker} of {tp} in epoch {leader_epoch} moved its HW back from {before} to {new} \
                 (observed old HW {old}, last HW seen in this epoch {})",
                track.last.map_or("none".to_string(), |l| l.to_string())
            );
            violations.push(support::violation(
                ViolationKind::HwRegression,
                tp,
                Some(*at_ms),
                fell_back,
                message,
            ));
        }
        track.last = Some(*new);
        track.exposed.extend(exposed.iter().copied());
    }
    violations
}

/// Part (b): a record served to a consumer must still be in the final log at its offset; if it is not, the HW
/// that allowed serving it was later undone. Each record is reported once, at the first poll that served it.
fn served_then_gone(history: &History) -> Vec<Violation> {
    let views = support::final_views(history);
    let mut reported: BTreeSet<(&TopicPartition, OffsetValue)> = BTreeSet::new();
    let mut violations = Vec::new();
    for op in &history.consumes {
        let ConsumeOp::Poll {
            process,
            tp,
            records,
            at_ms,
            ..
        } = op
        else {
            continue;
        };
        // A partition with no final state (the run ended abnormally) cannot be judged.
        let Some(view) = views.get(tp) else { continue };
        let gone: Vec<OffsetValue> = records
            .iter()
            .copied()
            .filter(|&r| !view.holds(r) && reported.insert((tp, r)))
            .collect();
        if let Some(&(offset, value)) = gone.first() {
            let message = format!(
                "consumer {process} was served {} record(s) of {tp} that the final state no longer holds \
                 (first: value {value} at offset {offset}; {})",
                gone.len(),
                view.describe(offset)
            );
            violations.push(support::violation(
                ViolationKind::HwRegression,
                tp,
                Some(*at_ms),
                gone,
                message,
            ));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;

    #[test]
    fn rising_leader_hws_and_served_records_that_stay_are_clean() {
        let p = tp(0);
        let mut history = with_final(&p, converged(&records(0..4), &[1, 2]));
        history.observations = vec![
            (10, hw(1, &p, 1, true, (0, 2), &records(0..2))),
            (20, hw(1, &p, 1, true, (2, 4), &records(2..4))),
            // A new epoch may start lower: the new leader learns the HW from its followers.
            (30, hw(2, &p, 2, true, (1, 3), &[])),
            // Followers' HWs are not judged here.
            (40, hw(3, &p, 2, false, (3, 1), &[])),
        ];
        history.consumes = vec![
            poll(0, &p, &records(0..2), 50),
            poll(0, &p, &records(2..4), 60),
        ];
        assert_eq!(check(&history), vec![]);
    }

    #[test]
    fn leader_hw_moving_back_within_an_observation_regresses() {
        let p = tp(0);
        let mut history = with_final(&p, converged(&records(0..4), &[1]));
        history.observations = vec![
            (10, hw(1, &p, 1, true, (0, 4), &records(0..4))),
            (20, hw(1, &p, 1, true, (4, 2), &[])),
        ];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        let v = &violations[0];
        assert_eq!(
            (v.kind, v.tp.clone(), v.at_ms),
            (ViolationKind::HwRegression, Some(p), Some(20))
        );
        assert_eq!(v.records, records(2..4));
        assert!(v.message.contains("from 4 to 2"), "{}", v.message);
    }

    #[test]
    fn leader_hw_below_the_last_one_seen_in_the_epoch_regresses() {
        let p = tp(0);
        let mut history = with_final(&p, converged(&records(0..5), &[1]));
        history.observations = vec![
            (10, hw(1, &p, 1, true, (0, 5), &records(0..5))),
            // The observation's own old/new look fine, but the leader had already reached 5 in this epoch.
            (20, hw(1, &p, 1, true, (1, 3), &[])),
        ];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].records, records(3..5));
        assert_eq!(violations[0].at_ms, Some(20));
    }

    #[test]
    fn served_record_missing_from_the_final_log_regresses() {
        let p = tp(2);
        let mut history = with_final(&p, converged(&[(0, 100), (1, 999)], &[1]));
        history.consumes = vec![
            poll(0, &p, &records(0..3), 50),
            // The same records served again are not reported twice.
            seek(1, &p, 0, 55),
            poll(1, &p, &records(0..3), 60),
        ];
        let violations = check(&history);
        assert_eq!(violations.len(), 1);
        let v = &violations[0];
        assert_eq!(
            (v.kind, v.tp.clone(), v.at_ms),
            (ViolationKind::HwRegression, Some(p), Some(50))
        );
        assert_eq!(v.records, vec![(1, 101), (2, 102)]);
        assert!(
            v.message.contains("the final log has value 999 there"),
            "{}",
            v.message
        );
    }
}
