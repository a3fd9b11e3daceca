//! A consumer in a group (`KafkaConsumer.subscribe`, run by Kafka's classic `ConsumerCoordinator`) as a pure state
//! machine: it finds the group's coordinator, joins and syncs, heartbeats, fetches the committed offsets of what it
//! is assigned, hands records to the application through `poll`, and commits.
//!
//! The application drives it as Kafka's does: `poll` starts a rebalance the coordinator asked for (so a member
//! busy processing delays it, up to the rebalance timeout), returns up to `max.poll.records` buffered records of
//! the partitions it owns, and auto-commits. The "heartbeat thread" runs on every step: it heartbeats while the
//! member is stable and leaves the group when `max.poll.interval.ms` passes without a poll.
//!
//! Choices where this model narrows Kafka's client:
//! - Rebalance listener callbacks are events ([`GroupEvent::Revoked`], [`GroupEvent::Assigned`]). The listener's
//!   commit on revocation (`commit_on_revoke`) and the auto-commit before a rebalance are made by the consumer
//!   itself, synchronously, before it revokes, as Kafka's `onJoinPrepare` and a committing listener do.
//! - Partitions are lost ([`GroupEvent::Revoked`] with `lost`) at the moment the member learns it is out of the
//!   group (a fenced generation, an unknown member id, its own LeaveGroup after the poll timeout), and no record of
//!   them is returned from then on; Kafka calls `onPartitionsLost` in the next `poll`, before returning records,
//!   which the application cannot tell apart.
//! - JoinGroup and SyncGroup responses are acted on when they arrive (Kafka may complete them on the heartbeat
//!   thread too); the assignment itself is taken up in the next `poll`, as Kafka's `onJoinComplete` is.
//! - Committed offsets carry no leader epoch, so a position from OffsetFetch is not validated (KIP-320) first.
//! - The heartbeat thread pauses from JoinGroup until SyncGroup is answered (Kafka's runs while SyncGroup is in
//!   flight): it matters only if SyncGroup takes longer than `session.timeout.ms`.

mod buffer;
mod commit;
mod coordinator;
mod heartbeat;
mod membership;
mod requests;
#[cfg(test)]
mod tests;
mod transactional;

use super::{Consumer, ConsumerEvent};
use crate::config::Fixes;
use crate::config::{ConsumerConfig, GroupMemberConfig};
use crate::error::ErrorCode;
use crate::ids::{BrokerId, NodeId, Offset, TopicPartition};
use crate::output::Output;
use crate::protocol::Message;
use buffer::FetchBuffer;
use commit::PendingCommit;
use membership::MemberState;
use requests::{GroupPending, GroupRequests};
use std::collections::{BTreeMap, BTreeSet};

/// Correlation ids of the group's own requests start here, far above the fetcher's.
const GROUP_REQUEST_IDS: u64 = 1 << 40;

/// Who asked for a commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitSource {
    /// The application's `commitSync` / `commitAsync`.
    Manual,
    /// `enable.auto.commit`, in `poll` or before a rebalance.
    Auto,
    /// The rebalance listener, before partitions are revoked.
    Revoke,
}

/// How a commit ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitOutcome {
    Committed,
    /// Surely not committed, with the error that said so.
    Failed(ErrorCode),
    /// The answer never came (a timeout or a broken connection): it may have been stored.
    Unknown,
}

/// What the application sees, drained with [`GroupConsumer::drain_events`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupEvent {
    /// `onPartitionsAssigned`: the member's whole assignment in `generation`.
    Assigned {
        generation: i32,
        member_id: String,
        partitions: Vec<TopicPartition>,
    },
    /// `onPartitionsRevoked` (lost = false) or `onPartitionsLost` (lost = true).
    Revoked {
        partitions: Vec<TopicPartition>,
        lost: bool,
    },
    /// The group's committed offset of an assigned partition (None: none, so `auto.offset.reset` applies).
    Fetched {
        tp: TopicPartition,
        committed: Option<Offset>,
    },
    /// The position moved on purpose (`auto.offset.reset`, or a truncation found by validation).
    Reset {
        tp: TopicPartition,
        from: Option<Offset>,
        to: Offset,
    },
    /// A commit ended.
    Committed {
        id: u64,
        source: CommitSource,
        generation: i32,
        offsets: Vec<(TopicPartition, Offset)>,
        outcome: CommitOutcome,
    },
}

