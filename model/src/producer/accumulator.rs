//! Kafka's `RecordAccumulator`: per-partition queues of batches, when a batch is ready, and what a drain takes.
//!
//! A batch takes records until the next one would pass `batch.size` (a first record always fits), then closes.
//! The head of a queue is ready when it is full (closed, or another batch waits behind it), when `linger.ms` has
//! passed since it was created, or, for a retried batch, when `retry.backoff.ms` has passed since it failed.

use crate::ids::TopicPartition;
use crate::record::{BatchProducer, Record};
use std::collections::{BTreeMap, VecDeque};

/// What a record adds to a batch besides its key and its 8 value bytes: Kafka's per-record framing (length,
/// attributes, timestamp and offset deltas, key and value lengths, header count), roughly.
pub const RECORD_OVERHEAD_BYTES: usize = 14;
/// A record's value is a u64.
pub const VALUE_BYTES: usize = 8;

/// The bytes a record counts for against `batch.size`.
pub fn record_size(record: &Record) -> usize {
    record.key.as_ref().map_or(0, |k| k.len()) + VALUE_BYTES + RECORD_OVERHEAD_BYTES
}

/// Kafka's `ProducerBatch`: records for one partition, sent and retried as one unit.
#[derive(Clone, Debug)]
pub struct Batch {
    pub tp: TopicPartition,
    pub records: Vec<Record>,
    bytes: usize,
    pub created_ms: u64,
    /// When the last attempt failed (Kafka's `lastAttemptMs`); the creation time before any attempt.
    last_attempt_ms: u64,
    /// Kafka's `attempts()`: how many times the batch went back to the queue after a failed attempt.
    pub retries_done: u32,
    /// No more records fit: a record overflowed it, or it was drained for sending.
    closed: bool,
    /// An attempt ended in a way that may have left the records in the log (a timeout, a lost connection, an
    /// error the broker gives after appending).
    pub maybe_written: bool,
    /// With idempotence: the producer id, epoch and base sequence it goes out with (see `idempotence`).
    pub sequence: Option<BatchProducer>,
    /// Creation order within the producer: the order its records were sent in, which retries must keep.
    pub order: u64,
}

impl Batch {
    fn new(tp: TopicPartition, now_ms: u64, order: u64) -> Self {
        Batch {
            tp,
            records: Vec::new(),
            bytes: 0,
            created_ms: now_ms,
            last_attempt_ms: now_ms,
            retries_done: 0,
            closed: false,
            maybe_written: false,
            sequence: None,
            order,
        }
    }

    fn has_room_for(&self, size: usize, batch_size: usize) -> bool {
        !self.closed && (self.records.is_empty() || self.bytes + size <= batch_size)
    }

    /// Kafka's `ProducerBatch.isFull`.
    fn is_full(&self, batch_size: usize) -> bool {
        self.closed || self.bytes >= batch_size
    }

    /// Kafka's `hasReachedDeliveryTimeout`.
    pub fn delivery_deadline_ms(&self, delivery_timeout_ms: u64) -> u64 {
        self.created_ms + delivery_timeout_ms
    }

    pub fn backing_off(&self, now_ms: u64, retry_backoff_ms: u64) -> bool {
        self.retries_done > 0 && now_ms < self.last_attempt_ms + retry_backoff_ms
    }

    /// Kafka's `batchReady`: when this batch, at the head of its queue, may be sent. A retried batch was closed
    /// when first drained, so it goes as soon as its backoff ends.
    fn ready_at_ms(&self, followed: bool, timing: &Timing) -> u64 {
        if self.retries_done > 0 {
            self.last_attempt_ms + timing.retry_backoff_ms
        } else if followed || self.is_full(timing.batch_size) {
            self.created_ms
        } else {
            self.created_ms + timing.linger_ms
        }
    }

    /// Kafka's `ProducerBatch.reenqueued`.
    pub fn reenqueued(&mut self, now_ms: u64) {
        self.retries_done += 1;
        self.last_attempt_ms = now_ms;
    }
}

/// The settings that decide when a batch is ready.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub batch_size: usize,
    pub linger_ms: u64,
    pub retry_backoff_ms: u64,
}

