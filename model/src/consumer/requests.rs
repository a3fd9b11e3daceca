//! The consumer's requests in flight: what each asked for, which broker has it, and when it times out.

use crate::ids::{BrokerId, LeaderEpoch, NodeId, Offset, TopicPartition};
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

#[derive(Clone, Debug)]
pub(super) struct InFlight {
    pub broker: BrokerId,
    pub deadline_ms: u64,
    pub pending: Pending,
}

#[derive(Debug, Default)]
pub(super) struct InFlightRequests {
    next_correlation_id: u64,
    by_id: BTreeMap<u64, InFlight>,
}

impl InFlightRequests {
    /// Records a request and returns the correlation id to send it with.
    pub fn register(&mut self, broker: BrokerId, deadline_ms: u64, pending: Pending) -> u64 {
        self.next_correlation_id += 1;
        let id = self.next_correlation_id;
        self.by_id.insert(
            id,
            InFlight {
                broker,
                deadline_ms,
                pending,
            },
        );
        id
    }

    /// The request `correlation_id` answers, if `from` is the broker it went to.
    pub fn take(&mut self, from: NodeId, correlation_id: u64) -> Option<InFlight> {
        let request = self.by_id.get(&correlation_id)?;
        if from != NodeId::Broker(request.broker) {
            return None;
        }
        self.by_id.remove(&correlation_id)
    }

    /// Everything in flight to `broker`, which a closed connection fails.
    pub fn take_broker(&mut self, broker: BrokerId) -> Vec<InFlight> {
        let ids: Vec<u64> = self
            .by_id
            .iter()
            .filter(|(_, r)| r.broker == broker)
            .map(|(id, _)| *id)
            .collect();
        ids.into_iter()
            .filter_map(|id| self.by_id.remove(&id))
            .collect()
    }

    /// Brokers with a request past its deadline, in order.
    pub fn expired_brokers(&self, now_ms: u64) -> Vec<BrokerId> {
        let mut brokers: Vec<BrokerId> = self
            .by_id
            .values()
            .filter(|r| r.deadline_ms <= now_ms)
            .map(|r| r.broker)
            .collect();
        brokers.sort_unstable();
        brokers.dedup();
        brokers
    }

    pub fn next_deadline_ms(&self) -> Option<u64> {
        self.by_id.values().map(|r| r.deadline_ms).min()
    }

    /// Kafka's `nodesWithPendingFetchRequests`: one fetch per broker at a time.
    pub fn fetching_from(&self, broker: BrokerId) -> bool {
        self.by_id
            .values()
            .any(|r| r.broker == broker && matches!(r.pending, Pending::Fetch(_)))
    }

    pub fn validating(&self, tp: &TopicPartition) -> bool {
        self.by_id
            .values()
            .any(|r| matches!(&r.pending, Pending::Validate(targets) if targets.contains_key(tp)))
    }

    pub fn metadata_in_flight(&self) -> bool {
        self.by_id
            .values()
            .any(|r| matches!(r.pending, Pending::Metadata))
    }
}
