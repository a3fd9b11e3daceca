//! The coordinator's side of WriteTxnMarkers (Kafka's `TransactionMarkerChannelManager`): once a transaction is
//! PrepareCommit or PrepareAbort, its marker goes to the leader of every partition in it, again and again until
//! each leader has it replicated; then the transaction completes (CompleteCommit / CompleteAbort).
//!
//! Partitions this broker leads itself get their marker appended directly, as a request to itself would.

use super::purgatory::PendingPartition;
use super::Broker;
use crate::error::ErrorCode;
use crate::ids::{BrokerId, NodeId, TopicPartition};
use crate::protocol::{
    Message, WritableTxnMarker, WriteTxnMarkersRequest, WriteTxnMarkersResponse,
};
use crate::txn::TxnResult;
use std::collections::{BTreeMap, BTreeSet};

/// How long to wait before sending a marker again after a failure or while its partition has no leader.
const MARKER_RETRY_BACKOFF_MS: u64 = 100;

/// One transaction's markers on their way.
#[derive(Clone, Debug)]
pub(super) struct MarkerSend {
    marker: WritableTxnMarker,
    /// Partitions whose marker is neither written nor being written.
    remaining: BTreeSet<TopicPartition>,
    /// Requests in flight by correlation id: the broker asked and its partitions.
    in_flight: BTreeMap<u64, (BrokerId, Vec<TopicPartition>)>,
    /// Markers appended here, waiting for the HW.
    local: Vec<PendingPartition>,
    retry_at_ms: u64,
    /// A leader refused the marker as from a deposed coordinator or an older producer epoch: this coordinator
    /// is stale, so it stops and never completes the transaction (its successor will).
    fenced: bool,
}

impl MarkerSend {
    fn done(&self) -> bool {
        !self.fenced
            && self.remaining.is_empty()
            && self.in_flight.is_empty()
            && self.local.is_empty()
    }
}

impl Broker {
    /// Starts the markers of every newly prepared transaction, sends what is due, and completes transactions
    /// whose markers are all written. Returns whether some transaction's markers were all written.
    pub(super) fn send_txn_markers(&mut self, now_ms: u64) -> bool {
        let mut finished = false;
        let partitions: Vec<i32> = self.txn_coordinators.keys().copied().collect();
        for partition in partitions {
            let hosted = self.txn_coordinators.get_mut(&partition).unwrap();
            let coordinator_epoch = hosted.coordinator_epoch;
            for (txn_id, producer_id, producer_epoch, result, tps) in hosted.txns.markers_due() {
                hosted.markers.entry(txn_id).or_insert_with(|| MarkerSend {
                    marker: WritableTxnMarker {
                        producer_id,
                        producer_epoch,
                        transaction_result: result == TxnResult::Commit,
                        partitions: Vec::new(),
                        coordinator_epoch,
                    },
                    remaining: tps,
                    in_flight: BTreeMap::new(),
                    local: Vec::new(),
                    retry_at_ms: 0,
                    fenced: false,
                });
            }
            let txn_ids: Vec<String> = hosted.markers.keys().cloned().collect();
            for txn_id in txn_ids {
                finished |= self.progress_markers(now_ms, partition, &txn_id);
            }
        }
        finished
    }

