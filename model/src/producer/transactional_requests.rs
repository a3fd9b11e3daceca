//! Kafka's `Sender.maybeSendAndPollTransactionalRequest` and the `TransactionManager`'s request handlers:
//! FindCoordinator, InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn for a
//! transactional producer.
//!
//! Kafka's rules, as modelled:
//! - One transactional request is in flight at a time, and while it is, or while the sender sleeps before
//!   retrying one, or waits for room on the coordinator's connection, no produce request goes.
//! - FindCoordinator goes to any broker; TxnOffsetCommit to the group coordinator; the rest to the transaction
//!   coordinator. Each is looked up first when unknown, and again after NOT_COORDINATOR,
//!   COORDINATOR_NOT_AVAILABLE, a lost connection or a request timeout.
//! - AddOffsetsToTxn accepted queues the TxnOffsetCommit (same priority, so before any EndTxn), and that ends
//!   `sendOffsetsToTransaction` once every offset is accepted; partitions answered with a retriable error go again.
//! - A request that failed goes again after `retry.backoff.ms`, counted from when it is next in line (Kafka's
//!   sender sleeps there); AddPartitionsToTxn waits 20 ms after CONCURRENT_TRANSACTIONS when nothing is in the
//!   transaction yet, since the previous transaction is still being completed.
//! - New partitions are added before their first batch, all in one AddPartitionsToTxn. EndTxn waits until every
//!   record sent in the transaction completed, and is not sent at all when nothing was added.

use super::requests::Pending;
use super::transaction_manager::{
    TransactionState, TxnRequest, TxnRequestKind, ADD_PARTITIONS_RETRY_BACKOFF_MS,
};
use super::Producer;
use crate::error::ErrorCode;
use crate::ids::{BrokerId, TopicPartition};
use crate::protocol::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, CoordinatorType,
    EndTxnRequest, FindCoordinatorRequest, FindCoordinatorResponse, InitProducerIdRequest, Message,
    TxnOffsetCommitRequest, TxnOffsetCommitResponse, NO_PRODUCER_EPOCH, NO_PRODUCER_ID,
};
use std::collections::BTreeMap;

/// How Kafka's handlers read a coordinator's error.
enum Reaction {
    FindCoordinatorAndRetry,
    Retry,
    /// The producer id or its mapping is gone: abort, then bump the epoch.
    AbortableWithBump,
    Fatal(ErrorCode),
}

fn reaction(error: ErrorCode) -> Reaction {
    match error {
        ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE => {
            Reaction::FindCoordinatorAndRetry
        }
        ErrorCode::COORDINATOR_LOAD_IN_PROGRESS | ErrorCode::CONCURRENT_TRANSACTIONS => {
            Reaction::Retry
        }
        // An old coordinator answers INVALID_PRODUCER_EPOCH where a new one says PRODUCER_FENCED.
        ErrorCode::INVALID_PRODUCER_EPOCH | ErrorCode::PRODUCER_FENCED => {
            Reaction::Fatal(ErrorCode::PRODUCER_FENCED)
        }
        ErrorCode::UNKNOWN_PRODUCER_ID | ErrorCode::INVALID_PRODUCER_ID_MAPPING => {
            Reaction::AbortableWithBump
        }
        // INVALID_TXN_STATE, and anything Kafka's handlers do not expect.
        other => Reaction::Fatal(other),
    }
}

impl Producer {
    /// One sender pass over the transactional requests; true when produce requests must wait this pass.
    pub(super) fn run_transactions(&mut self, now_ms: u64) -> bool {
        self.txn_mut().wake_ms = None;
        let blocks = self.transactional_pass(now_ms);
        self.txn_mut().blocks_produce = blocks;
        blocks
    }

