//! The classic consumer-group coordinator as Kafka's `GroupCoordinator` runs it: JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup, OffsetCommit, TxnOffsetCommit and OffsetFetch, generations and member ids, the five group states, session
//! and rebalance timeouts, and the first rebalance's `group.initial.rebalance.delay.ms`.
//!
//! This is the coordinator's pure bookkeeping. What must be durable (the group's assignment after SyncGroup, and
//! committed offsets) goes out as [`Effect::Append`] records for the group's `__consumer_offsets` partition; the
//! host calls [`GroupCoordinator::appended`] once the append is committed (or failed) and only then do they take
//! effect, as Kafka's `GroupMetadataManager.storeGroup` / `storeOffsets` callbacks do. Transactional offsets
//! (`txn_offsets.rs`) wait further, for their producer's transaction marker ([`GroupCoordinator::complete_txn`]).
//! The broker leading a `__consumer_offsets` partition hosts it.
//!
//! Narrowed: no static membership (`group.instance.id`), no `group.max.size`, no offset retention or expiry, no
//! offset metadata strings.

mod group;
mod load;
#[cfg(test)]
mod tests;
mod txn_offsets;
#[cfg(test)]
mod txn_tests;

pub use group::{Group, GroupState, Member, PendingTxnOffset};

use crate::error::ErrorCode;
use crate::ids::{NodeId, Offset, TopicPartition};
use crate::protocol::{
    Assignment, HeartbeatRequest, HeartbeatResponse, JoinGroupMember, JoinGroupRequest,
    JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, Message, OffsetCommitRequest,
    OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse, Subscription, SyncGroupRequest,
    SyncGroupResponse, TxnOffsetCommitResponse, UNKNOWN_MEMBER_ID,
};
use group::Waiting;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Kafka's `NewMemberJoinTimeoutMs`: a new member waiting in a rebalance is dropped after five minutes.
const NEW_MEMBER_JOIN_TIMEOUT_MS: u64 = 300_000;

/// The broker's group settings, with Kafka's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupConfig {
    /// `group.initial.rebalance.delay.ms`
    pub initial_rebalance_delay_ms: u64,
    /// `group.min.session.timeout.ms`
    pub min_session_timeout_ms: u64,
    /// `group.max.session.timeout.ms`
    pub max_session_timeout_ms: u64,
    /// `offsets.commit.timeout.ms`: how long the coordinator's appends may wait for the ISR.
    pub offsets_commit_timeout_ms: u64,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay_ms: 3_000,
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            offsets_commit_timeout_ms: 5_000,
        }
    }
}

/// A `__consumer_offsets` record: what Kafka writes under the group's key (its metadata after a rebalance) or
/// under the group and partition's key (a committed offset). The log is compacted by that key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupLogRecord {
    /// Kafka's `GroupMetadataValue`: the generation, strategy, leader and every member with what it needs to be
    /// known again after a coordinator fail-over.
    Group {
        group_id: String,
        generation_id: i32,
        protocol_type: Option<String>,
        protocol: Option<String>,
        leader: Option<String>,
        members: Vec<StoredMember>,
    },
    /// Kafka's `OffsetCommitValue`.
    Offset {
        group_id: String,
        tp: TopicPartition,
        offset: Offset,
    },
}

/// A member as the group record keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMember {
    pub member_id: String,
    pub session_timeout_ms: u64,
    pub rebalance_timeout_ms: u64,
    pub protocol_name: String,
    pub subscription: Subscription,
    pub assignment: Assignment,
}

impl GroupLogRecord {
    /// The compaction key: the latest record under a key is the only one that counts.
    pub fn key(&self) -> (String, Option<TopicPartition>) {
        match self {
            GroupLogRecord::Group { group_id, .. } => (group_id.clone(), None),
            GroupLogRecord::Offset { group_id, tp, .. } => (group_id.clone(), Some(tp.clone())),
        }
    }
}

/// What the coordinator asks of its host.
#[derive(Clone, Debug)]
pub enum Effect {
    /// Answer a request.
    Reply {
        to: NodeId,
        correlation_id: u64,
        message: Message,
    },
    /// Append these records to the group's partition with acks=all, as one batch; report with
    /// `appended(token, ..)`. With `producer`, the batch is that producer's and transactional.
    Append {
        token: u64,
        records: Vec<GroupLogRecord>,
        producer: Option<TxnProducer>,
    },
}

/// The producer a TxnOffsetCommit writes for: Kafka's `storeOffsets` builds its batch with this id and epoch and
/// marks it transactional, so the partition's producer state fences an older epoch and the marker ends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnProducer {
    pub producer_id: i64,
    pub producer_epoch: i16,
}

