//! CreatePartitions on the controller: checking a request to grow topics, placing the new partitions' replicas,
//! electing their leaders and pushing them to the brokers.
//!
//! The checks and their messages follow KRaft's `ReplicationControlManager.createPartitions`; the placement
//! follows how this controller places a new topic's partitions (see [`place_replicas`]). The controller commits
//! a change the moment it takes it, as KRaft's answers once its records are committed, so `timeout_ms` can never
//! run out here.

use super::state::{place_replicas, PartitionRecord};
use super::Controller;
use crate::error::ErrorCode;
use crate::ids::{BrokerId, NodeId, TopicPartition};
use crate::observe::Observation;
use crate::protocol::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreatePartitionsTopic,
    CreatePartitionsTopicResult, Message,
};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Why a topic's growth was refused: Kafka's error code and its message.
type Refusal = (ErrorCode, String);

/// What one accepted topic becomes: its new partitions with their replicas and in-sync replicas.
struct Growth {
    topic: Arc<str>,
    previous_count: i32,
    partitions: Vec<(TopicPartition, PartitionRecord)>,
}

impl Controller {
    pub(super) fn handle_create_partitions(
        &mut self,
        from: NodeId,
        correlation_id: u64,
        req: CreatePartitionsRequest,
    ) {
        let mut seen = BTreeSet::new();
        let duplicates: BTreeSet<&str> = req
            .topics
            .iter()
            .filter(|t| !seen.insert(t.name.as_str()))
            .map(|t| t.name.as_str())
            .collect();
        let mut results = Vec::new();
        let mut created = Vec::new();
        for topic in &req.topics {
            let outcome = if duplicates.contains(topic.name.as_str()) {
                Err((
                    ErrorCode::INVALID_REQUEST,
                    "Duplicate topic name.".to_string(),
                ))
            } else {
                self.plan_growth(topic)
            };
            let (error, error_message) = match outcome {
                Ok(growth) => {
                    if !req.validate_only {
                        created.push(growth);
                    }
                    (ErrorCode::NONE, None)
                }
                Err((error, message)) => (error, Some(message)),
            };
            results.push(CreatePartitionsTopicResult {
                name: topic.name.clone(),
                error,
                error_message,
            });
        }
        let mut changed = Vec::new();
        for growth in created {
            changed.extend(self.apply_growth(growth));
        }
        self.send(
            from,
            correlation_id,
            Message::CreatePartitionsResponse(CreatePartitionsResponse { results }),
        );
        if !changed.is_empty() {
            self.push_changes(changed, None);
        }
    }

    /// Checks one topic of the request and works out its new partitions, changing nothing.
    fn plan_growth(&self, request: &CreatePartitionsTopic) -> Result<Growth, Refusal> {
        let existing: Vec<(&TopicPartition, &PartitionRecord)> =
            self.state.topic_partitions(&request.name).collect();
        let Some((first_tp, first)) = existing.first() else {
            return Err((
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                "This server does not host this topic-partition.".to_string(),
            ));
        };
        let current = existing.len() as i32;
        if request.count < current {
            let message = format!(
                "The topic {} currently has {current} partition(s); {} would not be an increase.",
                request.name, request.count
            );
            return Err((ErrorCode::INVALID_PARTITIONS, message));
        }
        if request.count == current {
            let message = format!("Topic already has {current} partition(s).");
            return Err((ErrorCode::INVALID_PARTITIONS, message));
        }
        let additional = (request.count - current) as usize;
        let replication_factor = first.replicas.len() as i32;
        let assignments = match &request.assignments {
            Some(manual) => self.check_manual(manual, additional, replication_factor)?,
            None => self.place(first.replicas[0], current, additional, replication_factor)?,
        };
        let topic = first_tp.topic.clone();
        let mut partitions = Vec::new();
        for (i, replicas) in assignments.into_iter().enumerate() {
            let partition = current + i as i32;
            let isr: Vec<BrokerId> = replicas
                .iter()
                .copied()
                .filter(|b| self.state.is_live(*b))
                .collect();
            if isr.is_empty() {
                let message = format!(
                    "All brokers specified in the manual partition assignment for partition {partition} are \
                     fenced or in controlled shutdown."
                );
                return Err((ErrorCode::INVALID_REPLICA_ASSIGNMENT, message));
            }
            let tp = TopicPartition::new(topic.clone(), partition);
            partitions.push((tp, PartitionRecord::new(replicas, isr)));
        }
        Ok(Growth {
            topic,
            previous_count: current,
            partitions,
        })
    }

