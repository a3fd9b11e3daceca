//! Kafka's producer client as a pure state machine: partitioner, accumulator, sender, the idempotent producer's
//! sequence bookkeeping (`enable.idempotence`, on by default as in Kafka), and, with a `transactional.id`,
//! Kafka's `TransactionManager`: transactions as Kafka 3.x clients run them against a transactions-v1 coordinator
//! (before KIP-890: the client adds partitions itself and bumps its epoch with InitProducerId, KIP-360).
//!
//! It follows `KafkaProducer`, `RecordAccumulator`, `Sender` and `NetworkClient`: a send is partitioned and
//! appended to a batch; batches go to partition leaders, one Produce per broker carrying at most one batch per
//! partition, at most `max.in.flight.requests.per.connection` requests per broker; retriable errors put a batch
//! back at the head of its queue after `retry.backoff.ms`, so with more than one request in flight retries may
//! reorder and duplicate records, as Kafka does without idempotence.
//!
//! Choices where this model departs from, or narrows, Kafka's client:
//! - `send` never blocks: a record whose topic (or explicit partition) is not in metadata yet is held until it
//!   is, and fails with DELIVERY_TIMEOUT (`tp` None, not written) after Kafka's default `max.block.ms`
//!   ([`MAX_BLOCK_MS`]), which is what a blocked `KafkaProducer.send` throws.
//! - A client-side request timeout fails what was in flight on the connection with REQUEST_TIMED_OUT, as Kafka's
//!   `Sender` does for a `ClientResponse` that `wasTimedOut()`; a broken connection fails it with
//!   NETWORK_EXCEPTION. Both leave the records maybe written.
//! - There is no connection state: no `reconnect.backoff.ms`, and a request to a broker that cannot be reached
//!   fails through `on_disconnect`, which counts as an attempt that may have written (conservative for checkers).
//! - Metadata goes round-robin over the bootstrap brokers, preferring reachable ones below their in-flight limit,
//!   where Kafka's `leastLoadedNode` picks among all known brokers starting at a random one. Only when every
//!   bootstrap broker is at its limit does a metadata request go over it.
//! - A batch past `delivery.timeout.ms` fails wherever it is in its queue (Kafka looks at queue heads only), and an
//!   in-flight batch that expires unmutes its partition at once rather than when its request is answered.
//! - The adaptive partitioner weighs queue lengths when it switches, not on every sender pass; and
//!   `partitioner.availability.timeout.ms` (off by default) is not modelled. Neither are KIP-951 (leader hints in
//!   produce responses), `max.request.size`, `buffer.memory`, or KIP-580's exponential retry backoff.
//!
//! Transactions (`transactions.rs`, `transactional_requests.rs`), where they depart from or narrow Kafka's client:
//! - Calls do not block: each returns at once and ends in one event, its success or `TransactionFailed` naming
//!   it. They have no `max.block.ms`: a commit whose coordinator never answers waits as long as Kafka's request
//!   does in the background. Calls Kafka rejects with `IllegalStateException` panic.
//! - An abortable or fatal error that comes while no call waits is reported at once (`TransactionFailed` without
//!   an operation), where Kafka tells the application at its next call.
//! - A send that fails for good always makes the abort end with an epoch bump, also when it failed during commit
//!   or abort, where Kafka instead shifts the sequences after the failed batch down
//!   (`adjustSequencesDueToFailedBatch`). Until the bump, OUT_OF_ORDER_SEQUENCE_NUMBER in a partition where a
//!   batch failed fails the batch at once, where Kafka's shifted batch fails one round trip later.
//! - INVALID_PRODUCER_EPOCH from a partition leader leaves the transaction abortable (KIP-588), as in Kafka; the
//!   abort's EndTxn then tells a fenced producer it is fenced.
//! - UNKNOWN_PRODUCER_ID or INVALID_PRODUCER_ID_MAPPING on the EndTxn of an abort lets the abort go on and end
//!   with the epoch bump, where Kafka's client is left with a failed abort it cannot repeat. Every abort of a
//!   transaction that added something sends EndTxn (Kafka's check to skip it after INVALID_PRODUCER_ID_MAPPING
//!   reads an error its own state change has cleared).
//! - Records aborted before they were sent fail with [`TRANSACTION_ABORTED`] (INVALID_TXN_STATE), standing for
//!   Kafka's client-side `TransactionAbortedException`, or with the error that made the transaction abortable.
//! - The wait for room on the coordinator's connection has no timeout (Kafka's `awaitNodeReady` gives up after
//!   `request.timeout.ms` and looks the coordinator up again); answers to transactional requests after a fatal
//!   error are ignored, and a fatal producer sends no metadata requests either.
//! - `send_offsets_to_transaction` takes the offsets as plain offsets, without metadata strings or leader epochs.
//!   Like Kafka's one `consumerGroupCoordinator`, one group coordinator is remembered whichever group it was found
//!   for, and NOT_COORDINATOR finds it again.

