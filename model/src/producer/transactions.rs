//! Kafka's transactional producer calls (`initTransactions`, `beginTransaction`, `sendOffsetsToTransaction`,
//! `commitTransaction`, `abortTransaction`) and the `TransactionManager` error states they meet.
//!
//! Kafka's calls block until done; here each returns at once and ends later in one event: its success, or
//! [`ProducerEvent::TransactionFailed`] naming it. A call made where Kafka throws `IllegalStateException` (a send
//! outside a transaction, a commit before `begin_transaction`, a second call before the first ended) is a bug in
//! the workload and panics. One made in an error state fails at once, as Kafka's `maybeFailWithError` throws.
//!
//! Errors: fenced (PRODUCER_FENCED, or INVALID_PRODUCER_EPOCH from the coordinator), INVALID_TXN_STATE and
//! anything unexpected from the coordinator are fatal: every record not yet completed fails and nothing more is
//! sent. A send that fails for good makes the transaction abortable: commit is refused and the application must
//! abort, which ends with an epoch bump (InitProducerId with the current id and epoch) so that the next
//! transaction numbers every partition from 0.

use super::transaction_manager::{
    TransactionOperation, TransactionState, Transactions, TxnOffsets, TxnRequest, TxnRequestKind,
};
use super::{Producer, ProducerEvent, SendResult, TRANSACTION_ABORTED};
use crate::consumer::ConsumerGroupMetadata;
use crate::error::ErrorCode;
use crate::ids::{Offset, TopicPartition};
use crate::output::Output;
use crate::protocol::UNKNOWN_MEMBER_ID;
use std::collections::BTreeMap;

impl Producer {
    /// Kafka's `initTransactions`: finds the coordinator and gets a producer id and epoch for the transactional
    /// id, fencing any earlier producer with it. Ends in [`ProducerEvent::TransactionsInitialized`].
    pub fn init_transactions(&mut self, now_ms: u64) -> Vec<Output> {
        let txn = self.txn_mut();
        assert!(
            txn.state() == TransactionState::Uninitialized,
            "init_transactions in state {:?}: it is called once",
            txn.state()
        );
        txn.transition(TransactionState::Initializing);
        txn.awaited = Some(TransactionOperation::InitTransactions);
        txn.enqueue(TxnRequest::new(TxnRequestKind::InitProducerId, true));
        self.step(now_ms)
    }

    /// Kafka's `beginTransaction`: local only. Panics unless the producer is ready (after
    /// `TransactionsInitialized`, `TransactionCommitted` or `TransactionAborted`).
    pub fn begin_transaction(&mut self) {
        let txn = self.txn_mut();
        assert!(
            txn.state() == TransactionState::Ready,
            "begin_transaction in state {:?} (last error {:?})",
            txn.state(),
            txn.last_error
        );
        txn.transition(TransactionState::InTransaction);
    }

    /// Kafka's `sendOffsetsToTransaction`: AddOffsetsToTxn to the transaction coordinator puts the group's
    /// offsets partition in the transaction, then FindCoordinator (GROUP) and TxnOffsetCommit to the group
    /// coordinator write `offsets` (the next offset to consume, per partition) into it, checked against `group`'s
    /// generation and member (KIP-447). They become the group's committed offsets if and when the transaction
    /// commits. Ends in [`ProducerEvent::OffsetsSentToTransaction`] once the group coordinator took every offset,
    /// or `TransactionFailed` naming it: ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID (Kafka's
    /// `CommitFailedException`) leave the transaction abortable. With no offsets it ends at once, sending nothing,
    /// as Kafka's returns. Panics on group metadata Kafka rejects (a generation without a member id).
    pub fn send_offsets_to_transaction(
        &mut self,
        now_ms: u64,
        offsets: BTreeMap<TopicPartition, Offset>,
        group: ConsumerGroupMetadata,
    ) -> Vec<Output> {
        assert!(
            !(group.generation_id > 0 && group.member_id == UNKNOWN_MEMBER_ID),
            "group metadata with generation {} but no member id",
            group.generation_id
        );
        let operation = TransactionOperation::SendOffsetsToTransaction;
        if offsets.is_empty() {
            self.events.push(ProducerEvent::OffsetsSentToTransaction {
                group_id: group.group_id,
            });
            return self.step(now_ms);
        }
        if !self.refuse_call(operation, false) {
            let txn = self.txn_mut();
            assert!(
                txn.state() == TransactionState::InTransaction,
                "send_offsets_to_transaction in state {:?}",
                txn.state()
            );
            txn.awaited = Some(operation);
            let kind = TxnRequestKind::AddOffsetsToTxn(TxnOffsets { group, offsets });
            txn.enqueue(TxnRequest::new(kind, true));
        }
        self.step(now_ms)
    }

