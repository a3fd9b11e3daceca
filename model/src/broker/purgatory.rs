//! Kafka's purgatory: produce requests (and transaction markers) waiting for the ISR, and fetch requests waiting
//! for data.

use crate::error::ErrorCode;
use crate::ids::{LeaderEpoch, NodeId, Offset, TopicPartition};
use crate::protocol::FetchRequest;

/// An acks=all produce waiting until the HW passes each partition's appended records.
#[derive(Clone, Debug)]
pub struct DelayedProduce {
    pub client: NodeId,
    pub correlation_id: u64,
    pub deadline_ms: u64,
    pub partitions: Vec<PendingPartition>,
    pub answer: Answer,
}

/// Which request waits: a client's Produce, or a coordinator's WriteTxnMarkers (appended with acks=all too).
#[derive(Clone, Debug)]
pub enum Answer {
    Produce,
    /// `markers[i]` is whose marker `partitions[i]` is: the producer id, and whether it commits.
    WriteTxnMarkers {
        markers: Vec<(i64, bool)>,
    },
}

#[derive(Clone, Debug)]
pub struct PendingPartition {
    pub tp: TopicPartition,
    pub base_offset: Offset,
    /// The offset the HW must reach: one past the batch's last record.
    pub required_offset: Offset,
    /// The leader epoch the batch was appended in: losing it means the records may be gone.
    pub leader_epoch: LeaderEpoch,
    /// Decided already (errors before append, or done).
    pub result: Option<ErrorCode>,
}

/// A fetch with nothing to return yet, parked until data arrives or `max_wait_ms` passes.
#[derive(Clone, Debug)]
pub struct DelayedFetch {
    pub from: NodeId,
    pub correlation_id: u64,
    pub deadline_ms: u64,
    pub request: FetchRequest,
}

#[derive(Default)]
pub struct Purgatory {
    pub produces: Vec<DelayedProduce>,
    pub fetches: Vec<DelayedFetch>,
}

impl Purgatory {
    pub fn next_deadline(&self) -> Option<u64> {
        let p = self.produces.iter().map(|d| d.deadline_ms);
        let f = self.fetches.iter().map(|d| d.deadline_ms);
        p.chain(f).min()
    }

    /// Requests from a peer whose connection broke can no longer be answered.
    pub fn forget_peer(&mut self, peer: NodeId) {
        self.produces.retain(|d| d.client != peer);
        self.fetches.retain(|d| d.from != peer);
    }
}
