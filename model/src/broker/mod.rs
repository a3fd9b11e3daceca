//! A Kafka broker as a pure state machine: replica manager, partitions, purgatory, replica fetchers and its link
//! to the controller. It owns its disk while it runs; a crash hands the disk back to the host.

mod controller_link;
mod fetch;
mod find_coordinator;
mod group_coordinator;
mod isr;
mod leader_and_isr;
mod log_cleaner;
mod partition;
mod produce;
mod producer_ids;
mod purgatory;
mod replica_fetcher;
mod txn_coordinator;
mod txn_markers;
mod write_txn_markers;

pub use partition::{FollowerProgress, LeaderState, Partition, Role};

use crate::config::{BrokerConfig, Fix, LogConfig, TopicConfig};
use crate::ids::{BrokerId, LeaderEpoch, NodeId, Offset, TopicPartition};
use crate::observe::Observation;
use crate::output::Output;
use crate::protocol::{Message, PartitionMetadata};
use crate::storage::Disk;
use controller_link::ControllerLink;
use group_coordinator::HostedGroups;
use purgatory::Purgatory;
use replica_fetcher::Fetcher;
use std::collections::BTreeMap;
use std::sync::Arc;
use txn_coordinator::HostedCoordinator;

pub struct Broker {
    pub id: BrokerId,
    config: BrokerConfig,
    topics: BTreeMap<Arc<str>, TopicConfig>,
    pub partitions: BTreeMap<TopicPartition, Partition>,
    hw_checkpoint: BTreeMap<TopicPartition, Offset>,
    controller_epoch: i32,
    live_brokers: Vec<BrokerId>,
    metadata: BTreeMap<TopicPartition, PartitionMetadata>,
    purgatory: Purgatory,
    fetchers: BTreeMap<BrokerId, Fetcher>,
    controller: ControllerLink,
    next_correlation_id: u64,
    next_hw_checkpoint_ms: u64,
    next_isr_check_ms: u64,
    next_writeback_ms: u64,
    next_flush_ms: Option<u64>,
    /// When the log cleaner next wakes (every `log.cleaner.backoff.ms`).
    next_log_cleaner_ms: u64,
    /// The next producer id to hand out within this registration's range (see `producer_ids`).
    next_producer_id: i64,
    /// The transaction coordinators of the `__transaction_state` partitions this broker leads, by partition.
    txn_coordinators: BTreeMap<i32, HostedCoordinator>,
    next_txn_abort_check_ms: u64,
    /// The group coordinators of the `__consumer_offsets` partitions this broker leads, by partition.
    group_coordinators: BTreeMap<i32, HostedGroups>,
    out: Vec<Output>,
}

/// The broker's `request.timeout.ms` (Kafka's default): how long its own appends for coordinators may wait for the
/// ISR (transaction markers, transaction-log records).
const REQUEST_TIMEOUT_MS: u64 = 30_000;

/// How often the kernel's flusher wakes (`vm.dirty_writeback_centisecs`, default 500).
const WRITEBACK_INTERVAL_MS: u64 = 5_000;

