//! The idempotent producer's bookkeeping (Kafka's `TransactionManager` without transactions): its producer id and
//! epoch, each partition's sequence numbers, which batches are unresolved, and when to bump the epoch.
//!
//! Kafka's rules, as modelled:
//! - Nothing is sent before InitProducerId answers. A batch gets its partition's next sequence the first time it
//!   is drained and keeps it through retries, so a retry the broker already holds is answered as a duplicate with
//!   the original offsets.
//! - Order holds through retries: a retried batch goes back in send order, and a batch that has a sequence goes
//!   out only as its partition's first unresolved batch (`RecordAccumulator.shouldStopDrainBatchesForPartition`).
//! - OUT_OF_ORDER_SEQUENCE_NUMBER is retried as it is, unless the batch is the one right after the last
//!   acknowledged sequence; then, as for UNKNOWN_PRODUCER_ID, the broker lost this producer's state. The producer
//!   bumps its epoch locally (KIP-360) and that partition's unresolved batches are numbered again from 0 in the
//!   new epoch, in send order (`startSequencesAtBeginning`).
//! - A batch that fails for good leaves a gap: if it may have been written, the partition waits until the batches
//!   in flight tell (one acknowledged past it means it was written); otherwise, or if nothing tells, it too
//!   restarts at 0 in a new epoch. New batches wait meanwhile (`hasUnresolvedSequence`).
//! - Other partitions keep their retries' old numbers after a bump; their new batches wait until no batch of the
//!   old epoch is unresolved, then start at 0 in the new epoch (`maybeUpdateProducerIdAndEpoch`).
//!
//! Narrowed: sequence numbers are assumed not to wrap within a run (a run sends far fewer than 2^31 records per
//! partition), and the epoch is assumed never to reach i16::MAX (Kafka would ask for a new producer id).

use super::accumulator::Batch;
use crate::error::ErrorCode;
use crate::ids::TopicPartition;
use crate::record::{increment_sequence, BatchProducer};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Default)]
pub struct Idempotence {
    /// The producer id and epoch, once InitProducerId answered.
    producer: Option<(i64, i16)>,
    /// Not before this may InitProducerId be asked (again).
    init_not_before_ms: u64,
    partitions: BTreeMap<TopicPartition, Sequences>,
    /// Partitions whose unresolved batches must be numbered again in a new epoch; non-empty means bump.
    rewrite: BTreeSet<TopicPartition>,
}

#[derive(Debug, Default)]
struct Sequences {
    /// The epoch new numbers are given in (the producer's, once the partition caught up with a bump).
    epoch: i16,
    next: i32,
    /// The last sequence the broker acknowledged in `epoch` (Kafka's `lastAckedSequence`).
    last_acked: Option<i32>,
    /// Batches numbered and neither acknowledged nor failed, by send order (`Batch::order`).
    unresolved: BTreeMap<u64, BatchProducer>,
    /// Unresolved batches of older epochs get new numbers when next drained (this partition asked for a rewrite).
    renumber: bool,
    /// A batch failed after it may have been written, ending at this sequence: unresolved until told.
    unresolved_failure: Option<i32>,
    /// This partition's batches inside requests now.
    in_requests: usize,
}

impl Sequences {
    fn has_older_epochs(&self) -> bool {
        self.unresolved
            .values()
            .any(|s| s.producer_epoch != self.epoch)
    }

    fn has_current_epoch(&self) -> bool {
        self.unresolved
            .values()
            .any(|s| s.producer_epoch == self.epoch)
    }
}

/// What an error means for an idempotent batch, before Kafka's usual retry limits apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorVerdict {
    /// Retry it (with the number it carries, or a new one if its partition is renumbered).
    Retry,
    /// What the plain producer would do with this error.
    AsUsual,
}

impl Idempotence {
    /// Whether InitProducerId should be asked now.
    pub fn wants_init(&self, now_ms: u64) -> bool {
        self.producer.is_none() && now_ms >= self.init_not_before_ms
    }

    pub fn init_not_before_ms(&self) -> Option<u64> {
        self.producer.is_none().then_some(self.init_not_before_ms)
    }

    pub fn initialized(&mut self, producer_id: i64, producer_epoch: i16) {
        self.producer = Some((producer_id, producer_epoch));
        for s in self.partitions.values_mut() {
            s.epoch = producer_epoch;
        }
    }

    pub fn init_failed(&mut self, now_ms: u64, retry_backoff_ms: u64) {
        self.init_not_before_ms = now_ms + retry_backoff_ms;
    }