/// An append on its way, and what to do when it is committed.
#[derive(Clone, Debug)]
enum Pending {
    /// The leader's assignment for `generation_id`.
    Sync {
        group_id: String,
        generation_id: i32,
        assignment: BTreeMap<String, Assignment>,
    },
    /// An OffsetCommit to answer.
    Offsets {
        group_id: String,
        client: Waiting,
        offsets: Vec<(TopicPartition, Offset)>,
    },
    /// A TxnOffsetCommit to answer; its offsets wait in the group's `pending_txn_offsets`.
    TxnOffsets {
        group_id: String,
        client: Waiting,
        producer_id: i64,
        offsets: Vec<(TopicPartition, Offset)>,
    },
    /// Bookkeeping with nobody waiting (an empty group's new generation).
    Quiet,
}

#[derive(Clone, Debug)]
pub struct GroupCoordinator {
    config: GroupConfig,
    groups: BTreeMap<String, Group>,
    /// Member ids are `<client>-<prefix>-<n>`: the prefix names this coordinator's incarnation so ids never repeat.
    member_id_prefix: String,
    next_member: u64,
    next_join: u64,
    next_token: u64,
    pending: BTreeMap<u64, Pending>,
    out: Vec<Effect>,
}

impl GroupCoordinator {
    pub fn new(config: GroupConfig, member_id_prefix: &str) -> Self {
        GroupCoordinator {
            config,
            groups: BTreeMap::new(),
            member_id_prefix: member_id_prefix.to_string(),
            next_member: 0,
            next_join: 0,
            next_token: 0,
            pending: BTreeMap::new(),
            out: Vec::new(),
        }
    }

    pub fn group(&self, group_id: &str) -> Option<&Group> {
        self.groups.get(group_id)
    }

    fn group_entry(&mut self, group_id: &str) -> &mut Group {
        self.groups
            .entry(group_id.to_string())
            .or_insert_with(|| Group::new(group_id))
    }

    fn reply(&mut self, (to, correlation_id): Waiting, message: Message) {
        self.out.push(Effect::Reply {
            to,
            correlation_id,
            message,
        });
    }

    fn append(
        &mut self,
        records: Vec<GroupLogRecord>,
        producer: Option<TxnProducer>,
        pending: Pending,
    ) {
        self.next_token += 1;
        let token = self.next_token;
        self.pending.insert(token, pending);
        self.out.push(Effect::Append {
            token,
            records,
            producer,
        });
    }

