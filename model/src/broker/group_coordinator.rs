//! The group coordinator a broker hosts for each `__consumer_offsets` partition it leads: groups and offsets are
//! loaded from that partition's log when the broker becomes its leader, the coordinator's appends (a group's
//! assignment, committed offsets) are written with acks=all and take effect once the high watermark passes them,
//! and leadership lost unloads it all (waiting members are told NOT_COORDINATOR). A transaction's offsets
//! (TxnOffsetCommit) are written as its producer's transactional batch and settle when that producer's marker in
//! the partition is committed (Kafka's `onTransactionCompleted`, called from the WriteTxnMarkers path).

use super::Broker;
use crate::config::Fix;
use crate::error::ErrorCode;
use crate::group::coordinator::{
    join_error, sync_error, Effect, GroupCoordinator, GroupLogRecord, TxnProducer,
};
use crate::ids::{LeaderEpoch, NodeId, Offset, TopicPartition};
use crate::internal_topics::CONSUMER_OFFSETS_TOPIC;
use crate::protocol::{
    HeartbeatResponse, LeaveGroupResponse, Message, OffsetCommitResponse, OffsetFetchResponse,
    TxnOffsetCommitResponse,
};
use crate::record::{BatchAttributes, BatchProducer, InternalValue, Record};
use std::collections::BTreeMap;
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
    /// Where the batch is in the log: what the coordinator is told once it is committed.
    base_offset: Offset,
    /// One past the last record: the HW must reach it.
    required_offset: Offset,
    /// Kafka gives a group coordinator's append `offsets.commit.timeout.ms`.
    deadline_ms: u64,
}

impl Broker {
    /// The committed offsets of `group_id` as its coordinator here holds them, if this broker coordinates it.
    pub fn committed_offsets(&self, group_id: &str) -> Option<BTreeMap<TopicPartition, Offset>> {
        self.group_coordinators
            .values()
            .find_map(|hosted| hosted.coordinator.group(group_id))
            .map(|group| group.offsets.clone())
    }

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
            Message::TxnOffsetCommitRequest(r) => &r.group_id,
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
            Message::TxnOffsetCommitRequest(r) => c.txn_commit_offsets(from, correlation_id, r),
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
                    Effect::Append {
                        token,
                        records,
                        producer,
                    } => {
                        if let Err(error) =
                            self.append_group_records(now_ms, partition, token, records, producer)
                        {
                            let hosted = self.group_coordinators.get_mut(&partition).unwrap();
                            queue.extend(hosted.coordinator.appended(now_ms, token, Err(error)));
                        }
                    }
                }
            }
        }
    }

    /// Appends a coordinator's records as leader of its partition, refused when the ISR is below its minimum or,
    /// for a transaction's offsets, when the partition knows a newer epoch of the producer (Kafka's log append
    /// checks the epoch of a coordinator's batch as of a client's: INVALID_PRODUCER_EPOCH).
    fn append_group_records(
        &mut self,
        now_ms: u64,
        partition: i32,
        token: u64,
        records: Vec<GroupLogRecord>,
        producer: Option<TxnProducer>,
    ) -> Result<(), ErrorCode> {
        let tp = TopicPartition::new(CONSUMER_OFFSETS_TOPIC, partition);
        let min_isr = self.min_insync_replicas(&tp);
        let hw_min_isr = self.hw_min_isr(min_isr);
        let fence_epochs = self.config.fixes.has(Fix::Kip98ProducerEpochFencing);
        let me = self.id;
        let log = self
            .partitions
            .get_mut(&tp)
            .filter(|p| p.is_leader())
            .ok_or(ErrorCode::NOT_LEADER_OR_FOLLOWER)?;
        if log.isr.len() < min_isr {
            return Err(ErrorCode::NOT_ENOUGH_REPLICAS);
        }
        if let Some(p) = producer {
            log.log
                .producers
                .check_epoch(p.producer_id, p.producer_epoch, fence_epochs)?;
        }
        let records: Arc<[Record]> = records
            .into_iter()
            .map(|r| offsets_log_record(r, now_ms))
            .collect();
        let count = records.len() as Offset;
        // Kafka builds a TxnOffsetCommit's batch with the producer's id and epoch, base sequence 0, and the
        // transactional flag; no client produces here, so the sequence is never checked.
        let batch_producer = producer.map(|p| BatchProducer {
            producer_id: p.producer_id,
            producer_epoch: p.producer_epoch,
            base_sequence: 0,
        });
        let attributes = BatchAttributes {
            transactional: producer.is_some(),
            control: None,
        };
        let base = log.append_as_leader(records, batch_producer, attributes, now_ms);
        let hw = log.maybe_advance_leader_hw(me, hw_min_isr);
        self.observe_opt(hw);
        self.group_coordinators
            .get_mut(&partition)
            .unwrap()
            .appends
            .push(GroupAppend {
                token,
                base_offset: base,
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
                let result = if append.required_offset <= hw {
                    Ok(append.base_offset)
                } else {
                    Err(ErrorCode::REQUEST_TIMED_OUT)
                };
                effects.extend(hosted.coordinator.appended(now_ms, append.token, result));
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
            let batches = self.partitions[&tp].log.file.batches();
            // Member ids name the broker, partition and leader epoch, so no two coordinators hand out the same.
            let prefix = format!("b{}p{}e{}", self.id, partition, leader_epoch);
            let coordinator =
                GroupCoordinator::load(self.config.group.clone(), &prefix, now_ms, batches);
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

    /// A transaction marker of `producer_id` is committed in `tp` (its WriteTxnMarkers append completed): if `tp`
    /// is a `__consumer_offsets` partition whose coordinator this broker hosts, the producer's offsets there are
    /// committed or dropped (Kafka's `GroupCoordinator.onTransactionCompleted`).
    pub(super) fn txn_marker_written(
        &mut self,
        tp: &TopicPartition,
        producer_id: i64,
        committed: bool,
    ) {
        if *tp.topic != *CONSUMER_OFFSETS_TOPIC {
            return;
        }
        if let Some(hosted) = self.group_coordinators.get_mut(&tp.partition) {
            hosted.coordinator.complete_txn(producer_id, committed);
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
        Message::TxnOffsetCommitRequest(r) => {
            Message::TxnOffsetCommitResponse(TxnOffsetCommitResponse {
                results: r
                    .offsets
                    .iter()
                    .map(|(tp, _)| (tp.clone(), error))
                    .collect(),
            })
        }
        other => panic!("not a group request: {}", other.api_name()),
    }
}
