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
        for (t, topic) in topics.iter().enumerate() {
            for partition in 0..topic.partitions {
                let first = (t as i32 + partition) % brokers;
                let replicas: Vec<BrokerId> = (0..topic.replication_factor)
                    .map(|i| (first + i) % brokers + 1)
                    .collect();
                let record = PartitionRecord {
                    leader: replicas[0],
                    leader_epoch: 0,
                    isr: replicas.clone(),
                    partition_epoch: 0,
                    replicas,
                    elr: Vec::new(),
                    last_known_leader: NO_LEADER,
                };
                state
                    .partitions
                    .insert(TopicPartition::new(topic.name.clone(), partition), record);
            }
        }
        state
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

impl PartitionRecord {
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