    fn take(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.out)
    }

    /// Kafka's `handleJoinGroup`.
    pub fn join_group(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        req: JoinGroupRequest,
    ) -> Vec<Effect> {
        let client = (from, correlation_id);
        let error = if req.group_id.is_empty() {
            Some(ErrorCode::INVALID_GROUP_ID)
        } else if !(self.config.min_session_timeout_ms..=self.config.max_session_timeout_ms)
            .contains(&req.session_timeout_ms)
        {
            Some(ErrorCode::INVALID_SESSION_TIMEOUT)
        } else {
            None
        };
        let unknown = req.member_id == UNKNOWN_MEMBER_ID;
        if let Some(error) = error {
            self.reply(client, join_error(&req.member_id, error));
        } else if !self.groups.contains_key(&req.group_id) && !unknown {
            self.reply(
                client,
                join_error(&req.member_id, ErrorCode::UNKNOWN_MEMBER_ID),
            );
        } else {
            self.group_entry(&req.group_id);
            self.join(now_ms, client, req);
        }
        self.take()
    }

    fn join(&mut self, now_ms: u64, client: Waiting, req: JoinGroupRequest) {
        let g = &self.groups[&req.group_id];
        if g.state == GroupState::Dead {
            return self.reply(
                client,
                join_error(&req.member_id, ErrorCode::COORDINATOR_NOT_AVAILABLE),
            );
        }
        if !g.supports(&req.protocol_type, &req.protocols) {
            return self.reply(
                client,
                join_error(&req.member_id, ErrorCode::INCONSISTENT_GROUP_PROTOCOL),
            );
        }
        if req.member_id == UNKNOWN_MEMBER_ID {
            // KIP-394: hand out an id and have the member join again with it, so a retried first join cannot
            // leave a member nobody will ever heartbeat for.
            self.next_member += 1;
            let id = format!(
                "{}-{}-{}",
                client.0, self.member_id_prefix, self.next_member
            );
            let g = self.groups.get_mut(&req.group_id).unwrap();
            g.pending_members
                .insert(id.clone(), now_ms + req.session_timeout_ms);
            return self.reply(client, join_error(&id, ErrorCode::MEMBER_ID_REQUIRED));
        }
        let g = self.groups.get_mut(&req.group_id).unwrap();
        if g.pending_members.remove(&req.member_id).is_some() {
            return self.add_member_and_rebalance(now_ms, client, req);
        }
        let Some(member) = g.members.get(&req.member_id) else {
            return self.reply(
                client,
                join_error(&req.member_id, ErrorCode::UNKNOWN_MEMBER_ID),
            );
        };
        let same = member.matches(&req.protocols);
        match g.state {
            GroupState::PreparingRebalance => self.update_member_and_rebalance(now_ms, client, req),
            GroupState::CompletingRebalance | GroupState::Stable
                if same && !(g.state == GroupState::Stable && g.is_leader(&req.member_id)) =>
            {
                // A member that missed its JoinGroup answer, or a follower rejoining unchanged: the current
                // generation as it is.
                let response = self.join_response(&req.group_id, &req.member_id);
                self.reply(client, Message::JoinGroupResponse(response));
            }
            // Changed metadata, or the leader asking (it may have seen topics change): rebalance.
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.update_member_and_rebalance(now_ms, client, req)
            }
            GroupState::Empty | GroupState::Dead => self.reply(
                client,
                join_error(&req.member_id, ErrorCode::UNKNOWN_MEMBER_ID),
            ),
        }
    }

    fn add_member_and_rebalance(&mut self, now_ms: u64, client: Waiting, req: JoinGroupRequest) {
        self.next_join += 1;
        let joined = self.next_join;
        let g = self.groups.get_mut(&req.group_id).unwrap();
        if g.state == GroupState::PreparingRebalance && g.generation_id == 0 {
            g.new_member_added = true;
        }
        if g.members.is_empty() {
            g.protocol_type = Some(req.protocol_type.clone());
        }
        g.members.insert(
            req.member_id.clone(),
            Member {
                id: req.member_id.clone(),
                session_timeout_ms: req.session_timeout_ms,
                rebalance_timeout_ms: req.rebalance_timeout_ms,
                protocols: req.protocols,
                assignment: Assignment::default(),
                awaiting_join: Some(client),
                awaiting_sync: None,
                deadline_ms: now_ms + NEW_MEMBER_JOIN_TIMEOUT_MS,
                is_new: true,
                joined,
            },
        );
        self.maybe_prepare_rebalance(now_ms, &req.group_id);
        self.try_complete_join(now_ms, &req.group_id);
    }

    fn update_member_and_rebalance(&mut self, now_ms: u64, client: Waiting, req: JoinGroupRequest) {
        let g = self.groups.get_mut(&req.group_id).unwrap();
        let m = g.members.get_mut(&req.member_id).unwrap();
        // Kafka's `updateMember`: a rejoin brings the member's current timeouts and strategies.
        m.protocols = req.protocols;
        m.session_timeout_ms = req.session_timeout_ms;
        m.rebalance_timeout_ms = req.rebalance_timeout_ms;
        m.awaiting_join = Some(client);
        self.maybe_prepare_rebalance(now_ms, &req.group_id);
        self.try_complete_join(now_ms, &req.group_id);
    }

    /// Kafka's `maybePrepareRebalance` / `prepareRebalance`.
    fn maybe_prepare_rebalance(&mut self, now_ms: u64, group_id: &str) {
        let state = self.groups[group_id].state;
        if !matches!(
            state,
            GroupState::Empty | GroupState::Stable | GroupState::CompletingRebalance
        ) {
            return;
        }
        if state == GroupState::CompletingRebalance {
            // Members waiting for the old generation's assignment must rejoin.
            self.propagate_assignment_error(group_id, ErrorCode::REBALANCE_IN_PROGRESS);
        }
        let delay = self.config.initial_rebalance_delay_ms;
        let g = self.groups.get_mut(group_id).unwrap();
        let timeout = g.rebalance_timeout_ms();
        if state == GroupState::Empty {
            g.join_deadline_ms = Some(now_ms + delay);
            g.initial_delay_remaining_ms = Some(timeout.saturating_sub(delay));
        } else {
            g.join_deadline_ms = Some(now_ms + timeout);
            g.initial_delay_remaining_ms = None;
        }
        g.state = GroupState::PreparingRebalance;
    }

    /// A normal rebalance completes as soon as every member rejoined; the initial one always waits its delay.
    fn try_complete_join(&mut self, now_ms: u64, group_id: &str) {
        let g = &self.groups[group_id];
        if g.state == GroupState::PreparingRebalance
            && g.initial_delay_remaining_ms.is_none()
            && g.all_members_joined()
        {
            self.complete_join(now_ms, group_id);
        }
    }

    /// Kafka's `onCompleteJoin`: members that did not rejoin are dropped, the next generation begins, and every
    /// waiting JoinGroup is answered (the leader's with every member's subscription).
    fn complete_join(&mut self, now_ms: u64, group_id: &str) {
        let g = self.groups.get_mut(group_id).unwrap();
        g.members.retain(|_, m| m.awaiting_join.is_some());
        g.join_deadline_ms = None;
        g.initial_delay_remaining_ms = None;
        g.new_member_added = false;
        g.generation_id += 1;
        if g.members.is_empty() {
            g.state = GroupState::Empty;
            g.protocol = None;
            g.leader = None;
            let record = group_record(g);
            self.append(vec![record], None, Pending::Quiet);
            return;
        }
        g.protocol = g.select_protocol();
        if !g.leader.as_ref().is_some_and(|l| g.members.contains_key(l)) {
            // Kafka's leader is the first member to join; when it leaves, Kafka takes the first of its member
            // map's (hash) order, here the earliest joiner still present.
            g.leader = g
                .members
                .values()
                .min_by_key(|m| m.joined)
                .map(|m| m.id.clone());
        }
        g.state = GroupState::CompletingRebalance;
        g.pending_sync = g.members.keys().cloned().collect();
        g.sync_deadline_ms = Some((now_ms + g.rebalance_timeout_ms(), g.generation_id));
        let ids: Vec<String> = g.members.keys().cloned().collect();
        for id in ids {
            let response = self.join_response(group_id, &id);
            let g = self.groups.get_mut(group_id).unwrap();
            let m = g.members.get_mut(&id).unwrap();
            let client = m.awaiting_join.take().unwrap();
            m.deadline_ms = now_ms + m.session_timeout_ms;
            m.is_new = false;
            self.reply(client, Message::JoinGroupResponse(response));
        }
    }

    fn join_response(&self, group_id: &str, member_id: &str) -> JoinGroupResponse {
        let g = &self.groups[group_id];
        let protocol = g.protocol.clone().unwrap_or_default();
        let members = if g.is_leader(member_id) {
            g.members
                .values()
                .map(|m| JoinGroupMember {
                    member_id: m.id.clone(),
                    metadata: m.subscription(&protocol),
                })
                .collect()
        } else {
            Vec::new()
        };
        JoinGroupResponse {
            error: ErrorCode::NONE,
            generation_id: g.generation_id,
            protocol_name: g.protocol.clone(),
            leader: g.leader.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            members,
        }
    }

    /// Kafka's `handleSyncGroup`.
    pub fn sync_group(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        req: SyncGroupRequest,
    ) -> Vec<Effect> {
        let client = (from, correlation_id);
        match self.check_member(&req.group_id, &req.member_id, req.generation_id) {
            _ if req.group_id.is_empty() => {
                self.reply(client, sync_error(ErrorCode::INVALID_GROUP_ID))
            }
            Err(error) => self.reply(client, sync_error(error)),
            Ok(GroupState::Empty) => self.reply(client, sync_error(ErrorCode::UNKNOWN_MEMBER_ID)),
            Ok(GroupState::PreparingRebalance) => {
                self.reply(client, sync_error(ErrorCode::REBALANCE_IN_PROGRESS))
            }
            Ok(GroupState::Dead) => {
                self.reply(client, sync_error(ErrorCode::COORDINATOR_NOT_AVAILABLE))
            }
            Ok(GroupState::Stable) => {
                let g = self.groups.get_mut(&req.group_id).unwrap();
                g.pending_sync.remove(&req.member_id);
                let m = g.members.get_mut(&req.member_id).unwrap();
                m.deadline_ms = now_ms + m.session_timeout_ms;
                let assignment = m.assignment.clone();
                self.reply(
                    client,
                    Message::SyncGroupResponse(SyncGroupResponse {
                        error: ErrorCode::NONE,
                        assignment,
                    }),
                );
            }
            Ok(GroupState::CompletingRebalance) => {
                let g = self.groups.get_mut(&req.group_id).unwrap();
                g.pending_sync.remove(&req.member_id);
                g.members.get_mut(&req.member_id).unwrap().awaiting_sync = Some(client);
                if g.is_leader(&req.member_id) {
                    // Members the leader left out get nothing.
                    let mut assignment: BTreeMap<String, Assignment> = g
                        .members
                        .keys()
                        .map(|id| (id.clone(), Assignment::default()))
                        .collect();
                    for (id, a) in req.assignments {
                        if assignment.contains_key(&id) {
                            assignment.insert(id, a);
                        }
                    }
                    let mut record = group_record(g);
                    if let GroupLogRecord::Group { members, .. } = &mut record {
                        for m in members.iter_mut() {
                            m.assignment = assignment[&m.member_id].clone();
                        }
                    }
                    let generation_id = g.generation_id;
                    self.append(
                        vec![record],
                        None,
                        Pending::Sync {
                            group_id: req.group_id.clone(),
                            generation_id,
                            assignment,
                        },
                    );
                }
            }
        }
        self.take()
    }

    /// The common checks of SyncGroup, Heartbeat and OffsetCommit: the group, the member, the generation.
    fn check_member(
        &self,
        group_id: &str,
        member_id: &str,
        generation_id: i32,
    ) -> Result<GroupState, ErrorCode> {
        let g = self
            .groups
            .get(group_id)
            .ok_or(ErrorCode::UNKNOWN_MEMBER_ID)?;
        if g.state == GroupState::Dead {
            return Err(ErrorCode::COORDINATOR_NOT_AVAILABLE);
        }
        if !g.members.contains_key(member_id) {
            return Err(ErrorCode::UNKNOWN_MEMBER_ID);
        }
        if generation_id != g.generation_id {
            return Err(ErrorCode::ILLEGAL_GENERATION);
        }
        Ok(g.state)
    }

    /// Every member waiting on SyncGroup gets `error` (and no assignment).
    fn propagate_assignment_error(&mut self, group_id: &str, error: ErrorCode) {
        let g = self.groups.get_mut(group_id).unwrap();
        let waiting: Vec<Waiting> = g
            .members
            .values_mut()
            .filter_map(|m| {
                m.assignment = Assignment::default();
                m.awaiting_sync.take()
            })
            .collect();
        for client in waiting {
            self.reply(client, sync_error(error));
        }
    }

    /// An append finished: `Ok` with the log offset of its batch once committed, else why it failed. The change
    /// takes effect only now.
    pub fn appended(
        &mut self,
        now_ms: u64,
        token: u64,
        result: Result<Offset, ErrorCode>,
    ) -> Vec<Effect> {
        let error = result.err().unwrap_or(ErrorCode::NONE);
        match self.pending.remove(&token) {
            Some(Pending::Sync {
                group_id,
                generation_id,
                assignment,
            }) => self.sync_stored(now_ms, &group_id, generation_id, assignment, error),
            Some(Pending::Offsets {
                group_id,
                client,
                offsets,
            }) => {
                let error = offsets_store_error(error);
                if let Ok(record_at) = result {
                    let g = self.group_entry(&group_id);
                    for (tp, offset) in &offsets {
                        g.commit_offset(tp, *offset, record_at);
                    }
                }
                let results = offsets.into_iter().map(|(tp, _)| (tp, error)).collect();
                self.reply(
                    client,
                    Message::OffsetCommitResponse(OffsetCommitResponse { results }),
                );
            }
            Some(Pending::TxnOffsets {
                group_id,
                client,
                producer_id,
                offsets,
            }) => self.txn_offsets_stored(&group_id, client, producer_id, offsets, result),
            Some(Pending::Quiet) | None => {}
        }
        self.take()
    }

    fn sync_stored(
        &mut self,
        now_ms: u64,
        group_id: &str,
        generation_id: i32,
        assignment: BTreeMap<String, Assignment>,
        error: ErrorCode,
    ) {
        let Some(g) = self.groups.get_mut(group_id) else {
            return;
        };
        // Another member may have joined meanwhile: then this generation is over and nothing happens.
        if g.state != GroupState::CompletingRebalance || g.generation_id != generation_id {
            return;
        }
        if error != ErrorCode::NONE {
            self.propagate_assignment_error(group_id, group_store_error(error));
            self.maybe_prepare_rebalance(now_ms, group_id);
            return;
        }
        let mut replies = Vec::new();
        for m in g.members.values_mut() {
            m.assignment = assignment.get(&m.id).cloned().unwrap_or_default();
            if let Some(client) = m.awaiting_sync.take() {
                m.deadline_ms = now_ms + m.session_timeout_ms;
                replies.push((client, m.assignment.clone()));
            }
        }
        g.state = GroupState::Stable;
        for (client, assignment) in replies {
            self.reply(
                client,
                Message::SyncGroupResponse(SyncGroupResponse {
                    error: ErrorCode::NONE,
                    assignment,
                }),
            );
        }
    }

    /// Kafka's `handleHeartbeat` (3.x: a heartbeat while CompletingRebalance is a normal one).
    pub fn heartbeat(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        req: HeartbeatRequest,
    ) -> Vec<Effect> {
        let error = match self.check_member(&req.group_id, &req.member_id, req.generation_id) {
            _ if req.group_id.is_empty() => ErrorCode::INVALID_GROUP_ID,
            Err(error) => error,
            Ok(GroupState::Empty) => ErrorCode::UNKNOWN_MEMBER_ID,
            Ok(GroupState::Dead) => ErrorCode::COORDINATOR_NOT_AVAILABLE,
            Ok(state) => {
                let g = self.groups.get_mut(&req.group_id).unwrap();
                let m = g.members.get_mut(&req.member_id).unwrap();
                m.deadline_ms = now_ms + m.session_timeout_ms;
                if state == GroupState::PreparingRebalance {
                    ErrorCode::REBALANCE_IN_PROGRESS
                } else {
                    ErrorCode::NONE
                }
            }
        };
        self.reply(
            (from, correlation_id),
            Message::HeartbeatResponse(HeartbeatResponse { error }),
        );
        self.take()
    }

    /// Kafka's `handleLeaveGroup`.
    pub fn leave_group(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        req: LeaveGroupRequest,
    ) -> Vec<Effect> {
        if req.group_id.is_empty() {
            self.reply(
                (from, correlation_id),
                Message::LeaveGroupResponse(LeaveGroupResponse {
                    error: ErrorCode::INVALID_GROUP_ID,
                    members: Vec::new(),
                }),
            );
            return self.take();
        }
        let mut members = Vec::new();
        for id in &req.members {
            let (pending, known) = match self.groups.get(&req.group_id) {
                Some(g) => (
                    g.pending_members.contains_key(id),
                    g.members.contains_key(id),
                ),
                None => (false, false),
            };
            let error = if pending {
                let g = self.groups.get_mut(&req.group_id).unwrap();
                g.pending_members.remove(id);
                self.try_complete_join(now_ms, &req.group_id);
                ErrorCode::NONE
            } else if known {
                self.remove_member(now_ms, &req.group_id, id);
                ErrorCode::NONE
            } else {
                ErrorCode::UNKNOWN_MEMBER_ID
            };
            members.push((id.clone(), error));
        }
        self.reply(
            (from, correlation_id),
            Message::LeaveGroupResponse(LeaveGroupResponse {
                error: ErrorCode::NONE,
                members,
            }),
        );
        self.take()
    }

    /// Kafka's `removeMemberAndUpdateGroup`: a waiting JoinGroup is answered UNKNOWN_MEMBER_ID, and the group
    /// rebalances (or, mid-rebalance, may now complete).
    fn remove_member(&mut self, now_ms: u64, group_id: &str, member_id: &str) {
        let g = self.groups.get_mut(group_id).unwrap();
        let Some(m) = g.members.remove(member_id) else {
            return;
        };
        if let Some(client) = m.awaiting_join {
            self.reply(
                client,
                join_error(UNKNOWN_MEMBER_ID, ErrorCode::UNKNOWN_MEMBER_ID),
            );
        }
        match self.groups[group_id].state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.maybe_prepare_rebalance(now_ms, group_id);
                self.try_complete_join(now_ms, group_id);
            }
            GroupState::PreparingRebalance => self.try_complete_join(now_ms, group_id),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// Kafka's `handleCommitOffsets`.
    pub fn commit_offsets(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        req: OffsetCommitRequest,
    ) -> Vec<Effect> {
        let client = (from, correlation_id);
        // A commit outside group management: Kafka accepts it while the group is Empty (or unknown).
        let standalone = req.generation_id < 0;
        let error = match self.groups.get(&req.group_id) {
            None if standalone => None,
            None => Some(ErrorCode::ILLEGAL_GENERATION),
            Some(g) if standalone && g.state == GroupState::Empty => None,
            Some(_) => match self.check_member(&req.group_id, &req.member_id, req.generation_id) {
                Err(error) => Some(error),
                Ok(GroupState::Stable | GroupState::PreparingRebalance) => {
                    // Commits during PreparingRebalance are allowed: members commit as their partitions are
                    // revoked, before they rejoin.
                    let g = self.groups.get_mut(&req.group_id).unwrap();
                    let m = g.members.get_mut(&req.member_id).unwrap();
                    m.deadline_ms = now_ms + m.session_timeout_ms;
                    None
                }
                Ok(GroupState::CompletingRebalance) => Some(ErrorCode::REBALANCE_IN_PROGRESS),
                Ok(_) => Some(ErrorCode::UNKNOWN_MEMBER_ID),
            },
        };
        if let Some(error) = error {
            let results = req.offsets.into_iter().map(|(tp, _)| (tp, error)).collect();
            self.reply(
                client,
                Message::OffsetCommitResponse(OffsetCommitResponse { results }),
            );
            return self.take();
        }
        if req.offsets.is_empty() {
            self.reply(
                client,
                Message::OffsetCommitResponse(OffsetCommitResponse {
                    results: Vec::new(),
                }),
            );
            return self.take();
        }
        self.group_entry(&req.group_id);
        let records = offset_records(&req.group_id, &req.offsets);
        self.append(
            records,
            None,
            Pending::Offsets {
                group_id: req.group_id,
                client,
                offsets: req.offsets,
            },
        );
        self.take()
    }

    /// Kafka's `handleFetchOffsets`: whatever is committed, whatever the group's state; with `require_stable`, a
    /// partition whose commit is still being stored answers UNSTABLE_OFFSET_COMMIT, so a new owner never starts
    /// from an offset about to move.
    pub fn fetch_offsets(
        &mut self,
        from: NodeId,
        correlation_id: u64,
        req: OffsetFetchRequest,
    ) -> Vec<Effect> {
        let group = self.groups.get(&req.group_id);
        let committed = group.map(|g| &g.offsets);
        // Kafka's `hasPendingOffsetCommitsForTopicPartition`: a commit being stored, or a transaction's offset
        // not yet committed or aborted.
        let storing = |tp: &TopicPartition| {
            group.is_some_and(|g| g.has_pending_txn_offset(tp))
                || self.pending.values().any(|p| {
                    matches!(p, Pending::Offsets { group_id, offsets, .. }
                    if *group_id == req.group_id && offsets.iter().any(|(t, _)| t == tp))
                })
        };
        let answer = |tp: &TopicPartition, offset: Offset| {
            if req.require_stable && storing(tp) {
                (tp.clone(), -1, ErrorCode::UNSTABLE_OFFSET_COMMIT)
            } else {
                (tp.clone(), offset, ErrorCode::NONE)
            }
        };
        let offsets = match (&req.partitions, committed) {
            (Some(tps), _) => tps
                .iter()
                .map(|tp| answer(tp, committed.and_then(|c| c.get(tp)).copied().unwrap_or(-1)))
                .collect(),
            (None, Some(c)) => c.iter().map(|(tp, o)| answer(tp, *o)).collect(),
            (None, None) => Vec::new(),
        };
        self.reply(
            (from, correlation_id),
            Message::OffsetFetchResponse(OffsetFetchResponse {
                error: ErrorCode::NONE,
                offsets,
            }),
        );
        self.take()
    }

    /// The coordinator's partition moved away (Kafka's `onGroupUnloaded`): every request still waiting is told
    /// NOT_COORDINATOR, so its member finds the new coordinator and rejoins there.
    pub fn unload(&mut self) -> Vec<Effect> {
        let mut waiting = Vec::new();
        for g in self.groups.values_mut() {
            for m in g.members.values_mut() {
                if let Some(client) = m.awaiting_join.take() {
                    waiting.push((client, join_error(&m.id, ErrorCode::NOT_COORDINATOR)));
                }
                if let Some(client) = m.awaiting_sync.take() {
                    waiting.push((client, sync_error(ErrorCode::NOT_COORDINATOR)));
                }
            }
            g.state = GroupState::Dead;
        }
        for pending in std::mem::take(&mut self.pending).into_values() {
            let not_coordinator = |offsets: Vec<(TopicPartition, Offset)>| {
                offsets
                    .into_iter()
                    .map(|(tp, _)| (tp, ErrorCode::NOT_COORDINATOR))
                    .collect()
            };
            match pending {
                Pending::Offsets {
                    client, offsets, ..
                } => waiting.push((
                    client,
                    Message::OffsetCommitResponse(OffsetCommitResponse {
                        results: not_coordinator(offsets),
                    }),
                )),
                Pending::TxnOffsets {
                    client, offsets, ..
                } => waiting.push((
                    client,
                    Message::TxnOffsetCommitResponse(TxnOffsetCommitResponse {
                        results: not_coordinator(offsets),
                    }),
                )),
                Pending::Sync { .. } | Pending::Quiet => {}
            }
        }
        for (client, message) in waiting {
            self.reply(client, message);
        }
        self.take()
    }

    /// Timers: members whose session ran out, ids handed out and never used, and rebalances at their deadline.
    pub fn on_timeout(&mut self, now_ms: u64) -> Vec<Effect> {
        let group_ids: Vec<String> = self.groups.keys().cloned().collect();
        for group_id in group_ids {
            self.expire_members(now_ms, &group_id);
            self.expire_pending_sync(now_ms, &group_id);
            let g = self.groups.get_mut(&group_id).unwrap();
            if g.join_deadline_ms.is_some_and(|at| at <= now_ms) {
                match g.initial_delay_remaining_ms {
                    // Kafka's `InitialDelayedJoin`: members still arriving extend the wait, within the timeout.
                    Some(remaining) if g.new_member_added && remaining > 0 => {
                        let delay = self.config.initial_rebalance_delay_ms.min(remaining);
                        g.new_member_added = false;
                        g.initial_delay_remaining_ms = Some(remaining - delay);
                        g.join_deadline_ms = Some(now_ms + delay);
                    }
                    _ => self.complete_join(now_ms, &group_id),
                }
            }
        }
        self.take()
    }

    /// Kafka's `onExpirePendingSync`: members of this generation that never sent SyncGroup in time are removed
    /// (and the group rebalances), so a leader that never assigns cannot hold the group forever.
    fn expire_pending_sync(&mut self, now_ms: u64, group_id: &str) {
        let g = self.groups.get_mut(group_id).unwrap();
        let Some((at, generation_id)) = g.sync_deadline_ms else {
            return;
        };
        if at > now_ms {
            return;
        }
        g.sync_deadline_ms = None;
        let live = matches!(
            g.state,
            GroupState::CompletingRebalance | GroupState::Stable
        ) && g.generation_id == generation_id;
        let late: Vec<String> = std::mem::take(&mut g.pending_sync).into_iter().collect();
        if live {
            for id in late {
                self.remove_member(now_ms, group_id, &id);
            }
        }
    }

    fn expire_members(&mut self, now_ms: u64, group_id: &str) {
        let g = self.groups.get_mut(group_id).unwrap();
        g.pending_members.retain(|_, at| *at > now_ms);
        let expired: Vec<String> = g
            .members
            .values_mut()
            .filter(|m| m.deadline_ms <= now_ms)
            .filter_map(|m| {
                // Kafka's `shouldKeepAlive`: a member waiting on SyncGroup, or an old member waiting on
                // JoinGroup (the rebalance timeout decides for it), stays.
                let keep = m.awaiting_sync.is_some() || (m.awaiting_join.is_some() && !m.is_new);
                if keep {
                    m.deadline_ms = now_ms + m.session_timeout_ms;
                    None
                } else {
                    Some(m.id.clone())
                }
            })
            .collect();
        for id in expired {
            self.remove_member(now_ms, group_id, &id);
        }
        self.try_complete_join(now_ms, group_id);
    }

    pub fn next_timeout(&self) -> Option<u64> {
        self.groups
            .values()
            .flat_map(|g| {
                g.members
                    .values()
                    .map(|m| m.deadline_ms)
                    .chain(g.pending_members.values().copied())
                    .chain(g.join_deadline_ms)
                    .chain(g.sync_deadline_ms.map(|(at, _)| at))
            })
            .min()
    }
}

