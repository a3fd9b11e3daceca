//! Properties of the consumer under arbitrary answers, lost connections and timeouts from a made-up cluster.

use super::*;
use crate::error::ErrorCode;
use crate::ids::NO_LEADER;
use crate::protocol::*;
use crate::record::{BatchAttributes, Record, RecordBatch};
use proptest::prelude::*;

const BROKERS: [BrokerId; 3] = [1, 2, 3];
const FETCH_ERRORS: [ErrorCode; 6] = [
    ErrorCode::NOT_LEADER_OR_FOLLOWER,
    ErrorCode::FENCED_LEADER_EPOCH,
    ErrorCode::UNKNOWN_LEADER_EPOCH,
    ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode::OFFSET_OUT_OF_RANGE,
    ErrorCode::REQUEST_TIMED_OUT,
];

/// The harness's view: requests not yet answered, and each partition's position as the events tell it.
struct Harness {
    consumer: Consumer,
    now_ms: u64,
    outstanding: BTreeMap<u64, (BrokerId, Message)>,
    positions: BTreeMap<TopicPartition, Offset>,
}

impl Harness {
    fn new(start: StartPosition) -> Harness {
        let assignment = vec![TopicPartition::new("t", 0), TopicPartition::new("t", 1)];
        let consumer = Consumer::new(
            1,
            ConsumerConfig::default(),
            BROKERS.to_vec(),
            assignment,
            start,
        );
        let mut h = Harness {
            consumer,
            now_ms: 0,
            outstanding: BTreeMap::new(),
            positions: BTreeMap::new(),
        };
        let out = h.consumer.start(0);
        h.check(out);
        h
    }

    /// One step chosen by `op`: answer a request, lose a connection, or let time pass to the next timer.
    fn step(&mut self, op: [u8; 4]) {
        self.now_ms += u64::from(op[3]);
        let out = match op[0] % 4 {
            0 | 1 => self.answer(op),
            2 => self
                .consumer
                .on_disconnect(self.now_ms, NodeId::Broker(BROKERS[op[1] as usize % 3])),
            _ => {
                self.now_ms = self
                    .consumer
                    .next_timeout()
                    .unwrap_or(self.now_ms)
                    .max(self.now_ms);
                self.consumer.on_timeout(self.now_ms)
            }
        };
        if op[0] % 4 == 2 {
            self.outstanding
                .retain(|_, (b, _)| *b != BROKERS[op[1] as usize % 3]);
        }
        self.check(out);
    }

    fn answer(&mut self, op: [u8; 4]) -> Vec<Output> {
        let Some(&id) = self
            .outstanding
            .keys()
            .nth(op[1] as usize % self.outstanding.len().max(1))
        else {
            return self.consumer.on_timeout(self.now_ms);
        };
        let (broker, request) = self.outstanding.remove(&id).unwrap();
        let response = respond(&request, op[2]);
        self.consumer
            .handle_message(self.now_ms, NodeId::Broker(broker), id, response)
    }

    fn check(&mut self, out: Vec<Output>) {
        let next = self.consumer.next_timeout();
        assert!(
            next.is_none_or(|at| at > self.now_ms),
            "timer {next:?} not after {}",
            self.now_ms
        );
        for o in out {
            match o {
                Output::Send {
                    to: NodeId::Broker(b),
                    correlation_id,
                    message,
                } => {
                    let fetch = matches!(message, Message::FetchRequest(_));
                    let busy = self
                        .outstanding
                        .values()
                        .any(|(x, m)| *x == b && matches!(m, Message::FetchRequest(_)));
                    assert!(
                        !(fetch && busy),
                        "a second fetch to broker {b} while one is in flight"
                    );
                    self.outstanding.insert(correlation_id, (b, message));
                }
                Output::Disconnect(NodeId::Broker(b)) => {
                    self.outstanding.retain(|_, (x, _)| *x != b)
                }
                other => panic!("unexpected output {other:?}"),
            }
        }
        for event in self.consumer.drain_events() {
            self.apply(event);
        }
        // A `Latest` reset forgets the position until the probe answers with a Seek.
        let consumer = &self.consumer;
        self.positions
            .retain(|tp, _| consumer.position(tp).is_some());
        for (tp, position) in &self.positions {
            assert_eq!(
                self.consumer.position(tp),
                Some(*position),
                "{tp}: position moved without an event"
            );
        }
    }

