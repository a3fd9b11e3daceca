//! The group coordinator a broker hosts for each `__consumer_offsets` partition it leads: groups and offsets are
//! loaded from that partition's log when the broker becomes its leader, the coordinator's appends (a group's
//! assignment, committed offsets) are written with acks=all and take effect once the high watermark passes them,
//! and leadership lost unloads it all (waiting members are told NOT_COORDINATOR).

use super::Broker;
use crate::error::ErrorCode;
use crate::group::coordinator::{join_error, sync_error, Effect, GroupCoordinator, GroupLogRecord};
use crate::ids::{LeaderEpoch, NodeId, Offset, TopicPartition};
use crate::internal_topics::CONSUMER_OFFSETS_TOPIC;
use crate::log::Log;
use crate::protocol::{
    HeartbeatResponse, LeaveGroupResponse, Message, OffsetCommitResponse, OffsetFetchResponse,
};
use crate::record::{BatchAttributes, InternalValue, Record};
use std::sync::Arc;

/// The coordinator of one `__consumer_offsets` partition, while this broker leads it.
pub(super) struct HostedGroups {
    /// The partition's leader epoch when it was loaded.
    leader_epoch: LeaderEpoch,
    pub coordinator: GroupCoordinator,
    /// Appends waiting for the high watermark, in offset order.
    appends: Vec<GroupAppend>,
}

struct GroupAppend {
    token: u64,
    /// One past the last record: the HW must reach it.
    required_offset: Offset,
    /// Kafka gives a group coordinator's append `offsets.commit.timeout.ms`.
    deadline_ms: u64,
}

impl Broker {
    /// Hands a group request to the coordinator of its group, or answers NOT_COORDINATOR.
    pub(super) fn handle_group_request(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        message: Message,
    ) {
        let group_id = match &message {
            Message::JoinGroupRequest(r) => &r.group_id,
            Message::SyncGroupRequest(r) => &r.group_id,
            Message::HeartbeatRequest(r) => &r.group_id,
            Message::LeaveGroupRequest(r) => &r.group_id,
            Message::OffsetCommitRequest(r) => &r.group_id,
            Message::OffsetFetchRequest(r) => &r.group_id,
            other => panic!("not a group request: {}", other.api_name()),
        };
        let partition = self.group_partition_of(group_id);
        let Some(hosted) = self.group_coordinators.get_mut(&partition) else {
            let answer = not_coordinator(&message);
            return self.send(from, correlation_id, answer);
        };
        let c = &mut hosted.coordinator;
        let effects = match message {
            Message::JoinGroupRequest(r) => c.join_group(now_ms, from, correlation_id, r),
            Message::SyncGroupRequest(r) => c.sync_group(now_ms, from, correlation_id, r),
            Message::HeartbeatRequest(r) => c.heartbeat(now_ms, from, correlation_id, r),
            Message::LeaveGroupRequest(r) => c.leave_group(now_ms, from, correlation_id, r),
            Message::OffsetCommitRequest(r) => c.commit_offsets(now_ms, from, correlation_id, r),
            Message::OffsetFetchRequest(r) => c.fetch_offsets(from, correlation_id, r),
            _ => unreachable!("matched above"),
        };
        self.apply_group_effects(now_ms, partition, effects);
    }

    /// Carries out what a coordinator asked: replies go out, records are appended to its partition.
    fn apply_group_effects(&mut self, now_ms: u64, partition: i32, effects: Vec<Effect>) {
        let mut queue = effects;
        while !queue.is_empty() {
            for effect in std::mem::take(&mut queue) {
                match effect {
                    Effect::Reply {
                        to,
                        correlation_id,
                        message,
                    } => self.send(to, correlation_id, message),
                    Effect::Append { token, records } => {
                        if let Err(error) =
                            self.append_group_records(now_ms, partition, token, records)
                        {
                            let hosted = self.group_coordinators.get_mut(&partition).unwrap();
                            queue.extend(hosted.coordinator.appended(now_ms, token, error));
                        }
                    }
                }
            }
        }
    }

    /// Appends a coordinator's records as leader of its partition, refused when the ISR is below its minimum.
    fn append_group_records(
        &mut self,
        now_ms: u64,
        partition: i32,
        token: u64,
        records: Vec<GroupLogRecord>,
    ) -> Result<(), ErrorCode> {
        let tp = TopicPartition::new(CONSUMER_OFFSETS_TOPIC, partition);
        let min_isr = self.min_insync_replicas(&tp);
        let me = self.id;
        let log = self
            .partitions
            .get_mut(&tp)
            .filter(|p| p.is_leader())
            .ok_or(ErrorCode::NOT_LEADER_OR_FOLLOWER)?;
        if log.isr.len() < min_isr {
            return Err(ErrorCode::NOT_ENOUGH_REPLICAS);
        }
        let records: Arc<[Record]> = records
            .into_iter()
            .map(|r| offsets_log_record(r, now_ms))
            .collect();
        let count = records.len() as Offset;
        let base = log.append_as_leader(records, None, BatchAttributes::default(), now_ms);
        let hw = log.maybe_advance_leader_hw(me, min_isr);
        self.observe_opt(hw);
        self.group_coordinators
            .get_mut(&partition)
            .unwrap()
            .appends
            .push(GroupAppend {
                token,
                required_offset: base + count,
                deadline_ms: now_ms + self.config.group.offsets_commit_timeout_ms,
            });
        Ok(())
    }