mod accumulator;
#[cfg(test)]
mod fake_cluster;
mod idempotence;
mod init_producer_id;
mod metadata;
pub mod partitioner;
#[cfg(test)]
mod properties;
mod requests;
mod sender;
#[cfg(test)]
mod tests;
mod transaction_manager;
#[cfg(test)]
mod transaction_properties;
mod transactional_requests;
mod transactions;

use crate::config::ProducerConfig;
use crate::error::ErrorCode;
use crate::ids::{BrokerId, NodeId, Offset, TopicPartition};
use crate::output::Output;
use crate::protocol::Message;
use crate::record::Record;
use accumulator::{record_size, Accumulator};
use idempotence::Idempotence;
use metadata::Metadata;
use partitioner::{partition_for_key, Candidates, SplitMix64, StickyPartitioner};
use requests::{InFlightRequests, Pending};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use transaction_manager::Transactions;
pub use transaction_manager::{TransactionOperation, TransactionState};

/// Kafka's default `max.block.ms`: how long a send may wait for its topic's metadata.
pub const MAX_BLOCK_MS: u64 = 60_000;

/// The error records fail with when their transaction is aborted before they were sent (Kafka's client-side
/// `TransactionAbortedException`, which has no wire code): INVALID_TXN_STATE, as the transaction they belong to is
/// no longer open. They were not written.
pub const TRANSACTION_ABORTED: ErrorCode = ErrorCode::INVALID_TXN_STATE;