/// The queues. A queue, once created, stays (empty) as in Kafka, whose adaptive partitioner counts queues.
#[derive(Debug, Default)]
pub struct Accumulator {
    queues: BTreeMap<TopicPartition, VecDeque<Batch>>,
    batches_created: u64,
}

impl Accumulator {
    /// Kafka's `RecordAccumulator.append`: into the open batch at the tail, or a new batch.
    pub fn append(&mut self, tp: &TopicPartition, record: Record, now_ms: u64, batch_size: usize) {
        let size = record_size(&record);
        let queue = self.queues.entry(tp.clone()).or_default();
        let fits = queue
            .back()
            .is_some_and(|b| b.has_room_for(size, batch_size));
        if !fits {
            if let Some(last) = queue.back_mut() {
                last.closed = true;
            }
            self.batches_created += 1;
            queue.push_back(Batch::new(tp.clone(), now_ms, self.batches_created));
        }
        let batch = queue.back_mut().expect("a batch to append to");
        batch.records.push(record);
        batch.bytes += size;
    }

    /// Kafka's `allBatchesFull`: only the tail may be open. The sticky partitioner switches only then.
    pub fn all_batches_full(&self, tp: &TopicPartition, batch_size: usize) -> bool {
        self.queues
            .get(tp)
            .and_then(|q| q.back())
            .is_none_or(|b| b.is_full(batch_size))
    }

    /// Each queue of `topic` with its length, by partition.
    pub fn queue_sizes(&self, topic: &str) -> Vec<(i32, usize)> {
        self.queues
            .iter()
            .filter(|(tp, _)| &*tp.topic == topic)
            .map(|(tp, q)| (tp.partition, q.len()))
            .collect()
    }

