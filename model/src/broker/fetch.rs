//! The leader's side of Fetch and OffsetsForLeaderEpoch: epoch fencing (KIP-320), follower progress, reads.

use super::partition::Partition;
use super::purgatory::DelayedFetch;
use super::Broker;
use crate::config::Fix;
use crate::error::ErrorCode;
use crate::ids::{NodeId, Offset, TopicPartition, UNDEFINED_EPOCH, UNDEFINED_OFFSET};
use crate::protocol::{
    AbortedTransaction, EpochEndOffset, FetchPartition, FetchPartitionResponse, FetchRequest,
    FetchResponse, IsolationLevel, Message, OffsetsForLeaderEpochRequest,
    OffsetsForLeaderEpochResponse,
};

impl Broker {
    pub(super) fn handle_fetch(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        req: FetchRequest,
    ) {
        if let Some(follower) = req.replica_id {
            self.record_follower_positions(now_ms, follower, &req.partitions);
        }
        let has_data = req.partitions.iter().any(|p| self.fetchable(&req, p));
        if has_data || req.max_wait_ms == 0 {
            self.answer_fetch(from, correlation_id, &req);
        } else {
            let deadline_ms = now_ms + req.max_wait_ms;
            self.purgatory.fetches.push(DelayedFetch {
                from,
                correlation_id,
                deadline_ms,
                request: req,
            });
        }
    }

    /// A follower's fetch offset is its LEO: update its progress, then the ISR and the HW may move.
    fn record_follower_positions(
        &mut self,
        now_ms: u64,
        follower: i32,
        partitions: &[FetchPartition],
    ) {
        for fp in partitions {
            let epoch_start_rule = self.config.fixes.has(Fix::Kafka7128IsrEpochStart);
            let fence_epochs = self.config.fixes.has(Fix::Kip320FetchLeaderEpoch);
            let me = self.id;
            let min_isr = self.min_insync_replicas(&fp.topic_partition);
            let hw_min_isr = self.hw_min_isr(min_isr);
            let Some(p) = self.partitions.get_mut(&fp.topic_partition) else {
                continue;
            };
            let epoch_fenced = fence_epochs && fp.current_leader_epoch != Some(p.leader_epoch);
            if !p.is_leader() || epoch_fenced || fp.fetch_offset > p.log_end_offset() {
                continue;
            }
            p.record_follower_fetch(follower, fp.fetch_offset, now_ms);
            let hw = p.maybe_advance_leader_hw(me, hw_min_isr);
            let expand =
                p.pending_isr().is_none() && !p.replicas_to_add(epoch_start_rule).is_empty();
            self.observe_opt(hw);
            if expand {
                self.maybe_expand_isr(&fp.topic_partition);
            }
        }
    }

    /// The error a fetch of this partition gets here, if any (KIP-320 epoch checks included).
    fn fetch_error(&self, p: &FetchPartition) -> Option<ErrorCode> {
        let Some(partition) = self.partitions.get(&p.topic_partition) else {
            return Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
        };
        // Before KIP-320 a fetch named no leader epoch: whoever thought itself leader served it.
        let fence_epochs = self.config.fixes.has(Fix::Kip320FetchLeaderEpoch);
        if let Some(epoch) = p.current_leader_epoch.filter(|_| fence_epochs) {
            if epoch < partition.leader_epoch {
                return Some(ErrorCode::FENCED_LEADER_EPOCH);
            }
            if epoch > partition.leader_epoch {
                return Some(ErrorCode::UNKNOWN_LEADER_EPOCH);
            }
        }
        if !partition.is_leader() {
            return Some(ErrorCode::NOT_LEADER_OR_FOLLOWER);
        }
        if p.fetch_offset > partition.log_end_offset()
            || p.fetch_offset < partition.log.log_start_offset()
        {
            return Some(ErrorCode::OFFSET_OUT_OF_RANGE);
        }
        None
    }

    /// Whether answering now would return something: an error, or records below the read limit.
    fn fetchable(&self, req: &FetchRequest, p: &FetchPartition) -> bool {
        if self.fetch_error(p).is_some() {
            return true;
        }
        p.fetch_offset < read_limit(req, &self.partitions[&p.topic_partition])
    }

    fn answer_fetch(&mut self, to: NodeId, correlation_id: u64, req: &FetchRequest) {
        let partitions = req
            .partitions
            .iter()
            .map(|p| self.read_partition(req, p))
            .collect();
        self.send(
            to,
            correlation_id,
            Message::FetchResponse(FetchResponse { partitions }),
        );
    }

