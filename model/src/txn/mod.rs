//! Transactions as Kafka's transaction coordinator keeps them: each `transactional.id`'s producer id and epoch,
//! its state and partitions, moved through the state machine by InitProducerId, AddPartitionsToTxn and EndTxn,
//! and persisted as records of the `__transaction_state` log before they take effect.
//!
//! This module is the coordinator's pure bookkeeping: every change is first *prepared* (a record to append to the
//! transaction log, the transaction held pending so nothing else may change it) and *completed* once that record is
//! committed, as Kafka's `TransactionStateManager.appendTransactionToLog` does. The broker that leads a
//! `__transaction_state` partition hosts one (`broker::txn_coordinator`) and drives the appends and the markers.

mod metadata;
#[cfg(test)]
mod tests;

pub use metadata::{TxnLogRecord, TxnMetadata, TxnResult, TxnState};

use crate::error::ErrorCode;
use crate::ids::TopicPartition;
use std::collections::{BTreeMap, BTreeSet};

/// Kafka's default `transaction.max.timeout.ms`: a longer `transaction.timeout.ms` is refused.
pub const TRANSACTION_MAX_TIMEOUT_MS: u64 = 900_000;

/// What a request leads to: an answer now, or a record to append whose commit completes the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Answer at once (an error, or nothing to change).
    Reply(ErrorCode),
    /// Append this record; once it is committed, call [`TransactionCoordinator::complete`] and answer `reply`
    /// (NONE, or CONCURRENT_TRANSACTIONS when a restarted producer's open transaction is being fenced and aborted).
    Persist {
        record: TxnLogRecord,
        reply: ErrorCode,
    },
}

/// The transactions whose state lives in the coordinator's partitions of `__transaction_state`.
#[derive(Clone, Debug, Default)]
pub struct TransactionCoordinator {
    transactions: BTreeMap<String, TxnMetadata>,
}

