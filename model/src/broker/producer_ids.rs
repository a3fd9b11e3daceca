//! InitProducerId: any broker hands an idempotent producer a fresh producer id; a transactional one's request
//! goes to its transaction coordinator (`txn_coordinator`), which takes its ids from the same source.
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
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        req: InitProducerIdRequest,
    ) {
        if let Some(transactional_id) = req.transactional_id.clone() {
            return self.handle_txn_init_producer_id(
                now_ms,
                from,
                correlation_id,
                req,
                transactional_id,
            );
        }
        let response = match self.allocate_producer_id() {
            Some(producer_id) => InitProducerIdResponse {
                error: ErrorCode::NONE,
                producer_id,
                producer_epoch: 0,
            },
            // Not registered yet (or out of ids until it registers again): Kafka's producer-id manager answers
            // the same while it waits for its next block.
            None => InitProducerIdResponse {
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

    /// A producer id never handed out before in this cluster, if this broker has a registration to derive it from.
    pub(super) fn allocate_producer_id(&mut self) -> Option<i64> {
        let epoch = self.controller.broker_epoch()?;
        if self.next_producer_id >= IDS_PER_REGISTRATION {
            return None;
        }
        let producer_id = epoch * IDS_PER_REGISTRATION + self.next_producer_id;
        self.next_producer_id += 1;
        Some(producer_id)
    }
}