/// The group record of `g` as it stands (members' assignments as they are).
fn group_record(g: &Group) -> GroupLogRecord {
    let protocol = g.protocol.clone().unwrap_or_default();
    GroupLogRecord::Group {
        group_id: g.id.clone(),
        generation_id: g.generation_id,
        protocol_type: g.protocol_type.clone(),
        protocol: g.protocol.clone(),
        leader: g.leader.clone(),
        members: g
            .members
            .values()
            .map(|m| StoredMember {
                member_id: m.id.clone(),
                session_timeout_ms: m.session_timeout_ms,
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                protocol_name: protocol.clone(),
                subscription: m.subscription(&protocol),
                assignment: m.assignment.clone(),
            })
            .collect(),
    }
}

/// A JoinGroup answer carrying only an error (and the member id the client is to use).
pub(crate) fn join_error(member_id: &str, error: ErrorCode) -> Message {
    Message::JoinGroupResponse(JoinGroupResponse {
        error,
        generation_id: -1,
        protocol_name: None,
        leader: String::new(),
        member_id: member_id.to_string(),
        members: Vec::new(),
    })
}

/// A SyncGroup answer carrying only an error.
pub(crate) fn sync_error(error: ErrorCode) -> Message {
    Message::SyncGroupResponse(SyncGroupResponse {
        error,
        assignment: Assignment::default(),
    })
}

