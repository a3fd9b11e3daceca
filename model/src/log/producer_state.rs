//! Idempotent producers' state per partition (Kafka's `ProducerStateManager`): for each producer id its epoch and
//! the last five batches it wrote, enough to answer a retried batch with its original offsets and to refuse a gap.
//!
//! The state is derived from the log: every append updates it, on the leader and on followers alike (so it moves
//! with the data on fail-over), and truncation or recovery rebuild it from the batches that remain. Kafka keeps
//! snapshots to avoid the full rebuild; the rebuilt state is the same.

use crate::error::ErrorCode;
use crate::ids::Offset;
use crate::record::{increment_sequence, BatchProducer, ControlMarker, RecordBatch};
use std::collections::{BTreeMap, VecDeque};

/// How many batches per producer a broker remembers for duplicate detection (Kafka's `NUM_BATCHES_TO_RETAIN`):
/// why `max.in.flight.requests.per.connection` may be at most 5 with idempotence.
pub const BATCHES_TO_RETAIN: usize = 5;

/// One appended batch of a producer, as the state remembers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchMetadata {
    pub first_sequence: i32,
    pub last_sequence: i32,
    pub first_offset: Offset,
    pub last_offset: Offset,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMetadata>,
    /// The offset of this producer's open transaction's first batch here (Kafka's `currentTxnFirstOffset`).
    txn_first_offset: Option<Offset>,
    /// The epoch of the transaction coordinator that wrote this producer's last marker here.
    coordinator_epoch: i32,
}

/// A transaction that ended with an abort marker here (Kafka's aborted-transaction index entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: Offset,
    /// The offset of the abort marker.
    pub last_offset: Offset,
}

/// What the leader decides for an incoming batch from an idempotent producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Append it.
    Append,
    /// A retry of a batch already in the log: answer with where it is, append nothing.
    Duplicate(BatchMetadata),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerStateManager {
    producers: BTreeMap<i64, ProducerEntry>,
    /// Aborted transactions, in the order their markers were written.
    aborted: Vec<AbortedTxn>,
    /// Completed transactions as (first offset, marker offset): they hold the last stable offset back until the
    /// high watermark passes their marker (Kafka's `unreplicatedTxns`).
    completed: Vec<(Offset, Offset)>,
}

