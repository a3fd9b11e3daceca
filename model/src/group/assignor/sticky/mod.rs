//! `sticky` (Kafka's `StickyAssignor` and the `AbstractStickyAssignor` it shares with cooperative-sticky):
//! a balanced assignment that keeps as many partitions as it can with the members that own them.
//!
//! Kafka's guarantees, which the property tests check:
//! - Balance first: the members' counts differ by at most one, or else no member with two or more fewer
//!   partitions than another is subscribed to any of that other member's partitions' topics.
//! - Then stickiness: as many partitions as possible stay with their current owner.
//!
//! Each member reports what it owns and from which generation. Claims are settled first: a partition claimed by
//! members of different generations belongs to the highest; one claimed twice in the same generation belongs to
//! nobody and counts as "claimed by multiple owners" (cooperative-sticky then withholds it for one rebalance).
//! When every member subscribes to the same topics Kafka runs its quota algorithm ([`constrained`]), otherwise
//! the original sticky algorithm ([`general`]).
//!
//! Kafka's behaviour kept although it breaks the guarantees: in the general algorithm a partition goes back to
//! its previous owner (a member reporting it from an older generation than the group's newest) without a check
//! that this member still subscribes to the topic, so a member can be given a partition it did not subscribe to
//! (Kafka's consumer then rejoins). It needs a member that missed a generation and changed its subscription.
//!
//! Where this narrows Kafka, beyond the module notes in [`super`]:
//! - In that same move back, Kafka throws a NullPointerException when the previous owner was set aside as unable
//!   to take part (it has every partition it could have, all of topics nobody else subscribes to); the model
//!   leaves the partition where it is.
//! - Kafka's `maxGeneration` lives on the assignor object and only grows across rebalances; here it is the
//!   newest generation among this rebalance's members, which is the same while generations only grow.

mod constrained;
mod general;
mod movements;
mod ownership;

use super::java_order::hash_map_order;
use super::{Group, MemberIndex};
use crate::ids::TopicPartition;
use std::collections::BTreeMap;

/// A sticky assignment and, from the constrained algorithm, Kafka's `partitionsTransferringOwnership`: the
/// partitions it gives to a member other than one that still claims them. The general algorithm leaves that to
/// the cooperative assignor to work out (Kafka sets it to null there).
pub(super) struct StickyOutcome {
    pub assignment: Vec<Vec<TopicPartition>>,
    pub partitions_transferring_ownership: Option<BTreeMap<TopicPartition, MemberIndex>>,
}

pub(super) fn assign(group: &Group) -> StickyOutcome {
    if group.members.is_empty() {
        return StickyOutcome {
            assignment: Vec::new(),
            partitions_transferring_ownership: Some(BTreeMap::new()),
        };
    }
    // Kafka's leader fills `HashMap<String, Subscription>` in JoinGroup order; the assignor then fills its
    // owned-partitions map by iterating that one.
    let subscriptions_order = java_order(group, &group.join_order);
    let owned_partitions_order = java_order(group, &subscriptions_order);
    let ownership = ownership::resolve(group, &subscriptions_order);
    if ownership.all_subscriptions_equal {
        let (assignment, transferring) =
            constrained::assign(group, &ownership, &owned_partitions_order);
        StickyOutcome {
            assignment,
            partitions_transferring_ownership: Some(transferring),
        }
    } else {
        StickyOutcome {
            assignment: general::assign(group, ownership, &subscriptions_order),
            partitions_transferring_ownership: None,
        }
    }
}

/// The order a Java `HashMap` keyed by member id iterates members inserted in `insertion_order`.
fn java_order(group: &Group, insertion_order: &[MemberIndex]) -> Vec<MemberIndex> {
    let ids = insertion_order
        .iter()
        .map(|m| group.members[*m].member_id.as_str());
    hash_map_order(ids)
        .into_iter()
        .map(|id| {
            group
                .members
                .iter()
                .position(|m| m.member_id == id)
                .expect("a member id from the group")
        })
        .collect()
}
