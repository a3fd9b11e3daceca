//! Where a log's segments begin: the cleaner works only on rolled segments, never on the active one.
//!
//! Kafka rolls the active segment at the first append after it grew too old (`segment.ms`, timed from the
//! segment's first append here, where Kafka takes the first batch's timestamp) and cleans whole segments, so the
//! active segment's base offset bounds what may be cleaned and the bound rounds down to a segment base.

use crate::ids::Offset;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub base_offset: Offset,
    /// When the segment took its first batch.
    pub created_ms: u64,
}

/// The segments of a log, oldest first; the last is the active one. Empty while the log holds no batch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segments {
    segments: Vec<Segment>,
}

impl Segments {
    pub fn all(&self) -> &[Segment] {
        &self.segments
    }

    /// Kafka's `maybeRoll` before an append at `base_offset`: true when a new segment began there (the log then
    /// flushes what came before, as Kafka's roll schedules `flushUptoOffsetExclusive` for the old segment).
    pub fn maybe_roll(&mut self, base_offset: Offset, now_ms: u64, segment_ms: u64) -> bool {
        let roll = match self.segments.last() {
            None => true,
            Some(active) => now_ms.saturating_sub(active.created_ms) > segment_ms,
        };
        if roll {
            self.segments.push(Segment {
                base_offset,
                created_ms: now_ms,
            });
        }
        roll && self.segments.len() > 1
    }

    /// The base offset of the active segment, or `log_end_offset` when there is none yet.
    pub fn active_base_offset(&self, log_end_offset: Offset) -> Offset {
        self.segments
            .last()
            .map_or(log_end_offset, |s| s.base_offset)
    }

    /// The base of the segment holding `offset` (Kafka's `firstUncleanableSegment`): cleaning stops there.
    pub fn base_at_or_below(&self, offset: Offset, log_start_offset: Offset) -> Offset {
        self.segments
            .iter()
            .rev()
            .find(|s| s.base_offset <= offset)
            .map_or(log_start_offset, |s| s.base_offset)
    }

    /// Truncation to `offset` deletes the segments that begin at or above it.
    pub fn truncate_to(&mut self, offset: Offset) {
        self.segments.retain(|s| s.base_offset < offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_rolls_only_once_older_than_segment_ms() {
        let mut s = Segments::default();
        assert!(!s.maybe_roll(0, 0, 100), "the first segment is no roll");
        assert!(!s.maybe_roll(5, 100, 100));
        assert!(s.maybe_roll(9, 101, 100));
        assert_eq!(s.active_base_offset(20), 9);
        assert_eq!(s.base_at_or_below(8, 0), 0);
        assert_eq!(s.base_at_or_below(15, 0), 9);
        s.truncate_to(9);
        assert_eq!(s.active_base_offset(9), 0);
    }
}
