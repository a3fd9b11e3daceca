//! Kafka's protocol error codes, by Kafka's names, with the retriable flag Kafka's clients use.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[allow(non_camel_case_types)]
pub enum ErrorCode {
    NONE,
    OFFSET_OUT_OF_RANGE,
    UNKNOWN_TOPIC_OR_PARTITION,
    LEADER_NOT_AVAILABLE,
    NOT_LEADER_OR_FOLLOWER,
    REQUEST_TIMED_OUT,
    NETWORK_EXCEPTION,
    NOT_CONTROLLER,
    NOT_ENOUGH_REPLICAS,
    NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    STALE_CONTROLLER_EPOCH,
    STALE_BROKER_EPOCH,
    FENCED_LEADER_EPOCH,
    UNKNOWN_LEADER_EPOCH,
    INVALID_UPDATE_VERSION,
    INELIGIBLE_REPLICA,
    BROKER_NOT_AVAILABLE,
    /// An idempotent producer's batch does not follow its last sequence number (a gap, or a new epoch not at 0).
    OUT_OF_ORDER_SEQUENCE_NUMBER,
    /// The producer's epoch is older than the one the broker knows: a newer incarnation took over.
    INVALID_PRODUCER_EPOCH,
    /// The broker has no state for this producer id (brokers before Kafka 2.8; clients still handle it).
    UNKNOWN_PRODUCER_ID,
    /// The broker cannot hand out producer ids yet (it has not registered with the controller).
    COORDINATOR_LOAD_IN_PROGRESS,
    /// A newer producer with the same `transactional.id` has initialized: this one is a zombie.
    PRODUCER_FENCED,
    /// The producer id does not belong to this `transactional.id`.
    INVALID_PRODUCER_ID_MAPPING,
    /// The transaction is changing (a commit, an abort or a fence is being written): retry.
    CONCURRENT_TRANSACTIONS,
    /// The request does not fit the transaction's state (ending a transaction that is not open).
    INVALID_TXN_STATE,
    /// `transaction.timeout.ms` is above the broker's `transaction.max.timeout.ms`.
    INVALID_TRANSACTION_TIMEOUT,
    /// The broker does not coordinate this transactional id (or group): find the coordinator again.
    NOT_COORDINATOR,
    /// The coordinator's partition has no leader, or the coordinator is not ready: retry FindCoordinator.
    COORDINATOR_NOT_AVAILABLE,
    /// A marker came from a transaction coordinator older than one the partition leader has heard from.
    TRANSACTION_COORDINATOR_FENCED,
    /// The group is rebalancing: rejoin (JoinGroup) to take part.
    REBALANCE_IN_PROGRESS,
    /// The request names a generation the group has left behind.
    ILLEGAL_GENERATION,
    /// The group does not know this member (expired, removed, or never joined).
    UNKNOWN_MEMBER_ID,
    /// A first JoinGroup is answered with a member id to join again with (KIP-394).
    MEMBER_ID_REQUIRED,
    /// The member's protocol type or strategies match none of the group's.
    INCONSISTENT_GROUP_PROTOCOL,
    /// `session.timeout.ms` is outside the broker's `group.min.session.timeout.ms`..`group.max.session.timeout.ms`.
    INVALID_SESSION_TIMEOUT,
    /// An empty group id where one is required.
    INVALID_GROUP_ID,
    /// An offset commit for the partition is still being stored (KIP-447): fetch again shortly.
    UNSTABLE_OFFSET_COMMIT,
    /// A static member's `group.instance.id` is now held by another member id: this one was replaced.
    FENCED_INSTANCE_ID,
    /// The client gave up on a batch after `delivery.timeout.ms` (Kafka's `TimeoutException`, not a wire code).
    DELIVERY_TIMEOUT,
    /// CreatePartitions asked for a count that is not above the topic's current one: partitions only grow.
    INVALID_PARTITIONS,
    /// Not enough usable brokers for the replication factor the new partitions need.
    INVALID_REPLICATION_FACTOR,
    /// A manual assignment of replicas to new partitions that does not fit the cluster or the topic.
    INVALID_REPLICA_ASSIGNMENT,
    /// The request contradicts itself (a topic named twice).
    INVALID_REQUEST,
}

impl ErrorCode {
    /// Whether Kafka's clients retry on this error (`RetriableException` subclasses).
    pub fn is_retriable(self) -> bool {
        matches!(
            self,
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                | ErrorCode::LEADER_NOT_AVAILABLE
                | ErrorCode::NOT_LEADER_OR_FOLLOWER
                | ErrorCode::REQUEST_TIMED_OUT
                | ErrorCode::NETWORK_EXCEPTION
                | ErrorCode::NOT_CONTROLLER
                | ErrorCode::NOT_ENOUGH_REPLICAS
                | ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
                | ErrorCode::FENCED_LEADER_EPOCH
                | ErrorCode::UNKNOWN_LEADER_EPOCH
                | ErrorCode::BROKER_NOT_AVAILABLE
                | ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
                | ErrorCode::CONCURRENT_TRANSACTIONS
                | ErrorCode::NOT_COORDINATOR
                | ErrorCode::COORDINATOR_NOT_AVAILABLE
                | ErrorCode::UNSTABLE_OFFSET_COMMIT
        )
    }

    /// Whether an error that ends a produce attempt leaves the records possibly written. Kafka appends before it
    /// answers NOT_ENOUGH_REPLICAS_AFTER_APPEND or REQUEST_TIMED_OUT, and a lost connection hides the answer.
    pub fn maybe_appended(self) -> bool {
        matches!(
            self,
            ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
                | ErrorCode::REQUEST_TIMED_OUT
                | ErrorCode::NETWORK_EXCEPTION
                | ErrorCode::DELIVERY_TIMEOUT
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
