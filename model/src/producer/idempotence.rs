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
//!   acknowledged sequence (or right after an unresolved failure); then, as for UNKNOWN_PRODUCER_ID, the broker
//!   has a gap it cannot fill. The producer bumps its epoch locally (KIP-360) and that partition's unresolved
//!   batches are numbered again from 0 in the new epoch, in send order (`startSequencesAtBeginning`).
//! - A batch that fails for good leaves a gap: if it may have been written, the partition waits until the batches
//!   in flight tell (one acknowledged past it means it was written); otherwise, or if nothing tells, it too
//!   restarts at 0 in a new epoch (`maybeResolveSequences`). New batches wait meanwhile (`hasUnresolvedSequence`).
//! - Every other partition keeps its own epoch and numbers through a bump: its retries keep their sequences, and
//!   its next new batch moves it to the new epoch at 0 once nothing of the old one is unresolved
//!   (`maybeUpdateProducerIdAndEpoch`).
//!
//!
//! A transactional producer never bumps its epoch locally: a gap fails the batch, which leaves the transaction
//! abortable, and the InitProducerId that ends the abort brings a new epoch in which every partition starts at 0
//! ([`Idempotence::reset`]). Until then, a partition where a batch failed for good answers every later
//! OUT_OF_ORDER_SEQUENCE_NUMBER with a failure rather than a retry (see the module notes in `mod.rs`).
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
    /// With a `transactional.id`: no local epoch bumps (see the module notes).
    transactional: bool,
    /// The producer id and epoch, once InitProducerId answered.
    producer: Option<(i64, i16)>,
    /// Not before this may InitProducerId be asked (again).
    init_not_before_ms: u64,
    partitions: BTreeMap<TopicPartition, Sequences>,
    /// Partitions to restart at 0 in a new epoch; non-empty means bump.
    rewrite: BTreeSet<TopicPartition>,
}

#[derive(Debug, Default)]
struct Sequences {
    /// The epoch this partition numbers in; it lags the producer's until the partition catches up with a bump.
    epoch: i16,
    next: i32,
    /// The last sequence the broker acknowledged in `epoch` (Kafka's `lastAckedSequence`).
    last_acked: Option<i32>,
    /// Batches numbered and neither acknowledged nor failed, by send order (`Batch::order`).
    unresolved: BTreeMap<u64, BatchProducer>,
    /// Unresolved batches of older epochs get new numbers when next drained (the partition was restarted).
    renumber: bool,
    /// A batch that may have been written failed for good, ending at this sequence of `epoch`: unresolved until
    /// a later acknowledgement or the end of the batches in flight tells.
    unresolved_failure: Option<i32>,
    /// This partition's batches inside requests now.
    in_requests: usize,
    /// Transactional only: a batch failed for good in this epoch, so the broker will never close the gap it left.
    failed_in_epoch: bool,
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

    /// Starts the partition again at sequence 0 of `epoch`.
    fn restart(&mut self, epoch: i16) {
        self.epoch = epoch;
        self.next = 0;
        self.last_acked = None;
        self.unresolved_failure = None;
    }

    /// The sequence the broker expects next in this partition's epoch.
    fn next_expected(&self) -> i32 {
        let last = self.last_acked.max(self.unresolved_failure);
        last.map_or(0, |last| increment_sequence(last, 1))
    }
}

/// What an error means for an idempotent batch, before Kafka's usual retry limits apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorVerdict {
    /// Retry it (with the number it carries, or a new one if its partition was restarted).
    Retry,
    /// What the plain producer would do with this error.
    AsUsual,
}

impl Idempotence {
    pub fn new(transactional: bool) -> Self {
        Idempotence {
            transactional,
            ..Idempotence::default()
        }
    }

    /// The producer id and epoch, once InitProducerId answered.
    pub fn producer(&self) -> Option<(i64, i16)> {
        self.producer
    }

    /// A transactional producer's InitProducerId answered: every partition starts again at 0 under the new id
    /// and epoch (Kafka's `resetSequenceNumbers`). Nothing is in flight then: EndTxn waited for every batch.
    pub fn reset(&mut self, producer_id: i64, producer_epoch: i16) {
        self.producer = Some((producer_id, producer_epoch));
        self.partitions.clear();
        self.rewrite.clear();
    }

