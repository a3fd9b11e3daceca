//! EndTxn (API key 26): a transactional producer asks its coordinator to commit or abort the open transaction.

use crate::error::ErrorCode;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EndTxnRequest {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// True to commit, false to abort.
    pub committed: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EndTxnResponse {
    pub error: ErrorCode,
}
