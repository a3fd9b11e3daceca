//! The controller: broker liveness by session, leader election, ISR changes, and pushing the results to brokers.
//!
//! ZooKeeper-mode semantics: the durable [`ControllerState`] (what ZooKeeper held) survives the controller's own
//! crash; only sessions and in-flight requests are lost.

mod create_partitions;
#[cfg(test)]
mod create_partitions_tests;
mod election;
mod state;
#[cfg(test)]
mod tests;

pub use election::{
    elect_on_broker_failure, elect_on_broker_startup, set_isr, ElectionOutcome, ElectionPolicy,
};
pub use state::{place_replicas, BrokerRegistration, ControllerState, PartitionRecord};

use crate::config::{BrokerConfig, TopicConfig};
use crate::error::ErrorCode;
use crate::ids::{BrokerId, NodeId, TopicPartition, NO_LEADER};
use crate::observe::Observation;
use crate::output::Output;
use crate::protocol::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// How long the controller waits before resending to a broker whose connection broke (`retry.backoff.ms`).
const CONTROLLER_RETRY_BACKOFF_MS: u64 = 100;

pub struct Controller {
    state: ControllerState,
    config: BrokerConfig,
    topics: BTreeMap<Arc<str>, TopicConfig>,
    /// When each live broker's session expires unless it heartbeats.
    session_deadlines: BTreeMap<BrokerId, u64>,
    /// Live brokers whose channel broke, and when to send them the whole state again. Kafka's controller keeps a
    /// request queue per broker and retries until the broker answers; LeaderAndIsr and UpdateMetadata are
    /// idempotent, so resending the current state after a broken connection is the same contract.
    resync_at: BTreeMap<BrokerId, u64>,
    next_correlation_id: u64,
    out: Vec<Output>,
}

impl Controller {
    /// Takes over with `state` (a new controller epoch), gives every known live broker a fresh session, and
    /// sends every broker the full state, as a newly elected Kafka controller does.
    pub fn start(
        mut state: ControllerState,
        config: BrokerConfig,
        topics: Vec<TopicConfig>,
        now_ms: u64,
    ) -> (Controller, Vec<Output>) {
        state.controller_epoch += 1;
        let session_deadlines = state
            .brokers
            .iter()
            .filter(|(_, r)| !r.fenced)
            .map(|(b, _)| (*b, now_ms + config.broker_session_timeout_ms))
            .collect();
        let mut controller = Controller {
            state,
            config,
            topics: topics.into_iter().map(|t| (t.name.clone(), t)).collect(),
            session_deadlines,
            resync_at: BTreeMap::new(),
            next_correlation_id: 0,
            out: Vec::new(),
        };
        let live: Vec<BrokerId> = controller.session_deadlines.keys().copied().collect();
        for b in live {
            controller.send_full_state(b);
        }
        controller.send_update_metadata();
        let out = std::mem::take(&mut controller.out);
        (controller, out)
    }

    /// The controller process dies: what ZooKeeper held stays.
    pub fn into_state(self) -> ControllerState {
        self.state
    }

    pub fn state(&self) -> &ControllerState {
        &self.state
    }

