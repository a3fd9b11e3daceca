//! KIP-320 position validation: after a leader change, ask the new leader (OffsetsForLeaderEpoch) where the epoch of
//! the last consumed record ends, and seek back to that point if the log we read from was truncated.

use super::partition::Leader;
use super::requests::{Pending, ValidationTarget};
use super::Consumer;
use crate::config::Fix;
use crate::error::ErrorCode;
use crate::ids::{
    BrokerId, LeaderEpoch, NodeId, Offset, TopicPartition, UNDEFINED_EPOCH, UNDEFINED_OFFSET,
};
use crate::output::Output;
use crate::protocol::{
    EpochEndOffset, Message, OffsetForLeaderPartition, OffsetsForLeaderEpochRequest,
    OffsetsForLeaderEpochResponse,
};
use std::collections::BTreeMap;

/// Kafka's `OffsetsForLeaderEpochRequest.CONSUMER_REPLICA_ID`.
const CONSUMER_REPLICA_ID: BrokerId = -1;

impl Consumer {
    /// One OffsetsForLeaderEpoch per leader for the partitions awaiting validation that none is in flight for.
    pub(super) fn send_validations(&mut self, now_ms: u64) {
        if !self.config.fixes.has(Fix::Kip320FetchLeaderEpoch) {
            // Before KIP-320 a consumer took its position as valid on any leader: nothing to ask.
            for p in self.partitions.values_mut() {
                p.awaiting_validation = false;
            }
            return;
        }
        for (broker, targets) in self.validations_by_leader() {
            self.send_validation(now_ms, broker, targets);
        }
    }

    fn validations_by_leader(
        &self,
    ) -> BTreeMap<BrokerId, BTreeMap<TopicPartition, ValidationTarget>> {
        let mut by_leader: BTreeMap<BrokerId, BTreeMap<_, _>> = BTreeMap::new();
        for (tp, p) in &self.partitions {
            let Some(leader) = p.validation_leader() else {
                continue;
            };
            if self.requests.validating(tp) {
                continue;
            }
            let target = target(p.position, p.offset_epoch, leader);
            by_leader
                .entry(leader.broker)
                .or_default()
                .insert(tp.clone(), target);
        }
        by_leader
    }

    fn send_validation(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        targets: BTreeMap<TopicPartition, ValidationTarget>,
    ) {
        let partitions = targets
            .iter()
            .map(|(tp, t)| OffsetForLeaderPartition {
                topic_partition: tp.clone(),
                current_leader_epoch: t.current_leader_epoch,
                leader_epoch: t.offset_epoch,
            })
            .collect();
        let deadline_ms = now_ms + self.config.request_timeout_ms;
        let correlation_id =
            self.requests
                .register(broker, deadline_ms, Pending::Validate(targets));
        let request = OffsetsForLeaderEpochRequest {
            replica_id: CONSUMER_REPLICA_ID,
            partitions,
        };
        let message = Message::OffsetsForLeaderEpochRequest(request);
        self.out.push(Output::Send {
            to: NodeId::Broker(broker),
            correlation_id,
            message,
        });
    }

    pub(super) fn handle_validation_response(
        &mut self,
        now_ms: u64,
        targets: &BTreeMap<TopicPartition, ValidationTarget>,
        resp: OffsetsForLeaderEpochResponse,
    ) {
        for answer in resp.partitions {
            let Some(target) = targets.get(&answer.topic_partition) else {
                continue;
            };
            if self.still_validating(&answer.topic_partition, target) {
                self.complete_validation(now_ms, target, answer);
            }
        }
    }

    /// Kafka skips an answer whose partition moved on since the request (`maybeCompleteValidation`).
    fn still_validating(&self, tp: &TopicPartition, sent: &ValidationTarget) -> bool {
        let Some(p) = self.partitions.get(tp) else {
            return false;
        };
        let Some(leader) = p.leader.filter(|_| p.awaiting_validation) else {
            return false;
        };
        target(p.position, p.offset_epoch, leader) == *sent
    }

    fn complete_validation(
        &mut self,
        now_ms: u64,
        sent: &ValidationTarget,
        answer: EpochEndOffset,
    ) {
        let tp = &answer.topic_partition;
        match answer.error {
            ErrorCode::NONE => self.apply_epoch_end(sent, &answer),
            ErrorCode::NOT_LEADER_OR_FOLLOWER
            | ErrorCode::FENCED_LEADER_EPOCH
            | ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            | ErrorCode::LEADER_NOT_AVAILABLE => self.await_metadata(now_ms, tp),
            _ => self.back_off(now_ms, std::iter::once(tp)),
        }
    }

    /// The leader has no record of our epoch: reset. Its epoch ends below our position: the log we read was
    /// truncated, so seek to where it diverges. Otherwise the position stands.
    fn apply_epoch_end(&mut self, sent: &ValidationTarget, answer: &EpochEndOffset) {
        let tp = &answer.topic_partition;
        if answer.end_offset == UNDEFINED_OFFSET || answer.leader_epoch == UNDEFINED_EPOCH {
            self.reset_position(tp, 0);
        } else if answer.end_offset < sent.position {
            self.seek(tp, answer.end_offset, Some(answer.leader_epoch));
        } else {
            self.partitions
                .get_mut(tp)
                .expect("assigned")
                .awaiting_validation = false;
        }
    }
}

fn target(
    position: Option<Offset>,
    offset_epoch: Option<LeaderEpoch>,
    leader: Leader,
) -> ValidationTarget {
    ValidationTarget {
        position: position.expect("validation needs a position"),
        offset_epoch: offset_epoch.expect("validation needs the epoch the position was read under"),
        current_leader_epoch: leader.epoch,
    }
}
