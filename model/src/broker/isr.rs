//! ISR maintenance on the leader: shrink laggards after `replica.lag.time.max.ms`, admit caught-up followers, both
//! through AlterPartition to the controller, one proposal in flight per partition.

use super::Broker;
use crate::config::Fix;
use crate::error::ErrorCode;
use crate::ids::{NodeId, TopicPartition};
use crate::observe::Observation;
use crate::protocol::{AlterPartitionRequest, AlterPartitionResponse, Message};

impl Broker {
    /// Kafka's `maybeShrinkIsr`, run every `replica.lag.time.max.ms / 2`.
    pub(super) fn maybe_shrink_isr(&mut self, now_ms: u64) {
        let lag_max = self.config.replica_lag_time_max_ms;
        let shrinks: Vec<(TopicPartition, Vec<i32>)> = self
            .partitions
            .values()
            .filter(|p| p.is_leader() && p.pending_isr().is_none())
            .filter_map(|p| {
                let out = p.out_of_sync_replicas(self.id, now_ms, lag_max);
                (!out.is_empty()).then(|| {
                    (
                        p.tp.clone(),
                        p.isr.iter().copied().filter(|b| !out.contains(b)).collect(),
                    )
                })
            })
            .collect();
        for (tp, new_isr) in shrinks {
            self.propose_isr(&tp, new_isr);
        }
    }

    /// Kafka's `maybeExpandIsr`, run when a follower's fetch shows it caught up.
    pub(super) fn maybe_expand_isr(&mut self, tp: &TopicPartition) {
        let p = &self.partitions[tp];
        let mut new_isr = p.isr.clone();
        let epoch_start_rule = self.config.fixes.has(Fix::Kafka7128IsrEpochStart);
        new_isr.extend(p.replicas_to_add(epoch_start_rule));
        self.propose_isr(tp, new_isr);
    }

    fn propose_isr(&mut self, tp: &TopicPartition, new_isr: Vec<i32>) {
        let Some(broker_epoch) = self.controller.broker_epoch() else {
            return;
        };
        let p = self.partitions.get_mut(tp).unwrap();
        p.set_pending_isr(Some(new_isr.clone()));
        let request = AlterPartitionRequest {
            broker_id: self.id,
            broker_epoch,
            topic_partition: tp.clone(),
            leader_epoch: p.leader_epoch,
            new_isr,
            partition_epoch: p.partition_epoch,
        };
        let id = self.request(NodeId::Controller, Message::AlterPartitionRequest(request));
        self.controller.alter_sent(id, tp.clone());
    }

    pub(super) fn handle_alter_partition_response(
        &mut self,
        now_ms: u64,
        correlation_id: u64,
        resp: AlterPartitionResponse,
    ) {
        if !self.controller.alter_answered(correlation_id) {
            return;
        }
        let me = self.id;
        let min_isr = self.min_insync_replicas(&resp.topic_partition);
        let hw_min_isr = self.hw_min_isr(min_isr);
        let Some(p) = self.partitions.get_mut(&resp.topic_partition) else {
            return;
        };
        let newer_state = resp.leader_epoch == p.leader_epoch
            && resp.partition_epoch > p.partition_epoch
            && resp.isr.contains(&me);
        if resp.error == ErrorCode::INELIGIBLE_REPLICA {
            // Not applied (a proposed member is fenced): back to the committed ISR, as Kafka's
            // `handleAlterPartitionError` does.
            p.set_pending_isr(None);
            return;
        }
        if resp.error != ErrorCode::NONE && !newer_state {
            // FENCED_LEADER_EPOCH, STALE_BROKER_EPOCH, ...: a LeaderAndIsr is on its way. Until then the proposal
            // stays pending, so the HW keeps counting every replica the controller may have put in the ISR.
            return;
        }
        if resp.leader_epoch != p.leader_epoch
            || !p.is_leader()
            || resp.partition_epoch <= p.partition_epoch
        {
            return;
        }
        // Accepted, or (INVALID_UPDATE_VERSION) the controller already holds a newer ISR for this leader epoch,
        // such as this very proposal, applied before a broken connection lost its answer: adopt it.
        p.set_pending_isr(None);
        p.update_isr(resp.isr.clone(), resp.partition_epoch);
        let observation = Observation::IsrChanged {
            broker: me,
            tp: resp.topic_partition.clone(),
            leader_epoch: p.leader_epoch,
            isr: resp.isr,
            partition_epoch: resp.partition_epoch,
        };
        let hw = p.maybe_advance_leader_hw(me, hw_min_isr);
        self.observe(observation);
        self.observe_opt(hw);
        self.try_complete_produces(now_ms);
    }

    /// Proposals whose answer a broken controller connection lost stay pending (the controller may have applied
    /// them) and go again with the next heartbeat, as Kafka's AlterPartitionManager retries them. Proposals the
    /// controller answered with an error are not resent.
    pub(super) fn resend_pending_isr(&mut self) {
        let lost = self.controller.take_lost_alters();
        let pending: Vec<(TopicPartition, Vec<i32>)> = self
            .partitions
            .values()
            .filter(|p| p.is_leader() && lost.contains(&p.tp))
            .filter_map(|p| p.pending_isr().map(|isr| (p.tp.clone(), isr.clone())))
            .collect();
        for (tp, isr) in pending {
            self.propose_isr(&tp, isr);
        }
    }
}