    pub fn handle_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        message: Message,
    ) -> Vec<Output> {
        match message {
            Message::BrokerRegistrationRequest(req) => {
                self.handle_registration(now_ms, from, correlation_id, req)
            }
            Message::BrokerHeartbeatRequest(req) => {
                self.handle_heartbeat(now_ms, from, correlation_id, req)
            }
            Message::AlterPartitionRequest(req) => {
                self.handle_alter_partition(from, correlation_id, req)
            }
            Message::CreatePartitionsRequest(req) => {
                self.handle_create_partitions(from, correlation_id, req)
            }
            Message::LeaderAndIsrResponse(_) => {}
            other => panic!("controller cannot handle {}", other.api_name()),
        }
        std::mem::take(&mut self.out)
    }

    pub fn on_timeout(&mut self, now_ms: u64) -> Vec<Output> {
        let expired: Vec<BrokerId> = self
            .session_deadlines
            .iter()
            .filter(|(_, &d)| d <= now_ms)
            .map(|(b, _)| *b)
            .collect();
        for b in expired {
            self.fence(b);
        }
        let due: Vec<BrokerId> = self
            .resync_at
            .iter()
            .filter(|(_, &at)| at <= now_ms)
            .map(|(b, _)| *b)
            .collect();
        for b in due {
            self.resync_at.remove(&b);
            if self.state.is_live(b) {
                self.send_full_state(b);
                self.send_update_metadata_to(b);
            }
        }
        std::mem::take(&mut self.out)
    }

    /// The connection to `peer` broke, so requests on it may be lost: resend a live broker its state after
    /// `retry.backoff.ms` (Kafka's RequestSendThread backs off and retries the same way).
    pub fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) -> Vec<Output> {
        if let NodeId::Broker(b) = peer {
            if self.state.is_live(b) {
                self.resync_at
                    .entry(b)
                    .or_insert(now_ms + CONTROLLER_RETRY_BACKOFF_MS);
            }
        }
        std::mem::take(&mut self.out)
    }

    pub fn next_timeout(&self) -> Option<u64> {
        let sessions = self.session_deadlines.values();
        sessions.chain(self.resync_at.values()).min().copied()
    }

    fn handle_registration(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        req: BrokerRegistrationRequest,
    ) {
        let b = req.broker_id;
        // Unclean-shutdown detection (KAFKA-15586): Kafka compares the previous broker epoch a cleanly stopped
        // broker wrote to disk; ksim never stops a broker cleanly, so a broker is clean only if it re-registers
        // without having restarted (same process incarnation), its log untouched.
        let clean = self
            .state
            .brokers
            .get(&b)
            .is_none_or(|r| r.incarnation == req.incarnation);
        if self.state.brokers.get(&b).is_some_and(|r| !r.fenced) {
            // A broker that re-registers while its session lives has bounced: fail it over first, as Kafka's
            // controller does for a bounced broker, so it never resumes a leadership it lost with its memory.
            self.fence(b);
        }
        let broker_epoch = self.state.register(b, req.incarnation);
        self.session_deadlines
            .insert(b, now_ms + self.config.broker_session_timeout_ms);
        self.observe(Observation::BrokerRegistered {
            broker: b,
            broker_epoch,
        });
        let response = BrokerRegistrationResponse {
            error: ErrorCode::NONE,
            broker_epoch,
        };
        self.send(
            from,
            correlation_id,
            Message::BrokerRegistrationResponse(response),
        );
        let changed =
            self.elect(|p, live, policy| elect_on_broker_startup(p, b, clean, live, policy));
        self.send_full_state(b);
        self.push_changes(changed, Some(b));
    }

    fn handle_heartbeat(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        req: BrokerHeartbeatRequest,
    ) {
        let current = self
            .state
            .brokers
            .get(&req.broker_id)
            .is_some_and(|r| !r.fenced && r.epoch == req.broker_epoch);
        let error = if current {
            self.session_deadlines.insert(
                req.broker_id,
                now_ms + self.config.broker_session_timeout_ms,
            );
            ErrorCode::NONE
        } else {
            ErrorCode::STALE_BROKER_EPOCH
        };
        self.send(
            from,
            correlation_id,
            Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse { error }),
        );
    }

    /// A broker's session ended: move leadership off it and drop it from ISRs.
    fn fence(&mut self, b: BrokerId) {
        self.session_deadlines.remove(&b);
        if let Some(r) = self.state.brokers.get_mut(&b) {
            r.fenced = true;
        }
        self.observe(Observation::BrokerFenced { broker: b });
        let changed = self.elect(|p, live, policy| elect_on_broker_failure(p, b, live, policy));
        self.push_changes(changed, None);
    }

    /// Applies an election rule to every partition; returns the partitions it changed.
    fn elect(
        &mut self,
        rule: impl Fn(
            &mut PartitionRecord,
            &dyn Fn(BrokerId) -> bool,
            ElectionPolicy,
        ) -> Option<ElectionOutcome>,
    ) -> Vec<TopicPartition> {
        let live: BTreeSet<BrokerId> = self.state.live_brokers().collect();
        let is_live = |b: BrokerId| live.contains(&b);
        let mut changed = Vec::new();
        let mut observations = Vec::new();
        for (tp, p) in self.state.partitions.iter_mut() {
            let policy = policy_for(&self.topics, &self.config, tp, p.replicas.len());
            let Some(outcome) = rule(p, &is_live, policy) else {
                continue;
            };
            observations.push(match outcome {
                ElectionOutcome::Elected { unclean } => Observation::LeaderElected {
                    tp: tp.clone(),
                    leader: p.leader,
                    leader_epoch: p.leader_epoch,
                    isr: p.isr.clone(),
                    unclean,
                },
                ElectionOutcome::Offline => Observation::PartitionOffline {
                    tp: tp.clone(),
                    leader_epoch: p.leader_epoch,
                    isr: p.isr.clone(),
                },
                ElectionOutcome::IsrShrunk => Observation::IsrChanged {
                    broker: p.leader,
                    tp: tp.clone(),
                    leader_epoch: p.leader_epoch,
                    isr: p.isr.clone(),
                    partition_epoch: p.partition_epoch,
                },
            });
            changed.push(tp.clone());
        }
        for o in observations {
            self.observe(o);
        }
        changed
    }

    fn handle_alter_partition(
        &mut self,
        from: NodeId,
        correlation_id: u64,
        req: AlterPartitionRequest,
    ) {
        let error = self.validate_alter(&req);
        let tp = req.topic_partition.clone();
        if error == ErrorCode::NONE {
            let p = self.state.partitions.get_mut(&tp).unwrap();
            let policy = policy_for(&self.topics, &self.config, &tp, p.replicas.len());
            set_isr(p, req.new_isr.clone(), policy);
            p.partition_epoch += 1;
        }
        let p = self.state.partitions.get(&tp);
        let response = AlterPartitionResponse {
            topic_partition: tp.clone(),
            error,
            leader: p.map_or(NO_LEADER, |p| p.leader),
            leader_epoch: p.map_or(-1, |p| p.leader_epoch),
            isr: p.map_or_else(Vec::new, |p| p.isr.clone()),
            partition_epoch: p.map_or(-1, |p| p.partition_epoch),
        };
        self.send(
            from,
            correlation_id,
            Message::AlterPartitionResponse(response),
        );
        if error == ErrorCode::NONE {
            self.send_update_metadata();
        }
    }

    /// The checks KRaft's controller makes on AlterPartition.
    fn validate_alter(&self, req: &AlterPartitionRequest) -> ErrorCode {
        let registered = self.state.brokers.get(&req.broker_id);
        if registered.is_none_or(|r| r.fenced || r.epoch != req.broker_epoch) {
            return ErrorCode::STALE_BROKER_EPOCH;
        }
        let Some(p) = self.state.partitions.get(&req.topic_partition) else {
            return ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
        };
        if p.leader != req.broker_id || req.leader_epoch != p.leader_epoch {
            return ErrorCode::FENCED_LEADER_EPOCH;
        }
        if req.partition_epoch != p.partition_epoch {
            return ErrorCode::INVALID_UPDATE_VERSION;
        }
        let live: BTreeSet<BrokerId> = self.state.live_brokers().collect();
        let eligible = req
            .new_isr
            .iter()
            .all(|b| live.contains(b) && p.replicas.contains(b));
        if !eligible || !req.new_isr.contains(&p.leader) {
            return ErrorCode::INELIGIBLE_REPLICA;
        }
        ErrorCode::NONE
    }

    /// LeaderAndIsr for the changed partitions to their live replicas (except `skip`, which got the full state),
    /// then UpdateMetadata to every live broker.
    fn push_changes(&mut self, changed: Vec<TopicPartition>, skip: Option<BrokerId>) {
        let mut per_broker: BTreeMap<BrokerId, Vec<LeaderAndIsrPartitionState>> = BTreeMap::new();
        for tp in &changed {
            let p = &self.state.partitions[tp];
            for &r in &p.replicas {
                if Some(r) != skip && self.state.is_live(r) {
                    per_broker.entry(r).or_default().push(p.to_state(tp));
                }
            }
        }
        for (b, states) in per_broker {
            self.send_leader_and_isr(b, states);
        }
        self.send_update_metadata();
    }

    fn send_full_state(&mut self, b: BrokerId) {
        let states: Vec<_> = self
            .state
            .partitions
            .iter()
            .filter(|(_, p)| p.replicas.contains(&b))
            .map(|(tp, p)| p.to_state(tp))
            .collect();
        self.send_leader_and_isr(b, states);
    }

    fn send_leader_and_isr(
        &mut self,
        b: BrokerId,
        partition_states: Vec<LeaderAndIsrPartitionState>,
    ) {
        if partition_states.is_empty() {
            return;
        }
        let broker_epoch = self.state.brokers[&b].epoch;
        let request = LeaderAndIsrRequest {
            controller_epoch: self.state.controller_epoch,
            broker_epoch,
            partition_states,
        };
        self.request(NodeId::Broker(b), Message::LeaderAndIsrRequest(request));
    }

    fn send_update_metadata(&mut self) {
        let live_brokers: Vec<BrokerId> = self.state.live_brokers().collect();
        for b in live_brokers {
            self.send_update_metadata_to(b);
        }
    }

    fn send_update_metadata_to(&mut self, b: BrokerId) {
        let request = UpdateMetadataRequest {
            controller_epoch: self.state.controller_epoch,
            live_brokers: self.state.live_brokers().collect(),
            partitions: self
                .state
                .partitions
                .iter()
                .map(|(tp, p)| p.to_metadata(tp))
                .collect(),
        };
        self.request(NodeId::Broker(b), Message::UpdateMetadataRequest(request));
    }

    fn request(&mut self, to: NodeId, message: Message) {
        self.next_correlation_id += 1;
        let correlation_id = self.next_correlation_id;
        self.send(to, correlation_id, message);
    }

    fn send(&mut self, to: NodeId, correlation_id: u64, message: Message) {
        self.out.push(Output::Send {
            to,
            correlation_id,
            message,
        });
    }

    fn observe(&mut self, observation: Observation) {
        self.out.push(Output::Observe(observation));
    }
}

/// The election policy of `tp`: its topic's configs (falling back to the broker defaults), with
/// `min.insync.replicas` capped at its `replicas` count as Kafka's controller does, and the ELR feature.
fn policy_for(
    topics: &BTreeMap<Arc<str>, TopicConfig>,
    config: &BrokerConfig,
    tp: &TopicPartition,
    replicas: usize,
) -> ElectionPolicy {
    let topic = topics.get(&tp.topic);
    ElectionPolicy {
        unclean: topic.map_or(config.unclean_leader_election_enable, |t| {
            t.unclean_leader_election_enable
        }),
        min_isr: topic
            .map_or(config.min_insync_replicas, |t| t.min_insync_replicas)
            .min(replicas.max(1)),
        elr: config.elr_enabled(),
    }
}