    /// Positions move only by a Seek, or by a Polled that continues exactly where the last one stopped.
    fn apply(&mut self, event: ConsumerEvent) {
        match event {
            ConsumerEvent::Seek { tp, offset } => {
                self.positions.insert(tp, offset);
            }
            ConsumerEvent::Polled { tp, records, .. } => {
                let position = self.positions[&tp];
                assert_eq!(
                    records.first().map(|r| r.0),
                    Some(position),
                    "{tp}: a poll must start at the position"
                );
                assert!(
                    records.windows(2).all(|w| w[1].0 == w[0].0 + 1),
                    "{tp}: polled offsets must be contiguous"
                );
                self.positions.insert(tp, records.last().unwrap().0 + 1);
            }
        }
    }
}

/// A plausible answer to `request`, shaped by `seed`.
fn respond(request: &Message, seed: u8) -> Message {
    match request {
        Message::MetadataRequest(_) => Message::MetadataResponse(MetadataResponse {
            brokers: BROKERS.to_vec(),
            partitions: (0..2)
                .map(|p| partition_metadata(p, seed.rotate_left(p as u32 * 3)))
                .collect(),
        }),
        Message::FetchRequest(r) => Message::FetchResponse(FetchResponse {
            partitions: r.partitions.iter().map(|p| fetch_answer(p, seed)).collect(),
        }),
        Message::OffsetsForLeaderEpochRequest(r) => {
            let partitions = r
                .partitions
                .iter()
                .map(|p| epoch_end_answer(p, seed))
                .collect();
            Message::OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse { partitions })
        }
        other => panic!("the consumer sent {}", other.api_name()),
    }
}

fn partition_metadata(partition: i32, seed: u8) -> PartitionMetadata {
    let leader = if seed.is_multiple_of(5) {
        NO_LEADER
    } else {
        BROKERS[seed as usize % 3]
    };
    PartitionMetadata {
        topic_partition: TopicPartition::new("t", partition),
        error: ErrorCode::NONE,
        leader,
        leader_epoch: i32::from(seed / 16),
        replicas: BROKERS.to_vec(),
        isr: BROKERS.to_vec(),
    }
}

/// Records from up to two offsets below the fetch offset (a batch read whole), or an error.
fn fetch_answer(p: &FetchPartition, seed: u8) -> FetchPartitionResponse {
    let mut answer = FetchPartitionResponse {
        topic_partition: p.topic_partition.clone(),
        error: ErrorCode::NONE,
        high_watermark: p.fetch_offset + i64::from(seed % 4),
        log_start_offset: i64::from(seed % 3),
        log_end_offset: p.fetch_offset + 4,
        last_stable_offset: p.fetch_offset + 4,
        aborted_transactions: Vec::new(),
        batches: Vec::new(),
    };
    if seed.is_multiple_of(3) {
        answer.error = FETCH_ERRORS[seed as usize / 3 % FETCH_ERRORS.len()];
        return answer;
    }
    let base_offset = (p.fetch_offset - i64::from(seed % 3)).max(0);
    let count = (answer.high_watermark - base_offset).max(0) as u64;
    let records = (0..count)
        .map(|i| Record {
            key: None,
            value: i,
            timestamp_ms: 0,
            internal: None,
        })
        .collect();
    answer.batches.push(RecordBatch {
        base_offset,
        partition_leader_epoch: i32::from(seed / 64),
        records,
        producer: None,
        attributes: BatchAttributes::default(),
        compacted: None,
    });
    answer
}

fn epoch_end_answer(p: &OffsetForLeaderPartition, seed: u8) -> EpochEndOffset {
    let error = if seed.is_multiple_of(4) {
        ErrorCode::FENCED_LEADER_EPOCH
    } else {
        ErrorCode::NONE
    };
    let (leader_epoch, end_offset) = if seed.is_multiple_of(7) {
        (-1, -1)
    } else {
        (p.leader_epoch, i64::from(seed % 8))
    };
    EpochEndOffset {
        topic_partition: p.topic_partition.clone(),
        error,
        leader_epoch,
        end_offset,
    }
}

proptest! {
    #[test]
    fn positions_move_only_by_events_and_timers_never_name_the_past(
        latest in any::<bool>(),
        ops in prop::collection::vec(any::<[u8; 4]>(), 1..300),
    ) {
        let mut h = Harness::new(if latest { StartPosition::Latest } else { StartPosition::Earliest });
        for op in ops {
            h.step(op);
        }
    }
}
