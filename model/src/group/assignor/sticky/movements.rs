//! The partition moves made during one general sticky assignment (Kafka's `PartitionMovements`).
//!
//! Kafka records each move as (from, to) per topic so that a later move in the opposite direction between the
//! same two members takes back a partition that already moved, rather than a second one: two members swapping
//! partitions of one topic would lose stickiness for nothing.

use super::super::java_order::{topic_partition_hash_code, JavaHashOrder};
use super::super::MemberIndex;
use crate::ids::TopicPartition;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A move from `.0` to `.1` (Kafka's `ConsumerPair`).
type ConsumerPair = (MemberIndex, MemberIndex);

#[derive(Default)]
pub(super) struct PartitionMovements {
    by_partition: BTreeMap<TopicPartition, ConsumerPair>,
    /// Per topic and pair, the partitions in a Java `HashSet`, whose first element Kafka takes.
    by_topic: BTreeMap<Arc<str>, BTreeMap<ConsumerPair, JavaHashOrder<TopicPartition>>>,
}

impl PartitionMovements {
    /// Kafka's `movePartition`: a partition moving on keeps its original source; moving back home erases it.
    pub fn move_partition(&mut self, tp: &TopicPartition, old: MemberIndex, new: MemberIndex) {
        if self.by_partition.contains_key(tp) {
            let (source, destination) = self.remove_record(tp);
            assert_eq!(destination, old, "{tp} moves from where it last moved to");
            if source != new {
                self.add_record(tp, (source, new));
            }
        } else {
            self.add_record(tp, (old, new));
        }
    }

    /// Kafka's `getTheActualPartitionToBeMoved`: if a partition of this topic already moved the opposite way
    /// (counting from where `tp` originally came), move that one back instead.
    pub fn partition_to_move(
        &self,
        tp: &TopicPartition,
        old: MemberIndex,
        new: MemberIndex,
    ) -> TopicPartition {
        let Some(topic_moves) = self.by_topic.get(&tp.topic) else {
            return tp.clone();
        };
        let old = self.by_partition.get(tp).map_or(old, |(source, _)| *source);
        match topic_moves.get(&(new, old)).and_then(JavaHashOrder::first) {
            Some(reverse) => reverse.clone(),
            None => tp.clone(),
        }
    }

    fn remove_record(&mut self, tp: &TopicPartition) -> ConsumerPair {
        let pair = self.by_partition.remove(tp).expect("a recorded move");
        let topic_moves = self.by_topic.get_mut(&tp.topic).expect("the topic's moves");
        let partitions = topic_moves.get_mut(&pair).expect("the pair's moves");
        partitions.remove(tp, topic_partition_hash_code(tp));
        if partitions.is_empty() {
            topic_moves.remove(&pair);
        }
        if topic_moves.is_empty() {
            self.by_topic.remove(&tp.topic);
        }
        pair
    }

    fn add_record(&mut self, tp: &TopicPartition, pair: ConsumerPair) {
        self.by_partition.insert(tp.clone(), pair);
        self.by_topic
            .entry(tp.topic.clone())
            .or_default()
            .entry(pair)
            .or_insert_with(JavaHashOrder::new)
            .insert(tp.clone(), topic_partition_hash_code(tp));
    }
}
