//! Records and record batches as Kafka stores them: a batch has a base offset, the leader epoch that wrote it and,
//! from an idempotent producer, that producer's id, epoch and the batch's first sequence number.

use crate::group::coordinator::GroupLogRecord;
use crate::ids::{LeaderEpoch, Offset};
use crate::txn::TxnLogRecord;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One record. `value` is unique per record in a run so checkers can follow it across logs and clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub key: Option<Arc<[u8]>>,
    pub value: u64,
    pub timestamp_ms: u64,
    /// In an internal topic, the coordinator state the record holds (what Kafka serialises into its value).
    #[serde(default)]
    pub internal: Option<Arc<InternalValue>>,
}

/// The value of a record in one of Kafka's internal topics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InternalValue {
    /// A `__transaction_state` record: one transactional id's whole state after a change.
    TransactionState(TxnLogRecord),
    /// A `__consumer_offsets` record: a group's metadata after a rebalance, or a committed offset.
    GroupMetadata(GroupLogRecord),
}

/// A batch of records appended as one unit. Records are shared: replicating a batch never copies them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordBatch {
    pub base_offset: Offset,
    /// The leader epoch of the leader that appended this batch (`partitionLeaderEpoch` in Kafka).
    pub partition_leader_epoch: LeaderEpoch,
    pub records: Arc<[Record]>,
    /// The idempotent producer that wrote the batch (Kafka's batch header fields); None for a plain producer.
    pub producer: Option<BatchProducer>,
    /// Kafka's `isTransactional` and `isControl` attributes.
    pub attributes: BatchAttributes,
    /// Set once the log cleaner removed some of the batch's records; None: record i sits at `base_offset + i`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compacted: Option<Arc<CompactedLayout>>,
}

/// Where a cleaned batch's surviving records sit. Kafka's cleaner rewrites a batch with its header intact (base
/// offset, producer id/epoch, base sequence, attributes) and keeps its original last offset
/// (`MemoryRecordsBuilder.overrideLastOffset`), so the last sequence survives and a producer that retries or goes
/// on after a restart is not told OUT_OF_ORDER_SEQUENCE_NUMBER; each record keeps its own offset delta. The batch
/// may even keep no record at all: the producer's last batch is retained as an empty header (`RETAIN_EMPTY`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactedLayout {
    /// Each record's offset minus the batch's base offset, ascending, parallel to `records`.
    pub offset_deltas: Vec<u32>,
    /// The batch's last offset minus its base offset, as first written.
    pub last_offset_delta: u32,
}

/// A batch's transaction attributes: written inside a transaction, or a transaction marker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchAttributes {
    /// Part of a transaction: hidden from read_committed consumers until its commit marker.
    pub transactional: bool,
    /// A control batch: the one marker record a transaction coordinator writes to end a transaction here.
    pub control: Option<ControlMarker>,
}

/// The control record of a marker batch (Kafka's `ControlRecordType` COMMIT / ABORT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControlMarker {
    Commit { coordinator_epoch: i32 },
    Abort { coordinator_epoch: i32 },
}

/// The producer fields of a batch header: who wrote it and where it falls in that producer's sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchProducer {
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// The sequence number of the batch's first record; each record takes the next (wrapping after i32::MAX).
    pub base_sequence: i32,
}

impl BatchProducer {
    /// The sequence number of a batch's last record, for `count` records.
    pub fn last_sequence(&self, count: usize) -> i32 {
        increment_sequence(self.base_sequence, count as i32 - 1)
    }
}

/// Kafka's `DefaultRecordBatch.incrementSequence`: sequences wrap to 0 after i32::MAX.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

impl RecordBatch {
    /// The offset after this batch's last offset (which a cleaned batch keeps even when its last record is gone).
    pub fn next_offset(&self) -> Offset {
        self.base_offset + self.offset_count() as Offset
    }

    /// How many offsets the batch spans: its record count, unless the cleaner removed some of them.
    pub fn offset_count(&self) -> usize {
        match &self.compacted {
            None => self.records.len(),
            Some(layout) => layout.last_offset_delta as usize + 1,
        }
    }

    /// The offset of the record at `index` in `records`.
    fn offset_of(&self, index: usize) -> Offset {
        let delta = match &self.compacted {
            None => index as Offset,
            Some(layout) => Offset::from(layout.offset_deltas[index]),
        };
        self.base_offset + delta
    }

    pub fn last_offset(&self) -> Offset {
        self.next_offset() - 1
    }

    pub fn is_control(&self) -> bool {
        self.attributes.control.is_some()
    }

    /// Each application record with its offset; a control batch's marker is not one (it only takes an offset).
    pub fn entries(&self) -> impl Iterator<Item = (Offset, &Record)> {
        let count = if self.is_control() { 0 } else { usize::MAX };
        self.records_with_offsets().take(count)
    }

    /// Every record with its offset, a control batch's marker included.
    pub fn records_with_offsets(&self) -> impl Iterator<Item = (Offset, &Record)> {
        self.records
            .iter()
            .enumerate()
            .map(move |(i, r)| (self.offset_of(i), r))
    }

    /// The part of the batch below `offset` (which must lie inside it): the records there, and the header's offset
    /// range and sequence range cut at `offset`, as if the batch had been written that short.
    pub fn head_below(&self, offset: Offset) -> RecordBatch {
        let kept = self.records_cut_at(offset, |o| o < offset);
        self.relaid(self.base_offset, offset - 1, kept)
    }

    /// The records (with their offsets) on one side of a cut at `offset`, which must lie inside the batch.
    fn records_cut_at(
        &self,
        offset: Offset,
        keep: impl Fn(Offset) -> bool,
    ) -> Vec<(Offset, Record)> {
        assert!(
            offset > self.base_offset && offset < self.next_offset(),
            "cut {offset} outside batch {}..{}",
            self.base_offset,
            self.next_offset()
        );
        self.records_with_offsets()
            .filter(|(o, _)| keep(*o))
            .map(|(o, r)| (o, r.clone()))
            .collect()
    }

    /// The part of the batch from `offset` on (which must lie inside it), rebased there: the producer's base
    /// sequence moves with the base offset, since each offset of a batch took one sequence number.
    pub fn tail_from(&self, offset: Offset) -> RecordBatch {
        let kept = self.records_cut_at(offset, |o| o >= offset);
        let mut tail = self.relaid(offset, self.last_offset(), kept);
        if let Some(p) = tail.producer.as_mut().filter(|_| !self.is_control()) {
            p.base_sequence =
                increment_sequence(p.base_sequence, (offset - self.base_offset) as i32);
        }
        tail
    }

    /// This batch's header over `base..=last` holding `kept` (records with their offsets, ascending): the plain
    /// layout when they fill every offset, the compacted one otherwise.
    pub fn relaid(&self, base: Offset, last: Offset, kept: Vec<(Offset, Record)>) -> RecordBatch {
        let span = (last - base + 1) as usize;
        let dense = kept.len() == span;
        let compacted = (!dense).then(|| {
            Arc::new(CompactedLayout {
                offset_deltas: kept.iter().map(|(o, _)| (o - base) as u32).collect(),
                last_offset_delta: (last - base) as u32,
            })
        });
        RecordBatch {
            base_offset: base,
            records: kept.into_iter().map(|(_, r)| r).collect(),
            compacted,
            ..self.clone()
        }
    }
}