impl ProducerStateManager {
    /// The state the batches of a log imply.
    pub fn from_batches<'a>(batches: impl IntoIterator<Item = &'a RecordBatch>) -> Self {
        let mut state = ProducerStateManager::default();
        for batch in batches {
            state.update(batch);
        }
        state
    }

    /// Kafka's `ProducerAppendInfo.checkProducerEpoch` and `checkSequence`, then the duplicate lookup, for a batch
    /// of `count` records the leader is asked to append. Without `fence_epochs` (KIP-98's fencing reverted) an
    /// older epoch's batch is appended as it comes.
    pub fn check(
        &self,
        p: &BatchProducer,
        count: usize,
        fence_epochs: bool,
    ) -> Result<SequenceCheck, ErrorCode> {
        let Some(entry) = self.producers.get(&p.producer_id) else {
            // No state for this producer (new, or its batches were truncated away or expired): since Kafka 2.8
            // the broker accepts any sequence then, rather than answer UNKNOWN_PRODUCER_ID as it once did.
            return Ok(SequenceCheck::Append);
        };
        if p.producer_epoch < entry.epoch {
            return if fence_epochs {
                Err(ErrorCode::INVALID_PRODUCER_EPOCH)
            } else {
                Ok(SequenceCheck::Append)
            };
        }
        if p.producer_epoch > entry.epoch {
            // A bumped epoch restarts the sequence.
            return if p.base_sequence == 0 {
                Ok(SequenceCheck::Append)
            } else {
                Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
            };
        }
        let last_sequence = p.last_sequence(count);
        if let Some(original) = entry
            .batches
            .iter()
            .find(|b| b.first_sequence == p.base_sequence && b.last_sequence == last_sequence)
        {
            return Ok(SequenceCheck::Duplicate(*original));
        }
        let expected = entry
            .batches
            .back()
            .map_or(0, |b| increment_sequence(b.last_sequence, 1));
        if p.base_sequence == expected {
            Ok(SequenceCheck::Append)
        } else {
            Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        }
    }

    /// Kafka's `checkProducerEpoch` alone, for a batch a coordinator writes for a producer (a TxnOffsetCommit's
    /// offsets), which carries no sequence to check: an older epoch is refused, unless fencing is reverted.
    pub fn check_epoch(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        fence_epochs: bool,
    ) -> Result<(), ErrorCode> {
        match self.producers.get(&producer_id) {
            Some(entry) if fence_epochs && producer_epoch < entry.epoch => {
                Err(ErrorCode::INVALID_PRODUCER_EPOCH)
            }
            _ => Ok(()),
        }
    }

    /// Kafka's `appendEndTxnMarker` checks for a marker the coordinator asks to write: not from an older producer
    /// epoch (unless fencing is reverted), nor from an older coordinator than the last one that wrote here.
    pub fn check_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
        fence_epochs: bool,
    ) -> Result<(), ErrorCode> {
        let Some(entry) = self.producers.get(&producer_id) else {
            return Ok(());
        };
        if fence_epochs && producer_epoch < entry.epoch {
            return Err(ErrorCode::INVALID_PRODUCER_EPOCH);
        }
        if coordinator_epoch < entry.coordinator_epoch {
            return Err(ErrorCode::TRANSACTION_COORDINATOR_FENCED);
        }
        Ok(())
    }

    /// Records an appended batch (leader or follower).
    pub fn update(&mut self, batch: &RecordBatch) {
        let Some(p) = batch.producer else {
            return;
        };
        let entry = self
            .producers
            .entry(p.producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch: p.producer_epoch,
                batches: VecDeque::new(),
                txn_first_offset: None,
                coordinator_epoch: -1,
            });
        if p.producer_epoch > entry.epoch {
            entry.epoch = p.producer_epoch;
            entry.batches.clear();
        }
        if let Some(marker) = batch.attributes.control {
            // A marker ends the producer's transaction on this partition; it carries no sequence.
            entry.coordinator_epoch = match marker {
                ControlMarker::Commit { coordinator_epoch }
                | ControlMarker::Abort { coordinator_epoch } => coordinator_epoch,
            };
            if let Some(first_offset) = entry.txn_first_offset.take() {
                self.completed.push((first_offset, batch.base_offset));
                if matches!(marker, ControlMarker::Abort { .. }) {
                    self.aborted.push(AbortedTxn {
                        producer_id: p.producer_id,
                        first_offset,
                        last_offset: batch.base_offset,
                    });
                }
            }
            return;
        }
        if batch.attributes.transactional && entry.txn_first_offset.is_none() {
            entry.txn_first_offset = Some(batch.base_offset);
        }
        entry.batches.push_back(BatchMetadata {
            first_sequence: p.base_sequence,
            // A cleaned batch keeps its header's sequence range even when its records are gone.
            last_sequence: p.last_sequence(batch.offset_count()),
            first_offset: batch.base_offset,
            last_offset: batch.last_offset(),
        });
        if entry.batches.len() > BATCHES_TO_RETAIN {
            entry.batches.pop_front();
        }
    }

    /// The first offset of the earliest transaction still open here, or completed by a marker at or above
    /// `high_watermark`: the last stable offset cannot pass it.
    pub fn first_unstable_offset(&self, high_watermark: Offset) -> Option<Offset> {
        let open = self.producers.values().filter_map(|e| e.txn_first_offset);
        let unreplicated = self
            .completed
            .iter()
            .filter(|(_, marker)| *marker >= high_watermark)
            .map(|(first, _)| *first);
        open.chain(unreplicated).min()
    }

    /// The high watermark passed `high_watermark`: completed transactions below it are stable for good.
    pub fn forget_replicated(&mut self, high_watermark: Offset) {
        self.completed
            .retain(|(_, marker)| *marker >= high_watermark);
    }

    /// The aborted transactions that have records in `from..until` (what a read_committed fetch must skip).
    pub fn aborted_between(&self, from: Offset, until: Offset) -> Vec<AbortedTxn> {
        self.aborted
            .iter()
            .filter(|a| a.last_offset >= from && a.first_offset < until)
            .copied()
            .collect()
    }

    /// Whether the batch of `producer_id` at `offset` belongs to a transaction that was aborted here.
    pub fn is_aborted(&self, producer_id: i64, offset: Offset) -> bool {
        self.aborted.iter().any(|a| {
            a.producer_id == producer_id && a.first_offset <= offset && offset <= a.last_offset
        })
    }

    /// The last offset of `producer_id`'s last data batch here (Kafka's `lastDataOffset`): the cleaner keeps
    /// that batch's header so the producer's last sequence survives.
    pub fn last_data_offset(&self, producer_id: i64) -> Option<Offset> {
        self.producers
            .get(&producer_id)
            .and_then(|e| e.batches.back())
            .map(|b| b.last_offset)
    }

    /// The epoch the state holds for `producer_id`, if it knows the producer.
    pub fn epoch_of(&self, producer_id: i64) -> Option<i16> {
        self.producers.get(&producer_id).map(|e| e.epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::BatchAttributes;
    use crate::record::Record;

    fn batch(base_offset: Offset, pid: i64, epoch: i16, seq: i32, n: usize) -> RecordBatch {
        let records: Vec<Record> = (0..n)
            .map(|i| Record {
                key: None,
                value: base_offset as u64 + i as u64,
                timestamp_ms: 0,
                internal: None,
            })
            .collect();
        RecordBatch {
            base_offset,
            partition_leader_epoch: 0,
            records: records.into(),
            producer: Some(BatchProducer {
                producer_id: pid,
                producer_epoch: epoch,
                base_sequence: seq,
            }),
            attributes: BatchAttributes::default(),
            compacted: None,
        }
    }

    fn header(pid: i64, epoch: i16, seq: i32) -> BatchProducer {
        batch(0, pid, epoch, seq, 1).producer.unwrap()
    }

    #[test]
    fn a_producer_continues_in_sequence() {
        let mut s = ProducerStateManager::default();
        assert_eq!(
            s.check(&header(7, 0, 0), 3, true),
            Ok(SequenceCheck::Append)
        );
        assert_eq!(
            s.check(&header(7, 0, 4), 1, true),
            Ok(SequenceCheck::Append),
            "an unknown producer may start anywhere"
        );
        s.update(&batch(10, 7, 0, 0, 3));
        assert_eq!(
            s.check(&header(7, 0, 3), 2, true),
            Ok(SequenceCheck::Append)
        );
        assert_eq!(
            s.check(&header(7, 0, 4), 2, true),
            Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER),
            "a gap"
        );
    }

    #[test]
    fn a_retried_batch_is_answered_with_its_original_offsets() {
        let mut s = ProducerStateManager::default();
        s.update(&batch(10, 7, 0, 0, 3));
        s.update(&batch(20, 7, 0, 3, 2));
        assert_eq!(
            s.check(&header(7, 0, 0), 3, true),
            Ok(SequenceCheck::Duplicate(BatchMetadata {
                first_sequence: 0,
                last_sequence: 2,
                first_offset: 10,
                last_offset: 12,
            }))
        );
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let mut s = ProducerStateManager::default();
        for i in 0..6 {
            s.update(&batch(i * 10, 7, 0, i as i32, 1));
        }
        assert_eq!(
            s.check(&header(7, 0, 0), 1, true),
            Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER),
            "too old to be recognised"
        );
        assert!(matches!(
            s.check(&header(7, 0, 1), 1, true),
            Ok(SequenceCheck::Duplicate(_))
        ));
    }

    #[test]
    fn an_older_epoch_is_fenced_and_a_newer_one_restarts_the_sequence() {
        let mut s = ProducerStateManager::default();
        s.update(&batch(0, 7, 3, 0, 5));
        assert_eq!(
            s.check(&header(7, 2, 5), 1, true),
            Err(ErrorCode::INVALID_PRODUCER_EPOCH)
        );
        assert_eq!(
            s.check(&header(7, 4, 5), 1, true),
            Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        assert_eq!(
            s.check(&header(7, 4, 0), 1, true),
            Ok(SequenceCheck::Append)
        );
        s.update(&batch(5, 7, 4, 0, 1));
        assert_eq!(s.epoch_of(7), Some(4));
    }

    #[test]
    fn sequences_wrap_after_i32_max() {
        let mut s = ProducerStateManager::default();
        s.update(&batch(0, 7, 0, i32::MAX - 1, 2));
        assert_eq!(
            s.check(&header(7, 0, 0), 1, true),
            Ok(SequenceCheck::Append)
        );
        assert_eq!(header(7, 0, i32::MAX).last_sequence(3), 1);
    }

    #[test]
    fn rebuilding_from_the_log_gives_the_same_state() {
        let batches = vec![
            batch(0, 7, 0, 0, 2),
            batch(2, 8, 1, 0, 1),
            batch(3, 7, 0, 2, 4),
        ];
        let mut live = ProducerStateManager::default();
        for b in &batches {
            live.update(b);
        }
        assert_eq!(ProducerStateManager::from_batches(&batches), live);
        // Truncating the last batch away forgets it: its retry is no longer a duplicate.
        let truncated = ProducerStateManager::from_batches(&batches[..2]);
        assert_eq!(
            truncated.check(&header(7, 0, 2), 4, true),
            Ok(SequenceCheck::Append)
        );
    }

    fn transactional(base_offset: Offset, pid: i64, seq: i32, n: usize) -> RecordBatch {
        let mut b = batch(base_offset, pid, 0, seq, n);
        b.attributes.transactional = true;
        b
    }

    fn marker(base_offset: Offset, pid: i64, marker: ControlMarker) -> RecordBatch {
        let mut b = batch(base_offset, pid, 0, -1, 1);
        b.attributes.control = Some(marker);
        b
    }

    #[test]
    fn open_transactions_hold_the_stable_offset_and_aborts_are_indexed() {
        let mut s = ProducerStateManager::default();
        s.update(&batch(0, 1, 0, 0, 2));
        assert_eq!(
            s.first_unstable_offset(100),
            None,
            "plain batches are stable"
        );
        s.update(&transactional(2, 7, 0, 2));
        s.update(&transactional(4, 8, 0, 1));
        s.update(&transactional(5, 7, 2, 1));
        assert_eq!(s.first_unstable_offset(100), Some(2));
        s.update(&marker(
            6,
            7,
            ControlMarker::Abort {
                coordinator_epoch: 0,
            },
        ));
        assert_eq!(
            s.first_unstable_offset(100),
            Some(4),
            "producer 8's stays open"
        );
        s.update(&marker(
            7,
            8,
            ControlMarker::Commit {
                coordinator_epoch: 0,
            },
        ));
        assert_eq!(s.first_unstable_offset(100), None);
        let aborted = AbortedTxn {
            producer_id: 7,
            first_offset: 2,
            last_offset: 6,
        };
        assert_eq!(s.aborted_between(0, 10), vec![aborted]);
        assert_eq!(s.aborted_between(7, 10), vec![], "ended before 7");
        assert_eq!(s.aborted_between(0, 2), vec![], "begins at 2");
        // A marker takes no sequence: the producer's next batch follows its last data batch.
        assert_eq!(
            s.check(&header(7, 0, 3), 1, true),
            Ok(SequenceCheck::Append)
        );
    }
}
