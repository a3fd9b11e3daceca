//! Kafka's `Sender` and the producer side of `NetworkClient`: drains ready batches into Produce requests,
//! handles answers, retries, timeouts and lost connections, and keeps metadata fresh.

use super::accumulator::{Batch, Timing};
use super::idempotence::ErrorVerdict;
use super::requests::Pending;
use super::{Producer, SendResult};
use crate::config::Acks;
use crate::error::ErrorCode;
use crate::ids::{BrokerId, NodeId, Offset, TopicPartition};
use crate::output::Output;
use crate::protocol::{
    Message, MetadataRequest, ProducePartition, ProducePartitionResponse, ProduceRequest,
    ProduceResponse,
};
use crate::record::BatchAttributes;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Errors after which Kafka refreshes metadata: its `InvalidMetadataException` subclasses.
fn invalidates_metadata(error: ErrorCode) -> bool {
    matches!(
        error,
        ErrorCode::NOT_LEADER_OR_FOLLOWER
            | ErrorCode::LEADER_NOT_AVAILABLE
            | ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            | ErrorCode::FENCED_LEADER_EPOCH
            | ErrorCode::UNKNOWN_LEADER_EPOCH
            | ErrorCode::NETWORK_EXCEPTION
    )
}

impl Producer {
    fn timing(&self) -> Timing {
        Timing {
            batch_size: self.config.batch_size,
            linger_ms: self.config.linger_ms,
            retry_backoff_ms: self.config.retry_backoff_ms,
        }
    }

    /// Kafka's `canSendMore`.
    pub(super) fn can_send_to(&self, broker: BrokerId) -> bool {
        let limit = self.config.max_in_flight_requests_per_connection.max(1);
        self.requests.count(broker) < limit
    }

    /// The leader `tp`'s queue would go to now, if it has one and room for another request, and (with
    /// idempotence) the head batch may go out in sequence order.
    fn sendable_leader(&self, tp: &TopicPartition) -> Option<BrokerId> {
        if self.muted.contains(tp) {
            return None;
        }
        if self
            .transactions
            .as_ref()
            .is_some_and(|t| !t.is_send_to_partition_allowed(tp))
        {
            return None;
        }
        if self.config.enable_idempotence
            && self
                .accumulator
                .head(tp)
                .is_some_and(|head| !self.idempotence.can_drain(head))
        {
            return None;
        }
        self.metadata.leader(tp).filter(|b| self.can_send_to(*b))
    }

    /// Sends to every ready broker, again and again while something goes out, as the sender thread loops: a
    /// queue holding several full batches pipelines them up to the in-flight limit.
    pub(super) fn send_produce_requests(&mut self, now_ms: u64) {
        loop {
            let mut sent = false;
            for broker in self.ready_brokers(now_ms) {
                sent |= self.send_produce(now_ms, broker);
            }
            if !sent {
                break;
            }
        }
    }

    /// Kafka's `RecordAccumulator.ready`: brokers leading a partition whose head batch is ready. A queue whose
    /// partition has no leader asks for metadata.
    fn ready_brokers(&mut self, now_ms: u64) -> BTreeSet<BrokerId> {
        let timing = self.timing();
        let mut ready = BTreeSet::new();
        let mut leaderless = false;
        for tp in self.accumulator.nonempty_partitions() {
            if self.metadata.leader(tp).is_none() {
                leaderless = true;
                continue;
            }
            let Some(broker) = self.sendable_leader(tp) else {
                continue;
            };
            let ready_at_ms = self.accumulator.ready_at_ms(tp, &timing);
            if ready_at_ms.is_some_and(|at| at <= now_ms) {
                ready.insert(broker);
            }
        }
        if leaderless {
            self.metadata.request_update();
        }
        ready
    }

    /// When the next head batch becomes ready on a broker that could take it; heads that are ready but wait for
    /// a free request slot or an unmute are woken by the answer instead.
    pub(super) fn next_ready_ms(&self) -> Option<u64> {
        let timing = self.timing();
        self.accumulator
            .nonempty_partitions()
            .filter(|tp| self.sendable_leader(tp).is_some())
            .filter_map(|tp| self.accumulator.ready_at_ms(tp, &timing))
            .min()
    }

