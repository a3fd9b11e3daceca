//! One transactional id's state (Kafka's `TransactionMetadata`) and the record of it in `__transaction_state`.

use crate::ids::TopicPartition;
use crate::protocol::NO_PRODUCER_EPOCH;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Kafka's `TransactionState` (Dead and PrepareEpochFence aside: ids never expire here, and a fence is written as
/// the PrepareAbort it leads to).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
}

/// How a transaction ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnResult {
    Commit,
    Abort,
}

/// A transaction log record: the whole state of one transactional id after a change (the value Kafka writes under
/// the id's key, so the last record of an id is its state).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnLogRecord {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: u64,
    pub state: TxnState,
    pub partitions: BTreeSet<TopicPartition>,
    pub txn_start_ms: u64,
    pub update_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: u64,
    pub state: TxnState,
    pub partitions: BTreeSet<TopicPartition>,
    pub txn_start_ms: u64,
    pub update_ms: u64,
    /// A change appended to the log and not yet committed: nothing else may change the transaction meanwhile.
    pub pending: Option<TxnLogRecord>,
}

impl TxnMetadata {
    /// A transactional id seen for the first time: it has a producer id but no epoch until its first record.
    pub fn new(transactional_id: &str, producer_id: i64, timeout_ms: u64, now_ms: u64) -> Self {
        TxnMetadata {
            transactional_id: transactional_id.to_string(),
            producer_id,
            producer_epoch: NO_PRODUCER_EPOCH,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            txn_start_ms: now_ms,
            update_ms: now_ms,
            pending: None,
        }
    }

    pub fn from_record(r: &TxnLogRecord) -> Self {
        let mut m = TxnMetadata::new(
            &r.transactional_id,
            r.producer_id,
            r.timeout_ms,
            r.update_ms,
        );
        m.apply(r);
        m
    }

    /// The record of this state changed by `change`, stamped `now_ms`.
    pub fn record_for(&self, now_ms: u64, change: impl FnOnce(&mut TxnLogRecord)) -> TxnLogRecord {
        let mut r = TxnLogRecord {
            transactional_id: self.transactional_id.clone(),
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            timeout_ms: self.timeout_ms,
            state: self.state,
            partitions: self.partitions.clone(),
            txn_start_ms: self.txn_start_ms,
            update_ms: now_ms,
        };
        change(&mut r);
        r
    }

    /// A committed record becomes the state.
    pub fn apply(&mut self, r: &TxnLogRecord) {
        self.producer_id = r.producer_id;
        self.producer_epoch = r.producer_epoch;
        self.timeout_ms = r.timeout_ms;
        self.state = r.state;
        self.partitions = r.partitions.clone();
        self.txn_start_ms = r.txn_start_ms;
        self.update_ms = r.update_ms;
        self.pending = None;
    }
}