    /// Kafka's `commitTransaction`: waits until every record sent in the transaction completed, then EndTxn
    /// (commit). Ends in [`ProducerEvent::TransactionCommitted`], or `TransactionFailed` if the transaction
    /// became abortable meanwhile (then the application must abort).
    pub fn commit_transaction(&mut self, now_ms: u64) -> Vec<Output> {
        self.end_transaction(now_ms, true)
    }

    /// Kafka's `abortTransaction`: records not yet sent fail unwritten, those in flight are waited for, then
    /// EndTxn (abort), and the epoch bump if the transaction needs one. With nothing added to the transaction it
    /// ends locally. Ends in [`ProducerEvent::TransactionAborted`].
    pub fn abort_transaction(&mut self, now_ms: u64) -> Vec<Output> {
        self.end_transaction(now_ms, false)
    }

    /// Kafka's `TransactionManager` state; None without a `transactional.id`.
    pub fn transaction_state(&self) -> Option<TransactionState> {
        self.transactions.as_ref().map(Transactions::state)
    }

    /// The producer id and epoch the producer writes with, once InitProducerId answered.
    pub fn producer_id_and_epoch(&self) -> Option<(i64, i16)> {
        self.idempotence.producer()
    }

    pub(super) fn txn(&self) -> &Transactions {
        self.transactions
            .as_ref()
            .expect("a transactional call on a producer without transactional.id")
    }

    pub(super) fn txn_mut(&mut self) -> &mut Transactions {
        self.transactions
            .as_mut()
            .expect("a transactional call on a producer without transactional.id")
    }

    pub(super) fn is_fatal(&self) -> bool {
        self.transaction_state() == Some(TransactionState::FatalError)
    }

    /// Kafka's `beginCommit` / `beginAbort`.
    fn end_transaction(&mut self, now_ms: u64, committed: bool) -> Vec<Output> {
        let operation = if committed {
            TransactionOperation::CommitTransaction
        } else {
            TransactionOperation::AbortTransaction
        };
        if !self.refuse_call(operation, !committed) {
            let txn = self.txn_mut();
            let target = if committed {
                TransactionState::CommittingTransaction
            } else {
                TransactionState::AbortingTransaction
            };
            assert!(
                txn.may_become(target),
                "{operation:?} in state {:?}",
                txn.state()
            );
            txn.transition(target);
            txn.awaited = Some(operation);
            txn.end_txn_unanswered = false;
            if committed {
                txn.queue_new_partitions();
            } else {
                txn.forget_new_partitions();
            }
            // With a bump to follow, it is the bump that ends the call.
            let bump = txn.epoch_bump_required;
            txn.enqueue(TxnRequest::new(TxnRequestKind::EndTxn { committed }, !bump));
            if bump {
                txn.enqueue(TxnRequest::new(TxnRequestKind::EpochBump, true));
            }
        }
        self.step(now_ms)
    }

