//! InitProducerId (API key 22): a producer gets its producer id and epoch before its first idempotent batch.

use crate::error::ErrorCode;
use serde::{Deserialize, Serialize};

/// Kafka's "no producer id" and "no epoch" values on the wire.
pub const NO_PRODUCER_ID: i64 = -1;
pub const NO_PRODUCER_EPOCH: i16 = -1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InitProducerIdRequest {
    /// None for an idempotent producer without transactions: any broker answers.
    pub transactional_id: Option<String>,
    pub transaction_timeout_ms: u64,
    /// The id and epoch the producer has, to bump (KIP-360); NO_PRODUCER_ID / NO_PRODUCER_EPOCH for a new one.
    pub producer_id: i64,
    pub producer_epoch: i16,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InitProducerIdResponse {
    pub error: ErrorCode,
    pub producer_id: i64,
    pub producer_epoch: i16,
}
