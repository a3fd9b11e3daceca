//! Requests in flight (Kafka's `InFlightRequests`): what each asked (`P`, the client's own), to which broker, and
//! until when it may go unanswered.

use crate::ids::{BrokerId, NodeId};
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub struct InFlight<P> {
    pub broker: BrokerId,
    pub deadline_ms: u64,
    pub pending: P,
}

#[derive(Debug)]
pub struct InFlightRequests<P> {
    next_correlation_id: u64,
    by_id: BTreeMap<u64, InFlight<P>>,
}

impl<P> Default for InFlightRequests<P> {
    fn default() -> Self {
        InFlightRequests {
            next_correlation_id: 0,
            by_id: BTreeMap::new(),
        }
    }
}

impl<P> InFlightRequests<P> {
    /// Requests numbered from `first_id` on, for a second set of requests sharing the client's connections (a
    /// group consumer's coordinator requests beside its fetcher's), so correlation ids never collide.
    pub fn numbered_from(first_id: u64) -> Self {
        InFlightRequests {
            next_correlation_id: first_id - 1,
            by_id: BTreeMap::new(),
        }
    }

    /// A fresh correlation id, for a request that will not wait for an answer (acks=0).
    pub fn next_id(&mut self) -> u64 {
        self.next_correlation_id += 1;
        self.next_correlation_id
    }

    /// Records a request and returns the correlation id to send it with.
    pub fn register(&mut self, broker: BrokerId, deadline_ms: u64, pending: P) -> u64 {
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
    pub fn take(&mut self, from: NodeId, correlation_id: u64) -> Option<InFlight<P>> {
        let request = self.by_id.get(&correlation_id)?;
        if from != NodeId::Broker(request.broker) {
            return None;
        }
        self.by_id.remove(&correlation_id)
    }

    /// Everything in flight to `broker`, oldest first: a closed connection fails it all.
    pub fn take_broker(&mut self, broker: BrokerId) -> Vec<InFlight<P>> {
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

    /// Whether any request in flight (to `broker`, or to any broker) is one `is` picks out.
    pub fn any(&self, broker: Option<BrokerId>, is: impl Fn(&P) -> bool) -> bool {
        self.by_id
            .values()
            .any(|r| broker.is_none_or(|b| r.broker == b) && is(&r.pending))
    }

    pub fn pending(&self) -> impl Iterator<Item = &P> {
        self.by_id.values().map(|r| &r.pending)
    }

    pub fn pending_mut(&mut self) -> impl Iterator<Item = &mut P> {
        self.by_id.values_mut().map(|r| &mut r.pending)
    }
}
