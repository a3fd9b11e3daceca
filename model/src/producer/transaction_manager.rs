//! Kafka's `TransactionManager` bookkeeping for a producer with a `transactional.id`: its state, its transaction
//! and group coordinators, the partitions of the open transaction, and the transactional requests waiting to go.
//!
//! The rules that need the rest of the producer (sending, answers, failing batches, events) live in
//! `transactions.rs` and `transactional_requests.rs`; this file only keeps the books.

use crate::consumer::ConsumerGroupMetadata;
use crate::error::ErrorCode;
use crate::ids::{BrokerId, Offset, TopicPartition};
use crate::protocol::CoordinatorType;
use std::collections::{BTreeMap, BTreeSet};

/// Kafka's `AddPartitionsToTxnHandler` retries CONCURRENT_TRANSACTIONS this soon when nothing is in the
/// transaction yet: the previous transaction is still being completed.
pub const ADD_PARTITIONS_RETRY_BACKOFF_MS: u64 = 20;

/// Kafka's `TransactionManager.State`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionState {
    /// Before `init_transactions`.
    Uninitialized,
    /// InitProducerId asked: the first, or the epoch bump that ends an abort.
    Initializing,
    /// No transaction open: `begin_transaction` may start one.
    Ready,
    InTransaction,
    CommittingTransaction,
    AbortingTransaction,
    /// Something in the transaction failed: it can only be aborted.
    AbortableError,
    /// Fenced, or an error Kafka does not recover from: the producer sends nothing more.
    FatalError,
}

impl TransactionState {
    /// Kafka's `State.isTransitionValid`; any state may become FatalError.
    fn may_become(self, target: TransactionState) -> bool {
        use TransactionState::*;
        match target {
            Uninitialized => false,
            Initializing => matches!(self, Uninitialized | AbortingTransaction),
            Ready => matches!(
                self,
                Initializing | CommittingTransaction | AbortingTransaction
            ),
            InTransaction => self == Ready,
            CommittingTransaction => self == InTransaction,
            AbortingTransaction => matches!(self, InTransaction | AbortableError),
            AbortableError => {
                matches!(self, InTransaction | CommittingTransaction | AbortableError)
            }
            FatalError => true,
        }
    }
}

/// A transactional call the application waits on; each ends in one event, its success or
/// [`super::ProducerEvent::TransactionFailed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionOperation {
    InitTransactions,
    SendOffsetsToTransaction,
    CommitTransaction,
    AbortTransaction,
}

/// What a transactional request asks. The order is Kafka's `Priority`: the lowest waiting goes first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnRequestKind {
    /// FindCoordinator for the transactional id.
    FindCoordinator,
    /// FindCoordinator for a group, whose coordinator takes the transaction's offsets.
    FindGroupCoordinator {
        group_id: String,
    },
    /// The first InitProducerId, with no producer id.
    InitProducerId,
    AddPartitionsToTxn(Vec<TopicPartition>),
    /// The first half of `sendOffsetsToTransaction`, carrying what the second half (TxnOffsetCommit) sends.
    AddOffsetsToTxn(TxnOffsets),
    /// The offsets still to commit into the transaction at the group coordinator (Kafka's
    /// `pendingTxnOffsetCommits`: a retry sends only those not yet accepted).
    TxnOffsetCommit(TxnOffsets),
    EndTxn {
        committed: bool,
    },
    /// InitProducerId with the current producer id and epoch, after EndTxn of an abort (KIP-360).
    EpochBump,
}

/// The offsets `sendOffsetsToTransaction` commits into the transaction, and the consumer they are from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnOffsets {
    pub group: ConsumerGroupMetadata,
    pub offsets: BTreeMap<TopicPartition, Offset>,
}

impl TxnRequestKind {
    fn priority(&self) -> u8 {
        match self {
            TxnRequestKind::FindCoordinator | TxnRequestKind::FindGroupCoordinator { .. } => 0,
            TxnRequestKind::InitProducerId => 1,
            TxnRequestKind::AddPartitionsToTxn(_)
            | TxnRequestKind::AddOffsetsToTxn(_)
            | TxnRequestKind::TxnOffsetCommit(_) => 2,
            TxnRequestKind::EndTxn { .. } => 3,
            TxnRequestKind::EpochBump => 4,
        }
    }

