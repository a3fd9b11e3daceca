//! The consumer's Metadata: which broker leads each assigned partition, under which epoch, and when to ask again.

use super::partition::Leader;
use super::requests::Pending;
use super::Consumer;
use crate::error::ErrorCode;
use crate::ids::{BrokerId, NodeId, NO_LEADER};
use crate::output::Output;
use crate::protocol::{Message, MetadataRequest, MetadataResponse, PartitionMetadata};
use std::collections::BTreeSet;

#[derive(Debug)]
pub(super) struct MetadataState {
    bootstrap: Vec<BrokerId>,
    /// The bootstrap broker the next request goes to.
    next_index: usize,
    /// Something asked for fresh metadata (start, an error, a lost connection, a partition without a leader).
    needs_update: bool,
    last_attempt_ms: Option<u64>,
    last_success_ms: Option<u64>,
    /// Brokers whose connection failed and that have not answered since. Like Kafka's `leastLoadedNode`, which
    /// passes over nodes it cannot reach, metadata goes elsewhere while another broker is left to ask.
    unreachable: BTreeSet<BrokerId>,
}

impl MetadataState {
    pub fn new(bootstrap: Vec<BrokerId>) -> Self {
        MetadataState {
            bootstrap,
            next_index: 0,
            needs_update: true,
            last_attempt_ms: None,
            last_success_ms: None,
            unreachable: BTreeSet::new(),
        }
    }

    pub fn request_update(&mut self) {
        self.needs_update = true;
    }

    /// When the next request is due: `retry.backoff.ms` after the last attempt when an update is wanted, else
    /// `metadata.max.age.ms` after the last answer.
    fn due_ms(&self, retry_backoff_ms: u64, max_age_ms: u64) -> Option<u64> {
        if self.bootstrap.is_empty() {
            return None;
        }
        match (
            self.needs_update,
            self.last_attempt_ms,
            self.last_success_ms,
        ) {
            (true, None, _) => Some(0),
            (true, Some(attempt), _) => Some(attempt + retry_backoff_ms),
            (false, _, Some(success)) => Some(success + max_age_ms),
            (false, _, None) => unreachable!("metadata is only settled by an answer"),
        }
    }

    pub fn mark_unreachable(&mut self, broker: BrokerId) {
        self.unreachable.insert(broker);
    }

    pub fn mark_reachable(&mut self, broker: BrokerId) {
        self.unreachable.remove(&broker);
    }

    /// Round-robin over the bootstrap brokers, so a stale broker is not asked twice in a row, passing over
    /// unreachable ones unless every broker is.
    fn next_broker(&mut self) -> BrokerId {
        let n = self.bootstrap.len();
        let offset = (0..n)
            .find(|i| {
                !self
                    .unreachable
                    .contains(&self.bootstrap[(self.next_index + i) % n])
            })
            .unwrap_or(0);
        let index = (self.next_index + offset) % n;
        self.next_index = (index + 1) % n;
        self.bootstrap[index]
    }
}

impl Consumer {
    pub(super) fn metadata_due_ms(&self) -> Option<u64> {
        if self.requests.metadata_in_flight() {
            return None;
        }
        self.metadata.due_ms(
            self.config.retry_backoff_ms,
            self.config.metadata_max_age_ms,
        )
    }

    pub(super) fn maybe_send_metadata(&mut self, now_ms: u64) {
        if self.metadata_due_ms().is_none_or(|due| due > now_ms) {
            return;
        }
        let broker = self.metadata.next_broker();
        self.metadata.last_attempt_ms = Some(now_ms);
        let deadline_ms = now_ms + self.config.request_timeout_ms;
        let correlation_id = self
            .requests
            .register(broker, deadline_ms, Pending::Metadata);
        let message = Message::MetadataRequest(MetadataRequest {
            topics: Some(self.assigned_topics()),
        });
        self.out.push(Output::Send {
            to: NodeId::Broker(broker),
            correlation_id,
            message,
        });
    }

    /// The assigned partitions' topics and the subscribed ones, sorted.
    fn assigned_topics(&self) -> Vec<String> {
        let mut topics: Vec<String> = self
            .partitions
            .keys()
            .map(|tp| tp.topic.to_string())
            .chain(self.subscribed_topics.iter().cloned())
            .collect();
        topics.sort();
        topics.dedup();
        topics
    }

    pub(super) fn handle_metadata_response(&mut self, now_ms: u64, resp: MetadataResponse) {
        for topic in &self.subscribed_topics {
            let count = resp
                .partitions
                .iter()
                .filter(|pm| *pm.topic_partition.topic == **topic)
                .count();
            // A topic missing from the answer keeps its last count: partitions only grow.
            if count > 0 {
                let known = self.partition_counts.entry(topic.clone()).or_insert(0);
                *known = (*known).max(count as i32);
            }
        }
        for pm in &resp.partitions {
            if let Some(p) = self.partitions.get_mut(&pm.topic_partition) {
                p.update_leader(leader_of(pm), pm.leader_epoch);
            }
        }
        for p in self.partitions.values_mut() {
            p.awaiting_metadata = false;
        }
        self.metadata.last_success_ms = Some(now_ms);
        // A partition without a leader keeps asking, every `retry.backoff.ms`, until one is elected.
        self.metadata.needs_update = self.partitions.values().any(|p| p.leader.is_none())
            || self
                .subscribed_topics
                .iter()
                .any(|t| !self.partition_counts.contains_key(t));
    }
}

fn leader_of(pm: &PartitionMetadata) -> Option<Leader> {
    (pm.error == ErrorCode::NONE && pm.leader != NO_LEADER).then_some(Leader {
        broker: pm.leader,
        epoch: pm.leader_epoch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_brokers_are_passed_over_until_every_broker_is() {
        let mut m = MetadataState::new(vec![1, 2, 3]);
        assert_eq!(m.next_broker(), 1);
        m.mark_unreachable(2);
        assert_eq!(m.next_broker(), 3);
        assert_eq!(m.next_broker(), 1);
        m.mark_unreachable(1);
        m.mark_unreachable(3);
        assert_eq!(m.next_broker(), 2, "all unreachable: plain round-robin");
        m.mark_reachable(1);
        assert_eq!(m.next_broker(), 1);
    }
}
