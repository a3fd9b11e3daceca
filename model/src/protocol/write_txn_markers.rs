//! WriteTxnMarkers (API key 27): the transaction coordinator asks a partition leader to append the COMMIT or ABORT
//! marker that ends a producer's transaction on its partitions.

use crate::error::ErrorCode;
use crate::ids::TopicPartition;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WriteTxnMarkersRequest {
    pub markers: Vec<WritableTxnMarker>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WritableTxnMarker {
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// True for COMMIT, false for ABORT.
    pub transaction_result: bool,
    pub partitions: Vec<TopicPartition>,
    /// The coordinator's epoch (the leader epoch of its `__transaction_state` partition): a leader refuses
    /// markers from a coordinator older than one it has heard from (TRANSACTION_COORDINATOR_FENCED).
    pub coordinator_epoch: i32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WriteTxnMarkersResponse {
    /// Per marker (by producer id), the error of each partition.
    pub markers: Vec<(i64, Vec<(TopicPartition, ErrorCode)>)>,
}
