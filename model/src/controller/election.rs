//! Leader election rules: clean from the ISR, then (KIP-966) from the Eligible Leader Replicas, uncleanly from any
//! live replica when allowed, else offline.

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

/// What an election may do for one partition: its topic's configs and the cluster's ELR feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElectionPolicy {
    /// `unclean.leader.election.enable`
    pub unclean: bool,
    /// `min.insync.replicas`
    pub min_isr: usize,
    /// `eligible.leader.replicas.version` >= 1
    pub elr: bool,
}

/// Replaces the ISR. With ELR on, members that leave an ISR smaller than `min.insync.replicas` become eligible
/// leaders (they hold the HW, which cannot advance then); an ISR back at `min.insync.replicas` clears the ELR.
pub fn set_isr(p: &mut PartitionRecord, new_isr: Vec<BrokerId>, policy: ElectionPolicy) {
    if policy.elr {
        if new_isr.len() >= policy.min_isr {
            p.elr.clear();
        } else {
            for &b in &p.isr {
                if !new_isr.contains(&b) && !p.elr.contains(&b) {
                    p.elr.push(b);
                }
            }
            p.elr.retain(|b| !new_isr.contains(b));
        }
    }
    p.isr = new_isr;
}

/// `failed` lost its session. If it led, pick the first live ISR member in assignment order (Kafka's
/// OfflinePartitionLeaderElectionStrategy), then a live ELR member, then, when unclean election is on, any live
/// replica; else the partition goes offline. Without ELR the offline partition keeps its last ISR member (neither
/// ZooKeeper mode nor pre-4.0 KRaft empties an ISR); with ELR the ISR empties into the ELR. A failed follower
/// just leaves the ISR.
pub fn elect_on_broker_failure(
    p: &mut PartitionRecord,
    failed: BrokerId,
    live: &dyn Fn(BrokerId) -> bool,
    policy: ElectionPolicy,
) -> Option<ElectionOutcome> {
    if p.leader == failed {
        let others: Vec<BrokerId> = p.isr.iter().copied().filter(|&b| b != failed).collect();
        let outcome = choose_leader(p, &others, live, policy);
        if outcome == ElectionOutcome::Offline {
            p.last_known_leader = failed;
            if policy.elr || p.isr.len() > 1 {
                set_isr(p, others, policy);
            }
        }
        return Some(outcome);
    }
    let last_member = p.isr.len() == 1 && !policy.elr;
    if p.isr.contains(&failed) && !last_member {
        let others: Vec<BrokerId> = p.isr.iter().copied().filter(|&b| b != failed).collect();
        set_isr(p, others, policy);
        p.partition_epoch += 1;
        return Some(ElectionOutcome::IsrShrunk);
    }
    None
}

/// `started` registered; `clean` is false when it restarted since its last registration (Kafka's unclean-shutdown
/// detection, KAFKA-15586): it may have lost its unflushed tail, so it leaves every ELR. An offline partition it
/// hosts gets a leader if one is now eligible.
pub fn elect_on_broker_startup(
    p: &mut PartitionRecord,
    started: BrokerId,
    clean: bool,
    live: &dyn Fn(BrokerId) -> bool,
    policy: ElectionPolicy,
) -> Option<ElectionOutcome> {
    if !clean {
        p.elr.retain(|&b| b != started);
    }
    if p.leader != NO_LEADER || !p.replicas.contains(&started) {
        return None;
    }
    let isr = p.isr.clone();
    match choose_leader(p, &isr, live, policy) {
        ElectionOutcome::Offline => {
            // Still offline: nothing changed, so nothing to push.
            p.leader_epoch -= 1;
            p.partition_epoch -= 1;
            None
        }
        outcome => Some(outcome),
    }
}

