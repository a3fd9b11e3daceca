//! The heartbeat thread: a Heartbeat every `heartbeat.interval.ms` while stable, the coordinator forgotten when no
//! heartbeat succeeds for `session.timeout.ms`, and LeaveGroup when `max.poll.interval.ms` passes without a poll.

use super::membership::MemberState;
use super::requests::GroupPending;
use super::GroupConsumer;
use crate::error::ErrorCode;
use crate::output::Output;
use crate::protocol::{HeartbeatRequest, LeaveGroupRequest, Message};

impl GroupConsumer {
    /// Whether the heartbeat thread runs: the member is in a generation (and may commit under it).
    pub(super) fn heartbeating(&self) -> bool {
        self.generation >= 0
            && matches!(
                self.state,
                MemberState::Stable
                    | MemberState::Assigned { .. }
                    | MemberState::PreparingJoin { .. }
                    | MemberState::Completing { .. }
            )
    }

    /// The earliest of the next heartbeat, the poll timeout and the session expiry, while heartbeating.
    pub(super) fn heartbeat_timeout_ms(&self) -> Option<u64> {
        if !self.heartbeating() {
            return None;
        }
        // Kafka's timers expire at their deadline (`Timer.isExpired`: now >= deadline).
        let poll_timeout = self.last_poll_ms + self.config.max_poll_interval_ms;
        let session = self.last_heartbeat_ok_ms + self.config.session_timeout_ms;
        // A heartbeat is due only when it can go: to a known coordinator, with none in flight.
        let can_send = self.coordinator.is_some()
            && !self
                .requests
                .any_of(|p| matches!(p, GroupPending::Heartbeat { .. }));
        let heartbeat = self.heartbeat_due_ms.filter(|_| can_send);
        [heartbeat, Some(poll_timeout), Some(session)]
            .into_iter()
            .flatten()
            .min()
    }

    pub(super) fn run_heartbeat_thread(&mut self, now_ms: u64) {
        if !self.heartbeating() {
            return;
        }
        if now_ms >= self.last_poll_ms + self.config.max_poll_interval_ms {
            self.leave_group(now_ms);
            return;
        }
        if now_ms >= self.last_heartbeat_ok_ms + self.config.session_timeout_ms {
            // Kafka only suspects the coordinator here; the member keeps its partitions.
            self.coordinator_lost(now_ms);
            self.last_heartbeat_ok_ms = now_ms;
        }
        let Some(coordinator) = self.coordinator else {
            return;
        };
        let generation = self.generation;
        let due = self.heartbeat_due_ms.is_some_and(|due| due <= now_ms);
        if !due
            || self
                .requests
                .any_of(|p| matches!(p, GroupPending::Heartbeat { .. }))
        {
            return;
        }
        self.heartbeat_due_ms = Some(now_ms + self.config.heartbeat_interval_ms);
        let message = Message::HeartbeatRequest(HeartbeatRequest {
            group_id: self.config.group_id.clone(),
            generation_id: generation,
            member_id: self.member_id.clone(),
        });
        let timeout_ms = self.request_timeout_ms;
        self.send(
            now_ms,
            coordinator,
            timeout_ms,
            GroupPending::Heartbeat { generation },
            message,
        );
    }

    pub(super) fn handle_heartbeat_response(
        &mut self,
        now_ms: u64,
        generation: i32,
        error: ErrorCode,
    ) {
        if generation != self.generation {
            return;
        }
        match error {
            ErrorCode::NONE => self.last_heartbeat_ok_ms = now_ms,
            // Kafka asks to rejoin only from a stable member: one already rejoining is answered the same.
            ErrorCode::REBALANCE_IN_PROGRESS => {
                self.last_heartbeat_ok_ms = now_ms;
                if self.state == MemberState::Stable {
                    self.rejoin_needed = true;
                }
            }
            ErrorCode::ILLEGAL_GENERATION => self.lose_membership(false),
            ErrorCode::UNKNOWN_MEMBER_ID => self.lose_membership(true),
            e if Self::is_coordinator_error(e) => self.coordinator_lost(now_ms),
            _ => {}
        }
    }

    /// `KafkaConsumer.close`: a member in a generation leaves the group (LeaveGroup), so its partitions move at
    /// once instead of after `session.timeout.ms`. The consumer is done; what is still in flight is forgotten.
    pub fn close(&mut self, now_ms: u64) -> Vec<Output> {
        if self.generation >= 0 {
            self.leave_group(now_ms);
        }
        std::mem::take(&mut self.out)
    }

    /// `maybeLeaveGroup` after the poll timeout: the member tells the coordinator it leaves, so the group
    /// rebalances at once, and it is out of the group until its next `poll` joins again.
    fn leave_group(&mut self, now_ms: u64) {
        if let Some(coordinator) = self.coordinator {
            let message = Message::LeaveGroupRequest(LeaveGroupRequest {
                group_id: self.config.group_id.clone(),
                members: vec![self.member_id.clone()],
            });
            let timeout_ms = self.request_timeout_ms;
            self.send(
                now_ms,
                coordinator,
                timeout_ms,
                GroupPending::Leave,
                message,
            );
        }
        self.lose_membership(true);
    }
}
