//! One consumer group as its coordinator keeps it (Kafka's `GroupMetadata` and `MemberMetadata`): its state,
//! generation, chosen protocol, leader, members with their subscriptions, assignments and timers, and offsets.

use crate::ids::{NodeId, Offset, TopicPartition};
use crate::protocol::{Assignment, JoinGroupProtocol, Subscription};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Kafka's group states (classic protocol).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupState {
    /// No members (offsets may still be kept).
    Empty,
    /// A rebalance began: members must rejoin before the rebalance timeout.
    PreparingRebalance,
    /// Every member rejoined; the coordinator waits for the leader's assignment (SyncGroup).
    CompletingRebalance,
    /// Assigned and running; members heartbeat.
    Stable,
    /// Removed from this coordinator (its partition moved away).
    Dead,
}

/// Where a request waits for its answer: the client and the request's correlation id.
pub type Waiting = (NodeId, u64);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub session_timeout_ms: u64,
    pub rebalance_timeout_ms: u64,
    /// The strategies it supports, in its order of preference, each with its subscription.
    pub protocols: Vec<JoinGroupProtocol>,
    pub assignment: Assignment,
    /// A JoinGroup waiting for the rebalance to complete.
    pub awaiting_join: Option<Waiting>,
    /// A SyncGroup waiting for the leader's assignment.
    pub awaiting_sync: Option<Waiting>,
    /// When the member is removed unless it heartbeats (or joins) again.
    pub deadline_ms: u64,
    /// Joined for the first time in the rebalance under way.
    pub is_new: bool,
    /// When it joined, in the coordinator's order: the earliest present member leads.
    pub joined: u64,
}

impl Member {
    /// The member's subscription under `protocol`.
    pub fn subscription(&self, protocol: &str) -> Subscription {
        self.protocols
            .iter()
            .find(|p| p.name == protocol)
            .map(|p| p.metadata.clone())
            .unwrap_or_default()
    }

    /// Whether a rejoin carries the same strategies and subscriptions (then it need not start a rebalance).
    pub fn matches(&self, protocols: &[JoinGroupProtocol]) -> bool {
        self.protocols == protocols
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub id: String,
    pub state: GroupState,
    pub generation_id: i32,
    /// "consumer" once a member joined.
    pub protocol_type: Option<String>,
    /// The strategy chosen for the current generation.
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub members: BTreeMap<String, Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED and not yet used to join, with their expiry.
    pub pending_members: BTreeMap<String, u64>,
    /// When the rebalance under way completes at the latest.
    pub join_deadline_ms: Option<u64>,
    /// Kafka's `DelayedSync` (KAFKA-12890): after a rebalance, members must send SyncGroup within the
    /// rebalance timeout; those still in `pending_sync` at this time (for this generation) are removed.
    pub sync_deadline_ms: Option<(u64, i32)>,
    pub pending_sync: std::collections::BTreeSet<String>,
    /// The first rebalance of an empty group waits `group.initial.rebalance.delay.ms`, again while members keep
    /// arriving, up to this much more (Kafka's `InitialDelayedJoin`); None for a normal rebalance.
    pub initial_delay_remaining_ms: Option<u64>,
    pub new_member_added: bool,
    /// Committed offsets: the next offset to consume, per partition.
    pub offsets: BTreeMap<TopicPartition, Offset>,
    /// Where in the log the record of each committed offset is (Kafka's `appendedBatchOffset`): an offset is
    /// replaced only by one whose record comes later, whichever was stored or committed first.
    pub committed_at: BTreeMap<TopicPartition, Offset>,
    /// Transactional offsets (TxnOffsetCommit) by producer id, waiting for that producer's transaction marker in
    /// the group's partition (Kafka's `pendingTransactionalOffsetCommits`).
    pub pending_txn_offsets: BTreeMap<i64, BTreeMap<TopicPartition, PendingTxnOffset>>,
}

/// An offset a transaction wrote and has not committed or aborted yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingTxnOffset {
    pub offset: Offset,
    /// Where its record's batch is in the log, once the append is committed (or once loaded from the log).
    pub appended_at: Option<Offset>,
}

impl Group {
    pub fn new(id: &str) -> Self {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            generation_id: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending_members: BTreeMap::new(),
            join_deadline_ms: None,
            sync_deadline_ms: None,
            pending_sync: std::collections::BTreeSet::new(),
            initial_delay_remaining_ms: None,
            new_member_added: false,
            offsets: BTreeMap::new(),
            committed_at: BTreeMap::new(),
            pending_txn_offsets: BTreeMap::new(),
        }
    }

    /// Kafka's `olderThan` rule: `offset`, whose record is at `record_at` in the log, becomes the committed offset
    /// of `tp` unless the committed one's record comes later (a commit stored after a transaction's offsets and
    /// before its marker outlives the transaction's).
    pub fn commit_offset(&mut self, tp: &TopicPartition, offset: Offset, record_at: Offset) {
        if self.committed_at.get(tp).is_some_and(|&at| at > record_at) {
            return;
        }
        self.offsets.insert(tp.clone(), offset);
        self.committed_at.insert(tp.clone(), record_at);
    }

    /// Whether a commit for `tp` is on its way: a transaction's offset not yet committed or aborted.
    pub fn has_pending_txn_offset(&self, tp: &TopicPartition) -> bool {
        self.pending_txn_offsets
            .values()
            .any(|p| p.contains_key(tp))
    }

    /// Kafka's `supportsProtocols`: an empty group takes any strategies; otherwise the type must match and the
    /// member must support a strategy every member supports.
    pub fn supports(&self, protocol_type: &str, protocols: &[JoinGroupProtocol]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols
                .iter()
                .any(|p| self.candidate_protocols().contains(&p.name))
    }

    /// The strategies every member supports.
    fn candidate_protocols(&self) -> Vec<String> {
        let mut members = self.members.values();
        let Some(first) = members.next() else {
            return Vec::new();
        };
        let mut candidates: Vec<String> = first.protocols.iter().map(|p| p.name.clone()).collect();
        for m in members {
            candidates.retain(|c| m.protocols.iter().any(|p| &p.name == c));
        }
        candidates
    }

    /// Kafka's `selectProtocol`: each member votes for its most preferred candidate; the most votes win (ties
    /// go to the name first in order, where Kafka's choice among equals is unspecified).
    pub fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols();
        let mut votes: BTreeMap<String, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(p) = m.protocols.iter().find(|p| candidates.contains(&p.name)) {
                *votes.entry(p.name.clone()).or_default() += 1;
            }
        }
        let most = votes.values().copied().max()?;
        votes.into_iter().find(|(_, n)| *n == most).map(|(p, _)| p)
    }

    /// The longest rebalance timeout among the members (Kafka's `rebalanceTimeoutMs`).
    pub fn rebalance_timeout_ms(&self) -> u64 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// Kafka's `hasAllMembersJoined`.
    pub fn all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    pub fn is_leader(&self, member_id: &str) -> bool {
        self.leader.as_deref() == Some(member_id)
    }
}
