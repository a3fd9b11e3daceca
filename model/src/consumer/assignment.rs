//! Changing what the consumer reads while it runs: a group's assignment adds and removes partitions, a committed
//! offset positions them, and partitions with records waiting for the application are paused.

use super::partition::PartitionState;
use super::Consumer;
use crate::ids::{Offset, TopicPartition};
use std::collections::BTreeMap;

impl Consumer {
    /// Follows `topics` in metadata (`KafkaConsumer.subscribe`), so their partition counts are known and grow.
    pub fn subscribe(&mut self, topics: Vec<String>) {
        self.subscribed_topics = topics;
        self.metadata.request_update();
    }

    /// Partition count per subscribed topic, from the newest metadata.
    pub fn partition_counts(&self) -> &BTreeMap<String, i32> {
        &self.partition_counts
    }

    /// Asks for metadata at the next step (a group leader checks its counts before assigning).
    pub fn request_metadata_update(&mut self) {
        self.metadata.request_update();
    }

    /// The partitions assigned now.
    pub fn assigned(&self) -> Vec<TopicPartition> {
        self.partitions.keys().cloned().collect()
    }

    /// Adds partitions without a position: nothing is fetched for them until [`Consumer::seek_to`] or
    /// [`Consumer::reset_to_default`] positions them. Already assigned ones keep their state.
    pub fn assign(&mut self, tps: impl IntoIterator<Item = TopicPartition>) {
        for tp in tps {
            self.partitions.entry(tp).or_insert_with(|| PartitionState {
                awaiting_position: true,
                ..PartitionState::default()
            });
        }
        self.metadata.request_update();
    }

    /// Removes partitions; an answer for them still in flight is then dropped as stale.
    pub fn unassign<'a>(&mut self, tps: impl IntoIterator<Item = &'a TopicPartition>) {
        for tp in tps {
            self.partitions.remove(tp);
        }
    }

    /// Positions `tp` at a committed offset (`seek` from the group's OffsetFetch); no event, the caller knows.
    pub fn seek_to(&mut self, tp: &TopicPartition, offset: Offset) {
        if let Some(p) = self.partitions.get_mut(tp) {
            p.seek(offset, None);
        }
    }

    /// Positions `tp` by `auto.offset.reset`, as when the group has no committed offset for it.
    pub fn reset_to_default(&mut self, tp: &TopicPartition) {
        if self.partitions.contains_key(tp) {
            self.reset_position(tp, 0);
        }
    }

    /// Whether `tp` is assigned and positioned (or resetting to latest), so records may come for it.
    pub fn has_position(&self, tp: &TopicPartition) -> bool {
        self.partitions
            .get(tp)
            .is_some_and(|p| !p.awaiting_position)
    }

    /// `KafkaConsumer.pause` / `resume`: a paused partition keeps its position but is not fetched.
    pub fn set_paused(&mut self, tp: &TopicPartition, paused: bool) {
        if let Some(p) = self.partitions.get_mut(tp) {
            p.paused = paused;
        }
    }
}
