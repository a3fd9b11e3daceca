//! InitProducerId for the idempotent producer: asked of any broker before the first batch, and again after a
//! failed attempt once `retry.backoff.ms` has passed. A transactional producer asks its coordinator instead
//! (`transactional_requests.rs`).

use super::requests::Pending;
use super::Producer;
use crate::error::ErrorCode;
use crate::protocol::{
    InitProducerIdRequest, InitProducerIdResponse, Message, NO_PRODUCER_EPOCH, NO_PRODUCER_ID,
};

impl Producer {
    /// When InitProducerId should next be asked, if the producer still needs an id.
    pub(super) fn init_producer_id_due_ms(&self) -> Option<u64> {
        if !self.config.enable_idempotence
            || self.transactions.is_some()
            || self.requests.init_producer_id_in_flight()
        {
            return None;
        }
        self.idempotence.init_not_before_ms()
    }

    /// Kafka's `Sender.maybeSendAndPollTransactionalRequest` for an idempotent producer: any broker hands out ids.
    pub(super) fn maybe_send_init_producer_id(&mut self, now_ms: u64) {
        if self
            .init_producer_id_due_ms()
            .is_none_or(|due| due > now_ms)
        {
            return;
        }
        let request = InitProducerIdRequest {
            transactional_id: None,
            // Kafka's default `transaction.timeout.ms`; the broker ignores it without a transactional id.
            transaction_timeout_ms: 60_000,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
        };
        self.send_to_any_broker(
            now_ms,
            Pending::InitProducerId,
            Message::InitProducerIdRequest(request),
        );
    }

    pub(super) fn handle_init_producer_id_response(
        &mut self,
        now_ms: u64,
        response: InitProducerIdResponse,
    ) {
        if response.error == ErrorCode::NONE {
            self.idempotence
                .initialized(response.producer_id, response.producer_epoch);
        } else {
            self.idempotence
                .init_failed(now_ms, self.config.retry_backoff_ms);
        }
    }
}
