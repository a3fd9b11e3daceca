//! The follower's side of replication (Kafka's ReplicaFetcherThread): one fetcher per leader broker, which first
//! settles where the logs agree with OffsetsForLeaderEpoch (KIP-101/KIP-279), then fetches.

use super::partition::Role;
use super::Broker;
use crate::config::Fix;
use crate::error::ErrorCode;
use crate::ids::{
    BrokerId, LeaderEpoch, NodeId, Offset, TopicPartition, UNDEFINED_EPOCH, UNDEFINED_OFFSET,
};
use crate::protocol::{
    EpochEndOffset, FetchPartition, FetchPartitionResponse, FetchRequest, FetchResponse,
    IsolationLevel, Message, OffsetForLeaderPartition, OffsetsForLeaderEpochRequest,
    OffsetsForLeaderEpochResponse,
};
use std::collections::BTreeMap;

/// Records a follower asks for per partition per fetch (Kafka bounds bytes with `replica.fetch.max.bytes`).
const REPLICA_FETCH_MAX_RECORDS: usize = 1_000;

/// One request in flight from this follower to a leader broker.
#[derive(Clone, Debug)]
struct InFlight {
    correlation_id: u64,
    deadline_ms: u64,
    /// The leader epoch each partition was asked under; an answer for another epoch is stale.
    epochs: BTreeMap<TopicPartition, LeaderEpoch>,
}

#[derive(Clone, Debug, Default)]
pub struct Fetcher {
    in_flight: Option<InFlight>,
    backoff_until_ms: u64,
}

impl Fetcher {
    pub fn next_timeout(&self) -> Option<u64> {
        match &self.in_flight {
            Some(f) => Some(f.deadline_ms),
            None if self.backoff_until_ms > 0 => Some(self.backoff_until_ms),
            None => None,
        }
    }
}

impl Broker {
    /// Sends the next request to every leader this broker follows and that has none in flight, then answers
    /// whatever the last step made ready. Called after every step.
    pub(super) fn replicate(&mut self, now_ms: u64) {
        let mut by_leader: BTreeMap<BrokerId, Vec<TopicPartition>> = BTreeMap::new();
        for (tp, p) in &self.partitions {
            if matches!(p.role, Role::Follower { .. }) && p.leader >= 0 && p.leader != self.id {
                by_leader.entry(p.leader).or_default().push(tp.clone());
            }
        }
        for (leader, tps) in by_leader {
            let fetcher = self.fetchers.entry(leader).or_default();
            if fetcher.in_flight.is_some() || now_ms < fetcher.backoff_until_ms {
                continue;
            }
            fetcher.backoff_until_ms = 0;
            self.send_replica_request(now_ms, leader, tps);
        }
        self.try_complete_produces(now_ms);
        self.txn_tick(now_ms);
        self.group_tick(now_ms);
        self.try_complete_fetches();
        self.assert_invariants();
    }

    fn send_replica_request(&mut self, now_ms: u64, leader: BrokerId, tps: Vec<TopicPartition>) {
        let truncating: Vec<_> = tps
            .iter()
            .filter(|tp| {
                matches!(
                    self.partitions[*tp].role,
                    Role::Follower { truncating: true }
                )
            })
            .cloned()
            .collect();
        let epochs: BTreeMap<_, _> = tps
            .iter()
            .map(|tp| (tp.clone(), self.partitions[tp].leader_epoch))
            .collect();
        let message = if truncating.is_empty() {
            self.fetch_request(&tps)
        } else {
            self.epoch_request(&truncating)
        };
        let correlation_id = self.request(NodeId::Broker(leader), message);
        let deadline_ms = now_ms + self.config.replica_socket_timeout_ms;
        self.fetchers.get_mut(&leader).unwrap().in_flight = Some(InFlight {
            correlation_id,
            deadline_ms,
            epochs,
        });
    }

    fn fetch_request(&self, tps: &[TopicPartition]) -> Message {
        let partitions = tps
            .iter()
            .map(|tp| {
                let p = &self.partitions[tp];
                FetchPartition {
                    topic_partition: tp.clone(),
                    current_leader_epoch: Some(p.leader_epoch),
                    fetch_offset: p.log_end_offset(),
                    max_records: REPLICA_FETCH_MAX_RECORDS,
                }
            })
            .collect();
        Message::FetchRequest(FetchRequest {
            replica_id: Some(self.id),
            max_wait_ms: self.config.replica_fetch_wait_max_ms,
            min_records: 1,
            isolation_level: IsolationLevel::ReadUncommitted,
            partitions,
        })
    }

    fn epoch_request(&self, tps: &[TopicPartition]) -> Message {
        let partitions = tps
            .iter()
            .map(|tp| {
                let p = &self.partitions[tp];
                OffsetForLeaderPartition {
                    topic_partition: tp.clone(),
                    current_leader_epoch: p.leader_epoch,
                    leader_epoch: p.log.epochs.latest_epoch().unwrap_or(UNDEFINED_EPOCH),
                }
            })
            .collect();
        Message::OffsetsForLeaderEpochRequest(OffsetsForLeaderEpochRequest {
            replica_id: self.id,
            partitions,
        })
    }

    /// Takes the in-flight request to `leader` if `correlation_id` is it, returning the epochs it was asked under.
    fn complete_in_flight(
        &mut self,
        leader: NodeId,
        correlation_id: u64,
    ) -> Option<BTreeMap<TopicPartition, LeaderEpoch>> {
        let NodeId::Broker(leader) = leader else {
            return None;
        };
        let fetcher = self.fetchers.get_mut(&leader)?;
        if fetcher.in_flight.as_ref()?.correlation_id != correlation_id {
            return None;
        }
        fetcher.in_flight.take().map(|f| f.epochs)
    }