    /// Kafka's `drainBatchesForOneNode` and `sendProduceRequest`: the head batch of each partition `broker` leads.
    fn send_produce(&mut self, now_ms: u64, broker: BrokerId) -> bool {
        let tps: Vec<TopicPartition> = self
            .accumulator
            .nonempty_partitions()
            .filter(|tp| self.sendable_leader(tp) == Some(broker))
            .cloned()
            .collect();
        let backoff_ms = self.config.retry_backoff_ms;
        let mut batches: Vec<Batch> = tps
            .iter()
            .filter_map(|tp| self.accumulator.drain(tp, now_ms, backoff_ms))
            .collect();
        if self.config.enable_idempotence {
            for batch in &mut batches {
                self.idempotence.on_drain(batch);
            }
        }
        if batches.is_empty() {
            return false;
        }
        let request = ProduceRequest {
            acks: self.config.acks.wire(),
            timeout_ms: self.config.request_timeout_ms,
            partitions: batches
                .iter()
                .map(|b| produce_partition(b, self.transactions.is_some()))
                .collect(),
        };
        let message = Message::ProduceRequest(request);
        if self.config.acks == Acks::None {
            self.send_without_answer(broker, message, batches);
        } else {
            self.send_awaiting_answer(now_ms, broker, message, batches);
        }
        true
    }

    /// acks=0: nothing comes back, so Kafka completes the records as soon as the request is sent, offset unknown.
    fn send_without_answer(&mut self, broker: BrokerId, message: Message, batches: Vec<Batch>) {
        let correlation_id = self.requests.next_id();
        self.push_send(broker, correlation_id, message);
        for batch in batches {
            self.complete_ok(batch, None);
        }
    }

    fn send_awaiting_answer(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        message: Message,
        batches: Vec<Batch>,
    ) {
        if self.config.max_in_flight_requests_per_connection <= 1 {
            self.muted.extend(batches.iter().map(|b| b.tp.clone()));
        }
        let deadline_ms = now_ms + self.config.request_timeout_ms;
        let correlation_id = self
            .requests
            .register(broker, deadline_ms, Pending::Produce(batches));
        self.push_send(broker, correlation_id, message);
    }

    pub(super) fn push_send(&mut self, broker: BrokerId, correlation_id: u64, message: Message) {
        self.out.push(Output::Send {
            to: NodeId::Broker(broker),
            correlation_id,
            message,
        });
    }

    /// Kafka's `handleProduceResponse`: each batch succeeds, retries or fails on its partition's answer.
    pub(super) fn handle_produce_response(
        &mut self,
        now_ms: u64,
        batches: Vec<Batch>,
        response: &ProduceResponse,
    ) {
        let answers: BTreeMap<&TopicPartition, &ProducePartitionResponse> = response
            .partitions
            .iter()
            .map(|p| (&p.topic_partition, p))
            .collect();
        for batch in batches {
            self.muted.remove(&batch.tp);
            self.left_request(&batch);
            match answers.get(&batch.tp) {
                Some(answer) if answer.error == ErrorCode::NONE => {
                    assert!(
                        answer.base_offset >= 0,
                        "{} acknowledged at offset -1",
                        batch.tp
                    );
                    self.idempotence.acknowledged(&batch);
                    self.complete_ok(batch, Some(answer.base_offset));
                }
                Some(answer) => self.handle_batch_error(now_ms, batch, answer.error),
                // A broker that leaves a partition unanswered gave no outcome: as good as a lost answer.
                None => self.handle_batch_error(now_ms, batch, ErrorCode::NETWORK_EXCEPTION),
            }
        }
    }

    /// Kafka's `completeBatch` on an error: retry while allowed, else fail; refresh metadata if it is stale.
    fn handle_batch_error(&mut self, now_ms: u64, mut batch: Batch, error: ErrorCode) {
        if error.maybe_appended() {
            batch.maybe_written = true;
        }
        if invalidates_metadata(error) {
            self.metadata.request_update();
        }
        let retriable = error.is_retriable()
            || (self.config.enable_idempotence
                && self.idempotence.on_error(&batch, error) == ErrorVerdict::Retry);
        if retriable && self.can_retry(&batch, now_ms) {
            batch.reenqueued(now_ms);
            self.accumulator.reenqueue(batch);
        } else {
            let maybe_written = batch.maybe_written;
            self.fail_batch(batch, error, maybe_written);
        }
    }

    /// Kafka's `canRetry` limits: retries left, and the delivery timeout not yet reached.
    fn can_retry(&self, batch: &Batch, now_ms: u64) -> bool {
        let deadline_ms = batch.delivery_deadline_ms(self.config.delivery_timeout_ms);
        batch.retries_done < self.config.retries && now_ms < deadline_ms
    }

    /// The batch is out of its request, answered or not.
    fn left_request(&mut self, batch: &Batch) {
        if self.config.enable_idempotence {
            self.idempotence.left_request(&batch.tp);
        }
    }

    /// Each record's offset is the batch's base offset plus its index; None (acks=0) reports -1.
    fn complete_ok(&mut self, batch: Batch, base_offset: Option<Offset>) {
        for (i, record) in batch.records.iter().enumerate() {
            let offset = base_offset.map_or(-1, |base| base + i as Offset);
            self.complete(
                record.value,
                Some(batch.tp.clone()),
                SendResult::Ok { offset },
            );
        }
    }

