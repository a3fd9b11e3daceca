//! The topic-level configs a log itself obeys (Kafka's `LogConfig`): its cleanup policy and what rolls and
//! schedules the cleaning of its segments.

use serde::{Deserialize, Serialize};

/// `cleanup.policy`: what happens to a log's old segments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CleanupPolicy {
    /// Kafka's default: old segments are deleted by retention (not modelled: runs are far shorter than
    /// `retention.ms`), never rewritten.
    #[default]
    Delete,
    /// The log cleaner keeps only the newest record per key below the active segment.
    Compact,
}

/// Kafka's default `segment.ms` (`log.roll.hours` = 168): a segment rolls after seven days.
pub const DEFAULT_SEGMENT_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// Kafka's default `min.cleanable.dirty.ratio` (`log.cleaner.min.cleanable.ratio`).
pub const DEFAULT_MIN_CLEANABLE_DIRTY_RATIO: f64 = 0.5;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogConfig {
    /// `cleanup.policy`
    pub cleanup_policy: CleanupPolicy,
    /// `segment.ms`: the active segment rolls once it is this old, at the next append. The cleaner never touches
    /// the active segment, so this is what lets compaction start at all. Kafka also rolls at `segment.bytes`
    /// (1 GiB; 100 MiB for the internal topics), which a simulated run never reaches and records here have no
    /// size, so time is the one roll trigger modelled: faithful to what a quiet compacted topic does, and a
    /// scenario that wants cleaning within a run sets a small `segment.ms`, as Kafka's own tests do.
    pub segment_ms: u64,
    /// `min.cleanable.dirty.ratio`: the cleaner takes a log once the dirty part is more than this share of
    /// the cleanable log (records stand in for Kafka's bytes).
    pub min_cleanable_dirty_ratio: f64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            cleanup_policy: CleanupPolicy::Delete,
            segment_ms: DEFAULT_SEGMENT_MS,
            min_cleanable_dirty_ratio: DEFAULT_MIN_CLEANABLE_DIRTY_RATIO,
        }
    }
}

impl LogConfig {
    /// The config of a compacted topic, such as `__consumer_offsets` and `__transaction_state` (Kafka creates
    /// both with `cleanup.policy=compact`), otherwise Kafka's defaults.
    pub fn compacted() -> Self {
        LogConfig {
            cleanup_policy: CleanupPolicy::Compact,
            ..LogConfig::default()
        }
    }

    pub fn is_compacted(&self) -> bool {
        self.cleanup_policy == CleanupPolicy::Compact
    }
}
