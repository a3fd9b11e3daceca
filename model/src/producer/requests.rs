//! The producer's requests in flight (Kafka's `InFlightRequests`): what each carries, to which broker, and until when.

use super::accumulator::Batch;
use crate::ids::{BrokerId, NodeId};
use std::collections::BTreeMap;

#[derive(Debug)]
pub enum Pending {
    Metadata,
    /// The batches the request carries, one per partition. A batch leaves early if its delivery timeout passes.
    Produce(Vec<Batch>),
}

#[derive(Debug)]
pub struct InFlight {
    pub broker: BrokerId,
    pub deadline_ms: u64,
    pub pending: Pending,
}

#[derive(Debug, Default)]
pub struct InFlightRequests {
    next_correlation_id: u64,
    by_id: BTreeMap<u64, InFlight>,
}

impl InFlightRequests {
    /// A fresh correlation id, for a request that will not wait for an answer (acks=0).
    pub fn next_id(&mut self) -> u64 {
        self.next_correlation_id += 1;
        self.next_correlation_id
    }

    /// Records a request and returns the correlation id to send it with.
    pub fn register(&mut self, broker: BrokerId, deadline_ms: u64, pending: Pending) -> u64 {
        let id = self.next_id();
        let request = InFlight {
            broker,
            deadline_ms,
            pending,
        };
        self.by_id.insert(id, request);
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

    /// Everything in flight to `broker`, oldest first: a closed connection fails it all.
    pub fn take_broker(&mut self, broker: BrokerId) -> Vec<InFlight> {
        let ids: Vec<u64> = self
            .by_id
            .iter()
            .filter(|(_, r)| r.broker == broker)
            .map(|(id, _)| *id)
            .collect();
        ids.iter().filter_map(|id| self.by_id.remove(id)).collect()
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

    /// Kafka's `canSendMore`: requests of any kind count against `max.in.flight.requests.per.connection`.
    pub fn count(&self, broker: BrokerId) -> usize {
        self.by_id.values().filter(|r| r.broker == broker).count()
    }

    pub fn metadata_in_flight(&self) -> bool {
        self.by_id
            .values()
            .any(|r| matches!(r.pending, Pending::Metadata))
    }

    pub fn batches(&self) -> impl Iterator<Item = &Batch> {
        self.by_id.values().flat_map(|r| match &r.pending {
            Pending::Produce(batches) => batches.as_slice(),
            Pending::Metadata => &[],
        })
    }

    /// Removes in-flight batches past their delivery deadline (Kafka's `getExpiredInflightBatches`); their
    /// requests stay in flight, and a late answer finds them gone.
    pub fn expire_batches(&mut self, now_ms: u64, delivery_timeout_ms: u64) -> Vec<Batch> {
        let mut expired = Vec::new();
        for request in self.by_id.values_mut() {
            if let Pending::Produce(batches) = &mut request.pending {
                let (gone, kept) = std::mem::take(batches)
                    .into_iter()
                    .partition(|b| b.delivery_deadline_ms(delivery_timeout_ms) <= now_ms);
                *batches = kept;
                expired.extend::<Vec<Batch>>(gone);
            }
        }
        expired
    }
}