    /// Whether a partition still follows `leader` in the epoch a request was sent under.
    fn still_following(
        &self,
        tp: &TopicPartition,
        leader: NodeId,
        epochs: &BTreeMap<TopicPartition, LeaderEpoch>,
    ) -> bool {
        let Some(p) = self.partitions.get(tp) else {
            return false;
        };
        matches!(p.role, Role::Follower { .. })
            && NodeId::Broker(p.leader) == leader
            && epochs.get(tp) == Some(&p.leader_epoch)
    }

    pub(super) fn handle_fetch_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        resp: FetchResponse,
    ) {
        let Some(epochs) = self.complete_in_flight(from, correlation_id) else {
            return;
        };
        let mut failed = false;
        for pr in resp.partitions {
            if !self.still_following(&pr.topic_partition, from, &epochs) {
                continue;
            }
            failed |= !self.apply_fetched(now_ms, pr);
        }
        if failed {
            self.back_off(from, now_ms);
        }
    }

    /// Applies one partition's fetch answer; false when the fetcher should back off.
    fn apply_fetched(&mut self, now_ms: u64, pr: FetchPartitionResponse) -> bool {
        let me = self.id;
        let p = self.partitions.get_mut(&pr.topic_partition).unwrap();
        match pr.error {
            ErrorCode::NONE => {
                p.append_as_follower(pr.batches, now_ms);
                if p.log.file.unflushed_records() >= self.config.log_flush_interval_messages {
                    p.log.file.flush();
                }
                // Kafka's `maybeUpdateHighWatermark`: a follower's HW only moves forward, and never past its LEO.
                if pr.high_watermark > p.high_watermark {
                    let hw = p.set_high_watermark(me, pr.high_watermark);
                    self.observe_opt(hw);
                }
                true
            }
            ErrorCode::OFFSET_OUT_OF_RANGE => {
                // The leader's log ends before ours (an unclean leader, or data it lost): Kafka truncates to it.
                let to = pr.log_end_offset.max(0);
                let truncated = p.truncate_to(me, to);
                self.observe_opt(truncated);
                true
            }
            _ => false,
        }
    }

    pub(super) fn handle_offsets_for_leader_epoch_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        resp: OffsetsForLeaderEpochResponse,
    ) {
        let Some(epochs) = self.complete_in_flight(from, correlation_id) else {
            return;
        };
        let mut failed = false;
        for e in resp.partitions {
            if !self.still_following(&e.topic_partition, from, &epochs) {
                continue;
            }
            if e.error != ErrorCode::NONE {
                failed = true;
                continue;
            }
            self.truncate_to_epoch_end(&e);
        }
        if failed {
            self.back_off(from, now_ms);
        }
    }

    /// Kafka's `getOffsetTruncationState`: truncate to where both logs agree; when the leader answered with an
    /// epoch this follower does not have, truncate to the end of our own epoch below it and ask again.
    fn truncate_to_epoch_end(&mut self, e: &EpochEndOffset) {
        let me = self.id;
        let epoch_chain = self.config.fixes.has(Fix::Kip279EpochChainTruncation);
        let p = self.partitions.get_mut(&e.topic_partition).unwrap();
        let leo = p.log_end_offset();
        let (offset, done): (Offset, bool) = if e.end_offset == UNDEFINED_OFFSET {
            (p.high_watermark, true)
        } else if e.leader_epoch == UNDEFINED_EPOCH || !epoch_chain {
            // Before KIP-279 the leader's end offset was taken as it came, whatever epoch it ended.
            (e.end_offset.min(leo), true)
        } else {
            let (follower_epoch, follower_end) = p.log.end_offset_for_epoch(e.leader_epoch);
            if follower_epoch == UNDEFINED_EPOCH {
                (e.end_offset.min(leo), true)
            } else if follower_epoch != e.leader_epoch {
                (follower_end.min(leo), false)
            } else {
                // Both logs hold the epoch; they agree up to where the shorter one ends it.
                (e.end_offset.min(follower_end).min(leo), true)
            }
        };
        let truncated = p.truncate_to(me, offset);
        // Nothing left to compare also settles it.
        let done = done || p.log.epochs.latest_epoch().is_none();
        p.role = Role::Follower { truncating: !done };
        self.observe_opt(truncated);
    }

    fn back_off(&mut self, leader: NodeId, now_ms: u64) {
        if let NodeId::Broker(leader) = leader {
            let backoff = self.config.replica_fetch_backoff_ms;
            self.fetchers.entry(leader).or_default().backoff_until_ms = now_ms + backoff;
        }
    }

    pub(super) fn fetcher_disconnected(&mut self, now_ms: u64, leader: BrokerId) {
        if let Some(f) = self.fetchers.get_mut(&leader) {
            f.in_flight = None;
        }
        self.back_off(NodeId::Broker(leader), now_ms);
    }

    /// `replica.socket.timeout.ms` passed without an answer: drop the connection and start over.
    pub(super) fn fetcher_timeouts(&mut self, now_ms: u64) {
        let expired: Vec<BrokerId> = self
            .fetchers
            .iter()
            .filter(|(_, f)| {
                f.in_flight
                    .as_ref()
                    .is_some_and(|i| i.deadline_ms <= now_ms)
            })
            .map(|(b, _)| *b)
            .collect();
        for leader in expired {
            self.out
                .push(crate::output::Output::Disconnect(NodeId::Broker(leader)));
            self.fetcher_disconnected(now_ms, leader);
        }
        for f in self.fetchers.values_mut() {
            if f.in_flight.is_none() && f.backoff_until_ms <= now_ms {
                f.backoff_until_ms = 0;
            }
        }
    }
}
