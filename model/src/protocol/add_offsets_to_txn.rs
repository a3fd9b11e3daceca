//! AddOffsetsToTxn (API key 25): a transactional producer adds a consumer group's offsets partition to its
//! transaction (`sendOffsetsToTransaction`), so the offsets it commits become visible with the transaction.

use crate::error::ErrorCode;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AddOffsetsToTxnRequest {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub group_id: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AddOffsetsToTxnResponse {
    pub error: ErrorCode,
}
