//! What the producer's requests in flight carry: metadata asks and produce batches.

use super::accumulator::Batch;

#[derive(Debug)]
pub enum Pending {
    Metadata,
    InitProducerId,
    /// The batches the request carries, one per partition. A batch leaves early if its delivery timeout passes.
    Produce(Vec<Batch>),
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

    pub fn batches(&self) -> impl Iterator<Item = &Batch> {
        self.pending().flat_map(|p| match p {
            Pending::Produce(batches) => batches.as_slice(),
            Pending::Metadata | Pending::InitProducerId => &[],
        })
    }

    /// Removes in-flight batches past their delivery deadline (Kafka's `getExpiredInflightBatches`); their
    /// requests stay in flight, and a late answer finds them gone.
    pub fn expire_batches(&mut self, now_ms: u64, delivery_timeout_ms: u64) -> Vec<Batch> {
        let mut expired = Vec::new();
        for pending in self.pending_mut() {
            if let Pending::Produce(batches) = pending {
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
