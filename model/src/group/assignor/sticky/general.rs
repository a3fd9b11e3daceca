//! The sticky assignment when subscriptions differ (Kafka's `GeneralAssignmentBuilder`).
//!
//! 1. Keep every settled claim whose member still subscribes to the topic (dropping one means a revocation).
//! 2. Give each unassigned partition, topics with the fewest subscribers first, to the least loaded member
//!    subscribed to it (ties by member id).
//! 3. Set aside topics with a single subscriber and members that cannot change, then repeatedly move a partition
//!    from a member with two or more partitions more than another subscriber of its topic to the least loaded
//!    such subscriber, until the assignment is balanced in Kafka's sense: counts within one, or no partition
//!    could move to a member with two fewer. A partition whose previous owner (from an older generation) now has
//!    two fewer goes back to it first.
//! 4. If the moves did not lower the balance score (the sum of count differences over all pairs of members),
//!    keep the assignment from before the moves, unless the group started empty.
//!
//! Unlike the constrained algorithm this can move more partitions than the minimum; it is Kafka's.

use super::super::{Group, MemberIndex, DEFAULT_GENERATION};
use super::movements::PartitionMovements;
use super::ownership::{generation, Ownership};
use crate::ids::TopicPartition;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A partition's owner from an older generation, and that generation (Kafka's `ConsumerGenerationPair`).
type PreviousAssignment = BTreeMap<TopicPartition, (MemberIndex, i32)>;

struct Builder<'a> {
    group: &'a Group<'a>,
    /// Kafka's `topic2AllPotentialConsumers`, of which only the number of subscribers matters.
    subscribers: BTreeMap<Arc<str>, usize>,
    /// Kafka's `consumer2AllPotentialTopics`: the subscribed topics that exist.
    potential_topics: Vec<Vec<Arc<str>>>,
    current: Vec<Vec<TopicPartition>>,
    owner: BTreeMap<TopicPartition, MemberIndex>,
    /// Topics by (subscriber count, name), each topic's partitions in order.
    sorted_all_partitions: Vec<TopicPartition>,
    /// Kafka's `sortedCurrentSubscriptions`: members by (assigned count, member id).
    by_load: BTreeSet<(usize, MemberIndex)>,
    /// False for members set aside because nothing about them can change.
    taking_part: Vec<bool>,
    revocation_required: bool,
    movements: PartitionMovements,
}

pub(super) fn assign(
    group: &Group,
    ownership: Ownership,
    subscriptions_order: &[MemberIndex],
) -> Vec<Vec<TopicPartition>> {
    let previous = previous_assignment(group, &ownership, subscriptions_order);
    let mut builder = Builder::new(group, ownership.owned);
    let assigned = builder.keep_owned_partitions();
    let unassigned: Vec<TopicPartition> = builder
        .sorted_all_partitions
        .iter()
        .filter(|tp| !assigned.contains(tp))
        .cloned()
        .collect();
    builder.by_load = (0..group.members.len())
        .map(|m| (builder.current[m].len(), m))
        .collect();
    builder.balance(&previous, unassigned);
    builder.current
}

/// Kafka's `prepopulateCurrentAssignments`: for each partition, the newest claim older than the group's newest
/// generation (a claim with no generation counts as the oldest), first claimant winning ties.
fn previous_assignment(
    group: &Group,
    ownership: &Ownership,
    subscriptions_order: &[MemberIndex],
) -> PreviousAssignment {
    let mut previous = PreviousAssignment::new();
    for &member in subscriptions_order {
        let claimed_generation = match generation(group, member) {
            Some(g) if g < ownership.max_generation => g,
            None if ownership.max_generation > DEFAULT_GENERATION => DEFAULT_GENERATION,
            _ => continue,
        };
        for tp in &group.members[member].owned_partitions {
            let newer = previous
                .get(tp)
                .is_none_or(|(_, g)| claimed_generation > *g);
            if newer {
                previous.insert(tp.clone(), (member, claimed_generation));
            }
        }
    }
    previous
}