    fn transactional_pass(&mut self, now_ms: u64) -> bool {
        match self.txn().state() {
            TransactionState::FatalError => {
                self.abort_all_batches();
                return true;
            }
            TransactionState::AbortableError | TransactionState::AbortingTransaction => {
                self.abort_undrained()
            }
            _ => {}
        }
        if self.requests.txn_in_flight() {
            return true;
        }
        while let Some(mut request) = self.next_txn_request() {
            let broker = match (
                request.kind.is_find_coordinator(),
                self.txn().coordinator_for(&request.kind),
            ) {
                (true, _) => None,
                (false, Some(coordinator)) => Some(coordinator),
                (false, None) => {
                    // Kafka's `maybeFindCoordinatorAndRetry`.
                    let txn = self.txn_mut();
                    txn.lookup_coordinator_for(&request.kind);
                    txn.retry(request);
                    continue;
                }
            };
            if broker.is_some_and(|b| !self.can_send_to(b)) {
                // Kafka's `awaitNodeReady`: the sender waits for room on the coordinator's connection.
                self.txn_mut().push_front(request);
                return true;
            }
            if request.retry {
                let backoff_ms = if request.short_backoff {
                    ADD_PARTITIONS_RETRY_BACKOFF_MS.min(self.config.retry_backoff_ms)
                } else {
                    self.config.retry_backoff_ms
                };
                let wake_ms = *request.wake_ms.get_or_insert(now_ms + backoff_ms);
                if wake_ms > now_ms {
                    let txn = self.txn_mut();
                    txn.wake_ms = Some(wake_ms);
                    txn.push_front(request);
                    return true;
                }
            }
            self.send_txn_request(now_ms, broker, request);
            return true;
        }
        false
    }

    /// Kafka's `TransactionManager.nextRequest`: the request to send now, if any.
    fn next_txn_request(&mut self) -> Option<TxnRequest> {
        let incomplete = self.pending > 0;
        self.txn_mut().queue_new_partitions();
        loop {
            let txn = self.txn_mut();
            let head = txn.head()?;
            // Kafka flushes before it ends a transaction: EndTxn waits for every record sent in it.
            if matches!(head.kind, TxnRequestKind::EndTxn { .. }) && incomplete {
                return None;
            }
            let request = txn.pop().expect("a head to pop");
            let find_while_abortable = txn.state() == TransactionState::AbortableError
                && request.kind.is_find_coordinator();
            if txn.has_error() && !find_while_abortable {
                // Kafka's `maybeTerminateRequestWithError`.
                if request.completes_call {
                    let error = txn.last_error.expect("an error state keeps its error");
                    self.fail_call(error);
                }
                continue;
            }
            if matches!(request.kind, TxnRequestKind::EndTxn { .. }) && !txn.transaction_started {
                // Nothing was added: the coordinator has no transaction to end.
                self.transaction_completed(&request);
                continue;
            }
            return Some(request);
        }
    }

    fn send_txn_request(&mut self, now_ms: u64, broker: Option<BrokerId>, request: TxnRequest) {
        let message = self.txn_message(&request.kind);
        let pending = Pending::Txn(request);
        match broker {
            None => self.send_to_any_broker(now_ms, pending, message),
            Some(broker) => {
                let deadline_ms = now_ms + self.config.request_timeout_ms;
                let correlation_id = self.requests.register(broker, deadline_ms, pending);
                self.push_send(broker, correlation_id, message);
            }
        }
    }