    /// Partitions with batches waiting.
    pub fn nonempty_partitions(&self) -> impl Iterator<Item = &TopicPartition> {
        self.queues
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(tp, _)| tp)
    }

    /// When the head of `tp`'s queue is ready, if there is one.
    pub fn ready_at_ms(&self, tp: &TopicPartition, timing: &Timing) -> Option<u64> {
        let queue = self.queues.get(tp)?;
        let head = queue.front()?;
        Some(head.ready_at_ms(queue.len() > 1, timing))
    }

    /// Kafka's `drainBatchesForOneNode` for one partition: the head, unless it is backing off. Kafka drains the
    /// head of every partition the node leads, ready or not, since the request goes anyway.
    pub fn drain(
        &mut self,
        tp: &TopicPartition,
        now_ms: u64,
        retry_backoff_ms: u64,
    ) -> Option<Batch> {
        let queue = self.queues.get_mut(tp)?;
        if queue.front()?.backing_off(now_ms, retry_backoff_ms) {
            return None;
        }
        let mut batch = queue.pop_front()?;
        batch.closed = true;
        Some(batch)
    }

    /// Kafka's `reenqueue`: a failed batch goes back to the head of its queue, so without idempotence retries may
    /// reorder batches of one partition. A batch with a sequence goes back in send order among the others (Kafka's
    /// `insertInSequenceOrder`).
    pub fn reenqueue(&mut self, batch: Batch) {
        let queue = self.queues.entry(batch.tp.clone()).or_default();
        let at = if batch.sequence.is_some() {
            queue
                .iter()
                .position(|b| b.order > batch.order)
                .unwrap_or(queue.len())
        } else {
            0
        };
        queue.insert(at, batch);
    }

    /// The batch a drain of `tp` would take.
    pub fn head(&self, tp: &TopicPartition) -> Option<&Batch> {
        self.queues.get(tp)?.front()
    }

    /// Removes and returns every batch whose delivery timeout has passed.
    pub fn expire(&mut self, now_ms: u64, delivery_timeout_ms: u64) -> Vec<Batch> {
        self.remove_where(|b| b.delivery_deadline_ms(delivery_timeout_ms) <= now_ms)
    }

    /// Removes and returns the batches `pick` chooses, partition by partition in queue order (Kafka's
    /// `abortBatches` and `abortUndrainedBatches` for a transaction that ends).
    pub fn remove_where(&mut self, pick: impl Fn(&Batch) -> bool) -> Vec<Batch> {
        let mut removed = Vec::new();
        for queue in self.queues.values_mut() {
            let (gone, kept): (VecDeque<Batch>, VecDeque<Batch>) =
                std::mem::take(queue).into_iter().partition(&pick);
            *queue = kept;
            removed.extend(gone);
        }
        removed
    }

    /// The earliest delivery deadline of a waiting batch.
    pub fn next_delivery_deadline_ms(&self, delivery_timeout_ms: u64) -> Option<u64> {
        self.queues
            .values()
            .flatten()
            .map(|b| b.delivery_deadline_ms(delivery_timeout_ms))
            .min()
    }

    /// Records waiting in batches.
    #[cfg(test)]
    pub fn record_count(&self) -> usize {
        self.queues
            .values()
            .flatten()
            .map(|b| b.records.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn record(value: u64, key: Option<&str>) -> Record {
        Record {
            key: key.map(|k| Arc::from(k.as_bytes())),
            value,
            timestamp_ms: 0,
            internal: None,
        }
    }

    fn timing() -> Timing {
        Timing {
            batch_size: 100,
            linger_ms: 5,
            retry_backoff_ms: 100,
        }
    }

    fn lengths(acc: &Accumulator, tp: &TopicPartition) -> Vec<usize> {
        acc.queues[tp].iter().map(|b| b.records.len()).collect()
    }

    #[test]
    fn a_record_counts_its_key_its_value_and_the_overhead() {
        assert_eq!(record_size(&record(1, None)), 22);
        assert_eq!(record_size(&record(1, Some("key-1"))), 27);
    }

    #[test]
    fn a_batch_closes_when_the_next_record_would_pass_batch_size() {
        let tp = TopicPartition::new("t", 0);
        let mut acc = Accumulator::default();
        // 22 bytes each: four fit in 100, the fifth opens a second batch.
        for v in 0..5 {
            acc.append(&tp, record(v, None), 0, 100);
        }
        assert_eq!(lengths(&acc, &tp), vec![4, 1]);
        assert!(!acc.all_batches_full(&tp, 100));
    }

    #[test]
    fn a_first_record_always_fits_even_past_batch_size() {
        let tp = TopicPartition::new("t", 0);
        let mut acc = Accumulator::default();
        acc.append(&tp, record(1, Some(&"k".repeat(200))), 0, 100);
        acc.append(&tp, record(2, None), 0, 100);
        assert_eq!(lengths(&acc, &tp), vec![1, 1]);
    }

    #[test]
    fn the_head_is_ready_after_linger_or_when_full() {
        let tp = TopicPartition::new("t", 0);
        let mut acc = Accumulator::default();
        acc.append(&tp, record(1, None), 10, 100);
        assert_eq!(acc.ready_at_ms(&tp, &timing()), Some(15), "linger");
        for v in 2..=5 {
            acc.append(&tp, record(v, None), 12, 100);
        }
        assert_eq!(acc.ready_at_ms(&tp, &timing()), Some(10), "followed: full");
    }

    #[test]
    fn a_retried_batch_goes_first_and_waits_out_its_backoff() {
        let tp = TopicPartition::new("t", 0);
        let mut acc = Accumulator::default();
        acc.append(&tp, record(1, None), 0, 100);
        let mut batch = acc.drain(&tp, 5, 100).unwrap();
        acc.append(&tp, record(2, None), 6, 100);
        batch.reenqueued(20);
        acc.reenqueue(batch);
        assert_eq!(acc.ready_at_ms(&tp, &timing()), Some(120));
        assert!(acc.drain(&tp, 119, 100).is_none(), "backing off");
        let again = acc.drain(&tp, 120, 100).unwrap();
        assert_eq!(again.records[0].value, 1);
    }

    #[test]
    fn expiry_takes_every_batch_past_its_delivery_timeout() {
        let tp = TopicPartition::new("t", 0);
        let mut acc = Accumulator::default();
        acc.append(&tp, record(1, None), 0, 22);
        acc.append(&tp, record(2, None), 50, 22);
        assert_eq!(acc.next_delivery_deadline_ms(1000), Some(1000));
        let expired = acc.expire(1000, 1000);
        assert_eq!(expired.len(), 1);
        assert_eq!(acc.record_count(), 1);
        assert_eq!(acc.next_delivery_deadline_ms(1000), Some(1050));
    }
}
