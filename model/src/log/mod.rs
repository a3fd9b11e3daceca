//! A replica's log: the log file with its page-cache/disk split, its segments, the leader-epoch cache, producer
//! state, and the cleaner's checkpoint for compacted topics.

mod cleaner;
mod epoch_cache;
mod log_file;
pub mod producer_state;
mod segments;

pub use cleaner::{clean_batches, CleanableRange};
pub use epoch_cache::{EpochEntry, LeaderEpochCache};
pub use log_file::LogFile;
pub use producer_state::ProducerStateManager;
pub use segments::{Segment, Segments};

use crate::config::LogConfig;
use crate::ids::{LeaderEpoch, Offset};
use crate::record::RecordBatch;
use serde::{Deserialize, Serialize};

/// One replica's log of one partition (Kafka's `UnifiedLog` minus indexes).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Log {
    pub file: LogFile,
    /// Written to `leader-epoch-checkpoint` with fsync on every change, so it is as durable as it is current.
    pub epochs: LeaderEpochCache,
    /// Idempotent producers' sequence state, derived from the batches (rebuilt on truncation and recovery).
    #[serde(skip)]
    pub producers: ProducerStateManager,
    /// The segment files' base offsets.
    #[serde(default)]
    pub segments: Segments,
    /// `cleaner-offset-checkpoint` (written with fsync): the cleaner has cleaned everything below it, so the
    /// dirty part of the log begins here (Kafka's first dirty offset).
    #[serde(default)]
    pub cleaner_checkpoint: Offset,
    /// The topic's configs; the broker hands them over at start and when it creates the replica.
    #[serde(skip)]
    pub config: LogConfig,
}

impl Log {
    pub fn log_end_offset(&self) -> Offset {
        self.file.log_end_offset()
    }

    pub fn log_start_offset(&self) -> Offset {
        self.file.log_start_offset()
    }

    /// Appends a batch, keeping the epoch cache in step with the batch's leader epoch. The active segment rolls
    /// first if it is due, and Kafka flushes the segment a roll closes.
    pub fn append(&mut self, batch: RecordBatch, now_ms: u64) {
        if self
            .segments
            .maybe_roll(batch.base_offset, now_ms, self.config.segment_ms)
        {
            self.file.flush();
        }
        self.epochs
            .assign(batch.partition_leader_epoch, batch.base_offset);
        self.producers.update(&batch);
        self.file.append(batch, now_ms);
    }

    /// Removes every record at or above `offset` and the epochs that start there.
    pub fn truncate_to(&mut self, offset: Offset) -> Vec<(Offset, u64)> {
        self.epochs.truncate_from_end(offset);
        let removed = self.file.truncate_to(offset);
        self.segments.truncate_to(offset);
        // Kafka's `maybeTruncateCheckpoint`: what is left below the cut stays clean.
        self.cleaner_checkpoint = self.cleaner_checkpoint.min(offset);
        self.rebuild_producer_state();
        removed
    }

    /// Kafka reloads producer state from its snapshot and the log after truncation or an unclean restart.
    fn rebuild_producer_state(&mut self) {
        self.producers = ProducerStateManager::from_batches(self.file.batches());
    }

    /// Kafka's `endOffsetForEpoch`: the largest epoch <= `epoch` and where it ends in this log.
    pub fn end_offset_for_epoch(&self, epoch: LeaderEpoch) -> (LeaderEpoch, Offset) {
        self.epochs.end_offset_for(epoch, self.log_end_offset())
    }

    /// After a restart the epoch checkpoint may name offsets that power loss took away: Kafka truncates it to LEO.
    /// Segments past the end are gone with their data; a cleaner checkpoint past it is clamped (Kafka would reset
    /// it to the log start; cleaning never reaches past the flushed offset, so this does not happen).
    pub fn recover(&mut self) {
        let leo = self.log_end_offset();
        self.epochs.truncate_from_end(leo);
        self.segments.truncate_to(leo);
        self.cleaner_checkpoint = self.cleaner_checkpoint.min(leo);
        self.rebuild_producer_state();
    }
}
