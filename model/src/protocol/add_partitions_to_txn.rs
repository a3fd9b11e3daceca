//! AddPartitionsToTxn (API key 24): a transactional producer tells its coordinator which partitions it is about to
//! write, before its first batch to each, so the coordinator knows where to send the markers.

use crate::error::ErrorCode;
use crate::ids::TopicPartition;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AddPartitionsToTxnRequest {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub partitions: Vec<TopicPartition>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AddPartitionsToTxnResponse {
    /// One error per requested partition (Kafka answers every partition with the same error when the request
    /// fails as a whole).
    pub results: Vec<(TopicPartition, ErrorCode)>,
}