/// Sets the new leader (bumping both epochs): from `isr`, then the ELR, then (ELR on, nobody eligible) the last
/// known leader as Kafka 4 does, then uncleanly from any live replica.
fn choose_leader(
    p: &mut PartitionRecord,
    isr: &[BrokerId],
    live: &dyn Fn(BrokerId) -> bool,
    policy: ElectionPolicy,
) -> ElectionOutcome {
    p.leader_epoch += 1;
    p.partition_epoch += 1;
    // Kafka clears the last known leader with any election; it is set again when the partition next goes offline.
    let last_known_leader = std::mem::replace(&mut p.last_known_leader, NO_LEADER);
    let first_live = |set: &[BrokerId]| {
        p.replicas
            .iter()
            .copied()
            .find(|b| set.contains(b) && live(*b))
    };
    if let Some(leader) = first_live(isr) {
        p.leader = leader;
        set_isr(p, isr.to_vec(), policy);
        return ElectionOutcome::Elected { unclean: false };
    }
    if let Some(leader) = first_live(&p.elr) {
        p.leader = leader;
        set_isr(p, vec![leader], policy);
        return ElectionOutcome::Elected { unclean: false };
    }
    // Kafka 4's balanced recovery: with no ISR and no ELR left (every eligible replica restarted uncleanly), the
    // last leader may lead again. It may have lost its unflushed tail, so this counts as an unclean election.
    let nobody_eligible = isr.is_empty() && p.elr.is_empty();
    if policy.elr && nobody_eligible && last_known_leader != NO_LEADER && live(last_known_leader) {
        p.leader = last_known_leader;
        p.isr = vec![p.leader];
        return ElectionOutcome::Elected { unclean: true };
    }
    if policy.unclean {
        if let Some(leader) = p.replicas.iter().copied().find(|&b| live(b)) {
            p.leader = leader;
            p.isr = vec![leader];
            p.elr.clear();
            return ElectionOutcome::Elected { unclean: true };
        }
    }
    p.leader = NO_LEADER;
    p.last_known_leader = last_known_leader;
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
            elr: Vec::new(),
            last_known_leader: NO_LEADER,
        }
    }

    /// Pre-KIP-966 rules (ZooKeeper mode, KRaft before 4.1).
    fn zk(unclean: bool) -> ElectionPolicy {
        ElectionPolicy {
            unclean,
            min_isr: 2,
            elr: false,
        }
    }

    /// Kafka 4.1's default: Eligible Leader Replicas with min.insync.replicas = 2.
    const ELR: ElectionPolicy = ElectionPolicy {
        unclean: false,
        min_isr: 2,
        elr: true,
    };

    #[test]
    fn clean_election_picks_first_live_isr_member_and_bumps_epochs() {
        let mut p = record(1, &[1, 2, 3]);
        let outcome = elect_on_broker_failure(&mut p, 1, &|b| b != 1 && b != 2, zk(false));
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
            elect_on_broker_failure(&mut p, 1, &|b| b != 1, zk(false)),
            Some(ElectionOutcome::Offline)
        );
        assert_eq!((p.leader, p.isr.clone()), (NO_LEADER, vec![1]));
        let mut p = record(1, &[1]);
        assert_eq!(
            elect_on_broker_failure(&mut p, 1, &|b| b != 1, zk(true)),
            Some(ElectionOutcome::Elected { unclean: true })
        );
        assert_eq!((p.leader, p.isr.clone()), (2, vec![2]));
    }

    #[test]
    fn offline_partition_returns_when_its_isr_member_starts() {
        let mut p = record(1, &[1]);
        elect_on_broker_failure(&mut p, 1, &|_| false, zk(false));
        assert_eq!(
            elect_on_broker_startup(&mut p, 2, true, &|b| b == 2, zk(false)),
            None
        );
        assert_eq!(p.leader_epoch, 6);
        assert_eq!(
            elect_on_broker_startup(&mut p, 1, true, &|b| b <= 2, zk(false)),
            Some(ElectionOutcome::Elected { unclean: false })
        );
        assert_eq!((p.leader, p.leader_epoch), (1, 7));
    }

    #[test]
    fn failed_follower_leaves_isr_without_leader_change() {
        let mut p = record(1, &[1, 2, 3]);
        assert_eq!(
            elect_on_broker_failure(&mut p, 3, &|b| b != 3, zk(false)),
            Some(ElectionOutcome::IsrShrunk)
        );
        assert_eq!(
            (p.leader, p.leader_epoch, p.isr.clone()),
            (1, 5, vec![1, 2])
        );
    }

    #[test]
    fn elr_keeps_the_replicas_that_left_an_isr_below_min_isr_and_elects_them() {
        // ISR [1, 2, 3], min ISR 2: losing 3 keeps the ISR at min ISR, so 3 is not eligible.
        let mut p = record(1, &[1, 2, 3]);
        elect_on_broker_failure(&mut p, 3, &|b| b != 3, ELR);
        assert_eq!((p.isr.clone(), p.elr.clone()), (vec![1, 2], vec![]));
        // Losing 2 takes the ISR below min ISR: 2 still holds the HW, so it becomes eligible.
        elect_on_broker_failure(&mut p, 2, &|b| b == 1, ELR);
        assert_eq!((p.isr.clone(), p.elr.clone()), (vec![1], vec![2]));
        // The leader loses power: the ISR empties into the ELR and the partition waits.
        assert_eq!(
            elect_on_broker_failure(&mut p, 1, &|_| false, ELR),
            Some(ElectionOutcome::Offline)
        );
        assert_eq!((p.isr.clone(), p.elr.clone()), (vec![], vec![2, 1]));
        // 1 returns from its power loss: an unclean shutdown leaves the ELR and is not elected while 2 may return.
        assert_eq!(
            elect_on_broker_startup(&mut p, 1, false, &|b| b == 1, ELR),
            None
        );
        assert_eq!((p.leader, p.elr.clone()), (NO_LEADER, vec![2]));
        // 2 returns cleanly and leads, with everything up to the HW.
        assert_eq!(
            elect_on_broker_startup(&mut p, 2, true, &|b| b <= 2, ELR),
            Some(ElectionOutcome::Elected { unclean: false })
        );
        assert_eq!(
            (p.leader, p.isr.clone(), p.elr.clone()),
            (2, vec![2], vec![])
        );
    }

    #[test]
    fn without_elr_the_lone_isr_member_leads_again_after_losing_its_tail() {
        // The last-replica-standing loss that KIP-966 closes: 2 left the ISR, 1 alone in it loses power, and on
        // its return 1 is the only choice, whatever it lost.
        let mut p = record(1, &[1, 2]);
        elect_on_broker_failure(&mut p, 2, &|b| b == 1, zk(false));
        elect_on_broker_failure(&mut p, 1, &|_| false, zk(false));
        assert_eq!(
            elect_on_broker_startup(&mut p, 2, true, &|b| b == 2, zk(false)),
            None
        );
        assert_eq!(
            elect_on_broker_startup(&mut p, 1, false, &|_| true, zk(false)),
            Some(ElectionOutcome::Elected { unclean: false })
        );
        assert_eq!((p.leader, p.isr.clone()), (1, vec![1]));
    }

    #[test]
    fn elr_falls_back_to_the_last_known_leader_only_when_nobody_is_eligible() {
        let mut p = record(1, &[1]);
        elect_on_broker_failure(&mut p, 1, &|_| false, ELR);
        assert_eq!((p.isr.clone(), p.elr.clone()), (vec![], vec![1]));
        assert_eq!(
            elect_on_broker_startup(&mut p, 1, false, &|b| b == 1, ELR),
            Some(ElectionOutcome::Elected { unclean: true })
        );
        assert_eq!((p.leader, p.isr.clone()), (1, vec![1]));
    }

    #[test]
    fn an_isr_back_at_min_isr_clears_the_elr() {
        let mut p = record(1, &[1]);
        p.elr = vec![2, 3];
        set_isr(&mut p, vec![1, 3], ELR);
        assert!(p.elr.is_empty());
    }
}
