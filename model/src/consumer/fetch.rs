//! The consumer's Fetch: one request per leader broker, and what each partition's answer does to its position.

use super::partition::Leader;
use super::requests::Pending;
use super::{Consumer, ConsumerEvent};
use crate::config::Fix;
use crate::error::ErrorCode;
use crate::ids::{BrokerId, LeaderEpoch, NodeId, Offset, TopicPartition};
use crate::output::Output;
use crate::protocol::{
    FetchPartition, FetchPartitionResponse, FetchRequest, FetchResponse, IsolationLevel, Message,
};
use crate::record::ControlMarker;
use std::collections::{BTreeMap, BTreeSet};

impl Consumer {
    /// Sends a fetch to every leader that has fetchable partitions and no fetch in flight.
    pub(super) fn send_fetches(&mut self, now_ms: u64) {
        for (broker, partitions) in self.fetchable_by_leader() {
            if !self.requests.fetching_from(broker) {
                self.send_fetch(now_ms, broker, partitions);
            }
        }
    }

    fn fetchable_by_leader(&self) -> BTreeMap<BrokerId, Vec<FetchPartition>> {
        let mut by_leader: BTreeMap<BrokerId, Vec<FetchPartition>> = BTreeMap::new();
        for (tp, p) in &self.partitions {
            if let Some(leader) = p.fetch_leader() {
                by_leader
                    .entry(leader.broker)
                    .or_default()
                    .push(self.fetch_partition(tp, leader, p.position));
            }
        }
        by_leader
    }

    /// A partition without a position is a `Latest` probe: offset 0 and no records wanted, only the high watermark.
    fn fetch_partition(
        &self,
        tp: &TopicPartition,
        leader: Leader,
        position: Option<Offset>,
    ) -> FetchPartition {
        FetchPartition {
            topic_partition: tp.clone(),
            // Before KIP-320 a fetch named no leader epoch, so no broker could fence it.
            current_leader_epoch: self
                .config
                .fixes
                .has(Fix::Kip320FetchLeaderEpoch)
                .then_some(leader.epoch),
            fetch_offset: position.unwrap_or(0),
            max_records: if position.is_some() {
                self.config.max_poll_records
            } else {
                0
            },
        }
    }

    fn send_fetch(&mut self, now_ms: u64, broker: BrokerId, partitions: Vec<FetchPartition>) {
        let fetched = partitions
            .iter()
            .map(|fp| {
                (
                    fp.topic_partition.clone(),
                    self.position(&fp.topic_partition),
                )
            })
            .collect();
        let deadline_ms = now_ms + self.config.request_timeout_ms;
        let correlation_id = self
            .requests
            .register(broker, deadline_ms, Pending::Fetch(fetched));
        let request = FetchRequest {
            replica_id: None,
            max_wait_ms: self.config.fetch_max_wait_ms,
            min_records: 1,
            isolation_level: self.config.isolation_level,
            partitions,
        };
        self.out.push(Output::Send {
            to: NodeId::Broker(broker),
            correlation_id,
            message: Message::FetchRequest(request),
        });
    }

    pub(super) fn handle_fetch_response(
        &mut self,
        now_ms: u64,
        fetched: &BTreeMap<TopicPartition, Option<Offset>>,
        resp: FetchResponse,
    ) {
        for data in resp.partitions {
            let Some(&fetch_offset) = fetched.get(&data.topic_partition) else {
                continue;
            };
            if self.is_current(&data.topic_partition, fetch_offset) {
                self.handle_partition_data(now_ms, fetch_offset, data);
            }
        }
    }

    /// Kafka's `FetchCollector` drops an answer for a position that has since moved ("Discarding stale fetch
    /// response") and for a partition whose position awaits validation (no valid position).
    fn is_current(&self, tp: &TopicPartition, fetch_offset: Option<Offset>) -> bool {
        self.partitions
            .get(tp)
            .is_some_and(|p| p.position == fetch_offset && !p.awaiting_validation)
    }

