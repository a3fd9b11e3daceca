//! Finding the group's coordinator (FindCoordinator with the group id as key) and forgetting it when it fails.

use super::requests::GroupPending;
use super::GroupConsumer;
use crate::error::ErrorCode;
use crate::protocol::{CoordinatorType, FindCoordinatorRequest, FindCoordinatorResponse, Message};

impl GroupConsumer {
    /// Asks a bootstrap broker, round-robin, while no coordinator is known.
    pub(super) fn maybe_find_coordinator(&mut self, now_ms: u64) {
        if self.coordinator.is_some()
            || self.retry_at_ms.is_some()
            || self.requests.in_flight(&GroupPending::FindCoordinator)
            || self.bootstrap.is_empty()
        {
            return;
        }
        let broker = self.bootstrap[self.next_bootstrap % self.bootstrap.len()];
        self.next_bootstrap += 1;
        let message = Message::FindCoordinatorRequest(FindCoordinatorRequest {
            key: self.config.group_id.clone(),
            key_type: CoordinatorType::Group,
        });
        let timeout_ms = self.request_timeout_ms;
        self.send(
            now_ms,
            broker,
            timeout_ms,
            GroupPending::FindCoordinator,
            message,
        );
    }

    pub(super) fn handle_find_coordinator(&mut self, now_ms: u64, resp: FindCoordinatorResponse) {
        if resp.error == ErrorCode::NONE && resp.node_id >= 0 {
            self.coordinator = Some(resp.node_id);
            // A new coordinator has not heard from us: give the session a fresh start from our side.
            self.last_heartbeat_ok_ms = now_ms;
        } else {
            self.back_off(now_ms);
        }
    }

    /// Kafka's `markCoordinatorUnknown`: it also disconnects from the old coordinator, so the group's requests in
    /// flight to it fail now (a heartbeat among them would otherwise hold back the next one until
    /// `request.timeout.ms`). Kafka talks to the coordinator on a connection of its own, so the fetcher's requests
    /// to that broker are left alone.
    pub(super) fn coordinator_lost(&mut self, now_ms: u64) {
        let Some(old) = self.coordinator.take() else {
            return;
        };
        for request in self.requests.take_broker(old) {
            self.fail_group_request(now_ms, request.pending);
        }
    }

    /// An error that says the coordinator moved or is not ready.
    pub(super) fn is_coordinator_error(error: ErrorCode) -> bool {
        matches!(
            error,
            ErrorCode::NOT_COORDINATOR
                | ErrorCode::COORDINATOR_NOT_AVAILABLE
                | ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
        )
    }
}