    /// The batch failed for good: its sequence leaves a gap, and a transaction cannot commit without it.
    fn fail_batch(&mut self, batch: Batch, error: ErrorCode, maybe_written: bool) {
        self.idempotence.failed(&batch);
        self.complete_failed(&batch, error, maybe_written);
        self.transaction_send_failed(error);
    }

    pub(super) fn complete_failed(&mut self, batch: &Batch, error: ErrorCode, maybe_written: bool) {
        let result = SendResult::Failed {
            error,
            maybe_written,
        };
        for record in &batch.records {
            self.complete(record.value, Some(batch.tp.clone()), result);
        }
    }

    /// Fails everything in flight to `broker` (its connection is gone) and looks for leaders elsewhere.
    pub(super) fn fail_broker(&mut self, now_ms: u64, broker: BrokerId, error: ErrorCode) {
        for request in self.requests.take_broker(broker) {
            self.fail_request(now_ms, broker, request.pending, error);
        }
        self.metadata.mark_unreachable(broker);
        self.metadata.request_update();
    }

    pub(super) fn fail_request(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        pending: Pending,
        error: ErrorCode,
    ) {
        match pending {
            Pending::Metadata => self.metadata.failed_update(now_ms, broker),
            Pending::InitProducerId => self
                .idempotence
                .init_failed(now_ms, self.config.retry_backoff_ms),
            Pending::Produce(batches) => {
                for batch in batches {
                    self.muted.remove(&batch.tp);
                    self.left_request(&batch);
                    self.handle_batch_error(now_ms, batch, error);
                }
            }
            Pending::Txn(request) => self.txn_request_failed(request),
        }
    }

    /// `request.timeout.ms` ran out: close the connection, failing everything on it (Kafka's
    /// `NetworkClient.handleTimedOutRequests`, whose responses the `Sender` reads as REQUEST_TIMED_OUT).
    pub(super) fn expire_requests(&mut self, now_ms: u64) {
        for broker in self.requests.expired_brokers(now_ms) {
            self.out.push(Output::Disconnect(NodeId::Broker(broker)));
            self.fail_broker(now_ms, broker, ErrorCode::REQUEST_TIMED_OUT);
        }
    }

    /// `delivery.timeout.ms` ran out: waiting batches fail as they stand, in-flight ones may have been written.
    pub(super) fn expire_batches(&mut self, now_ms: u64) {
        let delivery_timeout_ms = self.config.delivery_timeout_ms;
        for batch in self.accumulator.expire(now_ms, delivery_timeout_ms) {
            let maybe_written = batch.maybe_written;
            self.fail_batch(batch, ErrorCode::DELIVERY_TIMEOUT, maybe_written);
        }
        for batch in self.requests.expire_batches(now_ms, delivery_timeout_ms) {
            self.muted.remove(&batch.tp);
            self.left_request(&batch);
            self.fail_batch(batch, ErrorCode::DELIVERY_TIMEOUT, true);
        }
    }

    pub(super) fn metadata_due_ms(&self) -> Option<u64> {
        if self.requests.metadata_in_flight() {
            return None;
        }
        self.metadata.due_ms(
            self.config.retry_backoff_ms,
            self.config.metadata_max_age_ms,
        )
    }

    pub(super) fn maybe_send_metadata(&mut self, now_ms: u64) {
        if self.metadata_due_ms().is_none_or(|due| due > now_ms) {
            return;
        }
        let request = MetadataRequest {
            topics: Some(self.metadata.topics()),
        };
        self.send_to_any_broker(now_ms, Pending::Metadata, Message::MetadataRequest(request));
    }

    /// Sends a request any broker can answer (Kafka's `leastLoadedNode`, see the module notes on metadata).
    pub(super) fn send_to_any_broker(&mut self, now_ms: u64, pending: Pending, message: Message) {
        let limit = self.config.max_in_flight_requests_per_connection.max(1);
        let requests = &self.requests;
        let broker = self.metadata.next_broker(|b| requests.count(b) >= limit);
        let deadline_ms = now_ms + self.config.request_timeout_ms;
        let correlation_id = self.requests.register(broker, deadline_ms, pending);
        self.push_send(broker, correlation_id, message);
    }
}

/// A transactional producer's batches are all written inside a transaction.
fn produce_partition(batch: &Batch, transactional: bool) -> ProducePartition {
    ProducePartition {
        topic_partition: batch.tp.clone(),
        records: Arc::from(batch.records.as_slice()),
        producer: batch.sequence,
        attributes: BatchAttributes {
            transactional,
            control: None,
        },
    }
}