/// Kafka's mapping of a failed offset-commit append (`storeOffsets`) to what the client is told; a timeout
/// stays REQUEST_TIMED_OUT.
fn offsets_store_error(error: ErrorCode) -> ErrorCode {
    match error {
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
        | ErrorCode::NOT_ENOUGH_REPLICAS
        | ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND => ErrorCode::COORDINATOR_NOT_AVAILABLE,
        ErrorCode::NOT_LEADER_OR_FOLLOWER => ErrorCode::NOT_COORDINATOR,
        other => other,
    }
}

/// The same for the group's assignment (`storeGroup`), where a timeout sends the members back to rejoin.
fn group_store_error(error: ErrorCode) -> ErrorCode {
    match error {
        ErrorCode::REQUEST_TIMED_OUT => ErrorCode::REBALANCE_IN_PROGRESS,
        other => offsets_store_error(other),
    }
}

/// The `__consumer_offsets` records of a group's commit, one per partition.
pub(super) fn offset_records(
    group_id: &str,
    offsets: &[(TopicPartition, Offset)],
) -> Vec<GroupLogRecord> {
    offsets
        .iter()
        .map(|(tp, offset)| GroupLogRecord::Offset {
            group_id: group_id.to_string(),
            tp: tp.clone(),
            offset: *offset,
        })
        .collect()
}
