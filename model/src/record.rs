//! Records and record batches as Kafka stores them: a batch has a base offset and the leader epoch that wrote it.

use crate::ids::{LeaderEpoch, Offset};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One record. `value` is unique per record in a run so checkers can follow it across logs and clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub key: Option<Arc<[u8]>>,
    pub value: u64,
    pub timestamp_ms: u64,
}

/// A batch of records appended as one unit. Records are shared: replicating a batch never copies them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordBatch {
    pub base_offset: Offset,
    /// The leader epoch of the leader that appended this batch (`partitionLeaderEpoch` in Kafka).
    pub partition_leader_epoch: LeaderEpoch,
    pub records: Arc<[Record]>,
}

impl RecordBatch {
    /// The offset after this batch's last record.
    pub fn next_offset(&self) -> Offset {
        self.base_offset + self.records.len() as Offset
    }

    pub fn last_offset(&self) -> Offset {
        self.next_offset() - 1
    }

    /// Each record with its offset.
    pub fn entries(&self) -> impl Iterator<Item = (Offset, &Record)> {
        self.records
            .iter()
            .enumerate()
            .map(move |(i, r)| (self.base_offset + i as Offset, r))
    }
}