    /// Moves one transaction's markers on; true when they are all written and the transaction completes.
    fn progress_markers(&mut self, now_ms: u64, partition: i32, txn_id: &str) -> bool {
        let mut send = self.txn_coordinators[&partition].markers[txn_id].clone();
        // Local markers: written once the HW passes them, to be sent again if leadership moved.
        let mut waiting = Vec::new();
        for p in std::mem::take(&mut send.local) {
            match self.produce_status(&p) {
                None => waiting.push(p),
                // Written: a marker in a `__consumer_offsets` partition led here settles its offsets, as the
                // WriteTxnMarkers this broker would have sent itself would.
                Some(ErrorCode::NONE) => self.txn_marker_written(
                    &p.tp,
                    send.marker.producer_id,
                    send.marker.transaction_result,
                ),
                Some(_) => {
                    send.remaining.insert(p.tp);
                    send.retry_at_ms = now_ms + MARKER_RETRY_BACKOFF_MS;
                }
            }
        }
        send.local = waiting;
        if now_ms >= send.retry_at_ms && !send.remaining.is_empty() && !send.fenced {
            let mut by_leader: BTreeMap<BrokerId, Vec<TopicPartition>> = BTreeMap::new();
            for tp in std::mem::take(&mut send.remaining) {
                if !self.topics.contains_key(&tp.topic) {
                    // Kafka skips a partition of a topic that does not exist (deleted, or never created).
                    continue;
                }
                let led_here = self.partitions.get(&tp).is_some_and(|p| p.is_leader());
                let leader = self.metadata.get(&tp).map_or(-1, |m| m.leader);
                if led_here {
                    by_leader.entry(self.id).or_default().push(tp);
                } else if leader >= 0 && leader != self.id {
                    by_leader.entry(leader).or_default().push(tp);
                } else {
                    send.remaining.insert(tp);
                    send.retry_at_ms = now_ms + MARKER_RETRY_BACKOFF_MS;
                }
            }
            for (leader, tps) in by_leader {
                let marker = WritableTxnMarker {
                    partitions: tps.clone(),
                    ..send.marker.clone()
                };
                if leader == self.id {
                    for tp in &tps {
                        let p = self.append_marker(now_ms, &marker, tp);
                        match p.result {
                            None => send.local.push(p),
                            Some(error) => self.marker_failed(now_ms, &mut send, tp.clone(), error),
                        }
                    }
                } else {
                    let request = WriteTxnMarkersRequest {
                        markers: vec![marker],
                    };
                    let id = self.request(
                        NodeId::Broker(leader),
                        Message::WriteTxnMarkersRequest(request),
                    );
                    send.in_flight.insert(id, (leader, tps));
                }
            }
        }
        if send.done() && now_ms >= send.retry_at_ms {
            let hosted = self.txn_coordinators.get_mut(&partition).unwrap();
            let plan = hosted.txns.markers_written(now_ms, txn_id);
            if self.execute(now_ms, partition, plan, None) {
                let hosted = self.txn_coordinators.get_mut(&partition).unwrap();
                hosted.markers.remove(txn_id);
                return true;
            }
            // The transaction log refused the completion (its ISR is short): try again after the backoff.
            send.retry_at_ms = now_ms + MARKER_RETRY_BACKOFF_MS;
            let hosted = self.txn_coordinators.get_mut(&partition).unwrap();
            hosted.markers.insert(txn_id.to_string(), send);
            false
        } else {
            let hosted = self.txn_coordinators.get_mut(&partition).unwrap();
            hosted.markers.insert(txn_id.to_string(), send);
            false
        }
    }

    /// Kafka's `TransactionMarkerRequestCompletionHandler`: a fenced marker stops this coordinator's work on
    /// the transaction (a newer coordinator or producer epoch has taken over), anything else is retried.
    fn marker_failed(
        &mut self,
        now_ms: u64,
        send: &mut MarkerSend,
        tp: TopicPartition,
        error: ErrorCode,
    ) {
        match error {
            ErrorCode::INVALID_PRODUCER_EPOCH | ErrorCode::TRANSACTION_COORDINATOR_FENCED => {
                send.fenced = true;
            }
            _ => {
                send.remaining.insert(tp);
                send.retry_at_ms = now_ms + MARKER_RETRY_BACKOFF_MS;
            }
        }
    }

    pub(super) fn handle_write_txn_markers_response(
        &mut self,
        now_ms: u64,
        correlation_id: u64,
        resp: WriteTxnMarkersResponse,
    ) {
        let Some((partition, txn_id)) = self.marker_request(correlation_id) else {
            return;
        };
        let mut send = self.txn_coordinators[&partition].markers[&txn_id].clone();
        send.in_flight.remove(&correlation_id);
        for (_, results) in resp.markers {
            for (tp, error) in results {
                if error != ErrorCode::NONE {
                    self.marker_failed(now_ms, &mut send, tp, error);
                }
            }
        }
        self.txn_coordinators
            .get_mut(&partition)
            .unwrap()
            .markers
            .insert(txn_id, send);
    }

    /// A connection broke: the markers in flight on it are sent again.
    pub(super) fn txn_markers_disconnected(&mut self, now_ms: u64, peer: BrokerId) {
        for hosted in self.txn_coordinators.values_mut() {
            for send in hosted.markers.values_mut() {
                let lost: Vec<u64> = send
                    .in_flight
                    .iter()
                    .filter(|(_, (b, _))| *b == peer)
                    .map(|(id, _)| *id)
                    .collect();
                for id in lost {
                    let (_, tps) = send.in_flight.remove(&id).unwrap();
                    send.remaining.extend(tps);
                    send.retry_at_ms = now_ms + MARKER_RETRY_BACKOFF_MS;
                }
            }
        }
    }

    /// Which transaction a WriteTxnMarkers request was for.
    fn marker_request(&self, correlation_id: u64) -> Option<(i32, String)> {
        self.txn_coordinators
            .iter()
            .find_map(|(partition, hosted)| {
                hosted
                    .markers
                    .iter()
                    .find(|(_, s)| s.in_flight.contains_key(&correlation_id))
                    .map(|(txn_id, _)| (*partition, txn_id.clone()))
            })
    }

    /// The earliest marker retry, for the broker's timer.
    pub(super) fn next_marker_retry(&self) -> Option<u64> {
        self.txn_coordinators
            .values()
            .flat_map(|h| h.markers.values())
            .filter(|s| (!s.remaining.is_empty() && !s.fenced) || s.done())
            .map(|s| s.retry_at_ms)
            .min()
    }
}
