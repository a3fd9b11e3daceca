//! A partition's log file as the disk holds it: batches, and how much of them has reached the platter.
//!
//! Kafka acknowledges from the page cache and leaves flushing to the OS, so power loss takes whatever was not yet
//! written back. The file tracks the flushed prefix and when each unflushed batch became dirty.

use crate::ids::Offset;
use crate::record::RecordBatch;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFile {
    batches: Vec<RecordBatch>,
    /// Every batch below this index is on disk; the rest sit only in the page cache.
    flushed_batches: usize,
    /// When each unflushed batch was written (parallel to `batches[flushed_batches..]`).
    dirty_since_ms: Vec<u64>,
    /// Kafka's log end offset (`nextOffsetMetadata`): kept apart from the batches because a compacted log has
    /// gaps, so a truncation may end the log at an offset no batch ends at.
    #[serde(default)]
    end_offset: Offset,
}

impl LogFile {
    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }

    /// Kafka's log start offset. Only retention and DeleteRecords move it (neither is modelled), never
    /// compaction: a cleaned log still starts where it started, with gaps after.
    pub fn log_start_offset(&self) -> Offset {
        0
    }

    pub fn log_end_offset(&self) -> Offset {
        self.end_offset
    }

    /// Kafka's recovery point: the offset below which the log is known to be on disk.
    pub fn flushed_offset(&self) -> Offset {
        self.batches
            .get(self.flushed_batches)
            .map_or(self.end_offset, |b| b.base_offset)
    }

    /// Kafka's `unflushedMessages`: the log end offset less the recovery point. It counts offsets, so the gaps a
    /// follower copies from a cleaned leader log count too, as they do in Kafka; and it is O(1), which matters as
    /// it is asked on every append.
    pub fn unflushed_records(&self) -> u64 {
        (self.log_end_offset() - self.flushed_offset()) as u64
    }

    /// Appends a batch at or above the log end: a follower copying a cleaned leader log meets offsets that no
    /// longer hold records, so its next batch may start past its log end (Kafka's `appendAsFollower` takes the
    /// batches' own offsets).
    pub fn append(&mut self, batch: RecordBatch, now_ms: u64) {
        assert!(
            batch.base_offset >= self.log_end_offset(),
            "append at {} below the log end {}",
            batch.base_offset,
            self.log_end_offset()
        );
        assert!(batch.offset_count() > 0, "a batch spans no offset");
        self.end_offset = batch.next_offset();
        self.batches.push(batch);
        self.dirty_since_ms.push(now_ms);
    }

    /// Removes the records at and above `offset`, returning them as (offset, value). A batch that straddles the
    /// cut keeps its lower part.
    pub fn truncate_to(&mut self, offset: Offset) -> Vec<(Offset, u64)> {
        let mut removed = Vec::new();
        while let Some(last) = self.batches.last() {
            if last.base_offset >= offset {
                let values: Vec<_> = last.entries().map(|(o, r)| (o, r.value)).collect();
                removed.extend(values.into_iter().rev());
                self.batches.pop();
            } else if last.next_offset() > offset {
                let values: Vec<_> = last
                    .entries()
                    .filter(|(o, _)| *o >= offset)
                    .map(|(o, r)| (o, r.value))
                    .collect();
                removed.extend(values.into_iter().rev());
                let kept = last.head_below(offset);
                *self.batches.last_mut().unwrap() = kept;
                break;
            } else {
                break;
            }
        }
        removed.reverse();
        self.end_offset = self.end_offset.min(offset);
        self.flushed_batches = self.flushed_batches.min(self.batches.len());
        self.dirty_since_ms
            .truncate(self.batches.len() - self.flushed_batches);
        removed
    }

    /// Swaps the first `count` batches for what the cleaner made of them (Kafka's `replaceSegments`). They must
    /// all be on disk, and so is their replacement: Kafka fsyncs the cleaned segment before the swap, so power
    /// loss can never take cleaned data.
    pub fn replace_prefix(&mut self, count: usize, cleaned: Vec<RecordBatch>) {
        assert!(
            count <= self.flushed_batches,
            "the cleaner only rewrites flushed batches"
        );
        assert!(cleaned.len() <= count, "cleaning never adds batches");
        let kept = cleaned.len();
        self.batches.splice(..count, cleaned);
        self.flushed_batches -= count - kept;
    }

    /// fsync: everything written so far reaches the disk.
    pub fn flush(&mut self) {
        self.flushed_batches = self.batches.len();
        self.dirty_since_ms.clear();
    }

    /// The kernel's writeback: pages dirty since before `expire_before_ms` reach the disk, oldest first.
    pub fn write_back(&mut self, expire_before_ms: u64) {
        let expired = self
            .dirty_since_ms
            .iter()
            .take_while(|&&t| t < expire_before_ms)
            .count();
        self.flushed_batches += expired;
        self.dirty_since_ms.drain(..expired);
    }

    /// Power loss: the unflushed suffix survives only up to a point. `choice` (drawn by the host from the seed)
    /// picks how many unflushed batches made it; recovery drops a torn batch whole, as Kafka's CRC check does.
    pub fn lose_unflushed(&mut self, choice: u64) -> Vec<(Offset, u64)> {
        let unflushed = (self.batches.len() - self.flushed_batches) as u64;
        let survivors = (choice % (unflushed + 1)) as usize;
        let cut = self
            .batches
            .get(self.flushed_batches + survivors)
            .map(|b| b.base_offset);
        let removed = match cut {
            Some(offset) => self.truncate_to(offset),
            None => Vec::new(),
        };
        self.flush();
        // Recovery finds the log end in the segments: after the last batch that survived.
        if cut.is_some() {
            self.end_offset = self.batches.last().map_or(0, |b| b.next_offset());
        }
        removed
    }

    /// Every record as (offset, value), for checkers.
    pub fn offset_values(&self) -> Vec<(Offset, u64)> {
        self.batches
            .iter()
            .flat_map(|b| b.entries().map(|(o, r)| (o, r.value)))
            .collect()
    }

    /// The batches holding offsets `from..until`, the first one possibly starting below `from` (as Kafka reads
    /// whole batches), at most `max_records` records in all but always at least one batch if any is there.
    pub fn read(&self, from: Offset, until: Offset, max_records: usize) -> Vec<RecordBatch> {
        let start = self.batches.partition_point(|b| b.next_offset() <= from);
        let mut out = Vec::new();
        let mut count = 0;
        for batch in &self.batches[start..] {
            if batch.base_offset >= until
                || (count > 0 && count + batch.records.len() > max_records)
            {
                break;
            }
            if batch.next_offset() > until {
                // Never hand out records at or above `until` (the HW for consumers).
                out.push(batch.head_below(until));
                break;
            }
            count += batch.records.len();
            out.push(batch.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::BatchAttributes;
    use crate::record::Record;

    fn batch(base: Offset, n: usize, epoch: i32) -> RecordBatch {
        let records: Vec<Record> = (0..n)
            .map(|i| Record {
                key: None,
                value: (base as u64 + i as u64) * 10,
                timestamp_ms: 0,
                internal: None,
            })
            .collect();
        RecordBatch {
            base_offset: base,
            partition_leader_epoch: epoch,
            records: records.into(),
            producer: None,
            attributes: BatchAttributes::default(),
            compacted: None,
        }
    }

    fn file(batches: &[(Offset, usize)]) -> LogFile {
        let mut f = LogFile::default();
        for (i, &(base, n)) in batches.iter().enumerate() {
            f.append(batch(base, n, 0), i as u64 * 100);
        }
        f
    }

    #[test]
    fn truncation_inside_a_batch_keeps_its_head() {
        let mut f = file(&[(0, 3), (3, 3)]);
        assert_eq!(f.truncate_to(4), vec![(4, 40), (5, 50)]);
        assert_eq!(f.log_end_offset(), 4);
    }

    #[test]
    fn writeback_flushes_only_expired_pages() {
        let mut f = file(&[(0, 1), (1, 1), (2, 1)]);
        f.write_back(150);
        assert_eq!(f.flushed_offset(), 2);
        assert_eq!(f.unflushed_records(), 1);
    }

    #[test]
    fn power_loss_keeps_flushed_prefix_and_a_chosen_part_of_the_rest() {
        for choice in 0..4 {
            let mut f = file(&[(0, 2), (2, 2), (4, 2)]);
            f.write_back(50);
            let removed = f.lose_unflushed(choice);
            assert_eq!(f.log_end_offset(), 2 + 2 * (choice % 3) as Offset);
            assert_eq!(removed.len() as i64, 6 - f.log_end_offset());
            assert_eq!(f.unflushed_records(), 0);
        }
    }

    #[test]
    fn read_stops_at_until_and_returns_whole_batches_from_the_one_holding_from() {
        let f = file(&[(0, 3), (3, 3)]);
        let got = f.read(1, 5, 100);
        assert_eq!(
            got.iter()
                .map(|b| (b.base_offset, b.records.len()))
                .collect::<Vec<_>>(),
            vec![(0, 3), (3, 2)]
        );
        assert!(f.read(6, 6, 100).is_empty());
    }
}
