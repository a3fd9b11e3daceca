//! Settling the members' claims on partitions before a sticky assignment (Kafka's `allSubscriptionsEqual`).

use super::super::{Group, MemberIndex, DEFAULT_GENERATION};
use crate::ids::TopicPartition;
use std::collections::{BTreeMap, BTreeSet};

pub(super) struct Ownership {
    /// Kafka's `consumerToOwnedPartitions`: per member, the existing partitions it keeps its claim on.
    pub owned: Vec<Vec<TopicPartition>>,
    /// Kafka's `partitionsWithMultiplePreviousOwners`: claimed by two members of the same generation.
    pub multiply_claimed: BTreeSet<TopicPartition>,
    pub all_subscriptions_equal: bool,
    /// The newest generation any member reports ([`DEFAULT_GENERATION`] if none does).
    pub max_generation: i32,
}

/// A member's generation as Kafka reads it: a negative one is absent, which counts as [`DEFAULT_GENERATION`].
pub(super) fn generation(group: &Group, member: MemberIndex) -> Option<i32> {
    let generation_id = group.members[member].generation_id;
    (generation_id >= 0).then_some(generation_id)
}

/// Walks the members in the order Kafka's `HashMap<String, Subscription>` iterates them, since ties between
/// claims, and the check for equal subscriptions, depend on who comes first.
pub(super) fn resolve(group: &Group, subscriptions_order: &[MemberIndex]) -> Ownership {
    let mut ownership = Ownership {
        owned: vec![Vec::new(); group.members.len()],
        multiply_claimed: BTreeSet::new(),
        all_subscriptions_equal: true,
        max_generation: DEFAULT_GENERATION,
    };
    // Kafka compares each subscription with the first non-empty one it met: members subscribed to nothing that
    // come before it are skipped over (a quirk kept here, see the tests), later ones make the group unequal.
    let mut first_topics: Option<&BTreeSet<String>> = None;
    let mut claimed_by: BTreeMap<TopicPartition, MemberIndex> = BTreeMap::new();
    for &member in subscriptions_order {
        let topics = &group.members[member].topics;
        match first_topics {
            None if topics.is_empty() => {}
            None => first_topics = Some(topics),
            Some(first) => ownership.all_subscriptions_equal &= first == topics,
        }
        let member_generation = generation(group, member).unwrap_or(DEFAULT_GENERATION);
        ownership.max_generation = ownership.max_generation.max(member_generation);
        for tp in &group.members[member].owned_partitions {
            if group.exists(tp) {
                claim(
                    group,
                    &mut ownership,
                    &mut claimed_by,
                    member,
                    member_generation,
                    tp,
                );
            }
        }
    }
    ownership
}

fn claim(
    group: &Group,
    ownership: &mut Ownership,
    claimed_by: &mut BTreeMap<TopicPartition, MemberIndex>,
    member: MemberIndex,
    member_generation: i32,
    tp: &TopicPartition,
) {
    let Some(&other) = claimed_by.get(tp) else {
        ownership.owned[member].push(tp.clone());
        claimed_by.insert(tp.clone(), member);
        return;
    };
    let other_generation = generation(group, other).unwrap_or(DEFAULT_GENERATION);
    if member_generation == other_generation {
        // Two owners in one generation cannot both be right: neither keeps it. The later claimant stands as
        // the owner for any third claim, as in Kafka.
        ownership.multiply_claimed.insert(tp.clone());
        remove_first(&mut ownership.owned[other], tp);
        claimed_by.insert(tp.clone(), member);
    } else if member_generation > other_generation {
        ownership.owned[member].push(tp.clone());
        remove_first(&mut ownership.owned[other], tp);
        claimed_by.insert(tp.clone(), member);
    }
}

/// Java's `List.remove(Object)`.
fn remove_first(list: &mut Vec<TopicPartition>, tp: &TopicPartition) {
    if let Some(at) = list.iter().position(|p| p == tp) {
        list.remove(at);
    }
}