impl Broker {
    /// Starts a broker on `disk`, recovering every log on it, and registers with the controller.
    /// `incarnation` tells this process start apart from earlier ones.
    pub fn start(
        id: BrokerId,
        config: BrokerConfig,
        topics: Vec<TopicConfig>,
        disk: Disk,
        incarnation: u64,
        now_ms: u64,
    ) -> (Broker, Vec<Output>) {
        let Disk {
            logs,
            hw_checkpoint,
        } = disk;
        let mut broker = Broker {
            id,
            topics: topics.into_iter().map(|t| (t.name.clone(), t)).collect(),
            partitions: BTreeMap::new(),
            hw_checkpoint,
            controller_epoch: -1,
            live_brokers: Vec::new(),
            metadata: BTreeMap::new(),
            purgatory: Purgatory::default(),
            fetchers: BTreeMap::new(),
            controller: ControllerLink::new(incarnation),
            next_correlation_id: 0,
            next_hw_checkpoint_ms: now_ms + config.replica_high_watermark_checkpoint_interval_ms,
            next_isr_check_ms: now_ms + config.replica_lag_time_max_ms / 2,
            next_writeback_ms: now_ms + WRITEBACK_INTERVAL_MS,
            next_flush_ms: config.log_flush_interval_ms.map(|ms| now_ms + ms),
            next_log_cleaner_ms: now_ms + config.log_cleaner_backoff_ms,
            next_producer_id: 0,
            txn_coordinators: BTreeMap::new(),
            group_coordinators: BTreeMap::new(),
            next_txn_abort_check_ms: now_ms
                + config.transaction_abort_timed_out_transaction_cleanup_interval_ms,
            config,
            out: Vec::new(),
        };
        for (tp, mut log) in logs {
            log.config = broker.log_config(&tp);
            let hw = broker.hw_checkpoint.get(&tp).copied().unwrap_or(0);
            let partition = Partition::recover(tp.clone(), log, hw);
            broker.observe(Observation::BrokerRecovered {
                broker: id,
                tp: tp.clone(),
                log_end_offset: partition.log_end_offset(),
                high_watermark: partition.high_watermark,
            });
            broker.partitions.insert(tp, partition);
        }
        broker.register(now_ms);
        let out = broker.take_output();
        (broker, out)
    }

    /// The process dies: memory is gone, the disk (page cache included) stays.
    pub fn into_disk(self) -> Disk {
        let logs = self
            .partitions
            .into_iter()
            .map(|(tp, p)| (tp, p.log))
            .collect();
        Disk {
            logs,
            hw_checkpoint: self.hw_checkpoint,
        }
    }