    /// Which coordinator the request goes to: the group's for TxnOffsetCommit, the transaction's for the rest
    /// but FindCoordinator, which goes to any broker.
    pub fn coordinator_type(&self) -> Option<CoordinatorType> {
        match self {
            TxnRequestKind::FindCoordinator | TxnRequestKind::FindGroupCoordinator { .. } => None,
            TxnRequestKind::TxnOffsetCommit(_) => Some(CoordinatorType::Group),
            _ => Some(CoordinatorType::Transaction),
        }
    }

    pub fn is_find_coordinator(&self) -> bool {
        self.coordinator_type().is_none()
    }
}

/// Kafka's `TxnRequestHandler`: one request, waiting, in flight, or failed and waiting to go again.
#[derive(Clone, Debug)]
pub struct TxnRequest {
    pub kind: TxnRequestKind,
    /// Its answer ends the call the application waits on (Kafka's `pendingResult`).
    pub completes_call: bool,
    /// It went before and failed: Kafka's sender sleeps a backoff before sending it again.
    pub retry: bool,
    /// Retry after [`ADD_PARTITIONS_RETRY_BACKOFF_MS`] rather than `retry.backoff.ms`.
    pub short_backoff: bool,
    /// When the sleep before the retry ends, once it began (it begins when the request is next to go).
    pub wake_ms: Option<u64>,
}

impl TxnRequest {
    pub fn new(kind: TxnRequestKind, completes_call: bool) -> Self {
        TxnRequest {
            kind,
            completes_call,
            retry: false,
            short_backoff: false,
            wake_ms: None,
        }
    }
}

#[derive(Debug)]
pub struct Transactions {
    pub transactional_id: String,
    pub transaction_timeout_ms: u64,
    state: TransactionState,
    /// The error that put the producer in AbortableError or FatalError (Kafka's `lastError`).
    pub last_error: Option<ErrorCode>,
    pub coordinator: Option<BrokerId>,
    /// The group coordinator TxnOffsetCommit goes to (Kafka's `consumerGroupCoordinator`: one, whichever group
    /// it was found for; a TxnOffsetCommit for another group is answered NOT_COORDINATOR and finds its own).
    pub group_coordinator: Option<BrokerId>,
    /// Requests waiting to go, in the order they were queued.
    queue: Vec<TxnRequest>,
    /// Partitions written in this transaction and not yet in an AddPartitionsToTxn.
    new_partitions: BTreeSet<TopicPartition>,
    /// In an AddPartitionsToTxn not yet answered.
    pending_partitions: BTreeSet<TopicPartition>,
    /// Added to the transaction: their batches may go.
    partitions: BTreeSet<TopicPartition>,
    /// Something was added to the transaction, so ending it needs an EndTxn.
    pub transaction_started: bool,
    /// The transaction must end with an epoch bump (Kafka's `epochBumpRequired`).
    pub epoch_bump_required: bool,
    /// The call the application waits on.
    pub awaited: Option<TransactionOperation>,
    /// An EndTxn of the transaction being ended went unanswered, or was answered with a retriable error: the
    /// coordinator may have acted on it.
    pub end_txn_unanswered: bool,
    /// The last sender pass left produce requests waiting for a transactional request (Kafka's sender sends no
    /// produce while one is in flight, or while it sleeps before a retry or waits for the coordinator).
    pub blocks_produce: bool,
    /// When that sleep ends.
    pub wake_ms: Option<u64>,
}

impl Transactions {
    pub fn new(transactional_id: String, transaction_timeout_ms: u64) -> Self {
        Transactions {
            transactional_id,
            transaction_timeout_ms,
            state: TransactionState::Uninitialized,
            last_error: None,
            coordinator: None,
            group_coordinator: None,
            queue: Vec::new(),
            new_partitions: BTreeSet::new(),
            pending_partitions: BTreeSet::new(),
            partitions: BTreeSet::new(),
            transaction_started: false,
            epoch_bump_required: false,
            awaited: None,
            end_txn_unanswered: false,
            blocks_produce: false,
            wake_ms: None,
        }
    }