    fn txn_message(&self, kind: &TxnRequestKind) -> Message {
        let txn = self.txn();
        let transactional_id = txn.transactional_id.clone();
        let (producer_id, producer_epoch) = self
            .idempotence
            .producer()
            .unwrap_or((NO_PRODUCER_ID, NO_PRODUCER_EPOCH));
        match kind {
            TxnRequestKind::FindCoordinator => {
                Message::FindCoordinatorRequest(FindCoordinatorRequest {
                    key: transactional_id,
                    key_type: CoordinatorType::Transaction,
                })
            }
            TxnRequestKind::FindGroupCoordinator { group_id } => {
                Message::FindCoordinatorRequest(FindCoordinatorRequest {
                    key: group_id.clone(),
                    key_type: CoordinatorType::Group,
                })
            }
            TxnRequestKind::InitProducerId | TxnRequestKind::EpochBump => {
                let bump = *kind == TxnRequestKind::EpochBump;
                Message::InitProducerIdRequest(InitProducerIdRequest {
                    transactional_id: Some(transactional_id),
                    transaction_timeout_ms: txn.transaction_timeout_ms,
                    producer_id: if bump { producer_id } else { NO_PRODUCER_ID },
                    producer_epoch: if bump {
                        producer_epoch
                    } else {
                        NO_PRODUCER_EPOCH
                    },
                })
            }
            TxnRequestKind::AddPartitionsToTxn(partitions) => {
                Message::AddPartitionsToTxnRequest(AddPartitionsToTxnRequest {
                    transactional_id,
                    producer_id,
                    producer_epoch,
                    partitions: partitions.clone(),
                })
            }
            TxnRequestKind::AddOffsetsToTxn(o) => {
                Message::AddOffsetsToTxnRequest(AddOffsetsToTxnRequest {
                    transactional_id,
                    producer_id,
                    producer_epoch,
                    group_id: o.group.group_id.clone(),
                })
            }
            TxnRequestKind::TxnOffsetCommit(o) => {
                Message::TxnOffsetCommitRequest(TxnOffsetCommitRequest {
                    transactional_id,
                    group_id: o.group.group_id.clone(),
                    producer_id,
                    producer_epoch,
                    generation_id: o.group.generation_id,
                    member_id: o.group.member_id.clone(),
                    group_instance_id: o.group.group_instance_id.clone(),
                    offsets: o.offsets.iter().map(|(tp, o)| (tp.clone(), *o)).collect(),
                })
            }
            TxnRequestKind::EndTxn { committed } => Message::EndTxnRequest(EndTxnRequest {
                transactional_id,
                producer_id,
                producer_epoch,
                committed: *committed,
            }),
        }
    }

    /// Kafka's `TxnRequestHandler.onComplete` with an answer.
    pub(super) fn handle_txn_response(&mut self, request: TxnRequest, message: Message) {
        if self.is_fatal() {
            // Nothing more happens to a producer that failed for good.
            return;
        }
        match (&request.kind, message) {
            (
                TxnRequestKind::FindCoordinator | TxnRequestKind::FindGroupCoordinator { .. },
                Message::FindCoordinatorResponse(r),
            ) => self.handle_find_coordinator_response(request, &r),
            (
                TxnRequestKind::InitProducerId | TxnRequestKind::EpochBump,
                Message::InitProducerIdResponse(r),
            ) => {
                if r.error == ErrorCode::NONE {
                    // A new epoch: every partition numbers from 0 again. A bump that ends an abort whose EndTxn
                    // failed (the coordinator lost the producer id) ends the transaction too: the coordinator
                    // aborts whatever was open for this transactional id when it hands out the epoch.
                    self.idempotence.reset(r.producer_id, r.producer_epoch);
                    let txn = self.txn_mut();
                    txn.forget_transaction();
                    txn.transition(TransactionState::Ready);
                    if request.completes_call {
                        self.complete_call(&request.kind);
                    }
                } else {
                    match reaction(r.error) {
                        // InitProducerIdHandler expects neither: anything else is fatal.
                        Reaction::AbortableWithBump => self.fatal_error(r.error),
                        other => self.react(request, r.error, other),
                    }
                }
            }
            (TxnRequestKind::AddPartitionsToTxn(_), Message::AddPartitionsToTxnResponse(r)) => {
                self.handle_add_partitions_response(request, &r)
            }
            (TxnRequestKind::AddOffsetsToTxn(offsets), Message::AddOffsetsToTxnResponse(r)) => {
                if r.error == ErrorCode::NONE {
                    // The call ends with the TxnOffsetCommit that now follows, not here.
                    let txn = self.txn_mut();
                    txn.transaction_started = true;
                    let kind = TxnRequestKind::TxnOffsetCommit(offsets.clone());
                    txn.enqueue(TxnRequest::new(kind, request.completes_call));
                } else {
                    self.react(request, r.error, reaction(r.error));
                }
            }
            (TxnRequestKind::TxnOffsetCommit(_), Message::TxnOffsetCommitResponse(r)) => {
                self.handle_txn_offset_commit_response(request, &r)
            }
            (TxnRequestKind::EndTxn { .. }, Message::EndTxnResponse(r)) => {
                if r.error == ErrorCode::NONE {
                    self.transaction_completed(&request);
                } else {
                    self.react(request, r.error, reaction(r.error));
                }
            }
            // An answer of the wrong kind tells nothing: as a lost connection.
            _ => self.txn_request_failed(request),
        }
    }

