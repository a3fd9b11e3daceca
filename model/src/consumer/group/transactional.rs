//! What a consume-transform-produce application asks of its group consumer: the group metadata it hands
//! `sendOffsetsToTransaction` (KIP-447), and a rewind to the committed offsets after it aborted a transaction.

use super::GroupConsumer;
use crate::consumer::ConsumerGroupMetadata;
use crate::output::Output;
use std::collections::BTreeSet;

impl GroupConsumer {
    /// Kafka's `KafkaConsumer.groupMetadata()`: the group, and the generation and member id the member is in now
    /// (-1 and "" outside a generation), so the group coordinator can refuse the offsets of a member that is no
    /// longer the partitions' owner (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID).
    pub fn group_metadata(&self) -> ConsumerGroupMetadata {
        ConsumerGroupMetadata {
            group_id: self.config.group_id.clone(),
            generation_id: self.generation,
            member_id: self.member_id.clone(),
            group_instance_id: None,
        }
    }

    /// What an application does after `abortTransaction`: `seek(tp, committed(tp))` for every owned partition, so
    /// the records of the aborted transaction are read again. Buffered records are dropped, a fetch in flight is
    /// made stale, and each partition waits for an OffsetFetch (require_stable, so the aborted transaction's
    /// offsets must be resolved first), which positions it as for a newly assigned partition
    /// ([`super::GroupEvent::Fetched`], or a reset by `auto.offset.reset` when the group has none).
    pub fn rewind_to_committed(&mut self, now_ms: u64) -> Vec<Output> {
        let owned: BTreeSet<_> = self.owned.clone();
        for tp in &owned {
            self.buffer.clear(tp);
        }
        // Unassigning and assigning again leaves each partition without a position: nothing is fetched for it, and
        // an answer still in flight no longer matches its position and is dropped.
        self.fetcher.unassign(owned.iter());
        self.fetcher.assign(owned.iter().cloned());
        self.awaiting_committed.extend(owned);
        self.step(now_ms)
    }
}
