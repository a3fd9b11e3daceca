//! `range` (Kafka's `RangeAssignor`): each topic on its own, split into consecutive ranges over its subscribers.
//!
//! For each topic, the partitions in numeric order are divided among the members subscribed to it, ordered as
//! Kafka's `MemberInfo` orders them (static members by `group.instance.id` first, then member id); the first
//! `partitions % members` members get one extra. So each topic is balanced within one partition, but the extras
//! of every topic land on the same first members: across topics the counts can differ by the number of topics.
//! Topics with the same partition count and subscribers are co-partitioned (partition p of each goes to the same
//! member), which is why Kafka keeps range as its default.

use super::{member_info_cmp, Group, MemberIndex};
use crate::ids::TopicPartition;

pub(super) fn assign(group: &Group) -> Vec<Vec<TopicPartition>> {
    let mut assignment = vec![Vec::new(); group.members.len()];
    for (topic, count) in &group.partitions_per_topic {
        let mut consumers: Vec<MemberIndex> = (0..group.members.len())
            .filter(|m| group.subscribes(*m, topic))
            .collect();
        consumers.sort_by(|a, b| member_info_cmp(group.members[*a], group.members[*b]));
        let count = *count as usize;
        let per_consumer = count / consumers.len();
        let with_extra = count % consumers.len();
        let mut partitions = group.partitions_of(topic);
        for (i, consumer) in consumers.into_iter().enumerate() {
            let length = per_consumer + usize::from(i < with_extra);
            assignment[consumer].extend(partitions.by_ref().take(length));
        }
    }
    assignment
}