/// What one `poll` returned: records per partition, in offset order, and the generation the member believed in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Polled {
    pub generation: i32,
    pub records: Vec<(TopicPartition, Vec<(Offset, u64)>)>,
}

pub struct GroupConsumer {
    config: GroupMemberConfig,
    max_poll_records: usize,
    request_timeout_ms: u64,
    retry_backoff_ms: u64,
    fixes: Fixes,
    topics: Vec<String>,
    fetcher: Consumer,
    bootstrap: Vec<BrokerId>,
    next_bootstrap: usize,
    requests: GroupRequests,
    coordinator: Option<BrokerId>,
    /// `retry.backoff.ms` after a failed FindCoordinator, JoinGroup, SyncGroup or OffsetFetch.
    retry_at_ms: Option<u64>,
    member_id: String,
    /// -1 outside a generation.
    generation: i32,
    state: MemberState,
    /// The coordinator asked for a rebalance, or the member's view changed: rejoin at the next `poll`.
    rejoin_needed: bool,
    /// The partitions owned now (Kafka's `SubscriptionState` assignment).
    owned: BTreeSet<TopicPartition>,
    /// KIP-429 reverted: partitions revoked but still fetched and returned.
    zombie: BTreeSet<TopicPartition>,
    /// Owned partitions waiting for their committed offset.
    awaiting_committed: BTreeSet<TopicPartition>,
    /// Partition counts the leader assigned with (Kafka's `assignmentSnapshot`); a change means rejoin.
    assigned_with: Option<BTreeMap<String, i32>>,
    buffer: FetchBuffer,
    last_poll_ms: u64,
    last_heartbeat_ok_ms: u64,
    heartbeat_due_ms: Option<u64>,
    next_auto_commit_ms: u64,
    commits: BTreeMap<u64, PendingCommit>,
    next_commit_id: u64,
    events: Vec<GroupEvent>,
    out: Vec<Output>,
}

impl GroupConsumer {
    pub fn new(
        client_id: u32,
        consumer_config: ConsumerConfig,
        config: GroupMemberConfig,
        bootstrap: Vec<BrokerId>,
        topics: Vec<String>,
        fixes: Fixes,
    ) -> Self {
        assert!(
            !config.partition_assignment_strategy.is_empty(),
            "a group member needs an assignor"
        );
        // The fetcher runs with the member's fixes too: KIP-320 is a client change.
        let fetcher_config = ConsumerConfig {
            fixes: fixes.clone(),
            ..consumer_config.clone()
        };
        let mut fetcher = Consumer::new(
            client_id,
            fetcher_config,
            bootstrap.clone(),
            Vec::new(),
            config.auto_offset_reset,
        );
        fetcher.subscribe(topics.clone());
        GroupConsumer {
            max_poll_records: consumer_config.max_poll_records,
            request_timeout_ms: consumer_config.request_timeout_ms,
            retry_backoff_ms: consumer_config.retry_backoff_ms,
            config,
            fixes,
            topics,
            fetcher,
            bootstrap,
            next_bootstrap: client_id as usize,
            requests: GroupRequests::numbered_from(GROUP_REQUEST_IDS),
            coordinator: None,
            retry_at_ms: None,
            member_id: String::new(),
            generation: -1,
            state: MemberState::Unjoined,
            rejoin_needed: true,
            owned: BTreeSet::new(),
            zombie: BTreeSet::new(),
            awaiting_committed: BTreeSet::new(),
            assigned_with: None,
            buffer: FetchBuffer::default(),
            last_poll_ms: 0,
            last_heartbeat_ok_ms: 0,
            heartbeat_due_ms: None,
            next_auto_commit_ms: 0,
            commits: BTreeMap::new(),
            next_commit_id: 1,
            events: Vec::new(),
            out: Vec::new(),
        }
    }

