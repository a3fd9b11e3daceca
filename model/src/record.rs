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
    /// The offset after this batch's last record.
    pub fn next_offset(&self) -> Offset {
        self.base_offset + self.records.len() as Offset
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
        self.records
            .iter()
            .take(count)
            .enumerate()
            .map(move |(i, r)| (self.base_offset + i as Offset, r))
    }
}
