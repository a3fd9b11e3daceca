//! Joining the group: the commit and revocation before a rebalance (`onJoinPrepare`), JoinGroup (twice for a new
//! member, KIP-394), the leader's assignment, SyncGroup, and taking up the assignment (`onJoinComplete`).

use super::requests::GroupPending;
use super::{CommitSource, GroupConsumer, GroupEvent};
use crate::config::Fix;
use crate::error::ErrorCode;
use crate::group::assignor::{Assignor, Member, RebalanceProtocol};
use crate::ids::TopicPartition;
use crate::protocol::{
    Assignment, JoinGroupProtocol, JoinGroupRequest, JoinGroupResponse, Message, Subscription,
    SyncGroupRequest, SyncGroupResponse,
};
use std::collections::BTreeSet;

/// Where the member is in the group protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::consumer) enum MemberState {
    /// Not in a generation; the next `poll` joins.
    Unjoined,
    /// `onJoinPrepare`: waiting for the commit made before revoking (commit id), then JoinGroup.
    PreparingJoin {
        commit: u64,
    },
    /// JoinGroup is due or in flight.
    Joining,
    /// SyncGroup is due or in flight for `generation`, with the leader's assignments (empty from a follower).
    Syncing {
        generation: i32,
        assignments: Vec<(String, Assignment)>,
    },
    /// SyncGroup answered: the member is in `generation`, and takes up `partitions` in its next `poll` (Kafka runs
    /// `onJoinComplete` on the application thread, so a batch being processed is finished before anything it
    /// polled is revoked).
    Assigned {
        generation: i32,
        partitions: Vec<TopicPartition>,
    },
    /// Cooperative: the assignment took partitions away, and the listener's commit (id) must end before they are
    /// revoked and the rest is taken up.
    Completing {
        generation: i32,
        partitions: Vec<TopicPartition>,
        commit: u64,
    },
    Stable,
}

impl GroupConsumer {
    /// The protocol the group runs: cooperative only when every strategy this member lists supports it (Kafka's
    /// consumer picks the highest protocol all its assignors support).
    pub(super) fn protocol(&self) -> RebalanceProtocol {
        let cooperative = self.config.partition_assignment_strategy.iter().all(|a| {
            a.supported_protocols()
                .contains(&RebalanceProtocol::Cooperative)
        });
        if cooperative {
            RebalanceProtocol::Cooperative
        } else {
            RebalanceProtocol::Eager
        }
    }

    /// `onJoinPrepare`: commit what was consumed (auto-commit, or the listener's commit), then with the eager
    /// protocol revoke everything; then join. The cooperative protocol revokes nothing here, so its listener is
    /// not called and does not commit.
    pub(super) fn prepare_join(&mut self, now_ms: u64) {
        self.rejoin_needed = false;
        let listener_commits =
            self.config.commit_on_revoke && self.protocol() == RebalanceProtocol::Eager;
        let commits = self.config.enable_auto_commit || listener_commits;
        let offsets = self.consumed_positions(&self.owned);
        if commits && self.generation >= 0 && !offsets.is_empty() {
            let source = if listener_commits {
                CommitSource::Revoke
            } else {
                CommitSource::Auto
            };
            // The state first, so a commit that fails at once still moves the join on. Kafka bounds the wait by
            // the rebalance timeout (`joinPrepareTimer`), then joins whatever became of the commit.
            let commit = self.next_commit_id;
            self.state = MemberState::PreparingJoin { commit };
            let timeout_ms = self.config.max_poll_interval_ms;
            let id = self.commit(now_ms, offsets, source, true, timeout_ms);
            debug_assert_eq!(id, commit);
        } else {
            self.join_after_prepare();
        }
    }

    /// The pre-join commit ended (whatever its outcome: Kafka goes on to join).
    pub(super) fn join_after_prepare(&mut self) {
        if self.protocol() == RebalanceProtocol::Eager && !self.owned.is_empty() {
            let all = self.owned.clone();
            self.revoke(&all, false);
        }
        self.state = MemberState::Joining;
    }

