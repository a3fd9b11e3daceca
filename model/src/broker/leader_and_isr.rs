//! What the controller tells a broker: LeaderAndIsr (become leader or follower) and UpdateMetadata (who leads
//! what, for clients' Metadata requests).

use super::partition::{Partition, Role};
use super::Broker;
use crate::config::Fix;
use crate::error::ErrorCode;
use crate::ids::{NodeId, TopicPartition, NO_LEADER};
use crate::log::Log;
use crate::protocol::{
    LeaderAndIsrPartitionState, LeaderAndIsrRequest, LeaderAndIsrResponse, Message,
    MetadataRequest, MetadataResponse, UpdateMetadataRequest,
};

impl Broker {
    pub(super) fn handle_leader_and_isr(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        req: LeaderAndIsrRequest,
    ) {
        let known = self.controller.broker_epoch();
        if known.is_none_or(|epoch| req.broker_epoch > epoch) {
            // Sent to a registration whose answer has not reached us yet (it travels on another connection):
            // keep it until we know whether it is ours.
            self.controller.defer(from, correlation_id, req);
            return;
        }
        let error = if req.controller_epoch < self.controller_epoch {
            ErrorCode::STALE_CONTROLLER_EPOCH
        } else if Some(req.broker_epoch) != known {
            ErrorCode::STALE_BROKER_EPOCH
        } else {
            self.controller_epoch = req.controller_epoch;
            for state in &req.partition_states {
                self.apply_partition_state(now_ms, state);
            }
            ErrorCode::NONE
        };
        self.send(
            from,
            correlation_id,
            Message::LeaderAndIsrResponse(LeaderAndIsrResponse { error }),
        );
    }

    /// Kafka's `makeLeaders` / `makeFollowers`: act only on a newer leader epoch; a newer partition epoch within
    /// the same leader epoch only updates the ISR.
    fn apply_partition_state(&mut self, now_ms: u64, state: &LeaderAndIsrPartitionState) {
        if !state.replicas.contains(&self.id) {
            return;
        }
        let me = self.id;
        let config = self.log_config(&state.topic_partition);
        let partition = self
            .partitions
            .entry(state.topic_partition.clone())
            .or_insert_with(|| {
                let log = Log {
                    config,
                    ..Log::default()
                };
                Partition::recover(state.topic_partition.clone(), log, 0)
            });
        if state.leader_epoch > partition.leader_epoch {
            let observation = if state.leader == me {
                partition.become_leader(me, state, now_ms)
            } else {
                partition.become_follower(me, state)
            };
            self.observe(observation);
            if state.leader != me && !self.config.fixes.has(Fix::Kip101LeaderEpochTruncation) {
                // Before KIP-101: truncate to our own HW and fetch from there, asking the leader nothing.
                let partition = self.partitions.get_mut(&state.topic_partition).unwrap();
                let hw = partition.high_watermark;
                let truncated = partition.truncate_to(me, hw);
                partition.role = Role::Follower { truncating: false };
                self.observe_opt(truncated);
            }
            if state.leader == me {
                // A leader whose ISR is itself can expose what it has right away.
                self.advance_leader_hw(&state.topic_partition);
            }
            // Waiting produces of an epoch this broker no longer leads get NOT_LEADER_OR_FOLLOWER now.
            self.try_complete_produces(now_ms);
        } else if state.leader_epoch == partition.leader_epoch
            && state.partition_epoch > partition.partition_epoch
        {
            partition.update_isr(state.isr.clone(), state.partition_epoch);
            partition.replicas = state.replicas.clone();
            if partition.leader == NO_LEADER && !matches!(partition.role, Role::Follower { .. }) {
                partition.role = Role::Follower { truncating: true };
            }
            if partition.is_leader() {
                // The controller shrank our ISR (it fenced a follower): what the ISR left waiting on may be
                // committed now, as Kafka's `makeLeader` increments the HW and completes delayed produces.
                self.advance_leader_hw(&state.topic_partition);
                self.try_complete_produces(now_ms);
            }
        }
    }

    /// Kafka's `maybeIncrementLeaderHW` after the leader's ISR changed, observed.
    fn advance_leader_hw(&mut self, tp: &TopicPartition) {
        let hw_min_isr = self.hw_min_isr(self.min_insync_replicas(tp));
        let me = self.id;
        let hw = self
            .partitions
            .get_mut(tp)
            .expect("a partition this broker leads")
            .maybe_advance_leader_hw(me, hw_min_isr);
        self.observe_opt(hw);
    }

    pub(super) fn handle_update_metadata(&mut self, req: UpdateMetadataRequest) {
        if req.controller_epoch < self.controller_epoch {
            return;
        }
        self.controller_epoch = req.controller_epoch;
        self.live_brokers = req.live_brokers;
        for p in req.partitions {
            self.metadata.insert(p.topic_partition.clone(), p);
        }
    }

    pub(super) fn handle_metadata(
        &mut self,
        from: NodeId,
        correlation_id: u64,
        req: MetadataRequest,
    ) {
        let partitions = self
            .metadata
            .values()
            .filter(|p| {
                req.topics
                    .as_ref()
                    .is_none_or(|topics| topics.iter().any(|t| **t == *p.topic_partition.topic))
            })
            .cloned()
            .collect();
        let response = MetadataResponse {
            brokers: self.live_brokers.clone(),
            partitions,
        };
        self.send(from, correlation_id, Message::MetadataResponse(response));
    }
}
