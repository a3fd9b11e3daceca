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
    /// The epoch before the last bump by InitProducerId (Kafka's `lastProducerEpoch`), so a producer retrying a
    /// bump whose answer it lost is answered, not fenced; -1 before any bump.
    pub last_producer_epoch: i16,
    pub timeout_ms: u64,
    pub state: TxnState,
    pub partitions: BTreeSet<TopicPartition>,
    pub txn_start_ms: u64,
    pub update_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnMetadata {
    /// The state as last committed to the log.
    pub current: TxnLogRecord,
    /// A change appended to the log and not yet committed: nothing else may change the transaction meanwhile.
    pub pending: Option<TxnLogRecord>,
}

impl TxnMetadata {
    /// A transactional id seen for the first time: it has a producer id but no epoch until its first record.
    pub fn new(transactional_id: &str, producer_id: i64, timeout_ms: u64, now_ms: u64) -> Self {
        TxnMetadata {
            current: TxnLogRecord {
                transactional_id: transactional_id.to_string(),
                producer_id,
                producer_epoch: NO_PRODUCER_EPOCH,
                last_producer_epoch: NO_PRODUCER_EPOCH,
                timeout_ms,
                state: TxnState::Empty,
                partitions: BTreeSet::new(),
                txn_start_ms: now_ms,
                update_ms: now_ms,
            },
            pending: None,
        }
    }

    pub fn from_record(r: &TxnLogRecord) -> Self {
        TxnMetadata {
            current: r.clone(),
            pending: None,
        }
    }

    /// The record of this state changed by `change`, stamped `now_ms`.
    pub fn record_for(&self, now_ms: u64, change: impl FnOnce(&mut TxnLogRecord)) -> TxnLogRecord {
        let mut r = self.current.clone();
        r.update_ms = now_ms;
        change(&mut r);
        r
    }

    /// A committed record becomes the state.
    pub fn apply(&mut self, r: &TxnLogRecord) {
        self.current = r.clone();
        self.pending = None;
    }
}
