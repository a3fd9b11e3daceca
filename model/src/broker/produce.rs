//! The produce path on the leader: checks, append, and the acks=0/1/all answers Kafka gives.

use super::purgatory::{Answer, DelayedProduce, PendingPartition};
use super::Broker;
use crate::config::Fix;
use crate::error::ErrorCode;
use crate::ids::NodeId;
use crate::log::producer_state::SequenceCheck;
use crate::protocol::{
    Message, ProducePartition, ProducePartitionResponse, ProduceRequest, ProduceResponse,
};
use crate::record::BatchAttributes;

impl Broker {
    pub(super) fn handle_produce(
        &mut self,
        now_ms: u64,
        client: NodeId,
        correlation_id: u64,
        req: ProduceRequest,
    ) {
        let partitions: Vec<PendingPartition> = req
            .partitions
            .into_iter()
            .map(|p| self.append_for_client(now_ms, req.acks, p))
            .collect();
        if req.acks == 0 {
            // acks=0: Kafka sends no response at all.
            return;
        }
        let delayed = DelayedProduce {
            client,
            correlation_id,
            deadline_ms: now_ms + req.timeout_ms,
            partitions,
            answer: Answer::Produce,
        };
        if req.acks == 1 {
            let done = delayed
                .partitions
                .iter()
                .map(|p| p.result.map_or(p.ok(), |e| p.failed(e)))
                .collect();
            self.send(
                client,
                correlation_id,
                Message::ProduceResponse(ProduceResponse { partitions: done }),
            );
            return;
        }
        self.purgatory.produces.push(delayed);
        self.try_complete_produces(now_ms);
    }

    /// Kafka's `appendRecordsToLeader`: NOT_LEADER_OR_FOLLOWER unless leader; for acks=all, NOT_ENOUGH_REPLICAS
    /// when the ISR is already below `min.insync.replicas` (nothing is appended then).
    fn append_for_client(
        &mut self,
        now_ms: u64,
        acks: i16,
        p: ProducePartition,
    ) -> PendingPartition {
        let min_isr = self.min_insync_replicas(&p.topic_partition);
        let hw_min_isr = self.hw_min_isr(min_isr);
        let fence_epochs = self.config.fixes.has(Fix::Kip98ProducerEpochFencing);
        let mut pending = PendingPartition {
            tp: p.topic_partition.clone(),
            base_offset: -1,
            required_offset: -1,
            leader_epoch: -1,
            result: None,
        };
        let Some(partition) = self
            .partitions
            .get_mut(&p.topic_partition)
            .filter(|p| p.is_leader())
        else {
            let known = self.partitions.contains_key(&p.topic_partition)
                || self.metadata.contains_key(&p.topic_partition);
            pending.result = Some(if known {
                ErrorCode::NOT_LEADER_OR_FOLLOWER
            } else {
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            });
            return pending;
        };
        if acks == -1 && partition.isr.len() < min_isr {
            pending.result = Some(ErrorCode::NOT_ENOUGH_REPLICAS);
            return pending;
        }
        let count = p.records.len() as i64;
        if let Some(producer) = &p.producer {
            match partition
                .log
                .producers
                .check(producer, p.records.len(), fence_epochs)
            {
                Err(error) => {
                    pending.result = Some(error);
                    return pending;
                }
                Ok(SequenceCheck::Duplicate(original)) => {
                    // A retry of a batch this log holds: answer with its offsets once they are as replicated as
                    // the request's acks ask, and append nothing.
                    pending.base_offset = original.first_offset;
                    pending.required_offset = original.last_offset + 1;
                    pending.leader_epoch = partition.leader_epoch;
                    return pending;
                }
                Ok(SequenceCheck::Append) => {}
            }
        }
        pending.base_offset = partition.append_as_leader(
            p.records,
            p.producer,
            // Only a transaction coordinator writes control batches (WriteTxnMarkers), never a client.
            BatchAttributes {
                control: None,
                ..p.attributes
            },
            now_ms,
        );
        pending.required_offset = pending.base_offset + count;
        pending.leader_epoch = partition.leader_epoch;
        let flush_every = self.config.log_flush_interval_messages;
        if partition.log.file.unflushed_records() >= flush_every {
            partition.log.file.flush();
        }
        // A single-member ISR advances the HW on append.
        let hw = partition.maybe_advance_leader_hw(self.id, hw_min_isr);
        self.observe_opt(hw);
        pending
    }

    /// Kafka's `DelayedProduce.tryComplete` for every waiting request.
    pub(super) fn try_complete_produces(&mut self, _now_ms: u64) {
        let waiting = std::mem::take(&mut self.purgatory.produces);
        for mut delayed in waiting {
            for p in delayed.partitions.iter_mut().filter(|p| p.result.is_none()) {
                p.result = self.produce_status(p);
            }
            if delayed.partitions.iter().all(|p| p.result.is_some()) {
                self.answer_produce(delayed);
            } else {
                self.purgatory.produces.push(delayed);
            }
        }
    }

    pub(super) fn produce_status(&self, p: &PendingPartition) -> Option<ErrorCode> {
        let partition = self.partitions.get(&p.tp)?;
        if !partition.is_leader() || partition.leader_epoch != p.leader_epoch {
            return Some(ErrorCode::NOT_LEADER_OR_FOLLOWER);
        }
        if partition.high_watermark < p.required_offset {
            return None;
        }
        if partition.isr.len() < self.min_insync_replicas(&p.tp) {
            return Some(ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND);
        }
        Some(ErrorCode::NONE)
    }

    fn answer_produce(&mut self, delayed: DelayedProduce) {
        let message = match &delayed.answer {
            Answer::Produce => {
                let partitions = delayed
                    .partitions
                    .iter()
                    .map(|p| match p.result {
                        Some(ErrorCode::NONE) | None => p.ok(),
                        Some(e) => p.failed(e),
                    })
                    .collect();
                Message::ProduceResponse(ProduceResponse { partitions })
            }
            Answer::WriteTxnMarkers { markers } => {
                self.txn_markers_response(markers, &delayed.partitions)
            }
        };
        self.send(delayed.client, delayed.correlation_id, message);
    }

    /// Produces still waiting at their deadline get REQUEST_TIMED_OUT for what is unfinished.
    pub(super) fn expire_produces(&mut self, now_ms: u64) {
        let (expired, waiting) = std::mem::take(&mut self.purgatory.produces)
            .into_iter()
            .partition(|d| d.deadline_ms <= now_ms);
        self.purgatory.produces = waiting;
        for mut delayed in expired {
            for p in delayed.partitions.iter_mut().filter(|p| p.result.is_none()) {
                p.result = Some(ErrorCode::REQUEST_TIMED_OUT);
            }
            self.answer_produce(delayed);
        }
    }
}

impl PendingPartition {
    fn ok(&self) -> ProducePartitionResponse {
        ProducePartitionResponse {
            topic_partition: self.tp.clone(),
            error: ErrorCode::NONE,
            base_offset: self.base_offset,
        }
    }

    fn failed(&self, error: ErrorCode) -> ProducePartitionResponse {
        ProducePartitionResponse {
            topic_partition: self.tp.clone(),
            error,
            base_offset: -1,
        }
    }
}
