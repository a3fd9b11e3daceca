//! What the producer's requests in flight carry: metadata asks, produce batches, and transactional requests.

use super::accumulator::Batch;
use super::transaction_manager::TxnRequest;

#[derive(Debug)]
pub enum Pending {
    Metadata,
    /// The idempotent producer's InitProducerId (a transactional producer's goes as a [`Pending::Txn`]).
    InitProducerId,
    /// The batches the request carries, one per partition. A batch leaves early if its delivery timeout passes.
    Produce(Vec<Batch>),
    /// A transactional request (Kafka's `TxnRequestHandler`), kept to be retried if it fails.
    Txn(TxnRequest),
}

/// The producer's requests in flight.
pub type InFlightRequests = crate::client::InFlightRequests<Pending>;

impl InFlightRequests {
    pub fn metadata_in_flight(&self) -> bool {
        self.any(None, |p| matches!(p, Pending::Metadata))
    }

    pub fn init_producer_id_in_flight(&self) -> bool {
        self.any(None, |p| matches!(p, Pending::InitProducerId))
    }

    /// Kafka's `TransactionManager.hasInFlightRequest`: at most one transactional request is out at a time.
    pub fn txn_in_flight(&self) -> bool {
        self.any(None, |p| matches!(p, Pending::Txn(_)))
    }

    pub fn batches(&self) -> impl Iterator<Item = &Batch> {
        self.pending().flat_map(|p| match p {
            Pending::Produce(batches) => batches.as_slice(),
            Pending::Metadata | Pending::InitProducerId | Pending::Txn(_) => &[],
        })
    }

    /// Removes in-flight batches past their delivery deadline (Kafka's `getExpiredInflightBatches`); their
    /// requests stay in flight, and a late answer finds them gone.
    pub fn expire_batches(&mut self, now_ms: u64, delivery_timeout_ms: u64) -> Vec<Batch> {
        self.remove_batches(|b| b.delivery_deadline_ms(delivery_timeout_ms) <= now_ms)
    }

    /// Removes the in-flight batches `pick` chooses; their requests stay in flight, and a late answer finds them
    /// gone.
    pub fn remove_batches(&mut self, pick: impl Fn(&Batch) -> bool) -> Vec<Batch> {
        let mut removed = Vec::new();
        for pending in self.pending_mut() {
            if let Pending::Produce(batches) = pending {
                let (gone, kept) = std::mem::take(batches).into_iter().partition(&pick);
                *batches = kept;
                removed.extend::<Vec<Batch>>(gone);
            }
        }
        removed
    }
}
