//! A Kafka consumer reading an explicit assignment (`KafkaConsumer.assign`, no group) as a pure state machine.
//!
//! It follows Kafka's `Fetcher` and `SubscriptionState`: leaders and leader epochs come from Metadata, one Fetch
//! per leader broker is in flight at a time, each partition names the leader epoch it believes current (KIP-320),
//! and a leader change makes the consumer ask the new leader (OffsetsForLeaderEpoch) whether the log it read from
//! was truncated before it fetches again.
//!
//! Choices where this model departs from, or narrows, Kafka's client:
//! - There is no ListOffsets API in the model, so a start or reset position is found without it. `Earliest` is
//!   offset 0 at start and the fetch response's `log_start_offset` on OFFSET_OUT_OF_RANGE. `Latest` asks the leader
//!   with a probing fetch (offset 0, `max_records` 0) and seeks to the high watermark that answer reports, which is
//!   what ListOffsets(latest) answers a read_uncommitted consumer; on OFFSET_OUT_OF_RANGE it seeks to the response's
//!   high watermark directly. Every start and reset emits [`ConsumerEvent::Seek`].
//! - `max.poll.records` bounds each partition's records per fetch (Kafka bounds one `poll()`), and a `Polled`
//!   event is emitted per partition per fetch response that returned records; empty fetches emit nothing.
//! - Metadata requests go round-robin over the bootstrap brokers, one broker further on every request, so a broker
//!   with a stale view (cut off from the controller) is not asked twice in a row; brokers whose connection failed
//!   are passed over until they answer again, unless every bootstrap broker has failed.
//! - UNKNOWN_LEADER_EPOCH backs off and retries without a metadata refresh: it means the broker is behind our
//!   metadata, as Kafka's `FetchCollector` treats it.

mod assignment;
mod fetch;
pub mod group;
mod group_metadata;
mod metadata;
mod partition;
#[cfg(test)]
mod properties;
mod requests;
#[cfg(test)]
mod tests;
mod validate;

pub use group_metadata::{ConsumerGroupMetadata, UNKNOWN_GENERATION_ID};

use crate::config::ConsumerConfig;
use crate::ids::{BrokerId, LeaderEpoch, NodeId, Offset, TopicPartition};
use crate::output::Output;
use crate::protocol::Message;
use metadata::MetadataState;
use partition::PartitionState;
use requests::{InFlightRequests, Pending};
use std::collections::BTreeMap;

/// Where a partition starts when the consumer has no position, and where `auto.offset.reset` moves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StartPosition {
    /// `auto.offset.reset=earliest`: the log start offset.
    Earliest,
    /// `auto.offset.reset=latest`: the high watermark (ListOffsets(latest) for read_uncommitted).
    Latest,
}

/// What the application sees, drained with [`Consumer::drain_events`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerEvent {
    /// The position moved on purpose (start, offset reset, or truncation found by validation); offsets may jump.
    Seek { tp: TopicPartition, offset: Offset },
    /// A fetch returned these records (offset, value) of one partition, in offset order.
    Polled {
        tp: TopicPartition,
        records: Vec<(Offset, u64)>,
        high_watermark: Offset,
    },
}

pub struct Consumer {
    client_id: u32,
    config: ConsumerConfig,
    start: StartPosition,
    partitions: BTreeMap<TopicPartition, PartitionState>,
    /// Topics a group subscription follows: metadata is asked for them so new partitions are seen.
    subscribed_topics: Vec<String>,
    /// Partition count per subscribed topic from the newest metadata answer (the group leader assigns from it).
    partition_counts: BTreeMap<String, i32>,
    metadata: MetadataState,
    requests: InFlightRequests,
    /// Whether fetches (and position validations) may be sent. Kafka's classic consumer sends them only from
    /// inside `poll()`: a group application busy in its own code fetches nothing new until it polls again.
    fetching: bool,
    events: Vec<ConsumerEvent>,
    out: Vec<Output>,
}

impl Consumer {
    pub fn new(
        client_id: u32,
        config: ConsumerConfig,
        bootstrap: Vec<BrokerId>,
        assignment: Vec<TopicPartition>,
        start: StartPosition,
    ) -> Consumer {
        let partitions = assignment
            .into_iter()
            .map(|tp| (tp, PartitionState::default()))
            .collect();
        Consumer {
            client_id,
            config,
            start,
            partitions,
            subscribed_topics: Vec::new(),
            partition_counts: BTreeMap::new(),
            metadata: MetadataState::new(bootstrap),
            requests: InFlightRequests::default(),
            fetching: true,
            events: Vec::new(),
            out: Vec::new(),
        }
    }

    pub fn client_id(&self) -> u32 {
        self.client_id
    }

    /// Sets every partition's starting position and asks for metadata.
    pub fn start(&mut self, now_ms: u64) -> Vec<Output> {
        let tps: Vec<TopicPartition> = self.partitions.keys().cloned().collect();
        for tp in tps {
            self.reset_position(&tp, 0);
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
        // A response on a connection we already gave up on, or to nothing we asked, is dropped as Kafka's
        // NetworkClient drops it.
        if let Some(request) = self.requests.take(from, correlation_id) {
            self.metadata.mark_reachable(request.broker);
            match (request.pending, message) {
                (Pending::Metadata, Message::MetadataResponse(resp)) => {
                    self.handle_metadata_response(now_ms, resp)
                }
                (Pending::Fetch(fetched), Message::FetchResponse(resp)) => {
                    self.handle_fetch_response(now_ms, &fetched, resp)
                }
                (Pending::Validate(targets), Message::OffsetsForLeaderEpochResponse(resp)) => {
                    self.handle_validation_response(now_ms, &targets, resp)
                }
                (pending, _) => self.fail_request(now_ms, pending),
            }
        }
        self.step(now_ms)
    }

    /// The connection to `peer` broke: whatever was in flight on it failed, and the cluster may have changed.
    pub fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) -> Vec<Output> {
        if let NodeId::Broker(broker) = peer {
            self.fail_broker(now_ms, broker);
        }
        self.step(now_ms)
    }