    pub fn state(&self) -> TransactionState {
        self.state
    }

    /// Moves to `target`, which must be a transition Kafka allows: anything else is a bug in this model.
    pub fn transition(&mut self, target: TransactionState) {
        assert!(
            self.state.may_become(target),
            "transactional id {}: invalid transition from {:?} to {:?}",
            self.transactional_id,
            self.state,
            target
        );
        self.state = target;
        if !matches!(
            target,
            TransactionState::AbortableError | TransactionState::FatalError
        ) {
            self.last_error = None;
        }
    }

    pub fn may_become(&self, target: TransactionState) -> bool {
        self.state.may_become(target)
    }

    pub fn has_error(&self) -> bool {
        matches!(
            self.state,
            TransactionState::AbortableError | TransactionState::FatalError
        )
    }

    /// Kafka's `maybeAddPartition`: a partition the transaction writes for the first time is to be added.
    pub fn maybe_add_partition(&mut self, tp: &TopicPartition) {
        if !self.partitions.contains(tp) && !self.pending_partitions.contains(tp) {
            self.new_partitions.insert(tp.clone());
        }
    }

    /// Kafka's `isSendToPartitionAllowed`: a batch goes only to a partition already in the transaction.
    pub fn is_send_to_partition_allowed(&self, tp: &TopicPartition) -> bool {
        self.state != TransactionState::FatalError && self.partitions.contains(tp)
    }

    pub fn nothing_added_yet(&self) -> bool {
        self.partitions.is_empty()
    }

    /// Kafka's `addPartitionsToTransactionHandler`: the new partitions join those waiting for an answer, and one
    /// request asks for all of them.
    pub fn queue_new_partitions(&mut self) {
        if self.new_partitions.is_empty() {
            return;
        }
        self.pending_partitions
            .append(&mut std::mem::take(&mut self.new_partitions));
        let partitions = self.pending_partitions.iter().cloned().collect();
        self.enqueue(TxnRequest::new(
            TxnRequestKind::AddPartitionsToTxn(partitions),
            false,
        ));
    }

    /// Kafka's `beginAbort`: partitions not yet asked for need not be.
    pub fn forget_new_partitions(&mut self) {
        self.new_partitions.clear();
    }

    /// An AddPartitionsToTxn was answered: its partitions are no longer pending, and joined if `added`.
    pub fn partitions_answered(&mut self, partitions: &[TopicPartition], added: bool) {
        for tp in partitions {
            self.pending_partitions.remove(tp);
        }
        if added {
            self.partitions.extend(partitions.iter().cloned());
            self.transaction_started = true;
        }
    }

    pub fn enqueue(&mut self, request: TxnRequest) {
        self.queue.push(request);
    }

    /// Kafka's `reenqueue`: back in the queue, to go after a sleep.
    pub fn retry(&mut self, mut request: TxnRequest) {
        request.retry = true;
        request.wake_ms = None;
        self.queue.push(request);
    }

    /// Puts a request taken with [`Transactions::pop`] back where it was, ahead of its equals.
    pub fn push_front(&mut self, request: TxnRequest) {
        self.queue.insert(0, request);
    }

    /// Kafka's `lookupCoordinator`: forget the coordinator and ask which broker it is.
    pub fn lookup_coordinator(&mut self) {
        self.coordinator = None;
        if !self.is_queued(|k| *k == TxnRequestKind::FindCoordinator) {
            self.enqueue(TxnRequest::new(TxnRequestKind::FindCoordinator, false));
        }
    }

    /// Kafka's `lookupCoordinator(GROUP, group_id)`.
    pub fn lookup_group_coordinator(&mut self, group_id: &str) {
        self.group_coordinator = None;
        let kind = TxnRequestKind::FindGroupCoordinator {
            group_id: group_id.to_string(),
        };
        if !self.is_queued(|k| *k == kind) {
            self.enqueue(TxnRequest::new(kind, false));
        }
    }

