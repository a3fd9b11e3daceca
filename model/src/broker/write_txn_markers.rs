//! WriteTxnMarkers on a partition leader: the transaction coordinator's COMMIT or ABORT marker is appended as a
//! control batch and answered once the ISR has it, as Kafka appends markers with acks=all. A marker committed in a
//! `__consumer_offsets` partition settles the producer's transactional offsets in the group coordinator there.

use super::purgatory::{Answer, DelayedProduce, PendingPartition};
use super::Broker;
use crate::config::Fix;
use crate::error::ErrorCode;
use crate::ids::NodeId;
use crate::protocol::{
    Message, WritableTxnMarker, WriteTxnMarkersRequest, WriteTxnMarkersResponse,
};
use crate::record::{BatchAttributes, BatchProducer, ControlMarker, Record};
use std::collections::BTreeMap;
use std::sync::Arc;

impl Broker {
    pub(super) fn handle_write_txn_markers(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        req: WriteTxnMarkersRequest,
    ) {
        let mut markers = Vec::new();
        let mut partitions = Vec::new();
        for marker in &req.markers {
            for tp in &marker.partitions {
                markers.push((marker.producer_id, marker.transaction_result));
                partitions.push(self.append_marker(now_ms, marker, tp));
            }
        }
        self.purgatory.produces.push(DelayedProduce {
            client: from,
            correlation_id,
            // Kafka gives a marker append the broker's `request.timeout.ms`.
            deadline_ms: now_ms + super::REQUEST_TIMEOUT_MS,
            partitions,
            answer: Answer::WriteTxnMarkers { markers },
        });
        self.try_complete_produces(now_ms);
    }

    /// Appends one marker to `tp` if this broker leads it and the marker is not fenced.
    pub(super) fn append_marker(
        &mut self,
        now_ms: u64,
        marker: &WritableTxnMarker,
        tp: &crate::ids::TopicPartition,
    ) -> PendingPartition {
        let min_isr = self.min_insync_replicas(tp);
        let hw_min_isr = self.hw_min_isr(min_isr);
        let fence_epochs = self.config.fixes.has(Fix::Kip98ProducerEpochFencing);
        let mut pending = PendingPartition {
            tp: tp.clone(),
            base_offset: -1,
            required_offset: -1,
            leader_epoch: -1,
            result: None,
        };
        let Some(partition) = self.partitions.get_mut(tp).filter(|p| p.is_leader()) else {
            pending.result = Some(ErrorCode::NOT_LEADER_OR_FOLLOWER);
            return pending;
        };
        if partition.isr.len() < min_isr {
            pending.result = Some(ErrorCode::NOT_ENOUGH_REPLICAS);
            return pending;
        }
        if let Err(error) = partition.log.producers.check_marker(
            marker.producer_id,
            marker.producer_epoch,
            marker.coordinator_epoch,
            fence_epochs,
        ) {
            pending.result = Some(error);
            return pending;
        }
        let control = if marker.transaction_result {
            ControlMarker::Commit {
                coordinator_epoch: marker.coordinator_epoch,
            }
        } else {
            ControlMarker::Abort {
                coordinator_epoch: marker.coordinator_epoch,
            }
        };
        // The control record itself: it takes an offset but is never handed to an application.
        let record = Record {
            key: None,
            value: 0,
            timestamp_ms: now_ms,
            internal: None,
        };
        let producer = BatchProducer {
            producer_id: marker.producer_id,
            producer_epoch: marker.producer_epoch,
            base_sequence: -1,
        };
        let attributes = BatchAttributes {
            transactional: true,
            control: Some(control),
        };
        pending.base_offset =
            partition.append_as_leader(Arc::from([record]), Some(producer), attributes, now_ms);
        pending.required_offset = pending.base_offset + 1;
        pending.leader_epoch = partition.leader_epoch;
        let hw = partition.maybe_advance_leader_hw(self.id, hw_min_isr);
        self.observe_opt(hw);
        pending
    }

    /// The answer to a WriteTxnMarkers, grouped by producer as Kafka's response is. Before it goes, the markers
    /// now committed in `__consumer_offsets` partitions reach their group coordinator, as Kafka's
    /// `handleWriteTxnMarkersRequest` calls `onTransactionCompleted` for them first.
    pub(super) fn txn_markers_response(
        &mut self,
        markers: &[(i64, bool)],
        partitions: &[PendingPartition],
    ) -> Message {
        let mut by_producer: BTreeMap<i64, Vec<_>> = BTreeMap::new();
        for (&(pid, committed), p) in markers.iter().zip(partitions) {
            let error = p.result.unwrap_or(ErrorCode::REQUEST_TIMED_OUT);
            if error == ErrorCode::NONE {
                self.txn_marker_written(&p.tp, pid, committed);
            }
            by_producer
                .entry(pid)
                .or_default()
                .push((p.tp.clone(), error));
        }
        Message::WriteTxnMarkersResponse(WriteTxnMarkersResponse {
            markers: by_producer.into_iter().collect(),
        })
    }
}
