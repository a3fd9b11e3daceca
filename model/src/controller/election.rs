//! Leader election rules: clean from the ISR, unclean from any live replica when allowed, else offline.

use super::state::PartitionRecord;
use crate::ids::{BrokerId, NO_LEADER};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElectionOutcome {
    Elected {
        unclean: bool,
    },
    Offline,
    /// The leader stays; a failed follower left the ISR.
    IsrShrunk,
}

/// `failed` lost its session. If it led, pick the first live ISR member in assignment order (Kafka's
/// OfflinePartitionLeaderElectionStrategy), else, when unclean election is on, the first live replica; else the
/// partition goes offline keeping its last ISR member (ZK mode never empties an ISR). A failed follower just
/// leaves the ISR.
pub fn elect_on_broker_failure(
    p: &mut PartitionRecord,
    failed: BrokerId,
    live: &dyn Fn(BrokerId) -> bool,
    unclean: bool,
) -> Option<ElectionOutcome> {
    if p.leader == failed {
        let others: Vec<BrokerId> = p.isr.iter().copied().filter(|&b| b != failed).collect();
        let outcome = choose_leader(p, &others, live, unclean);
        if outcome == ElectionOutcome::Offline && p.isr.len() > 1 {
            p.isr = others;
        }
        return Some(outcome);
    }
    if p.isr.contains(&failed) && p.isr.len() > 1 {
        p.isr.retain(|&b| b != failed);
        p.partition_epoch += 1;
        return Some(ElectionOutcome::IsrShrunk);
    }
    None
}

/// `started` registered. An offline partition it hosts gets a leader if one is now eligible.
pub fn elect_on_broker_startup(
    p: &mut PartitionRecord,
    started: BrokerId,
    live: &dyn Fn(BrokerId) -> bool,
    unclean: bool,
) -> Option<ElectionOutcome> {
    if p.leader != NO_LEADER || !p.replicas.contains(&started) {
        return None;
    }
    let isr = p.isr.clone();
    match choose_leader(p, &isr, live, unclean) {
        ElectionOutcome::Offline => {
            // Still offline: nothing changed, so nothing to push.
            p.leader_epoch -= 1;
            p.partition_epoch -= 1;
            None
        }
        outcome => Some(outcome),
    }
}

/// Sets the new leader (bumping both epochs) from `isr`, or uncleanly from any live replica.
fn choose_leader(
    p: &mut PartitionRecord,
    isr: &[BrokerId],
    live: &dyn Fn(BrokerId) -> bool,
    unclean: bool,
) -> ElectionOutcome {
    p.leader_epoch += 1;
    p.partition_epoch += 1;
    if let Some(&leader) = p.replicas.iter().find(|&&b| isr.contains(&b) && live(b)) {
        p.leader = leader;
        p.isr = isr.to_vec();
        return ElectionOutcome::Elected { unclean: false };
    }
    if unclean {
        if let Some(&leader) = p.replicas.iter().find(|&&b| live(b)) {
            p.leader = leader;
            p.isr = vec![leader];
            return ElectionOutcome::Elected { unclean: true };
        }
    }
    p.leader = NO_LEADER;
    ElectionOutcome::Offline
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(leader: BrokerId, isr: &[BrokerId]) -> PartitionRecord {
        PartitionRecord {
            replicas: vec![1, 2, 3],
            leader,
            leader_epoch: 5,
            isr: isr.to_vec(),
            partition_epoch: 9,
        }
    }

    #[test]
    fn clean_election_picks_first_live_isr_member_and_bumps_epochs() {
        let mut p = record(1, &[1, 2, 3]);
        let outcome = elect_on_broker_failure(&mut p, 1, &|b| b != 1 && b != 2, false);
        assert_eq!(outcome, Some(ElectionOutcome::Elected { unclean: false }));
        assert_eq!(
            (p.leader, p.leader_epoch, p.partition_epoch, p.isr.clone()),
            (3, 6, 10, vec![2, 3])
        );
    }

    #[test]
    fn lone_isr_leader_failure_goes_offline_keeping_the_isr_unless_unclean() {
        let mut p = record(1, &[1]);
        assert_eq!(
            elect_on_broker_failure(&mut p, 1, &|b| b != 1, false),
            Some(ElectionOutcome::Offline)
        );
        assert_eq!((p.leader, p.isr.clone()), (NO_LEADER, vec![1]));
        let mut p = record(1, &[1]);
        assert_eq!(
            elect_on_broker_failure(&mut p, 1, &|b| b != 1, true),
            Some(ElectionOutcome::Elected { unclean: true })
        );
        assert_eq!((p.leader, p.isr.clone()), (2, vec![2]));
    }

    #[test]
    fn offline_partition_returns_when_its_isr_member_starts() {
        let mut p = record(1, &[1]);
        elect_on_broker_failure(&mut p, 1, &|_| false, false);
        assert_eq!(elect_on_broker_startup(&mut p, 2, &|b| b == 2, false), None);
        assert_eq!(p.leader_epoch, 6);
        assert_eq!(
            elect_on_broker_startup(&mut p, 1, &|b| b <= 2, false),
            Some(ElectionOutcome::Elected { unclean: false })
        );
        assert_eq!((p.leader, p.leader_epoch), (1, 7));
    }

    #[test]
    fn failed_follower_leaves_isr_without_leader_change() {
        let mut p = record(1, &[1, 2, 3]);
        assert_eq!(
            elect_on_broker_failure(&mut p, 3, &|b| b != 3, false),
            Some(ElectionOutcome::IsrShrunk)
        );
        assert_eq!(
            (p.leader, p.leader_epoch, p.isr.clone()),
            (1, 5, vec![1, 2])
        );
    }
}
