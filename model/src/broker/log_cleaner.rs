//! The broker's log cleaner thread (Kafka's `LogCleaner` with `LogCleanerManager`): every replica of a compacted
//! topic is cleaned on its own broker, leader and followers alike, each by its own high watermark.
//!
//! Kafka's cleaner thread takes the dirtiest log whose dirty ratio exceeds `min.cleanable.dirty.ratio`, cleans
//! it, and looks again at once; only when no log qualifies does it sleep `log.cleaner.backoff.ms`. A cleaning
//! here takes no time, so one wake-up cleans every qualifying log, dirtiest first, then sleeps the backoff.

use super::Broker;
use crate::ids::{Offset, TopicPartition};
use crate::observe::Observation;

impl Broker {
    /// The cleaner's wake-up: clean each compacted log whose dirty part is large enough.
    pub(super) fn run_log_cleaner(&mut self) {
        let mut candidates: Vec<(f64, TopicPartition)> = self
            .partitions
            .iter()
            .filter(|(_, p)| p.log.config.is_compacted())
            .filter_map(|(tp, p)| {
                let ratio = p.log.dirty_ratio(p.log.cleanable_range(p.high_watermark));
                (ratio > p.log.config.min_cleanable_dirty_ratio).then(|| (ratio, tp.clone()))
            })
            .collect();
        // Dirtiest first (ties by partition, for determinism).
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        for (_, tp) in candidates {
            let p = self.partitions.get_mut(&tp).unwrap();
            let records = |p: &super::Partition, below: Offset| -> usize {
                p.log
                    .file
                    .batches()
                    .iter()
                    .take_while(|b| b.base_offset < below)
                    .map(|b| b.records.len())
                    .sum()
            };
            let range = p.log.cleanable_range(p.high_watermark);
            let records_before = records(p, range.first_uncleanable_offset);
            if let Some(range) = p.log.clean(p.high_watermark) {
                let records_after = records(p, range.first_uncleanable_offset);
                self.observe(Observation::LogCleaned {
                    broker: self.id,
                    tp,
                    first_dirty_offset: range.first_dirty_offset,
                    first_uncleanable_offset: range.first_uncleanable_offset,
                    records_before,
                    records_after,
                });
            }
        }
    }

    /// Whether the cleaner has anything to watch: it runs only when enabled and some log here is compacted.
    pub(super) fn log_cleaner_active(&self) -> bool {
        self.config.log_cleaner_enable
            && self
                .partitions
                .values()
                .any(|p| p.log.config.is_compacted())
    }
}
