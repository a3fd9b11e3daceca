//! Rebuilding a coordinator from its `__consumer_offsets` partition when its broker becomes the leader (Kafka's
//! `GroupMetadataManager.loadGroupsAndOffsets`): the last group record and the latest offset record per partition
//! win, and a transaction's offsets count only once its producer's COMMIT marker follows them.

use super::group::{GroupState, Member, PendingTxnOffset};
use super::{GroupConfig, GroupCoordinator, GroupLogRecord, StoredMember};
use crate::ids::{Offset, TopicPartition};
use crate::protocol::JoinGroupProtocol;
use crate::record::{ControlMarker, InternalValue, RecordBatch};
use std::collections::BTreeMap;

/// The offsets of open transactions met so far: producer id, then group and partition.
type OpenTxnOffsets = BTreeMap<i64, BTreeMap<(String, TopicPartition), (Offset, Offset)>>;

impl GroupCoordinator {
    /// Rebuilds groups and offsets from the partition's batches, in log order. A group with members is Stable
    /// with every member given a full session to heartbeat. A transactional offset waits for a marker of its
    /// producer: COMMIT makes it committed (unless a later record already replaced the partition's offset), ABORT
    /// drops it, and with no marker yet it stays pending, as before the fail-over.
    pub fn load<'a>(
        config: GroupConfig,
        member_id_prefix: &str,
        now_ms: u64,
        batches: impl IntoIterator<Item = &'a RecordBatch>,
    ) -> Self {
        let mut c = GroupCoordinator::new(config, member_id_prefix);
        let mut open: OpenTxnOffsets = BTreeMap::new();
        for batch in batches {
            if let (Some(marker), Some(p)) = (batch.attributes.control, batch.producer) {
                let offsets = open.remove(&p.producer_id).unwrap_or_default();
                if matches!(marker, ControlMarker::Commit { .. }) {
                    for ((group_id, tp), (offset, record_at)) in offsets {
                        c.group_entry(&group_id)
                            .commit_offset(&tp, offset, record_at);
                    }
                }
                continue;
            }
            let transactional = batch
                .producer
                .filter(|_| batch.attributes.transactional)
                .map(|p| p.producer_id);
            for record in batch.records.iter() {
                let Some(InternalValue::GroupMetadata(record)) = record.internal.as_deref() else {
                    continue;
                };
                match (record, transactional) {
                    (
                        GroupLogRecord::Offset {
                            group_id,
                            tp,
                            offset,
                        },
                        Some(producer_id),
                    ) => {
                        // Kafka keys the batch's records by the batch's base offset.
                        open.entry(producer_id)
                            .or_default()
                            .insert((group_id.clone(), tp.clone()), (*offset, batch.base_offset));
                    }
                    (
                        GroupLogRecord::Offset {
                            group_id,
                            tp,
                            offset,
                        },
                        None,
                    ) => c
                        .group_entry(group_id)
                        .commit_offset(tp, *offset, batch.base_offset),
                    (GroupLogRecord::Group { .. }, _) => c.load_group(now_ms, record),
                }
            }
        }
        for (producer_id, offsets) in open {
            for ((group_id, tp), (offset, record_at)) in offsets {
                c.group_entry(&group_id)
                    .pending_txn_offsets
                    .entry(producer_id)
                    .or_default()
                    .insert(
                        tp,
                        PendingTxnOffset {
                            offset,
                            appended_at: Some(record_at),
                        },
                    );
            }
        }
        c
    }

    fn load_group(&mut self, now_ms: u64, record: &GroupLogRecord) {
        let GroupLogRecord::Group {
            group_id,
            generation_id,
            protocol_type,
            protocol,
            leader,
            members,
        } = record
        else {
            unreachable!("a group record");
        };
        let g = self.group_entry(group_id);
        g.generation_id = *generation_id;
        g.protocol_type = protocol_type.clone();
        g.protocol = protocol.clone();
        g.leader = leader.clone();
        g.members = members
            .iter()
            .map(|m| (m.member_id.clone(), stored_member(m, now_ms)))
            .collect();
        g.state = if g.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
    }
}

/// A member rebuilt from the group record: known again, with a full session to heartbeat.
fn stored_member(m: &StoredMember, now_ms: u64) -> Member {
    Member {
        id: m.member_id.clone(),
        session_timeout_ms: m.session_timeout_ms,
        rebalance_timeout_ms: m.rebalance_timeout_ms,
        protocols: vec![JoinGroupProtocol {
            name: m.protocol_name.clone(),
            metadata: m.subscription.clone(),
        }],
        assignment: m.assignment.clone(),
        awaiting_join: None,
        awaiting_sync: None,
        deadline_ms: now_ms + m.session_timeout_ms,
        is_new: false,
        joined: 0,
    }
}
