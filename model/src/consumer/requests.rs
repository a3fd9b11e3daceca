//! What the consumer's requests in flight asked for, kept to check each answer against.

use crate::ids::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use std::collections::BTreeMap;

/// What a request asked, kept so its answer can be checked against the state it was sent from.
#[derive(Clone, Debug)]
pub(super) enum Pending {
    Metadata,
    /// Each partition's fetch offset, or None for a `Latest` probe that only wants the high watermark.
    Fetch(BTreeMap<TopicPartition, Option<Offset>>),
    Validate(BTreeMap<TopicPartition, ValidationTarget>),
}

/// The position a KIP-320 validation asked about, under the leader epoch it named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ValidationTarget {
    pub position: Offset,
    pub offset_epoch: LeaderEpoch,
    pub current_leader_epoch: LeaderEpoch,
}

/// The consumer's requests in flight.
pub(super) type InFlightRequests = crate::client::InFlightRequests<Pending>;

impl InFlightRequests {
    /// Kafka's `nodesWithPendingFetchRequests`: one fetch per broker at a time.
    pub fn fetching_from(&self, broker: BrokerId) -> bool {
        self.any(Some(broker), |p| matches!(p, Pending::Fetch(_)))
    }

    pub fn validating(&self, tp: &TopicPartition) -> bool {
        self.any(
            None,
            |p| matches!(p, Pending::Validate(targets) if targets.contains_key(tp)),
        )
    }

    pub fn metadata_in_flight(&self) -> bool {
        self.any(None, |p| matches!(p, Pending::Metadata))
    }
}