    /// Settles failed batches whose fate is now known and applies a requested epoch bump (Kafka's
    /// `bumpIdempotentEpochAndResetIdIfNeeded`, run every sender pass).
    pub fn maybe_bump(&mut self) {
        for (tp, s) in &mut self.partitions {
            let Some(failed_last) = s.unresolved_failure else {
                continue;
            };
            if s.last_acked.is_some_and(|acked| acked >= failed_last) {
                // A later batch was acknowledged: the broker had the failed one, so there is no gap.
                s.unresolved_failure = None;
            } else if !s.has_current_epoch() && s.in_requests == 0 {
                // Nothing left to tell: start the partition again rather than risk a gap.
                s.unresolved_failure = None;
                self.rewrite.insert(tp.clone());
            }
        }
        if self.rewrite.is_empty() {
            return;
        }
        let Some((id, epoch)) = self.producer else {
            return;
        };
        assert!(epoch < i16::MAX, "producer epoch exhausted");
        self.producer = Some((id, epoch + 1));
        for (tp, s) in &mut self.partitions {
            s.epoch = epoch + 1;
            s.next = 0;
            s.last_acked = None;
            s.renumber |= self.rewrite.contains(tp);
        }
        self.rewrite.clear();
    }

    /// Whether `head`, at the head of its partition's queue, may be drained now.
    pub fn can_drain(&self, head: &Batch) -> bool {
        if self.producer.is_none() {
            return false;
        }
        let Some(s) = self.partitions.get(&head.tp) else {
            return true;
        };
        if head.sequence.is_some() {
            s.unresolved.keys().next() == Some(&head.order)
        } else {
            !s.has_older_epochs() && s.unresolved_failure.is_none()
        }
    }

    /// The head batch of its partition is drained: number it unless it keeps the number it has, and count it as
    /// in a request.
    pub fn on_drain(&mut self, batch: &mut Batch) {
        let (producer_id, epoch) = self.producer.expect("drained before InitProducerId");
        let s = self
            .partitions
            .entry(batch.tp.clone())
            .or_insert(Sequences {
                epoch,
                ..Sequences::default()
            });
        let renumber = batch
            .sequence
            .is_none_or(|seq| seq.producer_epoch != epoch && s.renumber);
        if renumber {
            let seq = BatchProducer {
                producer_id,
                producer_epoch: epoch,
                base_sequence: s.next,
            };
            s.next = increment_sequence(s.next, batch.records.len() as i32);
            s.unresolved.insert(batch.order, seq);
            batch.sequence = Some(seq);
        }
        if !s.has_older_epochs() {
            s.renumber = false;
        }
        s.in_requests += 1;
    }

    /// The batch left its request (answered, failed with it, or expired in it).
    pub fn left_request(&mut self, tp: &TopicPartition) {
        if let Some(s) = self.partitions.get_mut(tp) {
            s.in_requests -= 1;
        }
    }

    /// The broker acknowledged the batch (or answered it as a duplicate of what it holds).
    pub fn acknowledged(&mut self, batch: &Batch) {
        let Some(s) = self.partitions.get_mut(&batch.tp) else {
            return;
        };
        if let Some(seq) = s.unresolved.remove(&batch.order) {
            if seq.producer_epoch == s.epoch {
                let last = seq.last_sequence(batch.records.len());
                s.last_acked = s.last_acked.max(Some(last));
            }
        }
    }

    /// The batch fails for good, leaving a gap in its partition's sequence (see the module notes).
    pub fn failed(&mut self, batch: &Batch) {
        let Some(s) = self.partitions.get_mut(&batch.tp) else {
            return;
        };
        let Some(seq) = s.unresolved.remove(&batch.order) else {
            return;
        };
        if seq.producer_epoch == s.epoch && batch.maybe_written {
            let last = seq.last_sequence(batch.records.len());
            s.unresolved_failure = s.unresolved_failure.max(Some(last));
        } else {
            self.rewrite.insert(batch.tp.clone());
        }
    }

    /// Kafka's `TransactionManager.canRetry` for an idempotent producer.
    pub fn on_error(&mut self, batch: &Batch, error: ErrorCode) -> ErrorVerdict {
        let (Some(seq), Some(s)) = (batch.sequence, self.partitions.get(&batch.tp)) else {
            return ErrorVerdict::AsUsual;
        };
        match error {
            ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER => {
                // Only the batch right after the last acknowledged one proves the broker lost its state; any
                // other waits for the batches before it, or retries until its delivery timeout, as Kafka's does.
                let next = s.last_acked.map_or(0, |last| increment_sequence(last, 1));
                if seq.producer_epoch != s.epoch || seq.base_sequence == next {
                    self.rewrite.insert(batch.tp.clone());
                }
                ErrorVerdict::Retry
            }
            ErrorCode::UNKNOWN_PRODUCER_ID => {
                self.rewrite.insert(batch.tp.clone());
                ErrorVerdict::Retry
            }
            _ => ErrorVerdict::AsUsual,
        }
    }
}