/// What the application learns, drained with [`Producer::drain_events`] in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProducerEvent {
    /// A send finished; `tp` is None when it ended before the partitioner placed it.
    Completed {
        value: u64,
        tp: Option<TopicPartition>,
        result: SendResult,
    },
    /// `init_transactions` ended: the coordinator gave this id and epoch; the producer is ready.
    TransactionsInitialized {
        producer_id: i64,
        producer_epoch: i16,
    },
    /// `send_offsets_to_transaction` ended: the group's offsets partition is in the transaction and its group
    /// coordinator took every offset into it. They are committed for the group when the transaction commits
    /// ([`ProducerEvent::TransactionCommitted`]) and dropped if it aborts.
    OffsetsSentToTransaction { group_id: String },
    /// `commit_transaction` ended: the coordinator committed the transaction.
    TransactionCommitted,
    /// `abort_transaction` ended: the transaction is aborted (and the epoch bumped if it had to be).
    TransactionAborted,
    /// A transactional call failed (`operation`), or, with no call waiting, the transaction failed: a send failed
    /// for good (the application must abort) or the producer was fenced.
    TransactionFailed {
        operation: Option<TransactionOperation>,
        error: ErrorCode,
        /// The producer is done (fenced, or an error Kafka does not recover from): every record not yet
        /// completed fails, nothing more is sent, and every later call fails with this error. Otherwise the
        /// transaction is abortable: abort it, then begin the next.
        fatal: bool,
        /// A commit only: an EndTxn(commit) went unanswered before the error, so the coordinator may have
        /// committed the transaction. Otherwise a failed commit did not commit.
        outcome_unknown: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendResult {
    /// Acknowledged at `offset`; -1 with acks=0, where the producer never learns it.
    Ok { offset: Offset },
    /// Given up; `maybe_written` when some attempt may have left the record in the log anyway.
    Failed {
        error: ErrorCode,
        maybe_written: bool,
    },
}

/// A record as the application sent it, before the partitioner placed it; held while its metadata is missing
/// (Kafka's `waitOnMetadata`).
#[derive(Clone, Debug)]
struct RecordToSend {
    topic: Arc<str>,
    key: Option<Arc<[u8]>>,
    value: u64,
    partition: Option<i32>,
    send_ms: u64,
}

pub struct Producer {
    client_id: u32,
    config: ProducerConfig,
    metadata: Metadata,
    accumulator: Accumulator,
    requests: InFlightRequests,
    /// Kafka's `BuiltInPartitioner`, one per topic.
    sticky: BTreeMap<Arc<str>, StickyPartitioner>,
    rng: SplitMix64,
    held: Vec<RecordToSend>,
    /// Partitions with a batch in flight while `max.in.flight.requests.per.connection` is 1 (Kafka's
    /// `guaranteeMessageOrder`): they send nothing more until it is answered.
    muted: BTreeSet<TopicPartition>,
    /// Producer id, epoch and sequences when `enable.idempotence` is on.
    idempotence: Idempotence,
    /// Records sent and not yet completed.
    pending: usize,
    /// With a `transactional.id`: Kafka's `TransactionManager` state.
    transactions: Option<Transactions>,
    events: Vec<ProducerEvent>,
    out: Vec<Output>,
}

impl Producer {
    pub fn new(
        client_id: u32,
        config: ProducerConfig,
        bootstrap: Vec<BrokerId>,
        partitioner_seed: u64,
    ) -> Producer {
        assert!(
            !config.enable_idempotence || config.acks == crate::config::Acks::All,
            "idempotence needs acks=all (scenario loading enforces Kafka's rule)"
        );
        assert!(
            config.transactional_id.is_none() || config.enable_idempotence,
            "transactions need enable.idempotence (and so acks=all)"
        );
        let transactions = config
            .transactional_id
            .clone()
            .map(|id| Transactions::new(id, config.transaction_timeout_ms));
        Producer {
            client_id,
            config,
            metadata: Metadata::new(bootstrap),
            accumulator: Accumulator::default(),
            requests: InFlightRequests::default(),
            sticky: BTreeMap::new(),
            rng: SplitMix64::new(partitioner_seed),
            held: Vec::new(),
            muted: BTreeSet::new(),
            idempotence: Idempotence::new(transactions.is_some()),
            pending: 0,
            transactions,
            events: Vec::new(),
            out: Vec::new(),
        }
    }

    pub fn client_id(&self) -> u32 {
        self.client_id
    }

    /// Queues one record; `value` identifies it in the events. Without metadata for its topic it is held, and
    /// metadata is asked for. A transactional producer sends only inside a transaction (else this panics, where
    /// Kafka throws); in an error state the record fails at once, unwritten.
    pub fn send(
        &mut self,
        now_ms: u64,
        topic: &str,
        key: Option<Arc<[u8]>>,
        value: u64,
        partition: Option<i32>,
    ) -> Vec<Output> {
        assert!(
            partition.is_none_or(|p| p >= 0),
            "negative partition {partition:?}"
        );
        self.pending += 1;
        if let Some(error) = self.refuse_send() {
            let result = SendResult::Failed {
                error,
                maybe_written: false,
            };
            self.complete(value, None, result);
            return self.step(now_ms);
        }
        self.metadata.add_topic(topic);
        let send = RecordToSend {
            topic: Arc::from(topic),
            key,
            value,
            partition,
            send_ms: now_ms,
        };
        if !self.try_append(now_ms, &send) {
            // The topic, or the partition asked for, is not known yet: ask, as `waitOnMetadata` does.
            self.metadata.request_update();
            self.held.push(send);
        }
        self.step(now_ms)
    }

    pub fn handle_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        message: Message,
    ) -> Vec<Output> {
        // An answer on a connection we gave up on, or to nothing we asked, is dropped as NetworkClient drops it.
        if let Some(request) = self.requests.take(from, correlation_id) {
            match (request.pending, message) {
                (Pending::Metadata, Message::MetadataResponse(response)) => {
                    self.metadata.update(now_ms, request.broker, &response);
                    self.release_held(now_ms);
                }
                (Pending::Produce(batches), Message::ProduceResponse(response)) => {
                    self.handle_produce_response(now_ms, batches, &response)
                }
                (Pending::InitProducerId, Message::InitProducerIdResponse(response)) => {
                    self.handle_init_producer_id_response(now_ms, response)
                }
                (Pending::Txn(request), message) => self.handle_txn_response(request, message),
                (pending, _) => self.fail_request(
                    now_ms,
                    request.broker,
                    pending,
                    ErrorCode::NETWORK_EXCEPTION,
                ),
            }
        }
        self.step(now_ms)
    }

    /// The connection to `peer` broke: everything in flight on it fails, and the leader may be gone.
    pub fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) -> Vec<Output> {
        if let NodeId::Broker(broker) = peer {
            self.fail_broker(now_ms, broker, ErrorCode::NETWORK_EXCEPTION);
        }
        self.step(now_ms)
    }

    pub fn on_timeout(&mut self, now_ms: u64) -> Vec<Output> {
        self.step(now_ms)
    }

    /// The next time something is due: a batch's linger or backoff, a request or delivery deadline, a metadata
    /// refresh, a held send's `max.block.ms`, or the retry of a transactional request.
    pub fn next_timeout(&self) -> Option<u64> {
        // A producer that failed for good sends nothing, and while a transactional request holds produce requests
        // back, its answer (or its deadline, or its retry) wakes the sender.
        let metadata = self.metadata_due_ms().filter(|_| !self.is_fatal());
        let produce_blocked = self.transactions.as_ref().is_some_and(|t| t.blocks_produce);
        let ready = self.next_ready_ms().filter(|_| !produce_blocked);
        let txn_retry = self.transactions.as_ref().and_then(|t| t.wake_ms);
        let delivery = self.config.delivery_timeout_ms;
        let waiting = self.accumulator.next_delivery_deadline_ms(delivery);
        let in_flight = self
            .requests
            .batches()
            .map(|b| b.delivery_deadline_ms(delivery))
            .min();
        let held = self.held.iter().map(|h| h.send_ms + MAX_BLOCK_MS).min();
        [
            self.init_producer_id_due_ms(),
            metadata,
            waiting,
            in_flight,
            held,
            self.requests.next_deadline_ms(),
            ready,
            txn_retry,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn drain_events(&mut self) -> Vec<ProducerEvent> {
        std::mem::take(&mut self.events)
    }

    /// Records sent and not yet completed.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Runs everything due at `now_ms`, then hands over what to send.
    fn step(&mut self, now_ms: u64) -> Vec<Output> {
        self.expire_requests(now_ms);
        self.expire_batches(now_ms);
        self.expire_held(now_ms);
        let mut produce = true;
        if self.transactions.is_some() {
            produce = !self.run_transactions(now_ms);
        } else if self.config.enable_idempotence {
            self.idempotence.maybe_bump();
            self.maybe_send_init_producer_id(now_ms);
        }
        if produce {
            self.send_produce_requests(now_ms);
        }
        if !self.is_fatal() {
            self.maybe_send_metadata(now_ms);
        }
        std::mem::take(&mut self.out)
    }

    /// Partitions the record and appends it, or says it must wait for metadata.
    fn try_append(&mut self, now_ms: u64, send: &RecordToSend) -> bool {
        let Some(count) = self.metadata.partition_count(&send.topic) else {
            return false;
        };
        let partition = match (send.partition, &send.key) {
            (Some(p), _) if p >= count => return false,
            (Some(p), _) => p,
            (None, Some(key)) => partition_for_key(key, count),
            (None, None) => self.sticky_partition(&send.topic, count),
        };
        let tp = TopicPartition::new(send.topic.clone(), partition);
        if let Some(txn) = &mut self.transactions {
            txn.maybe_add_partition(&tp);
        }
        let record = Record {
            key: send.key.clone(),
            value: send.value,
            timestamp_ms: now_ms,
            internal: None,
        };
        let size = record_size(&record);
        self.accumulator
            .append(&tp, record, now_ms, self.config.batch_size);
        if send.partition.is_none() && send.key.is_none() {
            self.after_sticky_append(&tp, size, count);
        }
        true
    }

    /// Kafka's `peekCurrentPartitionInfo`: the topic's sticky partition, chosen on first use.
    fn sticky_partition(&mut self, topic: &Arc<str>, count: i32) -> i32 {
        let current = self.sticky.get(topic).and_then(|s| s.current());
        if let Some(p) = current.filter(|p| *p < count) {
            return p;
        }
        let candidates = self.candidates(topic, count);
        let batch_size = self.config.batch_size;
        self.sticky
            .entry(topic.clone())
            .or_insert_with(|| StickyPartitioner::new(batch_size))
            .choose(&mut self.rng, &candidates)
    }

    /// Kafka's `updatePartitionInfo`: after about `batch.size` bytes, move to another partition.
    fn after_sticky_append(&mut self, tp: &TopicPartition, size: usize, count: i32) {
        let enable_switch = self
            .accumulator
            .all_batches_full(tp, self.config.batch_size);
        let sticky = self
            .sticky
            .get_mut(&tp.topic)
            .expect("chosen before append");
        if sticky.record_append(size, enable_switch) {
            let candidates = self.candidates(&tp.topic, count);
            let sticky = self
                .sticky
                .get_mut(&tp.topic)
                .expect("chosen before append");
            sticky.choose(&mut self.rng, &candidates);
        }
    }

    fn candidates(&self, topic: &str, count: i32) -> Candidates {
        let queues = self.accumulator.queue_sizes(topic);
        let queue_sizes = (queues.len() >= count as usize).then(|| {
            let with_leader = |(p, _): &(i32, usize)| {
                self.metadata
                    .leader(&TopicPartition::new(topic, *p))
                    .is_some()
            };
            queues.iter().copied().filter(with_leader).collect()
        });
        Candidates {
            num_partitions: count,
            available: self.metadata.available_partitions(topic),
            queue_sizes,
        }
    }

    /// Appends the held sends whose metadata arrived, in the order they were sent; the rest keep waiting, and
    /// keep asking for metadata as Kafka's `waitOnMetadata` does.
    fn release_held(&mut self, now_ms: u64) {
        let held = std::mem::take(&mut self.held);
        for send in held {
            if !self.try_append(now_ms, &send) {
                self.held.push(send);
            }
        }
        if !self.held.is_empty() {
            self.metadata.request_update();
        }
    }

    /// `max.block.ms` ran out for sends that never saw their metadata.
    fn expire_held(&mut self, now_ms: u64) {
        let (expired, kept): (Vec<RecordToSend>, Vec<RecordToSend>) =
            std::mem::take(&mut self.held)
                .into_iter()
                .partition(|h| h.send_ms + MAX_BLOCK_MS <= now_ms);
        self.held = kept;
        let any_expired = !expired.is_empty();
        for send in expired {
            let result = SendResult::Failed {
                error: ErrorCode::DELIVERY_TIMEOUT,
                maybe_written: false,
            };
            self.complete(send.value, None, result);
        }
        if any_expired {
            // Kafka's `doSend` hands the TimeoutException to `maybeTransitionToErrorState`.
            self.transaction_send_failed(ErrorCode::DELIVERY_TIMEOUT);
        }
    }

    fn complete(&mut self, value: u64, tp: Option<TopicPartition>, result: SendResult) {
        assert!(self.pending > 0, "completing {value} with nothing pending");
        self.pending -= 1;
        self.events
            .push(ProducerEvent::Completed { value, tp, result });
    }
}
