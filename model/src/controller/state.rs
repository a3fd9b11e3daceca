//! What the controller keeps durably (ZooKeeper's znodes in Kafka's ZK mode): brokers, partitions, epochs.

use crate::config::TopicConfig;
use crate::error::ErrorCode;
use crate::ids::{BrokerId, LeaderEpoch, TopicPartition, NO_LEADER};
use crate::protocol::{LeaderAndIsrPartitionState, PartitionMetadata};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistration {
    pub epoch: i64,
    pub incarnation: u64,
    /// Fenced: its session expired; it leads nothing and is in no ISR until it registers again.
    pub fenced: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionRecord {
    pub replicas: Vec<BrokerId>,
    pub leader: BrokerId,
    pub leader_epoch: LeaderEpoch,
    pub isr: Vec<BrokerId>,
    pub partition_epoch: i32,
    /// KIP-966's Eligible Leader Replicas: replicas that left an ISR already below `min.insync.replicas`, so
    /// they hold everything up to the HW (which cannot advance then) and may lead. Empty when ELR is off.
    pub elr: Vec<BrokerId>,
    /// The leader before the partition went offline: KIP-966's last resort when ISR and ELR have no live member.
    pub last_known_leader: BrokerId,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerState {
    pub controller_epoch: i32,
    pub brokers: BTreeMap<BrokerId, BrokerRegistration>,
    pub partitions: BTreeMap<TopicPartition, PartitionRecord>,
    next_broker_epoch: i64,
}

impl ControllerState {
    /// Topic creation: replicas assigned round-robin over brokers 1..=brokers (Kafka's rack-unaware assignment
    /// with a fixed start), the first replica preferred as leader, every replica in the ISR.
    pub fn create(brokers: i32, topics: &[TopicConfig]) -> ControllerState {
        let mut state = ControllerState {
            controller_epoch: 0,
            ..Default::default()
        };
        let all: Vec<BrokerId> = (1..=brokers).collect();
        for (t, topic) in topics.iter().enumerate() {
            let start_index = t % all.len();
            for partition in 0..topic.partitions {
                let replicas =
                    place_replicas(&all, start_index, partition, topic.replication_factor);
                let record = PartitionRecord::new(replicas.clone(), replicas);
                state
                    .partitions
                    .insert(TopicPartition::new(topic.name.clone(), partition), record);
            }
        }
        state
    }

    /// The partitions of `topic`, ascending: its count is the last index plus one, as partitions only grow.
    pub fn topic_partitions<'a>(
        &'a self,
        topic: &'a str,
    ) -> impl Iterator<Item = (&'a TopicPartition, &'a PartitionRecord)> + 'a {
        self.partitions
            .range(TopicPartition::new(topic, i32::MIN)..)
            .take_while(move |(tp, _)| *tp.topic == *topic)
    }

    pub fn register(&mut self, broker: BrokerId, incarnation: u64) -> i64 {
        self.next_broker_epoch += 1;
        let epoch = self.next_broker_epoch;
        self.brokers.insert(
            broker,
            BrokerRegistration {
                epoch,
                incarnation,
                fenced: false,
            },
        );
        epoch
    }

    pub fn is_live(&self, broker: BrokerId) -> bool {
        self.brokers.get(&broker).is_some_and(|r| !r.fenced)
    }

    pub fn live_brokers(&self) -> impl Iterator<Item = BrokerId> + '_ {
        self.brokers
            .iter()
            .filter(|(_, r)| !r.fenced)
            .map(|(b, _)| *b)
    }
}

/// Kafka's rack-unaware replica assignment with a fixed start (no random shift): partition `partition`'s first
/// replica is `brokers[(start_index + partition) % n]`, the others the brokers after it in turn. New topics start
/// at their index in the topic list; new partitions of an existing topic continue from the broker of partition
/// 0's first replica and the existing count (ZooKeeper-mode Kafka's `createPartitionsWithAssignment` does so).
pub fn place_replicas(
    brokers: &[BrokerId],
    start_index: usize,
    partition: i32,
    replication_factor: i32,
) -> Vec<BrokerId> {
    let n = brokers.len();
    let first = (start_index + partition as usize) % n;
    (0..replication_factor as usize)
        .map(|i| brokers[(first + i) % n])
        .collect()
}

impl PartitionRecord {
    /// A new partition: `isr` (the replicas that are alive) all in sync, its first member the leader, every epoch
    /// at 0.
    pub fn new(replicas: Vec<BrokerId>, isr: Vec<BrokerId>) -> Self {
        PartitionRecord {
            leader: isr.first().copied().unwrap_or(NO_LEADER),
            leader_epoch: 0,
            isr,
            partition_epoch: 0,
            replicas,
            elr: Vec::new(),
            last_known_leader: NO_LEADER,
        }
    }

    pub fn to_state(&self, tp: &TopicPartition) -> LeaderAndIsrPartitionState {
        LeaderAndIsrPartitionState {
            topic_partition: tp.clone(),
            leader: self.leader,
            leader_epoch: self.leader_epoch,
            isr: self.isr.clone(),
            partition_epoch: self.partition_epoch,
            replicas: self.replicas.clone(),
        }
    }

    pub fn to_metadata(&self, tp: &TopicPartition) -> PartitionMetadata {
        let error = if self.leader < 0 {
            ErrorCode::LEADER_NOT_AVAILABLE
        } else {
            ErrorCode::NONE
        };
        PartitionMetadata {
            topic_partition: tp.clone(),
            error,
            leader: self.leader,
            leader_epoch: self.leader_epoch,
            replicas: self.replicas.clone(),
            isr: self.isr.clone(),
        }
    }
}
