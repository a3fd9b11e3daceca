//! FindCoordinator on any broker: the coordinator of a transactional id or a group is the leader of the key's
//! partition of `__transaction_state` or `__consumer_offsets`, as this broker's metadata cache knows it.

use super::Broker;
use crate::error::ErrorCode;
use crate::ids::{NodeId, TopicPartition};
use crate::internal_topics::{partition_for, CONSUMER_OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC};
use crate::protocol::{CoordinatorType, FindCoordinatorRequest, FindCoordinatorResponse, Message};

impl Broker {
    /// The `__consumer_offsets` partition of a group.
    pub(super) fn group_partition_of(&self, group_id: &str) -> i32 {
        partition_for(group_id, self.config.offsets_topic_num_partitions)
    }

    pub(super) fn handle_find_coordinator(
        &mut self,
        from: NodeId,
        correlation_id: u64,
        req: FindCoordinatorRequest,
    ) {
        let tp = match req.key_type {
            CoordinatorType::Transaction => {
                TopicPartition::new(TRANSACTION_STATE_TOPIC, self.txn_partition_of(&req.key))
            }
            CoordinatorType::Group => {
                TopicPartition::new(CONSUMER_OFFSETS_TOPIC, self.group_partition_of(&req.key))
            }
        };
        let leader = self.metadata.get(&tp).map(|m| m.leader).filter(|&l| l >= 0);
        // A partition without a leader (or a topic not created) has no coordinator yet: retry.
        let response = match leader {
            Some(node_id) => FindCoordinatorResponse {
                error: ErrorCode::NONE,
                node_id,
            },
            None => FindCoordinatorResponse {
                error: ErrorCode::COORDINATOR_NOT_AVAILABLE,
                node_id: -1,
            },
        };
        self.send(
            from,
            correlation_id,
            Message::FindCoordinatorResponse(response),
        );
    }
}