    pub fn group_id(&self) -> &str {
        &self.config.group_id
    }

    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// The partitions the member owns now.
    pub fn owned(&self) -> Vec<TopicPartition> {
        self.owned.iter().cloned().collect()
    }

    /// Whether the member is in a stable generation with every owned partition positioned.
    pub fn stable(&self) -> bool {
        self.state == MemberState::Stable && self.awaiting_committed.is_empty()
    }

    pub fn start(&mut self, now_ms: u64) -> Vec<Output> {
        self.last_poll_ms = now_ms;
        self.next_auto_commit_ms = now_ms + self.config.auto_commit_interval_ms;
        let out = self.fetcher.start(now_ms);
        self.after_fetcher(now_ms, out);
        self.step(now_ms)
    }

    /// `KafkaConsumer.poll`: resets the poll timer, auto-commits when due, starts a pending rebalance, and returns up
    /// to `max.poll.records` records of owned partitions.
    ///
    /// While the rebalance listener's commit is in flight, Kafka's `poll` is blocked inside its `commitSync`: it
    /// returns nothing, and the poll timer keeps running from the call that blocked. While the eager protocol's
    /// auto-commit before a rebalance is in flight, `poll` returns, but nothing of the partitions being revoked.
    pub fn poll(&mut self, now_ms: u64) -> (Polled, Vec<Output>) {
        if self.blocked_in_listener() {
            let polled = Polled {
                generation: self.generation,
                records: Vec::new(),
            };
            return (polled, self.step(now_ms));
        }
        self.last_poll_ms = now_ms;
        self.fetcher.set_fetching(true);
        if self.config.enable_auto_commit
            && now_ms >= self.next_auto_commit_ms
            && self.state == MemberState::Stable
        {
            self.next_auto_commit_ms = now_ms + self.config.auto_commit_interval_ms;
            let offsets = self.consumed_positions(&self.owned);
            if !offsets.is_empty() {
                let timeout_ms = self.config.default_api_timeout_ms;
                self.commit(now_ms, offsets, CommitSource::Auto, false, timeout_ms);
            }
        }
        if let MemberState::Assigned {
            generation,
            partitions,
        } = &self.state
        {
            let (generation, partitions) = (*generation, partitions.clone());
            self.on_assignment(now_ms, generation, partitions);
        }
        if self.rejoin_needed && matches!(self.state, MemberState::Unjoined | MemberState::Stable) {
            self.prepare_join(now_ms);
        }
        let readable: BTreeSet<TopicPartition> = if self.records_withheld() {
            BTreeSet::new()
        } else {
            self.owned.union(&self.zombie).cloned().collect()
        };
        let records = self.buffer.take(&readable, self.max_poll_records);
        for (tp, _) in &records {
            if self.buffer.is_empty(tp) {
                self.fetcher.set_paused(tp, false);
            }
        }
        let returns_records = !records.is_empty();
        let polled = Polled {
            generation: self.generation,
            records,
        };
        // Kafka's `poll` sends the next fetches before it returns records (pipelining), then nothing more goes out
        // until the application polls again; a poll with nothing to return keeps waiting, and fetching.
        let out = self.step(now_ms);
        if returns_records {
            self.fetcher.set_fetching(false);
        }
        (polled, out)
    }

    /// The application thread is stalled in its own code (a long GC, a slow downstream call): it is not inside
    /// `poll`, so no new fetch goes out until it polls again.
    pub fn app_stalled(&mut self) {
        self.fetcher.set_fetching(false);
    }

    /// Whether the application thread would be inside `poll`, in its rebalance listener's `commitSync`.
    fn blocked_in_listener(&self) -> bool {
        match &self.state {
            MemberState::Completing { .. } => true,
            MemberState::PreparingJoin { commit } => self
                .commits
                .get(commit)
                .is_some_and(|c| c.source == CommitSource::Revoke),
            _ => false,
        }
    }

