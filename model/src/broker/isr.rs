//! ISR maintenance on the leader: shrink laggards after `replica.lag.time.max.ms`, admit caught-up followers, both
//! through AlterPartition to the controller, one proposal in flight per partition.

use super::Broker;
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
    pub(super) fn maybe_expand_isr(&mut self, now_ms: u64, tp: &TopicPartition) {
        let lag_max = self.config.replica_lag_time_max_ms;
        let p = &self.partitions[tp];
        let mut new_isr = p.isr.clone();
        new_isr.extend(p.replicas_to_add(now_ms, lag_max));
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
        let Some(p) = self.partitions.get_mut(&resp.topic_partition) else {
            return;
        };
        p.set_pending_isr(None);
        if resp.error != ErrorCode::NONE || resp.leader_epoch != p.leader_epoch || !p.is_leader() {
            // INVALID_UPDATE_VERSION, FENCED_LEADER_EPOCH, ...: the controller knows better; wait for LeaderAndIsr.
            return;
        }
        p.update_isr(resp.isr.clone(), resp.partition_epoch);
        let observation = Observation::IsrChanged {
            broker: me,
            tp: resp.topic_partition.clone(),
            leader_epoch: p.leader_epoch,
            isr: resp.isr,
            partition_epoch: resp.partition_epoch,
        };
        let hw = p.maybe_advance_leader_hw(me, min_isr);
        self.observe(observation);
        self.observe_opt(hw);
        self.try_complete_produces(now_ms);
    }

    /// The controller connection broke: proposals in flight are lost and will be made again.
    pub(super) fn clear_pending_isr(&mut self) {
        for p in self.partitions.values_mut() {
            p.set_pending_isr(None);
        }
    }
}
