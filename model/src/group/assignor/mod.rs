//! Kafka's partition assignors (`partition.assignment.strategy`) as pure functions of the group's subscriptions.
//!
//! The group leader runs one of these on the members' subscriptions from its JoinGroup response and the partition
//! counts from its metadata, and sends the result in SyncGroup. Each follows Kafka's client assignor of the same
//! name (`RangeAssignor`, `RoundRobinAssignor`, `StickyAssignor`, `CooperativeStickyAssignor`) down to its
//! tie-breaks, so the model hands out the partitions Kafka would.
//!
//! Where this narrows Kafka:
//! - Rack-aware assignment (KIP-881: `client.rack` against replica racks) is not modelled; every assignor behaves
//!   as Kafka's does when no consumer sets `client.rack`.
//! - A member's subscription carries one generation. Kafka's sticky assignors read it from the subscription's
//!   `generationId` (cooperative) or the userData (eager); the two agree for Kafka's own clients.
//! - Owned partitions that no longer exist (a partition index at or past the topic's count, as after a topic is
//!   deleted and re-created smaller) are dropped; Kafka only checks that the topic still exists.
//! - For the sticky assignors, see the `sticky` module: two Kafka quirks kept, one narrowed.

mod cooperative_sticky;
mod java_order;
mod range;
mod round_robin;
mod sticky;

#[cfg(test)]
mod golden;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

use crate::ids::TopicPartition;
use java_order::java_string_cmp;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// Kafka's `DEFAULT_GENERATION`: a member that reports no generation.
pub const DEFAULT_GENERATION: i32 = -1;

/// Partition count per topic, as the leader's metadata knows it (`partitionsPerTopic`).
pub type PartitionsPerTopic = BTreeMap<String, i32>;

/// The partitions each member is to consume, keyed by member id, each list sorted. Every member has an entry.
pub type GroupAssignment = BTreeMap<String, Vec<TopicPartition>>;

/// One member as the leader sees it: Kafka's `Subscription` under its member id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub member_id: String,
    /// `group.instance.id` (static membership): range and roundrobin order static members first, by this id.
    pub group_instance_id: Option<String>,
    pub topics: BTreeSet<String>,
    /// What the member owns now (cooperative: `ownedPartitions`; eager sticky: its last assignment, from userData).
    pub owned_partitions: Vec<TopicPartition>,
    /// The generation of `owned_partitions`; negative ([`DEFAULT_GENERATION`]) when unknown.
    pub generation_id: i32,
}

impl Member {
    /// A dynamic member that owns nothing yet.
    pub fn new<T: Into<String>>(
        member_id: impl Into<String>,
        topics: impl IntoIterator<Item = T>,
    ) -> Member {
        Member {
            member_id: member_id.into(),
            group_instance_id: None,
            topics: topics.into_iter().map(Into::into).collect(),
            owned_partitions: Vec::new(),
            generation_id: DEFAULT_GENERATION,
        }
    }

    /// The same member, reporting `owned` from `generation_id`.
    pub fn owning(
        mut self,
        owned: impl IntoIterator<Item = TopicPartition>,
        generation_id: i32,
    ) -> Member {
        self.owned_partitions = owned.into_iter().collect();
        self.generation_id = generation_id;
        self
    }

    /// The same member with a `group.instance.id`.
    pub fn with_group_instance_id(mut self, group_instance_id: impl Into<String>) -> Member {
        self.group_instance_id = Some(group_instance_id.into());
        self
    }
}

/// Kafka's `RebalanceProtocol`: eager revokes everything before a rebalance, cooperative only what moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RebalanceProtocol {
    Eager,
    Cooperative,
}

/// The built-in assignors, named as `partition.assignment.strategy` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Assignor {
    #[serde(rename = "range")]
    Range,
    #[serde(rename = "roundrobin")]
    RoundRobin,
    #[serde(rename = "sticky")]
    Sticky,
    #[serde(rename = "cooperative-sticky")]
    CooperativeSticky,
}

impl Assignor {
    pub const ALL: [Assignor; 4] = [
        Assignor::Range,
        Assignor::RoundRobin,
        Assignor::Sticky,
        Assignor::CooperativeSticky,
    ];

    /// Kafka's default `partition.assignment.strategy` (since 3.0): range, with cooperative-sticky listed so a
    /// rolling upgrade can move the group to it.
    pub const DEFAULT_STRATEGY: [Assignor; 2] = [Assignor::Range, Assignor::CooperativeSticky];