    /// When InitProducerId may be asked, while the producer has no id.
    pub fn init_not_before_ms(&self) -> Option<u64> {
        self.producer.is_none().then_some(self.init_not_before_ms)
    }

    pub fn initialized(&mut self, producer_id: i64, producer_epoch: i16) {
        self.producer = Some((producer_id, producer_epoch));
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
                // Nothing left to tell: restart the partition rather than leave a gap.
                self.rewrite.insert(tp.clone());
            }
        }
        if self.rewrite.is_empty() {
            return;
        }
        let Some((id, epoch)) = self.producer else {
            return;
        };
        // Kafka asks for a new producer id here; 32767 bumps is far beyond any run.
        assert!(epoch < i16::MAX, "producer epoch exhausted");
        self.producer = Some((id, epoch + 1));
        for tp in std::mem::take(&mut self.rewrite) {
            let s = self
                .partitions
                .get_mut(&tp)
                .expect("rewritten partitions are known");
            s.restart(epoch + 1);
            s.renumber = true;
        }
    }

    /// Whether `head`, at the head of its partition's queue, may be drained now.
    pub fn can_drain(&self, head: &Batch) -> bool {
        let Some((_, epoch)) = self.producer else {
            return false;
        };
        let Some(s) = self.partitions.get(&head.tp) else {
            return true;
        };
        if head.sequence.is_some() {
            // A retry goes only as the partition's first unresolved batch.
            return s.unresolved.keys().next() == Some(&head.order);
        }
        if s.unresolved_failure.is_some() || s.has_older_epochs() {
            return false;
        }
        // A partition behind the producer's epoch moves on only once nothing of its own epoch is unresolved.
        s.epoch == epoch || s.unresolved.is_empty()
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
        if batch.sequence.is_none() && s.epoch != epoch {
            s.restart(epoch);
        }
        let renumber = batch
            .sequence
            .is_none_or(|seq| s.renumber && seq.producer_epoch != s.epoch);
        if renumber {
            let seq = BatchProducer {
                producer_id,
                producer_epoch: s.epoch,
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
        if self.transactional {
            // The abort's epoch bump settles this partition; until then a maybe-written failure holds back new
            // batches as Kafka's `hasUnresolvedSequence` does.
            s.failed_in_epoch = true;
            if batch.maybe_written {
                let last = seq.last_sequence(batch.records.len());
                s.unresolved_failure = s.unresolved_failure.max(Some(last));
            }
            return;
        }
        if seq.producer_epoch != s.epoch {
            // Its partition already restarted; the numbers after it are new ones.
            return;
        }
        if batch.maybe_written {
            let last = seq.last_sequence(batch.records.len());
            s.unresolved_failure = s.unresolved_failure.max(Some(last));
        } else {
            self.rewrite.insert(batch.tp.clone());
        }
    }

    /// Kafka's `TransactionManager.canRetry`.
    pub fn on_error(&mut self, batch: &Batch, error: ErrorCode) -> ErrorVerdict {
        let (Some(seq), Some(s)) = (batch.sequence, self.partitions.get(&batch.tp)) else {
            return ErrorVerdict::AsUsual;
        };
        if self.transactional {
            // Only a batch that is not next in line may wait for the ones before it; a real gap fails it, and the
            // transaction with it. After a failure in this epoch nothing will close the gap, so none waits (Kafka
            // shifts the later sequences down instead, and the broker then rejects them as a gap).
            let behind = error == ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
                && !s.failed_in_epoch
                && s.unresolved_failure.is_none()
                && seq.base_sequence != s.next_expected();
            return if behind {
                ErrorVerdict::Retry
            } else {
                ErrorVerdict::AsUsual
            };
        }
        let sequence_reset = seq.producer_epoch != s.epoch;
        match error {
            ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER | ErrorCode::UNKNOWN_PRODUCER_ID => {
                // A batch of a restarted partition just goes again with its new number. Otherwise only the batch
                // right after the last acknowledged (or unresolved) sequence proves a gap the broker cannot
                // fill; any other waits for the batches before it, or retries until its delivery timeout.
                let gap = error == ErrorCode::UNKNOWN_PRODUCER_ID
                    || seq.base_sequence == s.next_expected();
                if !sequence_reset && gap {
                    self.rewrite.insert(batch.tp.clone());
                }
                ErrorVerdict::Retry
            }
            _ => ErrorVerdict::AsUsual,
        }
    }
}