    fn handle_partition_data(
        &mut self,
        now_ms: u64,
        fetch_offset: Option<Offset>,
        data: FetchPartitionResponse,
    ) {
        let tp = data.topic_partition.clone();
        match (data.error, fetch_offset) {
            (ErrorCode::NONE, Some(position)) => self.consume(&tp, position, data),
            (ErrorCode::NONE, None) => {
                self.seek_to_high_watermark(now_ms, &tp, self.latest_offset(&data))
            }
            (ErrorCode::OFFSET_OUT_OF_RANGE, _) => self.reset_out_of_range(now_ms, &tp, &data),
            (
                ErrorCode::NOT_LEADER_OR_FOLLOWER
                | ErrorCode::FENCED_LEADER_EPOCH
                | ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                | ErrorCode::LEADER_NOT_AVAILABLE,
                _,
            ) => self.await_metadata(now_ms, &tp),
            // UNKNOWN_LEADER_EPOCH: the broker has not yet heard of the epoch our metadata named. Anything else
            // is retried the same way rather than failing the consumer.
            _ => self.back_off(now_ms, std::iter::once(&tp)),
        }
    }

    /// Records at and after `position`, then the position just past the last of them.
    fn consume(&mut self, tp: &TopicPartition, position: Offset, data: FetchPartitionResponse) {
        assert!(
            data.high_watermark >= 0,
            "{tp}: a successful fetch reports a high watermark"
        );
        let p = self.partitions.get_mut(tp).expect("assigned");
        p.high_watermark = Some(data.high_watermark);
        let read_committed = self.config.isolation_level == IsolationLevel::ReadCommitted;
        let Some(fetched) = records_from(position, &data, read_committed) else {
            return;
        };
        // The position moves past markers and skipped aborted records too.
        p.advance(fetched.next_offset, fetched.last_epoch);
        if fetched.records.is_empty() {
            return;
        }
        self.events.push(ConsumerEvent::Polled {
            tp: tp.clone(),
            records: fetched.records,
            high_watermark: data.high_watermark,
        });
    }

    /// Where ListOffsets(latest) puts a consumer: the high watermark, or for read_committed the last stable offset.
    fn latest_offset(&self, data: &FetchPartitionResponse) -> Offset {
        match self.config.isolation_level {
            IsolationLevel::ReadUncommitted => data.high_watermark,
            IsolationLevel::ReadCommitted => data.last_stable_offset,
        }
    }

    /// A `Latest` start: the probe's high watermark is where ListOffsets(latest) would have put us.
    fn seek_to_high_watermark(&mut self, now_ms: u64, tp: &TopicPartition, high_watermark: Offset) {
        if high_watermark < 0 {
            self.back_off(now_ms, std::iter::once(tp));
            return;
        }
        self.partitions
            .get_mut(tp)
            .expect("assigned")
            .high_watermark = Some(high_watermark);
        self.seek(tp, high_watermark, None);
    }

    /// `auto.offset.reset` after OFFSET_OUT_OF_RANGE, using the log bounds the same response reports.
    fn reset_out_of_range(
        &mut self,
        now_ms: u64,
        tp: &TopicPartition,
        data: &FetchPartitionResponse,
    ) {
        match self.start {
            super::StartPosition::Earliest => self.reset_position(tp, data.log_start_offset),
            super::StartPosition::Latest => {
                self.seek_to_high_watermark(now_ms, tp, self.latest_offset(data))
            }
        }
    }
}

/// What one partition's fetch gives the application.
struct Fetched {
    /// (offset, value) of each application record, in offset order.
    records: Vec<(Offset, u64)>,
    /// The position after the last batch read, markers and skipped records included.
    next_offset: Offset,
    /// The leader epoch of that batch, for KIP-320 validation.
    last_epoch: LeaderEpoch,
}

