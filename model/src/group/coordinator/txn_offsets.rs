//! Transactional offset commits (KIP-98, with KIP-447's member checks): TxnOffsetCommit stores a transaction's
//! offsets in the group's partition as a transactional batch of its producer, where they wait; the producer's COMMIT
//! marker in that partition makes them the committed offsets and an ABORT drops them (Kafka's
//! `GroupCoordinator.handleTxnCommitOffsets`, `GroupMetadataManager.storeOffsets` and `handleTxnCompletion`).

use super::group::{GroupState, PendingTxnOffset, Waiting};
use super::{offsets_store_error, Effect, GroupCoordinator, Pending, TxnProducer};
use crate::error::ErrorCode;
use crate::ids::{NodeId, Offset, TopicPartition};
use crate::protocol::{
    Message, TxnOffsetCommitRequest, TxnOffsetCommitResponse, UNKNOWN_MEMBER_ID,
};

impl GroupCoordinator {
    /// Kafka's `handleTxnCommitOffsets`: an unknown group is created Empty, the member is checked as KIP-447
    /// asks, and the offsets are appended as the producer's transactional batch; the answer comes once the append
    /// is committed, but the offsets wait for the transaction's marker.
    pub fn txn_commit_offsets(
        &mut self,
        from: NodeId,
        correlation_id: u64,
        req: TxnOffsetCommitRequest,
    ) -> Vec<Effect> {
        let client = (from, correlation_id);
        let error = if req.group_id.is_empty() {
            Some(ErrorCode::INVALID_GROUP_ID)
        } else {
            self.group_entry(&req.group_id);
            self.validate_txn_offset_commit(&req)
        };
        if let Some(error) = error {
            let results = req
                .offsets
                .iter()
                .map(|(tp, _)| (tp.clone(), error))
                .collect();
            self.reply_txn_offsets(client, results);
            return self.take();
        }
        if req.offsets.is_empty() {
            self.reply_txn_offsets(client, Vec::new());
            return self.take();
        }
        // Kafka's `prepareTxnOffsetCommit`: pending from now on, so a fetch asking for stable offsets waits.
        let g = self.group_entry(&req.group_id);
        let pending = g.pending_txn_offsets.entry(req.producer_id).or_default();
        for (tp, offset) in &req.offsets {
            let offset = PendingTxnOffset {
                offset: *offset,
                appended_at: None,
            };
            pending.insert(tp.clone(), offset);
        }
        let records = super::offset_records(&req.group_id, &req.offsets);
        let producer = TxnProducer {
            producer_id: req.producer_id,
            producer_epoch: req.producer_epoch,
        };
        self.append(
            records,
            Some(producer),
            Pending::TxnOffsets {
                group_id: req.group_id,
                client,
                producer_id: req.producer_id,
                offsets: req.offsets,
            },
        );
        self.take()
    }

    /// Kafka's `validateOffsetCommit` for a transactional commit. Unlike OffsetCommit, a commit naming no member
    /// and no generation is taken whatever the group's state (older clients send none), and no state refuses it.
    fn validate_txn_offset_commit(&self, req: &TxnOffsetCommitRequest) -> Option<ErrorCode> {
        let g = &self.groups[&req.group_id];
        if g.state == GroupState::Dead {
            return Some(ErrorCode::COORDINATOR_NOT_AVAILABLE);
        }
        let names_member = req.generation_id >= 0
            || req.member_id != UNKNOWN_MEMBER_ID
            || req.group_instance_id.is_some();
        if (req.generation_id < 0 && g.state == GroupState::Empty) || !names_member {
            return None;
        }
        // Kafka's `validateCurrentMember`: a `group.instance.id` must belong to a static member, and this model
        // has none (static membership is not modelled), which Kafka answers UNKNOWN_MEMBER_ID; FENCED_INSTANCE_ID
        // needs a static member holding the instance id under another member id.
        if req.group_instance_id.is_some() || !g.members.contains_key(&req.member_id) {
            return Some(ErrorCode::UNKNOWN_MEMBER_ID);
        }
        (req.generation_id != g.generation_id).then_some(ErrorCode::ILLEGAL_GENERATION)
    }

    /// The TxnOffsetCommit's append finished (Kafka's `putCacheCallback` for a transactional commit): committed,
    /// the pending offsets learn where their record is; failed, they are dropped and the client retries.
    pub(super) fn txn_offsets_stored(
        &mut self,
        group_id: &str,
        client: Waiting,
        producer_id: i64,
        offsets: Vec<(TopicPartition, Offset)>,
        result: Result<Offset, ErrorCode>,
    ) {
        let g = self.group_entry(group_id);
        let error = match result {
            Ok(record_at) => {
                // Kafka's `onTxnOffsetCommitAppend`: only if no later TxnOffsetCommit replaced the offset meanwhile.
                if let Some(pending) = g.pending_txn_offsets.get_mut(&producer_id) {
                    for (tp, offset) in &offsets {
                        if let Some(p) = pending.get_mut(tp).filter(|p| p.offset == *offset) {
                            p.appended_at = Some(record_at);
                        }
                    }
                }
                ErrorCode::NONE
            }
            Err(error) => {
                // Kafka's `failPendingTxnOffsetCommit`.
                if let Some(pending) = g.pending_txn_offsets.get_mut(&producer_id) {
                    for (tp, _) in &offsets {
                        pending.remove(tp);
                    }
                    if pending.is_empty() {
                        g.pending_txn_offsets.remove(&producer_id);
                    }
                }
                offsets_store_error(error)
            }
        };
        let results = offsets.into_iter().map(|(tp, _)| (tp, error)).collect();
        self.reply_txn_offsets(client, results);
    }

    /// Kafka's `handleTxnCompletion`, once the producer's marker is committed in this coordinator's partition
    /// (its WriteTxnMarkers append completed): on commit, each group's pending offsets of that producer become
    /// committed unless a later record already replaced them; on abort they are dropped.
    ///
    /// An offset whose own append has not completed yet is skipped: Kafka throws IllegalStateException there
    /// (which its caller logs), since a producer sends EndTxn only after its TxnOffsetCommit was answered.
    pub fn complete_txn(&mut self, producer_id: i64, committed: bool) {
        for g in self.groups.values_mut() {
            let Some(pending) = g.pending_txn_offsets.remove(&producer_id) else {
                continue;
            };
            if !committed || g.state == GroupState::Dead {
                continue;
            }
            for (tp, p) in pending {
                if let Some(record_at) = p.appended_at {
                    g.commit_offset(&tp, p.offset, record_at);
                }
            }
        }
    }

    fn reply_txn_offsets(&mut self, client: Waiting, results: Vec<(TopicPartition, ErrorCode)>) {
        self.reply(
            client,
            Message::TxnOffsetCommitResponse(TxnOffsetCommitResponse { results }),
        );
    }
}