    /// Whether owned partitions' records are held back: in the listener, or (eager) while the auto-commit before
    /// the rebalance is in flight, when Kafka has marked every owned partition pending revocation.
    fn records_withheld(&self) -> bool {
        self.blocked_in_listener()
            || (matches!(self.state, MemberState::PreparingJoin { .. })
                && self.protocol() == crate::group::assignor::RebalanceProtocol::Eager)
    }

    /// `commitSync` (sync) or `commitAsync` of `offsets`; the outcome comes as [`GroupEvent::Committed`] with the
    /// returned id.
    pub fn commit_offsets(
        &mut self,
        now_ms: u64,
        offsets: Vec<(TopicPartition, Offset)>,
        sync: bool,
    ) -> (u64, Vec<Output>) {
        let timeout_ms = self.config.default_api_timeout_ms;
        let id = self.commit(now_ms, offsets, CommitSource::Manual, sync, timeout_ms);
        (id, self.step(now_ms))
    }

    /// The next offset to read of each of `tps` as of what `poll` returned (Kafka's `allConsumed`).
    pub fn consumed_positions(
        &self,
        tps: &BTreeSet<TopicPartition>,
    ) -> Vec<(TopicPartition, Offset)> {
        tps.iter()
            .filter(|tp| !self.awaiting_committed.contains(*tp))
            .filter_map(|tp| Some((tp.clone(), self.consumed_position(tp)?)))
            .collect()
    }

    fn consumed_position(&self, tp: &TopicPartition) -> Option<Offset> {
        self.buffer
            .first_offset(tp)
            .or_else(|| self.fetcher.position(tp))
    }