    /// After every step: host a coordinator for each `__consumer_offsets` partition led here, drop the others,
    /// complete (or time out) appends, and run the coordinators' timers.
    pub(super) fn group_tick(&mut self, now_ms: u64) {
        self.sync_hosted_groups(now_ms);
        let partitions: Vec<i32> = self.group_coordinators.keys().copied().collect();
        for partition in partitions {
            let tp = TopicPartition::new(CONSUMER_OFFSETS_TOPIC, partition);
            let hw = self.partitions[&tp].high_watermark;
            let hosted = self.group_coordinators.get_mut(&partition).unwrap();
            let mut effects = Vec::new();
            let (done, waiting): (Vec<GroupAppend>, Vec<GroupAppend>) =
                std::mem::take(&mut hosted.appends)
                    .into_iter()
                    .partition(|a| a.required_offset <= hw || a.deadline_ms <= now_ms);
            hosted.appends = waiting;
            for append in done {
                let error = if append.required_offset <= hw {
                    ErrorCode::NONE
                } else {
                    ErrorCode::REQUEST_TIMED_OUT
                };
                effects.extend(hosted.coordinator.appended(now_ms, append.token, error));
            }
            if hosted
                .coordinator
                .next_timeout()
                .is_some_and(|at| at <= now_ms)
            {
                effects.extend(hosted.coordinator.on_timeout(now_ms));
            }
            self.apply_group_effects(now_ms, partition, effects);
        }
    }

    fn sync_hosted_groups(&mut self, now_ms: u64) {
        let led = self.led_partitions(CONSUMER_OFFSETS_TOPIC);
        let stale: Vec<i32> = self
            .group_coordinators
            .iter()
            .filter(|(partition, hosted)| led.get(partition) != Some(&hosted.leader_epoch))
            .map(|(partition, _)| *partition)
            .collect();
        for partition in stale {
            let mut hosted = self.group_coordinators.remove(&partition).unwrap();
            for effect in hosted.coordinator.unload() {
                if let Effect::Reply {
                    to,
                    correlation_id,
                    message,
                } = effect
                {
                    self.send(to, correlation_id, message);
                }
            }
        }
        for (partition, leader_epoch) in led {
            if self.group_coordinators.contains_key(&partition) {
                continue;
            }
            let tp = TopicPartition::new(CONSUMER_OFFSETS_TOPIC, partition);
            let records = stored_group_records(&self.partitions[&tp].log);
            // Member ids name the broker, partition and leader epoch, so no two coordinators hand out the same.
            let prefix = format!("b{}p{}e{}", self.id, partition, leader_epoch);
            let coordinator =
                GroupCoordinator::load(self.config.group.clone(), &prefix, now_ms, records);
            self.group_coordinators.insert(
                partition,
                HostedGroups {
                    leader_epoch,
                    coordinator,
                    appends: Vec::new(),
                },
            );
        }
    }

    /// The earliest time a hosted group coordinator needs the broker: a member's or a rebalance's deadline, or
    /// an append's timeout.
    pub(super) fn next_group_timeout(&self) -> Option<u64> {
        self.group_coordinators
            .values()
            .flat_map(|h| {
                h.coordinator
                    .next_timeout()
                    .into_iter()
                    .chain(h.appends.iter().map(|a| a.deadline_ms))
            })
            .min()
    }
}

/// A coordinator's record as `__consumer_offsets` stores it, keyed by what it is about so that compaction keeps
/// only the newest per group and per group and partition.
pub(crate) fn offsets_log_record(r: GroupLogRecord, now_ms: u64) -> Record {
    Record {
        key: Some(Arc::from(
            format!("{:?}", r.key()).into_bytes().into_boxed_slice(),
        )),
        value: 0,
        timestamp_ms: now_ms,
        internal: Some(Arc::new(InternalValue::GroupMetadata(r))),
    }
}

/// The group records a `__consumer_offsets` log holds, oldest first, what a new coordinator loads. A compacted
/// log holds fewer of them, at their original offsets: the newest per key is there all the same.
pub(crate) fn stored_group_records(log: &Log) -> impl Iterator<Item = &GroupLogRecord> {
    log.file
        .batches()
        .iter()
        .flat_map(|b| b.entries())
        .filter_map(|(_, r)| match r.internal.as_deref() {
            Some(InternalValue::GroupMetadata(g)) => Some(g),
            _ => None,
        })
}

/// NOT_COORDINATOR in the shape of the request's answer.
fn not_coordinator(request: &Message) -> Message {
    let error = ErrorCode::NOT_COORDINATOR;
    match request {
        Message::JoinGroupRequest(r) => join_error(&r.member_id, error),
        Message::SyncGroupRequest(_) => sync_error(error),
        Message::HeartbeatRequest(_) => Message::HeartbeatResponse(HeartbeatResponse { error }),
        Message::LeaveGroupRequest(_) => Message::LeaveGroupResponse(LeaveGroupResponse {
            error,
            members: Vec::new(),
        }),
        Message::OffsetCommitRequest(r) => Message::OffsetCommitResponse(OffsetCommitResponse {
            results: r
                .offsets
                .iter()
                .map(|(tp, _)| (tp.clone(), error))
                .collect(),
        }),
        Message::OffsetFetchRequest(_) => Message::OffsetFetchResponse(OffsetFetchResponse {
            error,
            offsets: Vec::new(),
        }),
        other => panic!("not a group request: {}", other.api_name()),
    }
}
