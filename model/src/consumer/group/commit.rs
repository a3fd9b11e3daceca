//! Committed offsets: OffsetFetch (require_stable, KIP-447) positions newly assigned partitions, and OffsetCommit
//! stores positions, synchronously (retried until `default.api.timeout.ms`) or asynchronously (tried once).

use super::membership::MemberState;
use super::requests::GroupPending;
use super::{CommitOutcome, CommitSource, GroupConsumer, GroupEvent};
use crate::error::ErrorCode;
use crate::ids::{Offset, TopicPartition};
use crate::protocol::{
    Message, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse,
};

/// A commit not yet answered for good.
#[derive(Clone, Debug)]
pub(super) struct PendingCommit {
    pub source: CommitSource,
    pub offsets: Vec<(TopicPartition, Offset)>,
    pub sync: bool,
    /// The generation and member id it was made under (Kafka's `generationIfStable`).
    pub generation: i32,
    pub member_id: String,
    /// A sync commit gives up here; an async one is never retried.
    pub deadline_ms: u64,
    /// An attempt went unanswered: it may have been stored, so a later failure is an unknown outcome.
    pub maybe_stored: bool,
    pub in_flight: bool,
    pub retry_at_ms: Option<u64>,
}

impl GroupConsumer {
    /// Starts a commit and returns its id. A member rebalancing or outside the group cannot commit: Kafka fails
    /// it at once (RebalanceInProgressException / CommitFailedException).
    pub(super) fn commit(
        &mut self,
        now_ms: u64,
        offsets: Vec<(TopicPartition, Offset)>,
        source: CommitSource,
        sync: bool,
        timeout_ms: u64,
    ) -> u64 {
        let id = self.next_commit_id;
        self.next_commit_id += 1;
        // Kafka's `generationIfStable`: the same states the heartbeat thread runs in.
        let in_generation = self.heartbeating();
        let commit = PendingCommit {
            source,
            offsets,
            sync,
            generation: self.generation,
            member_id: self.member_id.clone(),
            deadline_ms: now_ms + timeout_ms,
            maybe_stored: false,
            in_flight: false,
            retry_at_ms: None,
        };
        self.commits.insert(id, commit);
        if !in_generation {
            let error = if self.generation >= 0 {
                ErrorCode::REBALANCE_IN_PROGRESS
            } else {
                ErrorCode::UNKNOWN_MEMBER_ID
            };
            self.finish_commit(now_ms, id, CommitOutcome::Failed(error));
        }
        id
    }