/// The application records of a fetch at or after `position` (a fetch may return a batch that starts below it):
/// control markers never, and for read_committed not the transactional records of aborted transactions (Kafka's
/// `CompletedFetch`: a producer is skipped from its aborted transaction's first offset to its abort marker).
/// None when no batch reaches past `position`.
fn records_from(
    position: Offset,
    data: &FetchPartitionResponse,
    read_committed: bool,
) -> Option<Fetched> {
    let mut aborted: Vec<_> = data.aborted_transactions.clone();
    aborted.sort_by_key(|a| std::cmp::Reverse(a.first_offset));
    let mut aborting: BTreeSet<i64> = BTreeSet::new();
    let mut fetched: Option<Fetched> = None;
    for batch in data.batches.iter().filter(|b| b.next_offset() > position) {
        let f = fetched.get_or_insert(Fetched {
            records: Vec::new(),
            next_offset: position,
            last_epoch: batch.partition_leader_epoch,
        });
        f.next_offset = batch.next_offset();
        f.last_epoch = batch.partition_leader_epoch;
        let producer = batch.producer.map(|p| p.producer_id);
        if read_committed {
            while aborted
                .last()
                .is_some_and(|a| a.first_offset <= batch.last_offset())
            {
                aborting.insert(aborted.pop().expect("checked").producer_id);
            }
            if let (Some(ControlMarker::Abort { .. }), Some(id)) =
                (batch.attributes.control, producer)
            {
                aborting.remove(&id);
            }
            if batch.attributes.transactional && producer.is_some_and(|id| aborting.contains(&id)) {
                continue;
            }
        }
        for (offset, record) in batch.entries().filter(|(offset, _)| *offset >= position) {
            assert!(
                f.records.last().is_none_or(|(last, _)| *last < offset),
                "fetched offsets must increase"
            );
            f.records.push((offset, record.value));
        }
    }
    fetched
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::tests::batch;
    use crate::protocol::AbortedTransaction;
    use crate::record::{BatchAttributes, BatchProducer, RecordBatch};

    /// A batch of producer `pid`'s transaction, or (with `marker`) the marker ending it.
    fn txn(
        base_offset: Offset,
        pid: i64,
        values: &[u64],
        marker: Option<ControlMarker>,
    ) -> RecordBatch {
        let mut b = batch(base_offset, 1, values);
        b.producer = Some(BatchProducer {
            producer_id: pid,
            producer_epoch: 0,
            base_sequence: if marker.is_some() { -1 } else { 0 },
        });
        b.attributes = BatchAttributes {
            transactional: true,
            control: marker,
        };
        b
    }

    fn data(batches: Vec<RecordBatch>, aborted: Vec<AbortedTransaction>) -> FetchPartitionResponse {
        FetchPartitionResponse {
            topic_partition: TopicPartition::new("t", 0),
            error: ErrorCode::NONE,
            high_watermark: 10,
            log_start_offset: 0,
            log_end_offset: 10,
            last_stable_offset: 10,
            aborted_transactions: aborted,
            batches,
        }
    }

    fn read(
        position: Offset,
        d: &FetchPartitionResponse,
        committed: bool,
    ) -> (Vec<u64>, Offset, LeaderEpoch) {
        let f = records_from(position, d, committed).expect("something past the position");
        let values = f.records.iter().map(|(_, v)| *v).collect();
        (values, f.next_offset, f.last_epoch)
    }

    #[test]
    fn records_below_the_position_are_skipped() {
        let d = data(vec![batch(0, 1, &[10, 11, 12]), batch(3, 2, &[13])], vec![]);
        assert_eq!(read(2, &d, false), (vec![12, 13], 4, 2));
    }

    #[test]
    fn markers_are_not_records_but_the_position_moves_past_them() {
        let commit = Some(ControlMarker::Commit {
            coordinator_epoch: 0,
        });
        let d = data(
            vec![txn(0, 7, &[10, 11], None), txn(2, 7, &[0], commit)],
            vec![],
        );
        assert_eq!(read(0, &d, true), (vec![10, 11], 3, 1));
        // A fetch holding only the marker still moves the position.
        assert_eq!(read(2, &d, true), (vec![], 3, 1));
    }

    #[test]
    fn read_committed_skips_aborted_transactions_and_read_uncommitted_does_not() {
        let abort = Some(ControlMarker::Abort {
            coordinator_epoch: 0,
        });
        let commit = Some(ControlMarker::Commit {
            coordinator_epoch: 0,
        });
        let d = data(
            vec![
                txn(0, 7, &[70, 71], None),
                txn(2, 8, &[80], None),
                txn(3, 7, &[0], abort),
                txn(4, 8, &[0], commit),
                batch(5, 1, &[50]),
                txn(6, 7, &[72], None),
            ],
            vec![AbortedTransaction {
                producer_id: 7,
                first_offset: 0,
            }],
        );
        assert_eq!(
            read(0, &d, true).0,
            vec![80, 50, 72],
            "7's later transaction is not aborted"
        );
        assert_eq!(read(0, &d, false).0, vec![70, 71, 80, 50, 72]);
    }

    #[test]
    fn nothing_at_or_after_the_position_is_none() {
        assert!(records_from(5, &data(vec![batch(0, 1, &[10, 11])], vec![]), false).is_none());
    }
}
