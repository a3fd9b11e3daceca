//! Kafka's log cleaner on one log (`Cleaner.clean`, with `LogCleanerManager.cleanableOffsets` and
//! `CleanedTransactionMetadata`): below the first uncleanable offset, keep only the newest record per key and
//! drop what aborted transactions wrote, preserving every survivor's offset.
//!
//! Kafka builds an offset map (key -> latest offset) over the dirty part only, `[first dirty, first uncleanable)`,
//! then rewrites every segment below the first uncleanable offset with it: a record is kept unless the map holds
//! a later offset for its key. Keyless records are dropped (Kafka counts them invalid: a compacted topic refuses
//! them on append). Batches of aborted transactions are dropped whole and never enter the map. Control batches
//! stay (Kafka removes a marker only in a later pass, once its transaction's data is gone and
//! `delete.retention.ms` has passed; not modelled). A batch whose records all went is dropped, except the last
//! data batch of a producer the state still knows: Kafka keeps its empty header (`RETAIN_EMPTY`) so the
//! producer's epoch and last sequence can be rebuilt from the log.

use super::{Log, ProducerStateManager};
use crate::ids::Offset;
use crate::record::{Record, RecordBatch};
use std::collections::BTreeMap;

/// The part of a log one cleaning may take (Kafka's `OffsetsToClean`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CleanableRange {
    /// Everything below was cleaned before (the cleaner checkpoint).
    pub first_dirty_offset: Offset,
    /// Nothing at or above is cleaned.
    pub first_uncleanable_offset: Offset,
}

impl Log {
    /// Kafka's `cleanableOffsets`: the cleaner stops at the active segment, at the last stable offset (the high
    /// watermark, or the first offset of a transaction still open or not yet replicated past its marker), and,
    /// in this model, at the flushed offset so that power loss never meets a cleaned batch that is not on disk
    /// (Kafka flushes a segment when it rolls, so this bound rarely binds). The bound rounds down to the base of
    /// the segment holding it: Kafka cleans whole segments.
    pub fn cleanable_range(&self, high_watermark: Offset) -> CleanableRange {
        let last_stable = self
            .producers
            .first_unstable_offset(high_watermark)
            .map_or(high_watermark, |first| first.min(high_watermark));
        let bound = self
            .segments
            .active_base_offset(self.log_end_offset())
            .min(last_stable)
            .min(self.file.flushed_offset());
        let first_uncleanable_offset = self
            .segments
            .base_at_or_below(bound, self.log_start_offset());
        CleanableRange {
            first_dirty_offset: self.cleaner_checkpoint.min(first_uncleanable_offset),
            first_uncleanable_offset,
        }
    }

    /// Kafka's `cleanableRatio`: the dirty part's share of everything below the first uncleanable offset,
    /// counted in records where Kafka counts bytes.
    pub fn dirty_ratio(&self, range: CleanableRange) -> f64 {
        let (mut clean, mut dirty) = (0usize, 0usize);
        for batch in self.file.batches() {
            if batch.base_offset >= range.first_uncleanable_offset {
                break;
            }
            if batch.base_offset >= range.first_dirty_offset {
                dirty += batch.records.len();
            } else {
                clean += batch.records.len();
            }
        }
        if dirty == 0 {
            0.0
        } else {
            dirty as f64 / (clean + dirty) as f64
        }
    }

    /// Cleans the log up to its first uncleanable offset and moves the cleaner checkpoint there. Returns the
    /// range cleaned, or None when nothing was dirty.
    pub fn clean(&mut self, high_watermark: Offset) -> Option<CleanableRange> {
        let range = self.cleanable_range(high_watermark);
        if range.first_dirty_offset >= range.first_uncleanable_offset {
            return None;
        }
        let batches = self.file.batches();
        let count = batches.partition_point(|b| b.next_offset() <= range.first_uncleanable_offset);
        debug_assert!(
            batches
                .get(count)
                .is_none_or(|b| b.base_offset >= range.first_uncleanable_offset),
            "a batch straddles a segment base"
        );
        let cleaned = clean_batches(&batches[..count], range.first_dirty_offset, &self.producers);
        self.file.replace_prefix(count, cleaned);
        self.cleaner_checkpoint = range.first_uncleanable_offset;
        Some(range)
    }
}

/// What the cleaner makes of `batches` (all below the first uncleanable offset) when the dirty part starts at
/// `first_dirty_offset`; `producers` names the aborted transactions and each producer's last data batch.
pub fn clean_batches(
    batches: &[RecordBatch],
    first_dirty_offset: Offset,
    producers: &ProducerStateManager,
) -> Vec<RecordBatch> {
    let aborted = |b: &RecordBatch| {
        !b.is_control()
            && b.attributes.transactional
            && b.producer
                .is_some_and(|p| producers.is_aborted(p.producer_id, b.base_offset))
    };
    let mut latest: BTreeMap<&[u8], Offset> = BTreeMap::new();
    for batch in batches.iter().filter(|b| !b.is_control() && !aborted(b)) {
        for (offset, record) in batch.entries().filter(|(o, _)| *o >= first_dirty_offset) {
            if let Some(key) = &record.key {
                latest.insert(key, offset);
            }
        }
    }
    let retain = |offset: Offset, record: &Record| match &record.key {
        Some(key) => latest.get(&key[..]).is_none_or(|&newest| offset >= newest),
        None => false,
    };
    batches
        .iter()
        .filter_map(|batch| {
            if batch.is_control() {
                return Some(batch.clone());
            }
            let kept: Vec<(Offset, Record)> = if aborted(batch) {
                Vec::new()
            } else {
                batch
                    .entries()
                    .filter(|(o, r)| retain(*o, r))
                    .map(|(o, r)| (o, r.clone()))
                    .collect()
            };
            let last_of_producer = batch.producer.is_some_and(|p| {
                producers.last_data_offset(p.producer_id) == Some(batch.last_offset())
            });
            if kept.len() == batch.records.len() {
                Some(batch.clone())
            } else if kept.is_empty() && !last_of_producer {
                None
            } else {
                Some(batch.relaid(batch.base_offset, batch.last_offset(), kept))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
