//! The leader-epoch cache (KIP-101): for each leader epoch, the first offset written in it.

use crate::ids::{LeaderEpoch, Offset, UNDEFINED_EPOCH, UNDEFINED_OFFSET};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochEntry {
    pub epoch: LeaderEpoch,
    pub start_offset: Offset,
}

/// Entries sorted by epoch, and by start offset too: epochs only grow along the log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderEpochCache {
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.entries.last().map(|e| e.epoch)
    }

    /// Records that `epoch` starts at `start_offset`; an epoch already known keeps its first start offset.
    pub fn assign(&mut self, epoch: LeaderEpoch, start_offset: Offset) {
        if let Some(last) = self.entries.last() {
            if epoch <= last.epoch {
                return;
            }
            assert!(
                start_offset >= last.start_offset,
                "epoch {epoch} starts at {start_offset}, before {last:?}"
            );
        }
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
    }

    /// Kafka's `LeaderEpochFileCache.endOffsetFor`: the largest epoch <= `requested` and the start offset of the
    /// next epoch (or the log end offset when it is the latest one).
    pub fn end_offset_for(
        &self,
        requested: LeaderEpoch,
        log_end_offset: Offset,
    ) -> (LeaderEpoch, Offset) {
        if requested == UNDEFINED_EPOCH {
            return (UNDEFINED_EPOCH, UNDEFINED_OFFSET);
        }
        if self.latest_epoch() == Some(requested) {
            return (requested, log_end_offset);
        }
        let Some(higher) = self.entries.iter().find(|e| e.epoch > requested) else {
            // The requested epoch is newer than anything here.
            return (UNDEFINED_EPOCH, UNDEFINED_OFFSET);
        };
        match self.entries.iter().rev().find(|e| e.epoch <= requested) {
            Some(floor) => (floor.epoch, higher.start_offset),
            // Older than every epoch here: the log holds nothing of it, so it ends where the log's epochs begin.
            None => (requested, higher.start_offset),
        }
    }

    /// Drops every epoch that starts at or after `end_offset` (the log was truncated there).
    pub fn truncate_from_end(&mut self, end_offset: Offset) {
        self.entries.retain(|e| e.start_offset < end_offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(LeaderEpoch, Offset)]) -> LeaderEpochCache {
        let mut c = LeaderEpochCache::default();
        for &(e, o) in entries {
            c.assign(e, o);
        }
        c
    }

    #[test]
    fn end_offset_of_latest_epoch_is_log_end() {
        assert_eq!(cache(&[(0, 0), (2, 5)]).end_offset_for(2, 9), (2, 9));
    }

    #[test]
    fn end_offset_of_unknown_middle_epoch_is_floor_epoch_and_next_start() {
        assert_eq!(cache(&[(0, 0), (2, 5)]).end_offset_for(1, 9), (0, 5));
    }

    #[test]
    fn epoch_newer_than_all_is_undefined() {
        assert_eq!(
            cache(&[(0, 0)]).end_offset_for(3, 9),
            (UNDEFINED_EPOCH, UNDEFINED_OFFSET)
        );
    }

    #[test]
    fn epoch_older_than_all_ends_at_first_start() {
        assert_eq!(cache(&[(3, 4), (5, 8)]).end_offset_for(1, 9), (1, 4));
    }

    #[test]
    fn repeated_epoch_keeps_first_start_and_truncation_drops_later_epochs() {
        let mut c = cache(&[(0, 0), (0, 3), (1, 5), (2, 7)]);
        assert_eq!(
            c.entries(),
            &[
                EpochEntry {
                    epoch: 0,
                    start_offset: 0
                },
                EpochEntry {
                    epoch: 1,
                    start_offset: 5
                },
                EpochEntry {
                    epoch: 2,
                    start_offset: 7
                }
            ]
        );
        c.truncate_from_end(6);
        assert_eq!(c.latest_epoch(), Some(1));
    }
}