    /// Kafka's `maybeFailWithError` at the start of a call: in an error state the call fails at once (an abort is
    /// what an abortable error asks for, so it goes on). True when refused.
    fn refuse_call(&mut self, operation: TransactionOperation, abortable_ok: bool) -> bool {
        let txn = self.txn();
        assert!(
            txn.awaited.is_none(),
            "{operation:?} before {:?} ended: wait for its event",
            txn.awaited
        );
        let fatal = txn.state() == TransactionState::FatalError;
        let refused = fatal || (txn.state() == TransactionState::AbortableError && !abortable_ok);
        if refused {
            let error = txn.last_error.expect("an error state keeps its error");
            self.events.push(ProducerEvent::TransactionFailed {
                operation: Some(operation),
                error,
                fatal,
                outcome_unknown: false,
            });
        }
        refused
    }

    /// Kafka's `failIfNotReadyForSend`: the error a send fails with at once, if any. Panics outside a
    /// transaction, where Kafka throws `IllegalStateException`.
    pub(super) fn refuse_send(&self) -> Option<ErrorCode> {
        let txn = self.transactions.as_ref()?;
        match txn.state() {
            TransactionState::InTransaction => None,
            TransactionState::AbortableError | TransactionState::FatalError => txn.last_error,
            state => panic!(
                "send outside a transaction (transactional id {}, state {state:?})",
                txn.transactional_id
            ),
        }
    }

    /// Kafka's `transitionToFatalError`: the call waited on fails (or, with none, the application is told), no
    /// request waiting goes, and the next sender pass fails every record not yet completed.
    pub(super) fn fatal_error(&mut self, error: ErrorCode) {
        let txn = self.txn_mut();
        if txn.state() == TransactionState::FatalError {
            return;
        }
        txn.transition(TransactionState::FatalError);
        txn.last_error = Some(error);
        txn.clear_queue();
        let operation = txn.awaited.take();
        let outcome_unknown =
            operation == Some(TransactionOperation::CommitTransaction) && txn.end_txn_unanswered;
        self.events.push(ProducerEvent::TransactionFailed {
            operation,
            error,
            fatal: true,
            outcome_unknown,
        });
    }

    /// Kafka's `transitionToAbortableError`, which an abort under way ignores. With no call waiting, the
    /// application is told now (Kafka would tell it at its next call), so that it can abort.
    pub(super) fn abortable_error(&mut self, error: ErrorCode) {
        let txn = self.txn_mut();
        if txn.state() == TransactionState::AbortingTransaction
            || !txn.may_become(TransactionState::AbortableError)
        {
            return;
        }
        let entering = txn.state() != TransactionState::AbortableError;
        txn.transition(TransactionState::AbortableError);
        txn.last_error = Some(error);
        if entering && txn.awaited.is_none() {
            self.events.push(ProducerEvent::TransactionFailed {
                operation: None,
                error,
                fatal: false,
                outcome_unknown: false,
            });
        }
    }

    /// Kafka's `abortableErrorIfPossible` in a handler: the producer's id or its mapping is gone at the
    /// coordinator, so the transaction must be aborted and the epoch bumped. An abort under way goes on and ends
    /// with the bump, which then answers the call in place of the failed request.
    pub(super) fn abortable_error_with_bump(&mut self, request: &TxnRequest, error: ErrorCode) {
        self.require_epoch_bump(request.completes_call);
        if self.txn().state() == TransactionState::AbortingTransaction {
            return;
        }
        self.abortable_error(error);
        if request.completes_call {
            self.fail_call(error);
        }
    }

    /// The transaction must end with an epoch bump (Kafka's `epochBumpRequired`). While aborting, the bump is
    /// queued at once, after EndTxn, and ends the abort in its place.
    pub(super) fn require_epoch_bump(&mut self, carries_call: bool) {
        let txn = self.txn_mut();
        txn.epoch_bump_required = true;
        if txn.state() != TransactionState::AbortingTransaction
            || txn.is_queued(|k| *k == TxnRequestKind::EpochBump)
        {
            return;
        }
        let call = txn.take_call_from_end_txn() || carries_call;
        txn.enqueue(TxnRequest::new(TxnRequestKind::EpochBump, call));
    }