impl<'a> Builder<'a> {
    fn new(group: &'a Group<'a>, owned: Vec<Vec<TopicPartition>>) -> Builder<'a> {
        let members = group.members.len();
        let subscribers: BTreeMap<Arc<str>, usize> = group
            .partitions_per_topic
            .keys()
            .map(|topic| {
                (
                    topic.clone(),
                    (0..members).filter(|m| group.subscribes(*m, topic)).count(),
                )
            })
            .collect();
        let potential_topics = (0..members)
            .map(|m| {
                let topics = group.partitions_per_topic.keys();
                topics.filter(|t| group.subscribes(m, t)).cloned().collect()
            })
            .collect();
        let mut topics: Vec<&Arc<str>> = subscribers.keys().collect();
        topics.sort_by_key(|t| (subscribers[*t], *t));
        let sorted_all_partitions = topics
            .into_iter()
            .flat_map(|t| group.partitions_of(t))
            .collect();
        let owner = owned
            .iter()
            .enumerate()
            .flat_map(|(m, partitions)| partitions.iter().map(move |tp| (tp.clone(), m)))
            .collect();
        Builder {
            group,
            subscribers,
            potential_topics,
            current: owned,
            owner,
            sorted_all_partitions,
            by_load: BTreeSet::new(),
            taking_part: vec![true; members],
            revocation_required: false,
            movements: PartitionMovements::default(),
        }
    }

    /// Keeps each claim on a topic its member still subscribes to; returns the partitions kept.
    fn keep_owned_partitions(&mut self) -> BTreeSet<TopicPartition> {
        let mut kept = BTreeSet::new();
        for member in 0..self.current.len() {
            let before = self.current[member].len();
            let group = self.group;
            self.current[member].retain(|tp| group.subscribes(member, &tp.topic));
            self.revocation_required |= self.current[member].len() < before;
            kept.extend(self.current[member].iter().cloned());
        }
        kept
    }

    fn balance(&mut self, previous: &PreviousAssignment, mut unassigned: Vec<TopicPartition>) {
        let initializing = self.by_load.last().is_some_and(|(count, _)| *count == 0);
        for tp in &unassigned {
            self.assign_to_least_loaded(tp);
        }
        let fixed_topic = |tp: &TopicPartition, subscribers: &BTreeMap<Arc<str>, usize>| {
            subscribers[&tp.topic] < 2
        };
        self.sorted_all_partitions
            .retain(|tp| !fixed_topic(tp, &self.subscribers));
        unassigned.retain(|tp| !fixed_topic(tp, &self.subscribers));
        for member in 0..self.current.len() {
            if !self.can_take_part(member) {
                self.by_load.remove(&(self.current[member].len(), member));
                self.taking_part[member] = false;
            }
        }
        let before = (self.current.clone(), self.owner.clone());
        if !self.revocation_required {
            // Kafka first tries moving only the newly assigned partitions, and ignores whether that moved any.
            self.perform_reassignments(&unassigned, previous);
        }
        let sorted_all_partitions = std::mem::take(&mut self.sorted_all_partitions);
        let reassigned = self.perform_reassignments(&sorted_all_partitions, previous);
        if !initializing
            && reassigned
            && self.balance_score(&self.current) >= self.balance_score(&before.0)
        {
            (self.current, self.owner) = before;
        }
    }

    fn assign_to_least_loaded(&mut self, tp: &TopicPartition) {
        let least_loaded = self
            .by_load
            .iter()
            .find(|(_, m)| self.group.subscribes(*m, &tp.topic))
            .copied();
        if let Some((_, member)) = least_loaded {
            self.give(tp, member);
        }
    }

    fn give(&mut self, tp: &TopicPartition, member: MemberIndex) {
        self.by_load.remove(&(self.current[member].len(), member));
        self.current[member].push(tp.clone());
        self.owner.insert(tp.clone(), member);
        self.by_load.insert((self.current[member].len(), member));
    }

    /// Kafka's `canConsumerParticipateInReassignment`: a member that has every partition it could have, all of
    /// topics nobody else subscribes to, can neither give nor take.
    fn can_take_part(&self, member: MemberIndex) -> bool {
        self.current[member].len() < self.max_assignment_size(member)
            || self.current[member]
                .iter()
                .any(|tp| self.subscribers[&tp.topic] >= 2)
    }

    fn max_assignment_size(&self, member: MemberIndex) -> usize {
        let topics = &self.potential_topics[member];
        topics
            .iter()
            .map(|t| self.group.partitions_per_topic[t] as usize)
            .sum()
    }

    /// Passes over `partitions` until one pass moves nothing or the assignment is balanced; whether any moved.
    fn perform_reassignments(
        &mut self,
        partitions: &[TopicPartition],
        previous: &PreviousAssignment,
    ) -> bool {
        let mut reassigned = false;
        loop {
            let mut modified = false;
            for tp in partitions {
                if self.is_balanced() {
                    break;
                }
                let owner = self.owner[tp];
                let owner_count = self.current[owner].len();
                if let Some((previous_owner, _)) = previous.get(tp) {
                    if self.may_move_back(*previous_owner)
                        && owner_count > self.current[*previous_owner].len() + 1
                    {
                        self.reassign_to(tp, *previous_owner);
                        reassigned = true;
                        modified = true;
                        continue;
                    }
                }
                let can_do_better = (0..self.current.len()).any(|other| {
                    self.taking_part[other]
                        && self.group.subscribes(other, &tp.topic)
                        && owner_count > self.current[other].len() + 1
                });
                if can_do_better {
                    let least_loaded = self
                        .by_load
                        .iter()
                        .find(|(_, m)| self.group.subscribes(*m, &tp.topic));
                    let (_, new_owner) = *least_loaded.expect("a subscriber taking part");
                    self.reassign_to(tp, new_owner);
                    reassigned = true;
                    modified = true;
                }
            }
            if !modified {
                return reassigned;
            }
        }
    }

    /// Kafka does not check that the previous owner still subscribes to the topic (see [`super`]); it throws
    /// when that member was set aside, where the model instead leaves the partition where it is.
    fn may_move_back(&self, previous_owner: MemberIndex) -> bool {
        self.taking_part[previous_owner]
    }

    fn reassign_to(&mut self, tp: &TopicPartition, new_owner: MemberIndex) {
        let owner = self.owner[tp];
        let tp = self.movements.partition_to_move(tp, owner, new_owner);
        let old_owner = self.owner[&tp];
        self.by_load
            .remove(&(self.current[old_owner].len(), old_owner));
        self.by_load
            .remove(&(self.current[new_owner].len(), new_owner));
        self.movements.move_partition(&tp, old_owner, new_owner);
        let at = self.current[old_owner]
            .iter()
            .position(|p| *p == tp)
            .expect("owned by its owner");
        self.current[old_owner].remove(at);
        self.current[new_owner].push(tp.clone());
        self.owner.insert(tp, new_owner);
        self.by_load
            .insert((self.current[new_owner].len(), new_owner));
        self.by_load
            .insert((self.current[old_owner].len(), old_owner));
    }

    /// Kafka's `isBalanced`: counts within one, or no member short of its maximum could take a partition of
    /// its topics from a member with two more.
    fn is_balanced(&self) -> bool {
        let (Some((min, _)), Some((max, _))) = (self.by_load.first(), self.by_load.last()) else {
            return true;
        };
        if *min + 1 >= *max {
            return true;
        }
        for &(count, member) in &self.by_load {
            if count == self.max_assignment_size(member) {
                continue;
            }
            for topic in &self.potential_topics[member] {
                for tp in self.group.partitions_of(topic) {
                    let other = self.owner[&tp];
                    if other != member && count + 1 < self.current[other].len() {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Kafka's `getBalanceScore` over the members taking part: the sum of count differences over all pairs.
    fn balance_score(&self, assignment: &[Vec<TopicPartition>]) -> usize {
        let counts: Vec<usize> = (0..assignment.len())
            .filter(|m| self.taking_part[*m])
            .map(|m| assignment[m].len())
            .collect();
        let mut score = 0;
        for (i, a) in counts.iter().enumerate() {
            for b in &counts[i + 1..] {
                score += a.abs_diff(*b);
            }
        }
        score
    }
}