    /// The protocol name a member sends in JoinGroup.
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::Sticky => "sticky",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }

    pub fn from_name(name: &str) -> Option<Assignor> {
        Assignor::ALL.into_iter().find(|a| a.name() == name)
    }

    /// `supportedProtocols()`: only cooperative-sticky can rebalance cooperatively.
    pub fn supported_protocols(self) -> &'static [RebalanceProtocol] {
        match self {
            Assignor::CooperativeSticky => {
                &[RebalanceProtocol::Cooperative, RebalanceProtocol::Eager]
            }
            _ => &[RebalanceProtocol::Eager],
        }
    }

    /// The leader's assignment. `members` come in the order of the JoinGroup response: Kafka's leader collects
    /// them into a `HashMap`, and the sticky assignors' tie-breaks follow that map's order.
    ///
    /// Topics nobody subscribes to, and topics with no partitions, are left out, as Kafka's
    /// `AbstractPartitionAssignor` leaves out topics without metadata. For cooperative-sticky, partitions that
    /// must first be revoked from another member are left unassigned; the next rebalance assigns them.
    pub fn assign(
        self,
        partitions_per_topic: &PartitionsPerTopic,
        members: &[Member],
    ) -> GroupAssignment {
        let ids: BTreeSet<&str> = members.iter().map(|m| m.member_id.as_str()).collect();
        assert_eq!(ids.len(), members.len(), "member ids must be unique");
        let group = Group::new(partitions_per_topic, members);
        let mut assignment = match self {
            Assignor::Range => range::assign(&group),
            Assignor::RoundRobin => round_robin::assign(&group),
            Assignor::Sticky => sticky::assign(&group).assignment,
            Assignor::CooperativeSticky => cooperative_sticky::assign(&group),
        };
        for partitions in &mut assignment {
            partitions.sort();
        }
        group
            .members
            .iter()
            .zip(assignment)
            .map(|(m, partitions)| (m.member_id.clone(), partitions))
            .collect()
    }
}

impl fmt::Display for Assignor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A member's position in [`Group::members`], which are sorted by member id: index order is member id order.
type MemberIndex = usize;

/// What every assignor reads: the members sorted by member id (Java's `String` order), their JoinGroup order,
/// and the partition counts of the topics someone subscribes to.
struct Group<'a> {
    pub members: Vec<&'a Member>,
    /// Member indices in JoinGroup order.
    pub join_order: Vec<MemberIndex>,
    /// Only subscribed topics with at least one partition; each name shared by all its partitions.
    pub partitions_per_topic: BTreeMap<Arc<str>, i32>,
}

impl<'a> Group<'a> {
    fn new(partitions_per_topic: &PartitionsPerTopic, members: &'a [Member]) -> Group<'a> {
        let mut sorted: Vec<(usize, &Member)> = members.iter().enumerate().collect();
        sorted.sort_by(|a, b| java_string_cmp(&a.1.member_id, &b.1.member_id));
        let mut join_order = vec![0; members.len()];
        for (index, (position, _)) in sorted.iter().enumerate() {
            join_order[*position] = index;
        }
        let subscribed: BTreeSet<&str> = members
            .iter()
            .flat_map(|m| m.topics.iter().map(String::as_str))
            .collect();
        let partitions_per_topic = partitions_per_topic
            .iter()
            .filter(|(topic, count)| **count > 0 && subscribed.contains(topic.as_str()))
            .map(|(topic, count)| (Arc::from(topic.as_str()), *count))
            .collect();
        Group {
            members: sorted.into_iter().map(|(_, m)| m).collect(),
            join_order,
            partitions_per_topic,
        }
    }

    /// Every partition of `topic` (0 if the topic is not assignable).
    pub fn partitions_of(&self, topic: &str) -> impl Iterator<Item = TopicPartition> + '_ {
        let entry = self.partitions_per_topic.get_key_value(topic);
        entry
            .into_iter()
            .flat_map(|(name, count)| (0..*count).map(|p| TopicPartition::new(name.clone(), p)))
    }

    /// Whether `tp` is a partition that exists now.
    pub fn exists(&self, tp: &TopicPartition) -> bool {
        self.partitions_per_topic
            .get(&tp.topic)
            .is_some_and(|count| (0..*count).contains(&tp.partition))
    }

    pub fn subscribes(&self, member: MemberIndex, topic: &str) -> bool {
        self.members[member].topics.contains(topic)
    }

    /// Total partitions across the assignable topics.
    pub fn total_partitions(&self) -> usize {
        self.partitions_per_topic
            .values()
            .map(|c| *c as usize)
            .sum()
    }
}

/// Kafka's `MemberInfo` order, which range and roundrobin sort members by: static members first, by
/// `group.instance.id`, then dynamic members by member id.
fn member_info_cmp(a: &Member, b: &Member) -> Ordering {
    match (&a.group_instance_id, &b.group_instance_id) {
        (Some(x), Some(y)) => java_string_cmp(x, y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => java_string_cmp(&a.member_id, &b.member_id),
    }
}