    /// Kafka's `maybeTransitionToErrorState` for a send that failed for good. Fenced is fatal. Anything else
    /// leaves the transaction abortable, and the epoch is bumped when it ends, even when the failure came during
    /// commit or abort where Kafka does not bump but shifts the sequences after the failed batch down: this model
    /// does not shift sequences, and a new epoch starts every partition afresh.
    pub(super) fn transaction_send_failed(&mut self, error: ErrorCode) {
        let Some(txn) = &self.transactions else {
            return;
        };
        if !matches!(
            txn.state(),
            TransactionState::InTransaction
                | TransactionState::CommittingTransaction
                | TransactionState::AbortingTransaction
                | TransactionState::AbortableError
        ) {
            return;
        }
        if matches!(
            error,
            ErrorCode::PRODUCER_FENCED | ErrorCode::INVALID_PRODUCER_ID_MAPPING
        ) {
            self.fatal_error(error);
            return;
        }
        self.require_epoch_bump(false);
        self.abortable_error(error);
    }

    /// The call waited on failed without making the producer fatal.
    pub(super) fn fail_call(&mut self, error: ErrorCode) {
        let txn = self.txn_mut();
        let Some(operation) = txn.awaited.take() else {
            return;
        };
        let outcome_unknown =
            operation == TransactionOperation::CommitTransaction && txn.end_txn_unanswered;
        self.events.push(ProducerEvent::TransactionFailed {
            operation: Some(operation),
            error,
            fatal: false,
            outcome_unknown,
        });
    }

    /// The call waited on succeeded; `kind` is the request whose answer ended it.
    pub(super) fn complete_call(&mut self, kind: &TxnRequestKind) {
        let Some(operation) = self.txn_mut().awaited.take() else {
            return;
        };
        let event = match (operation, kind) {
            (TransactionOperation::InitTransactions, _) => {
                let (producer_id, producer_epoch) =
                    self.idempotence.producer().expect("initialized with an id");
                ProducerEvent::TransactionsInitialized {
                    producer_id,
                    producer_epoch,
                }
            }
            (
                TransactionOperation::SendOffsetsToTransaction,
                TxnRequestKind::TxnOffsetCommit(o),
            ) => ProducerEvent::OffsetsSentToTransaction {
                group_id: o.group.group_id.clone(),
            },
            (TransactionOperation::SendOffsetsToTransaction, other) => {
                panic!("sendOffsetsToTransaction ended by {other:?}")
            }
            (TransactionOperation::CommitTransaction, _) => ProducerEvent::TransactionCommitted,
            (TransactionOperation::AbortTransaction, _) => ProducerEvent::TransactionAborted,
        };
        self.events.push(event);
    }

    /// Kafka's `abortUndrainedBatches` while the transaction is abortable or aborting: batches never drained
    /// (without a sequence) fail unwritten, and so do sends still waiting for metadata. Batches that went out keep
    /// being retried: the broker may hold them, and EndTxn waits for their outcome.
    pub(super) fn abort_undrained(&mut self) {
        let error = self.txn().last_error.unwrap_or(TRANSACTION_ABORTED);
        self.fail_held(error);
        for batch in self.accumulator.remove_where(|b| b.sequence.is_none()) {
            let maybe_written = batch.maybe_written;
            self.complete_failed(&batch, error, maybe_written);
        }
    }

    /// Kafka's `abortBatches` after a fatal error: every record not yet completed fails, in flight or not.
    pub(super) fn abort_all_batches(&mut self) {
        let error = self
            .txn()
            .last_error
            .expect("a fatal error keeps its error");
        self.fail_held(error);
        for batch in self.accumulator.remove_where(|_| true) {
            let maybe_written = batch.maybe_written;
            self.complete_failed(&batch, error, maybe_written);
        }
        for batch in self.requests.remove_batches(|_| true) {
            self.muted.remove(&batch.tp);
            self.idempotence.left_request(&batch.tp);
            // It went out and its answer will not be read: the broker may have it.
            self.complete_failed(&batch, error, true);
        }
    }

    fn fail_held(&mut self, error: ErrorCode) {
        for send in std::mem::take(&mut self.held) {
            let result = SendResult::Failed {
                error,
                maybe_written: false,
            };
            self.complete(send.value, None, result);
        }
    }
}