    fn read_partition(&self, req: &FetchRequest, p: &FetchPartition) -> FetchPartitionResponse {
        let mut response = FetchPartitionResponse {
            topic_partition: p.topic_partition.clone(),
            error: ErrorCode::NONE,
            high_watermark: -1,
            log_start_offset: -1,
            log_end_offset: -1,
            last_stable_offset: -1,
            aborted_transactions: Vec::new(),
            batches: Vec::new(),
        };
        if let Some(partition) = self.partitions.get(&p.topic_partition) {
            response.high_watermark = partition.high_watermark;
            response.log_start_offset = partition.log.log_start_offset();
            response.log_end_offset = partition.log_end_offset();
            response.last_stable_offset = partition.last_stable_offset();
        }
        if let Some(error) = self.fetch_error(p) {
            response.error = error;
            return response;
        }
        let partition = &self.partitions[&p.topic_partition];
        let until = read_limit(req, partition);
        response.batches = partition
            .log
            .file
            .read(p.fetch_offset, until, p.max_records.max(1));
        if req.replica_id.is_none() && req.isolation_level == IsolationLevel::ReadCommitted {
            let read_until = response.batches.last().map_or(until, |b| b.next_offset());
            response.aborted_transactions = partition
                .log
                .producers
                .aborted_between(p.fetch_offset, read_until)
                .into_iter()
                .map(|a| AbortedTransaction {
                    producer_id: a.producer_id,
                    first_offset: a.first_offset,
                })
                .collect();
        }
        response
    }

    /// Answers parked fetches that now have something to return.
    pub(super) fn try_complete_fetches(&mut self) {
        let parked = std::mem::take(&mut self.purgatory.fetches);
        for delayed in parked {
            if delayed
                .request
                .partitions
                .iter()
                .any(|p| self.fetchable(&delayed.request, p))
            {
                self.answer_fetch(delayed.from, delayed.correlation_id, &delayed.request);
            } else {
                self.purgatory.fetches.push(delayed);
            }
        }
    }

    pub(super) fn expire_delayed(&mut self, now_ms: u64) {
        self.expire_produces(now_ms);
        let (expired, parked): (Vec<_>, Vec<_>) = std::mem::take(&mut self.purgatory.fetches)
            .into_iter()
            .partition(|d| d.deadline_ms <= now_ms);
        self.purgatory.fetches = parked;
        for delayed in expired {
            self.answer_fetch(delayed.from, delayed.correlation_id, &delayed.request);
        }
    }

    /// KIP-101/KIP-279: where does the leader's log end for the follower's epoch?
    pub(super) fn handle_offsets_for_leader_epoch(
        &mut self,
        from: NodeId,
        correlation_id: u64,
        req: OffsetsForLeaderEpochRequest,
    ) {
        let partitions = req
            .partitions
            .iter()
            .map(|p| {
                let fetch = FetchPartition {
                    topic_partition: p.topic_partition.clone(),
                    current_leader_epoch: Some(p.current_leader_epoch),
                    fetch_offset: 0,
                    max_records: 0,
                };
                let error = self
                    .fetch_error(&fetch)
                    .filter(|e| *e != ErrorCode::OFFSET_OUT_OF_RANGE);
                match error {
                    Some(error) => {
                        epoch_end(&p.topic_partition, error, UNDEFINED_EPOCH, UNDEFINED_OFFSET)
                    }
                    None => {
                        let (epoch, end) = self.partitions[&p.topic_partition]
                            .log
                            .end_offset_for_epoch(p.leader_epoch);
                        epoch_end(&p.topic_partition, ErrorCode::NONE, epoch, end)
                    }
                }
            })
            .collect();
        self.send(
            from,
            correlation_id,
            Message::OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse { partitions }),
        );
    }
}

fn epoch_end(
    tp: &TopicPartition,
    error: ErrorCode,
    leader_epoch: i32,
    end_offset: i64,
) -> EpochEndOffset {
    EpochEndOffset {
        topic_partition: tp.clone(),
        error,
        leader_epoch,
        end_offset,
    }
}

/// How far a fetch may read: followers to the log end, read_uncommitted consumers to the high watermark,
/// read_committed consumers to the last stable offset.
fn read_limit(req: &FetchRequest, partition: &Partition) -> Offset {
    match (req.replica_id, req.isolation_level) {
        (Some(_), _) => partition.log_end_offset(),
        (None, IsolationLevel::ReadUncommitted) => partition.high_watermark,
        (None, IsolationLevel::ReadCommitted) => partition.last_stable_offset(),
    }
}
