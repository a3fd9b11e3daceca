//! The producer's Metadata: partition counts and leaders of the topics it writes, and when to ask again.
//!
//! Follows Kafka's `ProducerMetadata`: an update is asked for when a topic is new, when a produce error says
//! the leader moved, when a queued partition has no leader, and every `metadata.max.age.ms`; updates are at
//! least `retry.backoff.ms` apart, and an answer carrying an older leader epoch than one already seen keeps the
//! cached leader (KIP-320), so a lagging broker cannot move the producer back to a deposed leader.

use crate::error::ErrorCode;
use crate::ids::{BrokerId, LeaderEpoch, TopicPartition, NO_LEADER};
use crate::protocol::{MetadataResponse, PartitionMetadata};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What the producer knows of one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PartitionInfo {
    leader: Option<BrokerId>,
}

#[derive(Debug)]
pub struct Metadata {
    bootstrap: Vec<BrokerId>,
    /// The bootstrap broker the next request goes to.
    next_index: usize,
    /// Brokers whose connection failed and that have not answered since; passed over while others remain.
    unreachable: BTreeSet<BrokerId>,
    /// Every topic this producer has sent to: each request asks for all of them.
    topics: BTreeSet<Arc<str>>,
    partitions: BTreeMap<Arc<str>, BTreeMap<i32, PartitionInfo>>,
    /// Kafka's `lastSeenLeaderEpochs`.
    last_seen_epochs: BTreeMap<TopicPartition, LeaderEpoch>,
    needs_update: bool,
    /// Kafka's `lastRefreshMs`: the last answer or failure, from which `retry.backoff.ms` is counted.
    last_refresh_ms: Option<u64>,
    last_success_ms: Option<u64>,
}

impl Metadata {
    pub fn new(bootstrap: Vec<BrokerId>) -> Self {
        Metadata {
            bootstrap,
            next_index: 0,
            unreachable: BTreeSet::new(),
            topics: BTreeSet::new(),
            partitions: BTreeMap::new(),
            last_seen_epochs: BTreeMap::new(),
            needs_update: false,
            last_refresh_ms: None,
            last_success_ms: None,
        }
    }

    /// Starts following `topic`; a new topic needs an update (Kafka's `ProducerMetadata.add`).
    pub fn add_topic(&mut self, topic: &str) {
        if !self.topics.contains(topic) {
            self.topics.insert(Arc::from(topic));
            self.needs_update = true;
        }
    }

    pub fn request_update(&mut self) {
        self.needs_update = true;
    }

    pub fn topics(&self) -> Vec<String> {
        self.topics.iter().map(|t| t.to_string()).collect()
    }

    /// How many partitions `topic` has, once an answer named it.
    pub fn partition_count(&self, topic: &str) -> Option<i32> {
        let partitions = self.partitions.get(topic)?;
        partitions.keys().next_back().map(|p| p + 1)
    }

    pub fn leader(&self, tp: &TopicPartition) -> Option<BrokerId> {
        self.partitions.get(&tp.topic)?.get(&tp.partition)?.leader
    }

    /// Partitions of `topic` with a leader, ascending.
    pub fn available_partitions(&self, topic: &str) -> Vec<i32> {
        self.partitions.get(topic).map_or(Vec::new(), |ps| {
            ps.iter()
                .filter(|(_, info)| info.leader.is_some())
                .map(|(p, _)| *p)
                .collect()
        })
    }

    /// When the next request is due (Kafka's `timeToNextUpdate`): nothing before a topic is known, then
    /// `retry.backoff.ms` after the last refresh when an update is wanted, else `metadata.max.age.ms` after the
    /// last answer.
    pub fn due_ms(&self, retry_backoff_ms: u64, max_age_ms: u64) -> Option<u64> {
        if self.bootstrap.is_empty() || self.topics.is_empty() {
            return None;
        }
        let backoff_end = self.last_refresh_ms.map_or(0, |t| t + retry_backoff_ms);
        match (self.needs_update, self.last_success_ms) {
            (false, Some(success)) => Some((success + max_age_ms).max(backoff_end)),
            _ => Some(backoff_end),
        }
    }

    pub fn mark_unreachable(&mut self, broker: BrokerId) {
        self.unreachable.insert(broker);
    }

    /// Round-robin over the bootstrap brokers, preferring one that is reachable and not `busy` (at its in-flight
    /// limit), then one not busy, then any. Kafka's `leastLoadedNode` starts at a random node and prefers idle
    /// ones; rotating keeps a stale broker from being asked twice in a row.
    pub fn next_broker(&mut self, busy: impl Fn(BrokerId) -> bool) -> BrokerId {
        let n = self.bootstrap.len();
        let candidate = |i: usize| self.bootstrap[(self.next_index + i) % n];
        let idle_and_reachable =
            |i: &usize| !busy(candidate(*i)) && !self.unreachable.contains(&candidate(*i));
        let idle = |i: &usize| !busy(candidate(*i));
        let skip = (0..n)
            .find(idle_and_reachable)
            .or_else(|| (0..n).find(idle))
            .unwrap_or(0);
        let index = (self.next_index + skip) % n;
        self.next_index = (index + 1) % n;
        self.bootstrap[index]
    }

