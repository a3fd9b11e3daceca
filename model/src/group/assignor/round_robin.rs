//! `roundrobin` (Kafka's `RoundRobinAssignor`): all partitions of all topics dealt out one at a time.
//!
//! Partitions are laid out by topic name then number, members in Kafka's `MemberInfo` order; a circular pointer
//! over the members deals each partition to the next member subscribed to its topic, skipping the others. With
//! equal subscriptions the counts differ by at most one across the whole group; with unequal ones the skipping
//! can leave the group unbalanced (Kafka's own example: C0 [t0p0], C1 [t1p0], C2 [t1p1, t2p0, t2p1, t2p2]).

use super::{member_info_cmp, Group, MemberIndex};
use crate::ids::TopicPartition;

pub(super) fn assign(group: &Group) -> Vec<Vec<TopicPartition>> {
    let mut assignment = vec![Vec::new(); group.members.len()];
    let mut circle: Vec<MemberIndex> = (0..group.members.len()).collect();
    circle.sort_by(|a, b| member_info_cmp(group.members[*a], group.members[*b]));
    let mut next = 0;
    for topic in group.partitions_per_topic.keys() {
        for partition in group.partitions_of(topic) {
            // Every topic here has a subscriber, so the search ends within one lap.
            while !group.subscribes(circle[next], topic) {
                next = (next + 1) % circle.len();
            }
            assignment[circle[next]].push(partition);
            next = (next + 1) % circle.len();
        }
    }
    assignment
}