    pub fn on_timeout(&mut self, now_ms: u64) -> Vec<Output> {
        self.step(now_ms)
    }

    /// The next time something is due: a request deadline, a metadata refresh, or a partition's retry backoff.
    pub fn next_timeout(&self) -> Option<u64> {
        let retries = self.partitions.values().filter_map(|p| p.retry_at_ms);
        let metadata = self.metadata_due_ms();
        retries
            .chain(metadata)
            .chain(self.requests.next_deadline_ms())
            .min()
    }

    pub fn drain_events(&mut self) -> Vec<ConsumerEvent> {
        std::mem::take(&mut self.events)
    }

    /// The next offset this consumer will fetch, once known.
    pub fn position(&self, tp: &TopicPartition) -> Option<Offset> {
        self.partitions.get(tp)?.position
    }

    /// The high watermark the last successful fetch of `tp` reported.
    pub fn high_watermark(&self, tp: &TopicPartition) -> Option<Offset> {
        self.partitions.get(tp)?.high_watermark
    }

    /// Whether every assigned partition has read up to the high watermark its leader last reported in a fetch
    /// response, with a validated position (a pending truncation check may still move it back).
    pub fn caught_up(&self) -> bool {
        self.partitions.values().all(PartitionState::caught_up)
    }

    /// Runs everything due at `now_ms`, then hands over what to send.
    fn step(&mut self, now_ms: u64) -> Vec<Output> {
        self.expire_requests(now_ms);
        for p in self.partitions.values_mut() {
            p.end_backoff_if_elapsed(now_ms);
        }
        self.maybe_send_metadata(now_ms);
        if self.fetching {
            self.send_validations(now_ms);
            self.send_fetches(now_ms);
        }
        std::mem::take(&mut self.out)
    }

    /// Whether the application is inside `poll()`, where fetches go out; responses already in flight are taken
    /// either way, and metadata is refreshed either way (the heartbeat thread's network polls do that in Kafka).
    pub fn set_fetching(&mut self, fetching: bool) {
        self.fetching = fetching;
    }

    /// `request.timeout.ms` ran out: close the connection, which fails everything in flight on it (Kafka's
    /// `NetworkClient.handleTimedOutRequests`).
    fn expire_requests(&mut self, now_ms: u64) {
        for broker in self.requests.expired_brokers(now_ms) {
            self.out.push(Output::Disconnect(NodeId::Broker(broker)));
            self.fail_broker(now_ms, broker);
        }
    }

    /// A lost connection may mean a dead leader, so metadata is refreshed (Kafka's `handleDisconnections`).
    fn fail_broker(&mut self, now_ms: u64, broker: BrokerId) {
        for request in self.requests.take_broker(broker) {
            self.fail_request(now_ms, request.pending);
        }
        self.metadata.mark_unreachable(broker);
        self.metadata.request_update();
    }

    fn fail_request(&mut self, now_ms: u64, pending: Pending) {
        match pending {
            Pending::Metadata => self.metadata.request_update(),
            Pending::Fetch(fetched) => self.back_off(now_ms, fetched.keys()),
            Pending::Validate(targets) => self.back_off(now_ms, targets.keys()),
        }
    }

    fn back_off<'a>(&mut self, now_ms: u64, tps: impl Iterator<Item = &'a TopicPartition>) {
        let until_ms = now_ms + self.config.retry_backoff_ms;
        for tp in tps {
            if let Some(p) = self.partitions.get_mut(tp) {
                p.back_off_until(until_ms);
            }
        }
    }

    /// A fetch or validation error that says our leader is wrong: wait for fresh metadata, and back off.
    fn await_metadata(&mut self, now_ms: u64, tp: &TopicPartition) {
        self.metadata.request_update();
        if let Some(p) = self.partitions.get_mut(tp) {
            p.awaiting_metadata = true;
            p.back_off_until(now_ms + self.config.retry_backoff_ms);
        }
    }

    /// Moves `tp` to `offset` on purpose and tells the application.
    fn seek(&mut self, tp: &TopicPartition, offset: Offset, offset_epoch: Option<LeaderEpoch>) {
        let p = self
            .partitions
            .get_mut(tp)
            .expect("seek on an assigned partition");
        assert!(offset >= 0, "seek {tp} to negative offset {offset}");
        p.seek(offset, offset_epoch);
        self.events.push(ConsumerEvent::Seek {
            tp: tp.clone(),
            offset,
        });
    }

    /// `auto.offset.reset`: `Earliest` seeks to `log_start_offset`; `Latest` forgets the position so the next
    /// fetch probes the leader for its high watermark.
    fn reset_position(&mut self, tp: &TopicPartition, log_start_offset: Offset) {
        match self.start {
            StartPosition::Earliest => self.seek(tp, log_start_offset.max(0), None),
            StartPosition::Latest => self
                .partitions
                .get_mut(tp)
                .expect("assigned")
                .forget_position(),
        }
    }
}