    pub fn handle_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        message: Message,
    ) -> Vec<Output> {
        if let Some(request) = self.requests.take(from, correlation_id) {
            self.handle_group_response(now_ms, request.pending, message);
        } else {
            let out = self
                .fetcher
                .handle_message(now_ms, from, correlation_id, message);
            self.after_fetcher(now_ms, out);
        }
        self.step(now_ms)
    }

    pub fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) -> Vec<Output> {
        if let NodeId::Broker(broker) = peer {
            self.fail_broker(now_ms, broker);
        }
        let out = self.fetcher.on_disconnect(now_ms, peer);
        self.after_fetcher(now_ms, out);
        self.step(now_ms)
    }

    pub fn on_timeout(&mut self, now_ms: u64) -> Vec<Output> {
        let out = self.fetcher.on_timeout(now_ms);
        self.after_fetcher(now_ms, out);
        self.step(now_ms)
    }

    pub fn next_timeout(&self) -> Option<u64> {
        [
            self.fetcher.next_timeout(),
            self.requests.next_deadline_ms(),
            self.retry_at_ms,
            self.heartbeat_timeout_ms(),
            self.commits.values().map(|c| c.deadline_ms).min(),
            self.commits
                .values()
                .filter(|c| !c.in_flight && self.coordinator.is_some())
                .filter_map(|c| c.retry_at_ms)
                .min(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn drain_events(&mut self) -> Vec<GroupEvent> {
        std::mem::take(&mut self.events)
    }

    /// Runs everything due: the fetcher, request deadlines, the heartbeat thread, coordinator lookup, the group's
    /// requests.
    fn step(&mut self, now_ms: u64) -> Vec<Output> {
        // A poll that emptied a partition's buffer, a committed offset that positioned one, or a new assignment
        // makes the fetcher due now (Kafka's `poll` sends fetches every time): it must not wait for a timer.
        let out = self.fetcher.on_timeout(now_ms);
        self.after_fetcher(now_ms, out);
        for broker in self.requests.expired_brokers(now_ms) {
            self.out.push(Output::Disconnect(NodeId::Broker(broker)));
            self.fail_broker(now_ms, broker);
            let out = self.fetcher.on_disconnect(now_ms, NodeId::Broker(broker));
            self.after_fetcher(now_ms, out);
        }
        if self.retry_at_ms.is_some_and(|at| at <= now_ms) {
            self.retry_at_ms = None;
        }
        self.expire_commits(now_ms);
        self.run_heartbeat_thread(now_ms);
        self.maybe_find_coordinator(now_ms);
        self.maybe_send_join(now_ms);
        self.maybe_send_sync(now_ms);
        self.maybe_fetch_committed(now_ms);
        self.send_commits(now_ms);
        self.check_metadata_snapshot();
        std::mem::take(&mut self.out)
    }

    /// Takes the fetcher's output and events: records go to the buffer (and their partition is paused until the
    /// application has polled them), and a connection the fetcher closed fails the group's requests on it too.
    fn after_fetcher(&mut self, now_ms: u64, out: Vec<Output>) {
        for output in &out {
            if let Output::Disconnect(NodeId::Broker(broker)) = output {
                self.fail_broker(now_ms, *broker);
            }
        }
        self.out.extend(out);
        for event in self.fetcher.drain_events() {
            match event {
                ConsumerEvent::Polled { tp, records, .. } => {
                    if self.owned.contains(&tp) || self.zombie.contains(&tp) {
                        self.buffer.push(&tp, records);
                        self.fetcher.set_paused(&tp, true);
                    }
                }
                ConsumerEvent::Seek { tp, offset } => {
                    let from = self.consumed_position_before_seek(&tp);
                    self.buffer.clear(&tp);
                    self.fetcher.set_paused(&tp, false);
                    self.events.push(GroupEvent::Reset {
                        tp,
                        from,
                        to: offset,
                    });
                }
            }
        }
    }

    /// Where the application was in `tp` before a seek the fetcher made: the first buffered record, else unknown
    /// (the fetcher's position has already moved).
    fn consumed_position_before_seek(&self, tp: &TopicPartition) -> Option<Offset> {
        self.buffer.first_offset(tp)
    }

    /// A connection broke or was closed: what was in flight on it failed.
    fn fail_broker(&mut self, now_ms: u64, broker: BrokerId) {
        for request in self.requests.take_broker(broker) {
            self.fail_group_request(now_ms, request.pending);
        }
        if self.coordinator == Some(broker) {
            self.coordinator_lost(now_ms);
        }
    }

    fn handle_group_response(&mut self, now_ms: u64, pending: GroupPending, message: Message) {
        match (pending, message) {
            (GroupPending::FindCoordinator, Message::FindCoordinatorResponse(r)) => {
                self.handle_find_coordinator(now_ms, r)
            }
            (GroupPending::Join, Message::JoinGroupResponse(r)) => {
                self.handle_join_response(now_ms, r)
            }
            (GroupPending::Sync { generation }, Message::SyncGroupResponse(r)) => {
                self.handle_sync_response(now_ms, generation, r)
            }
            (GroupPending::Heartbeat { generation }, Message::HeartbeatResponse(r)) => {
                self.handle_heartbeat_response(now_ms, generation, r.error)
            }
            (GroupPending::OffsetFetch, Message::OffsetFetchResponse(r)) => {
                self.handle_offset_fetch(now_ms, r)
            }
            (GroupPending::Commit { id }, Message::OffsetCommitResponse(r)) => {
                self.handle_commit_response(now_ms, id, r)
            }
            (GroupPending::Leave, _) => {}
            (pending, _) => self.fail_group_request(now_ms, pending),
        }
    }

    /// A request that got no answer (a broken connection or a timeout).
    fn fail_group_request(&mut self, now_ms: u64, pending: GroupPending) {
        match pending {
            GroupPending::FindCoordinator | GroupPending::OffsetFetch => self.back_off(now_ms),
            GroupPending::Join | GroupPending::Sync { .. } => self.back_off(now_ms),
            GroupPending::Heartbeat { .. } | GroupPending::Leave => {}
            GroupPending::Commit { id } => self.commit_unanswered(now_ms, id),
        }
    }

    fn back_off(&mut self, now_ms: u64) {
        self.retry_at_ms = Some(now_ms + self.retry_backoff_ms);
    }

    fn send(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        timeout_ms: u64,
        pending: GroupPending,
        message: Message,
    ) {
        let correlation_id = self.requests.register(broker, now_ms + timeout_ms, pending);
        self.out.push(Output::Send {
            to: NodeId::Broker(broker),
            correlation_id,
            message,
        });
    }
}