    /// Kafka's `FindCoordinatorHandler.handleResponse`: the transaction's or the group's coordinator is known;
    /// COORDINATOR_NOT_AVAILABLE (the key's partition has no leader yet) is retried, anything else is fatal.
    fn handle_find_coordinator_response(
        &mut self,
        request: TxnRequest,
        response: &FindCoordinatorResponse,
    ) {
        match response.error {
            ErrorCode::NONE => {
                let txn = self.txn_mut();
                match request.kind {
                    TxnRequestKind::FindGroupCoordinator { .. } => {
                        txn.group_coordinator = Some(response.node_id)
                    }
                    _ => txn.coordinator = Some(response.node_id),
                }
            }
            ErrorCode::COORDINATOR_NOT_AVAILABLE => self.txn_mut().retry(request),
            error => self.fatal_error(error),
        }
    }

    /// Kafka's `TxnOffsetCommitHandler.handleResponse`: accepted partitions are done; NOT_COORDINATOR,
    /// COORDINATOR_NOT_AVAILABLE or REQUEST_TIMED_OUT find the group coordinator again, UNKNOWN_TOPIC_OR_PARTITION
    /// and COORDINATOR_LOAD_IN_PROGRESS just retry, both for those partitions only; the group no longer knowing
    /// the member or its generation (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID: Kafka's
    /// `CommitFailedException`) makes the transaction abortable; a fenced producer epoch, or anything else, is
    /// fatal.
    fn handle_txn_offset_commit_response(
        &mut self,
        request: TxnRequest,
        response: &TxnOffsetCommitResponse,
    ) {
        let TxnRequestKind::TxnOffsetCommit(sent) = &request.kind else {
            unreachable!("a TxnOffsetCommit answer for {:?}", request.kind);
        };
        let mut left = sent.clone();
        let mut coordinator_reloaded = false;
        for (tp, error) in &response.results {
            match *error {
                ErrorCode::NONE => {
                    left.offsets.remove(tp);
                }
                ErrorCode::COORDINATOR_NOT_AVAILABLE
                | ErrorCode::NOT_COORDINATOR
                | ErrorCode::REQUEST_TIMED_OUT => {
                    if !coordinator_reloaded {
                        coordinator_reloaded = true;
                        self.txn_mut()
                            .lookup_group_coordinator(&sent.group.group_id);
                    }
                }
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION | ErrorCode::COORDINATOR_LOAD_IN_PROGRESS => {
                }
                error @ (ErrorCode::FENCED_INSTANCE_ID
                | ErrorCode::UNKNOWN_MEMBER_ID
                | ErrorCode::ILLEGAL_GENERATION) => {
                    self.abortable_error(error);
                    if request.completes_call {
                        self.fail_call(error);
                    }
                    return;
                }
                // INVALID_PRODUCER_EPOCH and PRODUCER_FENCED, and whatever Kafka's handler does not expect.
                error => {
                    self.fatal_error(error);
                    return;
                }
            }
        }
        if left.offsets.is_empty() {
            if request.completes_call {
                self.complete_call(&request.kind);
            }
        } else {
            self.txn_mut().retry(TxnRequest {
                kind: TxnRequestKind::TxnOffsetCommit(left),
                ..request
            });
        }
    }