    pub(super) fn maybe_send_join(&mut self, now_ms: u64) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        if self.state != MemberState::Joining
            || self.retry_at_ms.is_some()
            || self.requests.in_flight(&GroupPending::Join)
        {
            return;
        }
        let subscription = Subscription {
            topics: self.topics.clone(),
            owned_partitions: self.owned.iter().cloned().collect(),
            generation_id: self.generation,
        };
        let protocols = self
            .config
            .partition_assignment_strategy
            .iter()
            .map(|a| JoinGroupProtocol {
                name: a.name().to_string(),
                metadata: subscription.clone(),
            })
            .collect();
        let message = Message::JoinGroupRequest(JoinGroupRequest {
            group_id: self.config.group_id.clone(),
            session_timeout_ms: self.config.session_timeout_ms,
            rebalance_timeout_ms: self.config.max_poll_interval_ms,
            member_id: self.member_id.clone(),
            protocol_type: "consumer".to_string(),
            protocols,
        });
        // Kafka waits for a JoinGroup answer up to the rebalance timeout plus a margin, not `request.timeout.ms`.
        let timeout_ms = self
            .request_timeout_ms
            .max(self.config.max_poll_interval_ms + 5_000);
        self.send(now_ms, coordinator, timeout_ms, GroupPending::Join, message);
    }

    pub(super) fn handle_join_response(&mut self, now_ms: u64, resp: JoinGroupResponse) {
        if self.state != MemberState::Joining {
            return;
        }
        match resp.error {
            ErrorCode::NONE => {
                self.member_id = resp.member_id.clone();
                self.generation = resp.generation_id;
                // Kafka's heartbeat thread is enabled here and `resetTimeouts` restarts the poll timer: a join
                // that took most of the rebalance timeout does not count against `max.poll.interval.ms`.
                self.last_poll_ms = now_ms;
                let assignments = if resp.leader == resp.member_id {
                    self.assign_as_leader(&resp)
                } else {
                    Vec::new()
                };
                self.state = MemberState::Syncing {
                    generation: resp.generation_id,
                    assignments,
                };
            }
            // KIP-394: a new member is given its id and joins again with it at once.
            ErrorCode::MEMBER_ID_REQUIRED => self.member_id = resp.member_id,
            ErrorCode::UNKNOWN_MEMBER_ID => {
                self.member_id.clear();
                self.lose_partitions();
            }
            ErrorCode::ILLEGAL_GENERATION => self.lose_partitions(),
            e if Self::is_coordinator_error(e) => self.coordinator_lost(now_ms),
            _ => self.back_off(now_ms),
        }
    }

    /// The leader runs the group's assignor over every member's subscription and its own metadata.
    fn assign_as_leader(&mut self, resp: &JoinGroupResponse) -> Vec<(String, Assignment)> {
        let assignor = resp
            .protocol_name
            .as_deref()
            .and_then(Assignor::from_name)
            .unwrap_or(self.config.partition_assignment_strategy[0]);
        let members: Vec<Member> = resp
            .members
            .iter()
            .map(|m| {
                Member::new(m.member_id.clone(), m.metadata.topics.clone()).owning(
                    m.metadata.owned_partitions.clone(),
                    m.metadata.generation_id,
                )
            })
            .collect();
        let counts = self.fetcher.partition_counts().clone();
        let assignment = assignor.assign(&counts, &members);
        self.assigned_with = Some(counts);
        assignment
            .into_iter()
            .map(|(member, partitions)| (member, Assignment { partitions }))
            .collect()
    }

    pub(super) fn maybe_send_sync(&mut self, now_ms: u64) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        let MemberState::Syncing {
            generation,
            assignments,
        } = &self.state
        else {
            return;
        };
        let generation = *generation;
        if self.retry_at_ms.is_some() || self.requests.in_flight(&GroupPending::Sync { generation })
        {
            return;
        }
        let message = Message::SyncGroupRequest(SyncGroupRequest {
            group_id: self.config.group_id.clone(),
            generation_id: generation,
            member_id: self.member_id.clone(),
            assignments: assignments.clone(),
        });
        let timeout_ms = self.request_timeout_ms;
        self.send(
            now_ms,
            coordinator,
            timeout_ms,
            GroupPending::Sync { generation },
            message,
        );
    }

    pub(super) fn handle_sync_response(
        &mut self,
        now_ms: u64,
        generation: i32,
        resp: SyncGroupResponse,
    ) {
        if !matches!(&self.state, MemberState::Syncing { generation: g, .. } if *g == generation) {
            return;
        }
        match resp.error {
            ErrorCode::NONE => {
                // Kafka clears `rejoinNeeded` when SyncGroup succeeds: a REBALANCE_IN_PROGRESS heard while this
                // rebalance ran (a heartbeat, a commit) was about this rebalance, not a next one.
                self.rejoin_needed = false;
                self.state = MemberState::Assigned {
                    generation,
                    partitions: resp.assignment.partitions,
                };
                // The heartbeat thread runs from here; the session starts afresh.
                self.last_heartbeat_ok_ms = now_ms;
                self.heartbeat_due_ms = Some(now_ms + self.config.heartbeat_interval_ms);
            }
            e if Self::is_coordinator_error(e) => {
                self.coordinator_lost(now_ms);
                self.state = MemberState::Joining;
            }
            ErrorCode::UNKNOWN_MEMBER_ID => {
                self.member_id.clear();
                self.lose_partitions();
                self.state = MemberState::Joining;
            }
            ErrorCode::ILLEGAL_GENERATION => {
                self.lose_partitions();
                self.state = MemberState::Joining;
            }
            // Kafka rejoins at once after REBALANCE_IN_PROGRESS, after the backoff otherwise.
            ErrorCode::REBALANCE_IN_PROGRESS => self.state = MemberState::Joining,
            _ => {
                self.back_off(now_ms);
                self.state = MemberState::Joining;
            }
        }
    }

    /// `onJoinComplete`, in `poll`. Cooperative: partitions the assignment takes away are revoked first (after the
    /// listener's commit), and the member rejoins so they can be given out in the next generation.
    pub(super) fn on_assignment(
        &mut self,
        now_ms: u64,
        generation: i32,
        partitions: Vec<TopicPartition>,
    ) {
        let assigned: BTreeSet<TopicPartition> = partitions.iter().cloned().collect();
        let revoked: BTreeSet<TopicPartition> = self.owned.difference(&assigned).cloned().collect();
        if !revoked.is_empty() && self.config.commit_on_revoke {
            let offsets = self.consumed_positions(&revoked);
            if !offsets.is_empty() {
                // The commit is made in the new generation, as Kafka's listener runs after SyncGroup succeeded.
                let commit = self.next_commit_id;
                self.state = MemberState::Completing {
                    generation,
                    partitions,
                    commit,
                };
                let timeout_ms = self.config.default_api_timeout_ms;
                let id = self.commit(now_ms, offsets, CommitSource::Revoke, true, timeout_ms);
                debug_assert_eq!(id, commit);
                return;
            }
        }
        self.complete_assignment(now_ms, generation, partitions);
    }

    pub(super) fn complete_assignment(
        &mut self,
        now_ms: u64,
        generation: i32,
        partitions: Vec<TopicPartition>,
    ) {
        let assigned: BTreeSet<TopicPartition> = partitions.iter().cloned().collect();
        let revoked: BTreeSet<TopicPartition> = self.owned.difference(&assigned).cloned().collect();
        if !revoked.is_empty() {
            self.revoke(&revoked, false);
            self.rejoin_needed = true;
        }
        let added: Vec<TopicPartition> = assigned.difference(&self.owned).cloned().collect();
        self.zombie.retain(|tp| !assigned.contains(tp));
        self.fetcher.assign(added.iter().cloned());
        self.awaiting_committed.extend(added.iter().cloned());
        self.owned = assigned;
        self.generation = generation;
        self.state = MemberState::Stable;
        self.last_heartbeat_ok_ms = now_ms;
        self.heartbeat_due_ms = Some(now_ms + self.config.heartbeat_interval_ms);
        self.events.push(GroupEvent::Assigned {
            generation,
            member_id: self.member_id.clone(),
            partitions,
        });
    }

    /// Gives up `partitions`: the listener is told, buffered records are dropped and fetching stops. With KIP-429's
    /// revocation reverted, a voluntary revocation only tells the listener and the partitions stay readable.
    pub(super) fn revoke(&mut self, partitions: &BTreeSet<TopicPartition>, lost: bool) {
        for tp in partitions {
            self.owned.remove(tp);
            self.awaiting_committed.remove(tp);
        }
        let keep_reading = !lost
            && self.protocol() == RebalanceProtocol::Cooperative
            && !self.fixes.has(Fix::Kip429CooperativeRevocation);
        if keep_reading {
            self.zombie.extend(partitions.iter().cloned());
        } else {
            for tp in partitions {
                self.buffer.clear(tp);
                self.zombie.remove(tp);
            }
            self.fetcher.unassign(partitions.iter());
        }
        self.events.push(GroupEvent::Revoked {
            partitions: partitions.iter().cloned().collect(),
            lost,
        });
    }

    /// The member learnt it is no longer in the group: its partitions are lost and it joins again afresh.
    pub(super) fn lose_membership(&mut self, reset_member_id: bool) {
        self.lose_partitions();
        if reset_member_id {
            self.member_id.clear();
        }
        self.heartbeat_due_ms = None;
        self.state = MemberState::Unjoined;
        self.rejoin_needed = true;
    }

    /// The generation is gone (fenced, or the member unknown to the coordinator): whatever the member owned may
    /// already be someone else's, so it is lost, as Kafka's `onJoinPrepare` gives it up after a reset generation
    /// under either protocol.
    fn lose_partitions(&mut self) {
        let owned = self.owned.clone();
        let zombie = std::mem::take(&mut self.zombie);
        for tp in &zombie {
            self.buffer.clear(tp);
        }
        self.fetcher.unassign(zombie.iter());
        if !owned.is_empty() {
            self.revoke(&owned, true);
        }
        self.generation = -1;
    }

    /// Kafka's `assignmentSnapshot` check: the leader rejoins when the partition counts it assigned with changed.
    pub(super) fn check_metadata_snapshot(&mut self) {
        if self.state != MemberState::Stable {
            return;
        }
        if let Some(snapshot) = &self.assigned_with {
            if snapshot != self.fetcher.partition_counts() {
                self.assigned_with = None;
                self.rejoin_needed = true;
            }
        }
    }
}
