//! InitProducerId for idempotent producers (no transactional id): any broker hands out a fresh producer id.
//!
//! Kafka's brokers take blocks of ids from the controller (KIP-730) so ids never repeat across the cluster. Here a
//! broker derives them from its broker epoch, which the controller hands out once per registration and never
//! reuses: id = broker epoch << 20 | a counter that restarts with each registration.

use super::Broker;
use crate::error::ErrorCode;
use crate::ids::NodeId;
use crate::protocol::{
    InitProducerIdRequest, InitProducerIdResponse, Message, NO_PRODUCER_EPOCH, NO_PRODUCER_ID,
};

/// Ids per registration before they would spill into the next broker epoch's range.
const IDS_PER_REGISTRATION: i64 = 1 << 20;

impl Broker {
    pub(super) fn handle_init_producer_id(
        &mut self,
        from: NodeId,
        correlation_id: u64,
        req: InitProducerIdRequest,
    ) {
        assert!(
            req.transactional_id.is_none(),
            "transactions are not modelled yet"
        );
        let response = match self.controller.broker_epoch() {
            Some(epoch) if self.next_producer_id < IDS_PER_REGISTRATION => {
                let producer_id = epoch * IDS_PER_REGISTRATION + self.next_producer_id;
                self.next_producer_id += 1;
                InitProducerIdResponse {
                    error: ErrorCode::NONE,
                    producer_id,
                    producer_epoch: 0,
                }
            }
            // Not registered yet (or out of ids until it registers again): Kafka's producer-id manager answers
            // the same while it waits for its next block.
            _ => InitProducerIdResponse {
                error: ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
                producer_id: NO_PRODUCER_ID,
                producer_epoch: NO_PRODUCER_EPOCH,
            },
        };
        self.send(
            from,
            correlation_id,
            Message::InitProducerIdResponse(response),
        );
    }
}