    /// Looks up the coordinator a request of `kind` goes to.
    pub fn lookup_coordinator_for(&mut self, kind: &TxnRequestKind) {
        match kind {
            TxnRequestKind::TxnOffsetCommit(o) => self.lookup_group_coordinator(&o.group.group_id),
            k if k.is_find_coordinator() => {}
            _ => self.lookup_coordinator(),
        }
    }

    /// The coordinator a request of `kind` goes to, if known.
    pub fn coordinator_for(&self, kind: &TxnRequestKind) -> Option<BrokerId> {
        match kind.coordinator_type()? {
            CoordinatorType::Group => self.group_coordinator,
            CoordinatorType::Transaction => self.coordinator,
        }
    }

    pub fn is_queued(&self, is: impl Fn(&TxnRequestKind) -> bool) -> bool {
        self.queue.iter().any(|r| is(&r.kind))
    }

    fn head_index(&self) -> Option<usize> {
        (0..self.queue.len()).min_by_key(|&i| self.queue[i].kind.priority())
    }

    /// The request that goes next.
    pub fn head(&self) -> Option<&TxnRequest> {
        self.head_index().map(|i| &self.queue[i])
    }

    pub fn pop(&mut self) -> Option<TxnRequest> {
        self.head_index().map(|i| self.queue.remove(i))
    }

    /// Drops every waiting request (a fatal error: nothing goes any more).
    pub fn clear_queue(&mut self) {
        self.queue.clear();
    }

    /// A queued EndTxn gives up ending the call: an epoch bump queued after it will.
    pub fn take_call_from_end_txn(&mut self) -> bool {
        let mut taken = false;
        for request in &mut self.queue {
            if matches!(request.kind, TxnRequestKind::EndTxn { .. }) {
                taken |= std::mem::take(&mut request.completes_call);
            }
        }
        taken
    }

    /// Kafka's `completeTransaction`: the transaction is over; an epoch bump may still have to follow.
    pub fn complete_transaction(&mut self) {
        let target = if self.epoch_bump_required {
            TransactionState::Initializing
        } else {
            TransactionState::Ready
        };
        self.transition(target);
        self.forget_transaction();
    }

    /// Nothing of the transaction that ended is kept: the next one adds its partitions again.
    pub fn forget_transaction(&mut self) {
        self.epoch_bump_required = false;
        self.transaction_started = false;
        self.new_partitions.clear();
        self.pending_partitions.clear();
        self.partitions.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_go_by_kafkas_priority_then_in_queue_order() {
        let mut t = Transactions::new("tx".into(), 60_000);
        t.enqueue(TxnRequest::new(TxnRequestKind::EpochBump, true));
        t.enqueue(TxnRequest::new(
            TxnRequestKind::EndTxn { committed: false },
            false,
        ));
        t.maybe_add_partition(&TopicPartition::new("t", 1));
        t.queue_new_partitions();
        t.lookup_coordinator();
        t.lookup_coordinator();
        let order: Vec<u8> = std::iter::from_fn(|| t.pop())
            .map(|r| r.kind.priority())
            .collect();
        assert_eq!(
            order,
            vec![0, 2, 3, 4],
            "one FindCoordinator, then by priority"
        );
    }

    #[test]
    fn a_partition_is_asked_for_once_per_transaction() {
        let tp = TopicPartition::new("t", 0);
        let mut t = Transactions::new("tx".into(), 60_000);
        t.maybe_add_partition(&tp);
        t.queue_new_partitions();
        t.maybe_add_partition(&tp);
        assert!(t.new_partitions.is_empty(), "pending");
        t.partitions_answered(std::slice::from_ref(&tp), true);
        t.maybe_add_partition(&tp);
        assert!(t.new_partitions.is_empty(), "added");
        assert!(t.transaction_started);
        t.state = TransactionState::AbortingTransaction;
        t.complete_transaction();
        assert_eq!(t.state(), TransactionState::Ready);
        t.maybe_add_partition(&tp);
        assert_eq!(t.new_partitions.len(), 1, "a new transaction adds it again");
    }
}