    /// Kafka's `AddPartitionsToTxnHandler.handleResponse`: the first partition error that calls for a retry or a
    /// failure decides; other errors leave the transaction abortable.
    fn handle_add_partitions_response(
        &mut self,
        request: TxnRequest,
        response: &AddPartitionsToTxnResponse,
    ) {
        let TxnRequestKind::AddPartitionsToTxn(partitions) = &request.kind else {
            unreachable!("an AddPartitionsToTxn answer for {:?}", request.kind);
        };
        let answers: BTreeMap<&TopicPartition, ErrorCode> =
            response.results.iter().map(|(tp, e)| (tp, *e)).collect();
        if partitions.iter().any(|tp| !answers.contains_key(tp)) {
            // A coordinator that leaves a partition unanswered gave no outcome.
            self.txn_request_failed(request);
            return;
        }
        let mut partition_error = None;
        for tp in partitions {
            let error = answers[tp];
            match error {
                ErrorCode::NONE => {}
                ErrorCode::CONCURRENT_TRANSACTIONS => {
                    let txn = self.txn_mut();
                    let mut request = request;
                    request.short_backoff = txn.nothing_added_yet();
                    txn.retry(request);
                    return;
                }
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION => {
                    self.txn_mut().retry(request);
                    return;
                }
                ErrorCode::NOT_COORDINATOR
                | ErrorCode::COORDINATOR_NOT_AVAILABLE
                | ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
                | ErrorCode::INVALID_PRODUCER_EPOCH
                | ErrorCode::PRODUCER_FENCED
                | ErrorCode::INVALID_TXN_STATE
                | ErrorCode::UNKNOWN_PRODUCER_ID
                | ErrorCode::INVALID_PRODUCER_ID_MAPPING => {
                    self.react(request, error, reaction(error));
                    return;
                }
                other => partition_error = partition_error.or(Some(other)),
            }
        }
        let partitions = partitions.clone();
        self.txn_mut()
            .partitions_answered(&partitions, partition_error.is_none());
        if let Some(error) = partition_error {
            self.abortable_error(error);
        }
    }

    fn react(&mut self, request: TxnRequest, error: ErrorCode, reaction: Reaction) {
        // A retried EndTxn may have been carried out already: a coordinator that appended PrepareCommit and then
        // lost leadership answers NOT_COORDINATOR, and its successor finishes the commit from the log.
        if matches!(
            reaction,
            Reaction::FindCoordinatorAndRetry | Reaction::Retry
        ) && matches!(request.kind, TxnRequestKind::EndTxn { .. })
        {
            self.txn_mut().end_txn_unanswered = true;
        }
        match reaction {
            Reaction::FindCoordinatorAndRetry => {
                let txn = self.txn_mut();
                txn.lookup_coordinator();
                txn.retry(request);
            }
            Reaction::Retry => self.txn_mut().retry(request),
            Reaction::AbortableWithBump => self.abortable_error_with_bump(&request, error),
            Reaction::Fatal(error) => self.fatal_error(error),
        }
    }

    /// The request got no usable answer (a lost connection, a request timeout): look for the coordinator again
    /// and retry. An EndTxn may have been carried out all the same.
    pub(super) fn txn_request_failed(&mut self, request: TxnRequest) {
        if self.is_fatal() {
            return;
        }
        let txn = self.txn_mut();
        txn.lookup_coordinator_for(&request.kind);
        if matches!(request.kind, TxnRequestKind::EndTxn { .. }) {
            txn.end_txn_unanswered = true;
        }
        txn.retry(request);
    }

    /// Kafka's `completeTransaction` after EndTxn (or without it, when nothing was added): the call ends, unless
    /// an epoch bump must follow; then the bump ends it.
    fn transaction_completed(&mut self, request: &TxnRequest) {
        let txn = self.txn_mut();
        let bump = txn.epoch_bump_required;
        let bump_queued = txn.is_queued(|k| *k == TxnRequestKind::EpochBump);
        txn.complete_transaction();
        if bump && !bump_queued {
            txn.enqueue(TxnRequest::new(
                TxnRequestKind::EpochBump,
                request.completes_call,
            ));
        } else if request.completes_call {
            self.complete_call(&request.kind);
        }
    }
}