    /// The controller's own placement over the usable (unfenced) brokers, starting from the broker of partition
    /// 0's first replica, so the new partitions continue the topic's round-robin.
    fn place(
        &self,
        partition_zero_first: BrokerId,
        current: i32,
        additional: usize,
        replication_factor: i32,
    ) -> Result<Vec<Vec<BrokerId>>, Refusal> {
        let usable: Vec<BrokerId> = self.state.live_brokers().collect();
        if usable.len() < replication_factor as usize {
            let message = format!(
                "Unable to replicate the partition {replication_factor} time(s): The target replication factor \
                 of {replication_factor} cannot be reached because only {} broker(s) are registered.",
                usable.len()
            );
            return Err((ErrorCode::INVALID_REPLICATION_FACTOR, message));
        }
        let start_index = usable
            .iter()
            .position(|b| *b >= partition_zero_first)
            .unwrap_or(0);
        Ok((0..additional as i32)
            .map(|i| place_replicas(&usable, start_index, current + i, replication_factor))
            .collect())
    }

    /// KRaft's `validateManualPartitionAssignment`, plus the count and replication-factor checks of
    /// `createPartitionsForTopic`.
    fn check_manual(
        &self,
        manual: &[Vec<BrokerId>],
        additional: usize,
        replication_factor: i32,
    ) -> Result<Vec<Vec<BrokerId>>, Refusal> {
        let refuse = |message: String| Err((ErrorCode::INVALID_REPLICA_ASSIGNMENT, message));
        if manual.len() != additional {
            return refuse(format!(
                "Attempted to add {additional} additional partition(s), but only {} assignment(s) were \
                 specified.",
                manual.len()
            ));
        }
        for replicas in manual {
            if replicas.is_empty() {
                return refuse(
                    "The manual partition assignment includes an empty replica list.".to_string(),
                );
            }
            let mut seen = BTreeSet::new();
            for &b in replicas {
                if !seen.insert(b) {
                    return refuse(format!(
                        "The manual partition assignment includes the broker {b} more than once."
                    ));
                }
                if !self.state.brokers.contains_key(&b) {
                    return refuse(format!(
                        "The manual partition assignment includes broker {b}, but no such broker is \
                         registered."
                    ));
                }
            }
            if replicas.len() != replication_factor as usize {
                return refuse(format!(
                    "The manual partition assignment includes a partition with {} replica(s), but this is not \
                     consistent with previous partitions, which have {replication_factor} replica(s).",
                    replicas.len()
                ));
            }
        }
        Ok(manual.to_vec())
    }

    /// Records the new partitions in the durable state; returns them for LeaderAndIsr and UpdateMetadata.
    fn apply_growth(&mut self, growth: Growth) -> Vec<TopicPartition> {
        let count = growth.previous_count + growth.partitions.len() as i32;
        let replicas = growth
            .partitions
            .iter()
            .map(|(_, p)| p.replicas.clone())
            .collect();
        let mut changed = Vec::new();
        for (tp, record) in growth.partitions {
            self.state.partitions.insert(tp.clone(), record);
            changed.push(tp);
        }
        self.observe(Observation::PartitionsCreated {
            topic: growth.topic,
            previous_count: growth.previous_count,
            count,
            replicas,
        });
        changed
    }
}