    pub fn handle_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        message: Message,
    ) -> Vec<Output> {
        match message {
            Message::ProduceRequest(req) => self.handle_produce(now_ms, from, correlation_id, req),
            Message::FetchRequest(req) => self.handle_fetch(now_ms, from, correlation_id, req),
            Message::FetchResponse(resp) => {
                self.handle_fetch_response(now_ms, from, correlation_id, resp)
            }
            Message::OffsetsForLeaderEpochRequest(req) => {
                self.handle_offsets_for_leader_epoch(from, correlation_id, req)
            }
            Message::OffsetsForLeaderEpochResponse(resp) => {
                self.handle_offsets_for_leader_epoch_response(now_ms, from, correlation_id, resp)
            }
            Message::MetadataRequest(req) => self.handle_metadata(from, correlation_id, req),
            Message::CreatePartitionsRequest(req) => {
                self.handle_create_partitions(from, correlation_id, req)
            }
            Message::LeaderAndIsrRequest(req) => {
                self.handle_leader_and_isr(now_ms, from, correlation_id, req)
            }
            Message::UpdateMetadataRequest(req) => self.handle_update_metadata(req),
            Message::AlterPartitionResponse(resp) => {
                self.handle_alter_partition_response(now_ms, correlation_id, resp)
            }
            Message::BrokerRegistrationResponse(resp) => {
                self.handle_registration_response(now_ms, correlation_id, resp)
            }
            Message::BrokerHeartbeatResponse(resp) => {
                self.handle_heartbeat_response(now_ms, correlation_id, resp)
            }
            Message::InitProducerIdRequest(req) => {
                self.handle_init_producer_id(now_ms, from, correlation_id, req)
            }
            Message::FindCoordinatorRequest(req) => {
                self.handle_find_coordinator(from, correlation_id, req)
            }
            Message::AddPartitionsToTxnRequest(req) => {
                self.handle_add_partitions_to_txn(now_ms, from, correlation_id, req)
            }
            Message::AddOffsetsToTxnRequest(req) => {
                self.handle_add_offsets_to_txn(now_ms, from, correlation_id, req)
            }
            Message::EndTxnRequest(req) => self.handle_end_txn(now_ms, from, correlation_id, req),
            Message::WriteTxnMarkersRequest(req) => {
                self.handle_write_txn_markers(now_ms, from, correlation_id, req)
            }
            Message::WriteTxnMarkersResponse(resp) => {
                self.handle_write_txn_markers_response(now_ms, correlation_id, resp)
            }
            m @ (Message::JoinGroupRequest(_)
            | Message::SyncGroupRequest(_)
            | Message::HeartbeatRequest(_)
            | Message::LeaveGroupRequest(_)
            | Message::OffsetCommitRequest(_)
            | Message::OffsetFetchRequest(_)
            | Message::TxnOffsetCommitRequest(_)) => {
                self.handle_group_request(now_ms, from, correlation_id, m)
            }
            other => panic!("broker {} cannot handle {}", self.id, other.api_name()),
        }
        self.replicate(now_ms);
        self.take_output()
    }

    /// A connection to `peer` broke: what was in flight on it is lost.
    pub fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) -> Vec<Output> {
        match peer {
            NodeId::Controller => self.controller_disconnected(now_ms),
            NodeId::Broker(peer) => {
                self.fetcher_disconnected(now_ms, peer);
                self.txn_markers_disconnected(now_ms, peer);
            }
            NodeId::Client(_) => {}
        }
        self.replicate(now_ms);
        self.take_output()
    }

    /// The connection `peer` sent its requests on is gone: its delayed produces and fetches can no longer be
    /// answered. Only that connection: a broken connection this broker opened to `peer` (for its own requests)
    /// says nothing about the requests `peer` has parked here, perhaps from a newer incarnation.
    pub fn forget_requests_from(&mut self, peer: NodeId) {
        self.purgatory.forget_peer(peer);
    }

    pub fn on_timeout(&mut self, now_ms: u64) -> Vec<Output> {
        self.expire_delayed(now_ms);
        self.controller_tick(now_ms);
        self.fetcher_timeouts(now_ms);
        if now_ms >= self.next_isr_check_ms {
            self.next_isr_check_ms = now_ms + (self.config.replica_lag_time_max_ms / 2).max(1);
            self.maybe_shrink_isr(now_ms);
        }
        if now_ms >= self.next_hw_checkpoint_ms {
            self.next_hw_checkpoint_ms =
                now_ms + self.config.replica_high_watermark_checkpoint_interval_ms;
            self.checkpoint_high_watermarks();
        }
        if now_ms >= self.next_writeback_ms {
            self.next_writeback_ms = now_ms + WRITEBACK_INTERVAL_MS;
            let expire_before = now_ms.saturating_sub(self.config.vm_dirty_expire_centisecs * 10);
            for p in self.partitions.values_mut() {
                p.log.file.write_back(expire_before);
            }
        }
        if let Some(at) = self.next_flush_ms.filter(|&at| now_ms >= at) {
            self.next_flush_ms = self
                .config
                .log_flush_interval_ms
                .map(|ms| at.max(now_ms) + ms);
            for p in self.partitions.values_mut() {
                p.log.file.flush();
            }
        }
        if now_ms >= self.next_log_cleaner_ms {
            self.next_log_cleaner_ms = now_ms + self.config.log_cleaner_backoff_ms.max(1);
            if self.log_cleaner_active() {
                self.run_log_cleaner();
            }
        }
        self.replicate(now_ms);
        self.take_output()
    }

    pub fn next_timeout(&self) -> Option<u64> {
        let mut next = self
            .next_isr_check_ms
            .min(self.next_hw_checkpoint_ms)
            .min(self.next_writeback_ms);
        next = next.min(self.controller.next_timeout());
        if let Some(at) = self.next_flush_ms {
            next = next.min(at);
        }
        if self.log_cleaner_active() {
            next = next.min(self.next_log_cleaner_ms);
        }
        if let Some(at) = self.purgatory.next_deadline() {
            next = next.min(at);
        }
        for f in self.fetchers.values() {
            if let Some(at) = f.next_timeout() {
                next = next.min(at);
            }
        }
        if !self.txn_coordinators.is_empty() {
            next = next.min(self.next_txn_abort_check_ms);
        }
        if let Some(at) = self.next_marker_retry() {
            next = next.min(at);
        }
        if let Some(at) = self.next_txn_append_deadline() {
            next = next.min(at);
        }
        if let Some(at) = self.next_group_timeout() {
            next = next.min(at);
        }
        Some(next)
    }

    /// The partitions of `topic` this broker leads, with their leader epochs: where it hosts a coordinator.
    fn led_partitions(&self, topic: &str) -> BTreeMap<i32, LeaderEpoch> {
        self.partitions
            .range(TopicPartition::new(topic, i32::MIN)..)
            .take_while(|(tp, _)| *tp.topic == *topic)
            .filter(|(_, p)| p.is_leader())
            .map(|(tp, p)| (tp.partition, p.leader_epoch))
            .collect()
    }

    /// The configs a replica's log obeys: its topic's (Kafka's defaults for a topic this broker was not told of).
    fn log_config(&self, tp: &TopicPartition) -> LogConfig {
        self.topics
            .get(&tp.topic)
            .map_or_else(LogConfig::default, |t| t.log)
    }

    fn checkpoint_high_watermarks(&mut self) {
        for (tp, p) in &self.partitions {
            self.hw_checkpoint.insert(tp.clone(), p.high_watermark);
        }
    }

    /// The effective `min.insync.replicas` (Kafka 3.7+, KAFKA-15583): the config capped at the partition's
    /// replica count. Below it acks=all is refused and the HW stays put (the "strict min ISR" rule).
    fn min_insync_replicas(&self, tp: &TopicPartition) -> usize {
        let configured = self
            .topics
            .get(&tp.topic)
            .map_or(self.config.min_insync_replicas, |t| t.min_insync_replicas);
        let replicas = self.partitions.get(tp).map_or(0, |p| p.replicas.len());
        configured.min(replicas.max(1))
    }

    /// The ISR size below which the leader's HW stays put: the effective `min_isr` (KAFKA-15583's strict rule), or
    /// 0 with that fix reverted, so the HW follows whatever ISR is left, as before Kafka 3.7.
    fn hw_min_isr(&self, min_isr: usize) -> usize {
        match self.config.fixes.has(Fix::Kafka15583StrictMinIsrHw) {
            true => min_isr,
            false => 0,
        }
    }

    fn send(&mut self, to: NodeId, correlation_id: u64, message: Message) {
        self.out.push(Output::Send {
            to,
            correlation_id,
            message,
        });
    }

    fn request(&mut self, to: NodeId, message: Message) -> u64 {
        self.next_correlation_id += 1;
        let id = self.next_correlation_id;
        self.send(to, id, message);
        id
    }

    fn observe(&mut self, observation: Observation) {
        self.out.push(Output::Observe(observation));
    }

    fn observe_opt(&mut self, observation: Option<Observation>) {
        if let Some(o) = observation {
            self.observe(o);
        }
    }

    fn take_output(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    /// Checks the invariants Kafka's replication rests on; a failure is a bug in this model.
    fn assert_invariants(&self) {
        for p in self.partitions.values() {
            assert!(
                p.high_watermark <= p.log_end_offset(),
                "{} on broker {}: HW above LEO",
                p.tp,
                self.id
            );
            if p.is_leader() {
                assert!(
                    p.isr.contains(&self.id),
                    "{} on broker {}: leader outside its ISR",
                    p.tp,
                    self.id
                );
            }
        }
    }
}

#[cfg(test)]
mod group_load_properties;
#[cfg(test)]
mod group_tests;
#[cfg(test)]
mod log_cleaner_tests;
#[cfg(test)]
mod partition_growth_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod txn_offset_tests;
#[cfg(test)]
mod txn_tests;
