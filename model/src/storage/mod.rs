//! A broker's disk: what survives a process crash (everything, the page cache included) and, after power loss,
//! what had been flushed.

use crate::ids::{Offset, TopicPartition};
use crate::log::Log;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Disk {
    /// One log directory per partition replica hosted here.
    pub logs: BTreeMap<TopicPartition, Log>,
    /// `replication-offset-checkpoint`: each partition's HW as last checkpointed (written with fsync).
    pub hw_checkpoint: BTreeMap<TopicPartition, Offset>,
}

impl Disk {
    /// Power loss: every log keeps its flushed prefix and a part of its unflushed suffix chosen by `choose` (the
    /// host's seeded randomness). Returns the records lost, per partition.
    pub fn lose_power(
        &mut self,
        mut choose: impl FnMut() -> u64,
    ) -> BTreeMap<TopicPartition, Vec<(Offset, u64)>> {
        let mut lost = BTreeMap::new();
        for (tp, log) in &mut self.logs {
            let removed = log.file.lose_unflushed(choose());
            log.recover();
            if !removed.is_empty() {
                lost.insert(tp.clone(), removed);
            }
        }
        lost
    }
}
