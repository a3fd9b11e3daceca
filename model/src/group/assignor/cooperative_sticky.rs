//! `cooperative-sticky` (Kafka's `CooperativeStickyAssignor`): the sticky assignment, minus every partition that
//! another member must first give up.
//!
//! Under the cooperative protocol (KIP-429) members keep consuming what they own through a rebalance, so a
//! partition may not be handed to its new owner in the same rebalance that takes it from the old one. The leader
//! therefore leaves such partitions out: the old owner, seeing the partition gone from its assignment, revokes it
//! and rejoins, and in that follow-up rebalance the partition is free and goes to the new owner.
//!
//! A partition claimed by several members of one generation is withheld the same way. Partitions whose owner
//! left the group are not withheld: nobody is consuming them.

use super::sticky::{self, StickyOutcome};
use super::{Group, MemberIndex};
use crate::ids::TopicPartition;
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn assign(group: &Group) -> Vec<Vec<TopicPartition>> {
    let StickyOutcome {
        mut assignment,
        partitions_transferring_ownership,
    } = sticky::assign(group);
    let transferring = partitions_transferring_ownership
        .unwrap_or_else(|| partitions_transferring_ownership_of(group, &assignment));
    for (tp, new_owner) in transferring {
        assignment[new_owner].retain(|p| *p != tp);
    }
    assignment
}

/// For the general algorithm, which does not track them (Kafka's `computePartitionsTransferringOwnership`):
/// partitions newly assigned to one member that another member reported owning and now loses.
fn partitions_transferring_ownership_of(
    group: &Group,
    assignment: &[Vec<TopicPartition>],
) -> BTreeMap<TopicPartition, MemberIndex> {
    let mut added = BTreeMap::new();
    let mut revoked = BTreeSet::new();
    for (member, assigned) in assignment.iter().enumerate() {
        let owned = &group.members[member].owned_partitions;
        for tp in assigned {
            if !owned.contains(tp) {
                added.insert(tp.clone(), member);
            }
        }
        revoked.extend(owned.iter().filter(|tp| !assigned.contains(tp)).cloned());
    }
    added.retain(|tp, _| revoked.contains(tp));
    added
}