    pub(super) fn send_commits(&mut self, now_ms: u64) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        let due: Vec<u64> = self
            .commits
            .iter()
            .filter(|(_, c)| !c.in_flight && c.retry_at_ms.is_none_or(|at| at <= now_ms))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            // Kafka reads `generationIfStable` at every attempt: a retry made while the member rebalances fails,
            // and one made after it rejoined goes under its new generation.
            if !self.heartbeating() {
                let outcome = if self.commits[&id].maybe_stored {
                    CommitOutcome::Unknown
                } else {
                    CommitOutcome::Failed(ErrorCode::REBALANCE_IN_PROGRESS)
                };
                self.finish_commit(now_ms, id, outcome);
                continue;
            }
            let (generation, member_id) = (self.generation, self.member_id.clone());
            let commit = self.commits.get_mut(&id).expect("listed");
            commit.generation = generation;
            commit.member_id = member_id;
            commit.in_flight = true;
            commit.retry_at_ms = None;
            let message = Message::OffsetCommitRequest(OffsetCommitRequest {
                group_id: self.config.group_id.clone(),
                generation_id: commit.generation,
                member_id: commit.member_id.clone(),
                offsets: commit.offsets.clone(),
            });
            let timeout_ms = self.request_timeout_ms;
            self.send(
                now_ms,
                coordinator,
                timeout_ms,
                GroupPending::Commit { id },
                message,
            );
        }
    }

    pub(super) fn handle_commit_response(
        &mut self,
        now_ms: u64,
        id: u64,
        resp: OffsetCommitResponse,
    ) {
        let Some(commit) = self.commits.get_mut(&id) else {
            return;
        };
        commit.in_flight = false;
        let error = resp
            .results
            .iter()
            .map(|(_, e)| *e)
            .find(|e| *e != ErrorCode::NONE)
            .unwrap_or(ErrorCode::NONE);
        match error {
            ErrorCode::NONE => self.finish_commit(now_ms, id, CommitOutcome::Committed),
            // Kafka's OffsetCommit handler marks the coordinator unknown on REQUEST_TIMED_OUT too.
            e if Self::is_coordinator_error(e) || e == ErrorCode::REQUEST_TIMED_OUT => {
                self.coordinator_lost(now_ms);
                self.retry_or_fail(now_ms, id, e);
            }
            ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::ILLEGAL_GENERATION => {
                let generation = self.commits[&id].generation;
                self.finish_commit(now_ms, id, CommitOutcome::Failed(error));
                // Kafka's `resetGenerationOnResponseError`: the member is out of the generation it committed in.
                if generation == self.generation && self.generation >= 0 {
                    self.lose_membership(error == ErrorCode::UNKNOWN_MEMBER_ID);
                }
            }
            ErrorCode::REBALANCE_IN_PROGRESS => {
                self.rejoin_needed = true;
                self.finish_commit(now_ms, id, CommitOutcome::Failed(error));
            }
            e => self.finish_commit(now_ms, id, CommitOutcome::Failed(e)),
        }
    }

    /// No answer (a broken connection or a timeout): the commit may have been stored.
    pub(super) fn commit_unanswered(&mut self, now_ms: u64, id: u64) {
        if let Some(commit) = self.commits.get_mut(&id) {
            commit.in_flight = false;
            commit.maybe_stored = true;
            self.retry_or_fail(now_ms, id, ErrorCode::REQUEST_TIMED_OUT);
        }
    }

    /// A sync commit retries retriable errors until its deadline; an async one ends.
    fn retry_or_fail(&mut self, now_ms: u64, id: u64, error: ErrorCode) {
        let commit = self.commits.get_mut(&id).expect("pending");
        if commit.sync && now_ms < commit.deadline_ms {
            commit.retry_at_ms = Some(now_ms + self.retry_backoff_ms);
            return;
        }
        let outcome = if commit.maybe_stored {
            CommitOutcome::Unknown
        } else {
            CommitOutcome::Failed(error)
        };
        self.finish_commit(now_ms, id, outcome);
    }

    /// Sync commits past `default.api.timeout.ms` end (an in-flight attempt's answer is then ignored).
    pub(super) fn expire_commits(&mut self, now_ms: u64) {
        let expired: Vec<u64> = self
            .commits
            .iter()
            .filter(|(_, c)| c.deadline_ms <= now_ms)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            let c = &self.commits[&id];
            let outcome = if c.in_flight || c.maybe_stored {
                CommitOutcome::Unknown
            } else {
                CommitOutcome::Failed(ErrorCode::REQUEST_TIMED_OUT)
            };
            self.finish_commit(now_ms, id, outcome);
        }
    }

    fn finish_commit(&mut self, now_ms: u64, id: u64, outcome: CommitOutcome) {
        let Some(commit) = self.commits.remove(&id) else {
            return;
        };
        self.events.push(GroupEvent::Committed {
            id,
            source: commit.source,
            generation: commit.generation,
            offsets: commit.offsets,
            outcome,
        });
        match &self.state {
            MemberState::PreparingJoin { commit } if *commit == id => self.join_after_prepare(),
            MemberState::Completing {
                generation,
                partitions,
                commit,
            } if *commit == id => {
                let (generation, partitions) = (*generation, partitions.clone());
                self.complete_assignment(now_ms, generation, partitions);
            }
            _ => {}
        }
    }

    /// OffsetFetch for owned partitions still waiting for a position, one request at a time.
    pub(super) fn maybe_fetch_committed(&mut self, now_ms: u64) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        if self.state != MemberState::Stable
            || self.awaiting_committed.is_empty()
            || self.retry_at_ms.is_some()
            || self.requests.in_flight(&GroupPending::OffsetFetch)
        {
            return;
        }
        let message = Message::OffsetFetchRequest(OffsetFetchRequest {
            group_id: self.config.group_id.clone(),
            partitions: Some(self.awaiting_committed.iter().cloned().collect()),
            require_stable: true,
        });
        let timeout_ms = self.request_timeout_ms;
        self.send(
            now_ms,
            coordinator,
            timeout_ms,
            GroupPending::OffsetFetch,
            message,
        );
    }

    pub(super) fn handle_offset_fetch(&mut self, now_ms: u64, resp: OffsetFetchResponse) {
        if resp.error != ErrorCode::NONE {
            if Self::is_coordinator_error(resp.error) {
                self.coordinator_lost(now_ms);
            }
            self.back_off(now_ms);
            return;
        }
        for (tp, offset, error) in resp.offsets {
            if !self.awaiting_committed.contains(&tp) {
                continue;
            }
            if error != ErrorCode::NONE {
                // UNSTABLE_OFFSET_COMMIT: a commit is being stored; ask again after the backoff.
                self.back_off(now_ms);
                continue;
            }
            self.awaiting_committed.remove(&tp);
            let committed = (offset >= 0).then_some(offset);
            self.events.push(GroupEvent::Fetched {
                tp: tp.clone(),
                committed,
            });
            match committed {
                Some(offset) => self.fetcher.seek_to(&tp, offset),
                None => {
                    self.fetcher.reset_to_default(&tp);
                    // The reset is a fetcher event (a Seek): take it now, so the Reset follows the Fetched.
                    self.after_fetcher(now_ms, Vec::new());
                }
            }
        }
    }
}