impl TransactionCoordinator {
    /// Rebuilds the state from the transaction log, as a new coordinator does when it becomes leader of the
    /// partition (`loadTransactionsForTxnTopicPartition`): the last record of each transactional id wins.
    pub fn load<'a>(records: impl IntoIterator<Item = &'a TxnLogRecord>) -> Self {
        let mut transactions = BTreeMap::new();
        for r in records {
            transactions.insert(r.transactional_id.clone(), TxnMetadata::from_record(r));
        }
        TransactionCoordinator { transactions }
    }

    pub fn get(&self, transactional_id: &str) -> Option<&TxnMetadata> {
        self.transactions.get(transactional_id)
    }

    /// Kafka's `handleInitProducerId` for a transactional id. `new_producer_id` is asked for only when the id has
    /// none yet. A producer restarting while its transaction is open fences the old epoch and aborts it; it gets
    /// CONCURRENT_TRANSACTIONS until the abort completes, and retries.
    pub fn init_producer_id(
        &mut self,
        now_ms: u64,
        transactional_id: &str,
        timeout_ms: u64,
        new_producer_id: impl FnOnce() -> i64,
    ) -> Plan {
        if timeout_ms == 0 || timeout_ms > TRANSACTION_MAX_TIMEOUT_MS {
            return Plan::Reply(ErrorCode::INVALID_TRANSACTION_TIMEOUT);
        }
        let Some(m) = self.transactions.get_mut(transactional_id) else {
            let m = TxnMetadata::new(transactional_id, new_producer_id(), timeout_ms, now_ms);
            let record = m.record_for(now_ms, |t| {
                t.producer_epoch = 0;
                t.state = TxnState::Empty;
            });
            self.transactions.insert(transactional_id.to_string(), m);
            return self.hold(record);
        };
        if m.pending.is_some() {
            return Plan::Reply(ErrorCode::CONCURRENT_TRANSACTIONS);
        }
        match m.current.state {
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                let last = m.current.producer_epoch;
                let epoch = last.saturating_add(1);
                let record = m.record_for(now_ms, |t| {
                    t.last_producer_epoch = last;
                    t.producer_epoch = epoch;
                    t.timeout_ms = timeout_ms;
                    t.state = TxnState::Empty;
                    t.partitions.clear();
                });
                self.hold(record)
            }
            TxnState::Ongoing => {
                // Fence the producer that opened it and abort, with the epoch bumped (`prepareFenceProducerEpoch`);
                // the new producer retries until the abort completes.
                let epoch = m.current.producer_epoch.saturating_add(1);
                let record = m.record_for(now_ms, |t| {
                    t.producer_epoch = epoch;
                    t.state = TxnState::PrepareAbort;
                });
                match self.hold(record) {
                    Plan::Persist { record, .. } => Plan::Persist {
                        record,
                        reply: ErrorCode::CONCURRENT_TRANSACTIONS,
                    },
                    reply => reply,
                }
            }
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                Plan::Reply(ErrorCode::CONCURRENT_TRANSACTIONS)
            }
        }
    }

    /// KIP-360: a producer re-initialising names the id and epoch it had. The current ones go on to a bump; the
    /// epoch before the last bump is a retry of that bump whose answer was lost, answered with the current id and
    /// epoch as they are (`Ok(Some(..))`); anything else means a newer producer took over: PRODUCER_FENCED.
    pub fn check_expected(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
    ) -> Result<Option<(i64, i16)>, ErrorCode> {
        let Some(m) = self.transactions.get(transactional_id) else {
            return Ok(None);
        };
        let current = &m.current;
        if current.producer_id != producer_id {
            return Err(ErrorCode::PRODUCER_FENCED);
        }
        if producer_epoch == current.producer_epoch {
            Ok(None)
        } else if producer_epoch == current.last_producer_epoch && producer_epoch >= 0 {
            Ok(Some((current.producer_id, current.producer_epoch)))
        } else {
            Err(ErrorCode::PRODUCER_FENCED)
        }
    }

    /// Kafka's `handleAddPartitionsToTransaction`.
    pub fn add_partitions(
        &mut self,
        now_ms: u64,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
    ) -> Plan {
        let m = match self.validate(transactional_id, producer_id, producer_epoch) {
            Ok(m) => m,
            Err(error) => return Plan::Reply(error),
        };
        match m.current.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                return Plan::Reply(ErrorCode::CONCURRENT_TRANSACTIONS)
            }
            _ if partitions
                .iter()
                .all(|tp| m.current.partitions.contains(tp)) =>
            {
                return Plan::Reply(ErrorCode::NONE)
            }
            _ => {}
        }
        let starting = m.current.state != TxnState::Ongoing;
        let record = m.record_for(now_ms, |t| {
            t.state = TxnState::Ongoing;
            t.partitions.extend(partitions.iter().cloned());
            if starting {
                t.txn_start_ms = now_ms;
            }
        });
        self.hold(record)
    }

    /// Kafka's `handleEndTransaction`: an open transaction moves to PrepareCommit / PrepareAbort, after which the
    /// coordinator writes the markers and completes it ([`Self::markers_written`]). A retry of an end that already
    /// happened is answered NONE.
    pub fn end_transaction(
        &mut self,
        now_ms: u64,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        result: TxnResult,
    ) -> Plan {
        let m = match self.validate(transactional_id, producer_id, producer_epoch) {
            Ok(m) => m,
            Err(error) => return Plan::Reply(error),
        };
        let prepare = match result {
            TxnResult::Commit => TxnState::PrepareCommit,
            TxnResult::Abort => TxnState::PrepareAbort,
        };
        match (m.current.state, result) {
            (TxnState::Ongoing, _) => {
                let record = m.record_for(now_ms, |t| t.state = prepare);
                self.hold(record)
            }
            (TxnState::CompleteCommit, TxnResult::Commit)
            | (TxnState::CompleteAbort, TxnResult::Abort) => Plan::Reply(ErrorCode::NONE),
            (TxnState::PrepareCommit, TxnResult::Commit)
            | (TxnState::PrepareAbort, TxnResult::Abort) => {
                Plan::Reply(ErrorCode::CONCURRENT_TRANSACTIONS)
            }
            _ => Plan::Reply(ErrorCode::INVALID_TXN_STATE),
        }
    }

    /// Every marker of a prepared transaction is written: it completes (CompleteCommit / CompleteAbort).
    pub fn markers_written(&mut self, now_ms: u64, transactional_id: &str) -> Plan {
        let Some(m) = self.transactions.get_mut(transactional_id) else {
            return Plan::Reply(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        };
        let complete = match m.current.state {
            TxnState::PrepareCommit => TxnState::CompleteCommit,
            TxnState::PrepareAbort => TxnState::CompleteAbort,
            _ => return Plan::Reply(ErrorCode::INVALID_TXN_STATE),
        };
        if m.pending.is_some() {
            return Plan::Reply(ErrorCode::CONCURRENT_TRANSACTIONS);
        }
        let record = m.record_for(now_ms, |t| {
            t.state = complete;
            t.partitions.clear();
        });
        self.hold(record)
    }

    /// Kafka's `abortTimedOutTransactions`: open transactions older than their `transaction.timeout.ms` are
    /// aborted with the epoch bumped, which fences the producer that let them run out. Returns the records to
    /// append, one per transaction.
    pub fn abort_timed_out(&mut self, now_ms: u64) -> Vec<TxnLogRecord> {
        let mut records = Vec::new();
        for m in self.transactions.values_mut() {
            let expired = m.current.state == TxnState::Ongoing
                && m.current.txn_start_ms + m.current.timeout_ms < now_ms;
            if !expired || m.pending.is_some() {
                continue;
            }
            let epoch = m.current.producer_epoch.saturating_add(1);
            let record = m.record_for(now_ms, |t| {
                t.producer_epoch = epoch;
                t.state = TxnState::PrepareAbort;
            });
            m.pending = Some(record.clone());
            records.push(record);
        }
        records
    }

    /// The record for `transactional_id` committed in the log: the change takes effect.
    pub fn complete(&mut self, record: &TxnLogRecord) {
        if let Some(m) = self.transactions.get_mut(&record.transactional_id) {
            if m.pending.as_ref() == Some(record) {
                m.apply(record);
            }
        }
    }

    /// The append failed (the coordinator lost leadership, or the record could not be committed): the change is
    /// dropped and the transaction may be changed again (Kafka answers NOT_COORDINATOR or a retriable error).
    pub fn abandon(&mut self, record: &TxnLogRecord) {
        if let Some(m) = self.transactions.get_mut(&record.transactional_id) {
            if m.pending.as_ref() == Some(record) {
                m.pending = None;
            }
        }
    }

    /// Partitions of the transactions now prepared and waiting for their markers, with the marker to write.
    pub fn markers_due(&self) -> Vec<(String, i64, i16, TxnResult, BTreeSet<TopicPartition>)> {
        self.transactions
            .values()
            .filter(|m| m.pending.is_none())
            .filter_map(|m| {
                let result = match m.current.state {
                    TxnState::PrepareCommit => TxnResult::Commit,
                    TxnState::PrepareAbort => TxnResult::Abort,
                    _ => return None,
                };
                Some((
                    m.current.transactional_id.clone(),
                    m.current.producer_id,
                    m.current.producer_epoch,
                    result,
                    m.current.partitions.clone(),
                ))
            })
            .collect()
    }

    /// Kafka's `validateProducerIdAndEpoch` plus the pending-change check shared by AddPartitions and EndTxn.
    fn validate(
        &mut self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
    ) -> Result<&mut TxnMetadata, ErrorCode> {
        let m = self
            .transactions
            .get_mut(transactional_id)
            .ok_or(ErrorCode::INVALID_PRODUCER_ID_MAPPING)?;
        if m.current.producer_id != producer_id {
            return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        }
        if producer_epoch != m.current.producer_epoch {
            return Err(ErrorCode::PRODUCER_FENCED);
        }
        if m.pending.is_some() {
            return Err(ErrorCode::CONCURRENT_TRANSACTIONS);
        }
        Ok(m)
    }

    /// Marks the record's transaction pending on it and asks for it to be appended.
    fn hold(&mut self, record: TxnLogRecord) -> Plan {
        let m = self
            .transactions
            .get_mut(&record.transactional_id)
            .expect("held records are for known transactions");
        m.pending = Some(record.clone());
        Plan::Persist {
            record,
            reply: ErrorCode::NONE,
        }
    }
}
