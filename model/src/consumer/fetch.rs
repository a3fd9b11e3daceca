//! The consumer's Fetch: one request per leader broker, and what each partition's answer does to its position.

use super::partition::Leader;
use super::requests::Pending;
use super::{Consumer, ConsumerEvent};
use crate::error::ErrorCode;
use crate::ids::{BrokerId, LeaderEpoch, NodeId, Offset, TopicPartition};
use crate::output::Output;
use crate::protocol::{
    FetchPartition, FetchPartitionResponse, FetchRequest, FetchResponse, Message,
};
use crate::record::RecordBatch;
use std::collections::BTreeMap;

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
            current_leader_epoch: Some(leader.epoch),
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
                self.seek_to_high_watermark(now_ms, &tp, data.high_watermark)
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
        let Some((records, last_epoch)) = records_from(position, &data.batches) else {
            return;
        };
        let next_offset = records.last().expect("non-empty").0 + 1;
        p.advance(next_offset, last_epoch);
        self.events.push(ConsumerEvent::Polled {
            tp: tp.clone(),
            records,
            high_watermark: data.high_watermark,
        });
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
                self.seek_to_high_watermark(now_ms, tp, data.high_watermark)
            }
        }
    }
}

/// The records of `batches` at or after `position` (a fetch may return a batch that starts below it), with the
/// leader epoch of the batch holding the last one; None when there are none.
fn records_from(
    position: Offset,
    batches: &[RecordBatch],
) -> Option<(Vec<(Offset, u64)>, LeaderEpoch)> {
    let mut records = Vec::new();
    let mut last_epoch = None;
    for batch in batches {
        for (offset, record) in batch.entries().filter(|(offset, _)| *offset >= position) {
            assert!(
                records.last().is_none_or(|(last, _)| *last < offset),
                "fetched offsets must increase"
            );
            records.push((offset, record.value));
            last_epoch = Some(batch.partition_leader_epoch);
        }
    }
    last_epoch.map(|epoch| (records, epoch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::BatchAttributes;
    use crate::record::Record;

    fn batch(base_offset: Offset, epoch: LeaderEpoch, values: &[u64]) -> RecordBatch {
        let records = values
            .iter()
            .map(|&value| Record {
                key: None,
                value,
                timestamp_ms: 0,
            })
            .collect();
        RecordBatch {
            base_offset,
            partition_leader_epoch: epoch,
            records,
            producer: None,
            attributes: BatchAttributes::default(),
        }
    }

    #[test]
    fn records_below_the_position_are_skipped() {
        let batches = [batch(0, 1, &[10, 11, 12]), batch(3, 2, &[13])];
        assert_eq!(records_from(2, &batches), Some((vec![(2, 12), (3, 13)], 2)));
    }

    #[test]
    fn the_epoch_is_the_batch_of_the_last_record() {
        let batches = [batch(0, 1, &[10, 11]), batch(2, 2, &[])];
        assert_eq!(records_from(1, &batches), Some((vec![(1, 11)], 1)));
    }

    #[test]
    fn nothing_at_or_after_the_position_is_none() {
        assert_eq!(records_from(5, &[batch(0, 1, &[10, 11])]), None);
    }
}