    /// Kafka's `failedUpdate`: the next attempt waits `retry.backoff.ms`, on another broker.
    pub fn failed_update(&mut self, now_ms: u64, broker: BrokerId) {
        self.last_refresh_ms = Some(now_ms);
        self.unreachable.insert(broker);
        self.needs_update = true;
    }

    /// Kafka's `Metadata.update`: takes the answer, keeping cached leaders the answer would move back in epoch.
    pub fn update(&mut self, now_ms: u64, from: BrokerId, response: &MetadataResponse) {
        self.unreachable.remove(&from);
        self.last_refresh_ms = Some(now_ms);
        self.last_success_ms = Some(now_ms);
        self.needs_update = false;
        let mut partitions: BTreeMap<Arc<str>, BTreeMap<i32, PartitionInfo>> = BTreeMap::new();
        for pm in &response.partitions {
            let tp = &pm.topic_partition;
            if !self.topics.contains(&tp.topic) {
                continue;
            }
            let info = self.latest(pm);
            partitions
                .entry(tp.topic.clone())
                .or_default()
                .insert(tp.partition, info);
        }
        self.partitions = partitions;
    }

    /// Kafka's `updateLatestMetadata`: an answer with an epoch at least the last seen wins; an older one keeps
    /// what is cached; an answer without an epoch (an error) is taken as is and forgets the epoch.
    fn latest(&mut self, pm: &PartitionMetadata) -> PartitionInfo {
        let tp = &pm.topic_partition;
        let answered = PartitionInfo {
            leader: leader_of(pm),
        };
        if pm.leader_epoch < 0 {
            self.last_seen_epochs.remove(tp);
            return answered;
        }
        match self.last_seen_epochs.get(tp) {
            Some(&seen) if pm.leader_epoch < seen => {
                let cached = self
                    .partitions
                    .get(&tp.topic)
                    .and_then(|ps| ps.get(&tp.partition));
                cached.copied().unwrap_or(PartitionInfo { leader: None })
            }
            _ => {
                self.last_seen_epochs.insert(tp.clone(), pm.leader_epoch);
                answered
            }
        }
    }
}

fn leader_of(pm: &PartitionMetadata) -> Option<BrokerId> {
    (pm.error == ErrorCode::NONE && pm.leader != NO_LEADER).then_some(pm.leader)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(partition: i32, leader: BrokerId, leader_epoch: LeaderEpoch) -> PartitionMetadata {
        PartitionMetadata {
            topic_partition: TopicPartition::new("t", partition),
            error: ErrorCode::NONE,
            leader,
            leader_epoch,
            replicas: vec![1, 2, 3],
            isr: vec![1, 2, 3],
        }
    }

    fn response(partitions: Vec<PartitionMetadata>) -> MetadataResponse {
        MetadataResponse {
            brokers: vec![1, 2, 3],
            partitions,
        }
    }

    #[test]
    fn an_older_leader_epoch_keeps_the_cached_leader() {
        let mut m = Metadata::new(vec![1, 2, 3]);
        m.add_topic("t");
        m.update(0, 1, &response(vec![pm(0, 2, 5), pm(1, 3, 1)]));
        m.update(10, 2, &response(vec![pm(0, 1, 4), pm(1, 1, 2)]));
        assert_eq!(
            m.leader(&TopicPartition::new("t", 0)),
            Some(2),
            "epoch 4 < 5"
        );
        assert_eq!(
            m.leader(&TopicPartition::new("t", 1)),
            Some(1),
            "epoch 2 > 1"
        );
        assert_eq!(m.partition_count("t"), Some(2));
        assert_eq!(m.available_partitions("t"), vec![0, 1]);
    }

    #[test]
    fn updates_wait_for_the_backoff_and_the_max_age() {
        let mut m = Metadata::new(vec![1]);
        assert_eq!(m.due_ms(100, 1000), None, "no topic yet");
        m.add_topic("t");
        assert_eq!(m.due_ms(100, 1000), Some(0));
        m.update(50, 1, &response(vec![pm(0, 1, 1)]));
        assert_eq!(m.due_ms(100, 1000), Some(1050));
        m.request_update();
        assert_eq!(m.due_ms(100, 1000), Some(150));
    }

    #[test]
    fn unreachable_brokers_are_passed_over_until_every_broker_is() {
        let mut m = Metadata::new(vec![1, 2, 3]);
        let idle = |_| false;
        assert_eq!(m.next_broker(idle), 1);
        m.mark_unreachable(2);
        assert_eq!(m.next_broker(idle), 3);
        assert_eq!(m.next_broker(idle), 1);
        m.mark_unreachable(1);
        m.mark_unreachable(3);
        assert_eq!(m.next_broker(idle), 2, "all unreachable: plain round-robin");
    }

    #[test]
    fn a_busy_broker_is_passed_over_even_before_an_unreachable_one() {
        let mut m = Metadata::new(vec![1, 2, 3]);
        m.mark_unreachable(3);
        assert_eq!(m.next_broker(|b| b == 1), 2);
        assert_eq!(m.next_broker(|b| b != 3), 3, "only 3 is idle");
        assert_eq!(m.next_broker(|_| true), 1, "all busy: plain round-robin");
    }
}
