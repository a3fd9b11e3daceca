//! Properties of the producer under arbitrary answers, lost connections, leader moves and timeouts.

use super::*;
use crate::config::Acks;
use crate::ids::NO_LEADER;
use crate::protocol::*;
use proptest::prelude::*;

const BROKERS: [BrokerId; 3] = [1, 2, 3];
const PARTITIONS: i32 = 3;
const PRODUCE_ERRORS: [ErrorCode; 6] = [
    ErrorCode::NOT_LEADER_OR_FOLLOWER,
    ErrorCode::NOT_ENOUGH_REPLICAS,
    ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    ErrorCode::REQUEST_TIMED_OUT,
    ErrorCode::FENCED_LEADER_EPOCH,
    ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
];

/// A made-up cluster around one producer: the requests it has not answered, and who leads what.
struct Harness {
    producer: Producer,
    acks: Acks,
    max_in_flight: usize,
    now_ms: u64,
    next_value: u64,
    outstanding: BTreeMap<u64, (BrokerId, Message)>,
    leaders: [BrokerId; PARTITIONS as usize],
    epoch: i32,
    log_end: [Offset; PARTITIONS as usize],
    completed: BTreeMap<u64, SendResult>,
    /// With idempotence: the records each (partition, producer epoch, base sequence) went out with. One sequence
    /// must always name the same records, or the broker's deduplication would drop a different batch.
    sequences: BTreeMap<(i32, i16, i32), Vec<u64>>,
}

impl Harness {
    fn new(config: ProducerConfig, seed: u64) -> Harness {
        Harness {
            acks: config.acks,
            max_in_flight: config.max_in_flight_requests_per_connection,
            producer: Producer::new(1, config, BROKERS.to_vec(), seed),
            now_ms: 0,
            next_value: 0,
            outstanding: BTreeMap::new(),
            leaders: [1, 2, 3],
            epoch: 1,
            log_end: [0; PARTITIONS as usize],
            completed: BTreeMap::new(),
            sequences: BTreeMap::new(),
        }
    }

    /// One step chosen by `op`: send, answer, lose a request or a connection, move a leader, or let time pass.
    fn step(&mut self, op: [u8; 4]) {
        self.now_ms += u64::from(op[3] % 50);
        let out = match op[0] % 8 {
            0..=2 => self.send(op),
            3 | 4 => self.answer(op, true),
            5 => self.disconnect(BROKERS[op[1] as usize % 3]),
            6 => {
                self.move_leader(op);
                self.producer.on_timeout(self.now_ms)
            }
            _ => self.run_next_timer(),
        };
        self.check(out);
    }

    fn send(&mut self, op: [u8; 4]) -> Vec<Output> {
        self.next_value += 1;
        let key: Option<Arc<[u8]>> = op[1].is_multiple_of(2).then(|| Arc::from(&op[2..3]));
        let partition = (op[1] % 5 == 1).then_some(i32::from(op[2]) % PARTITIONS);
        self.producer
            .send(self.now_ms, "t", key, self.next_value, partition)
    }

    fn run_next_timer(&mut self) -> Vec<Output> {
        if let Some(at) = self.producer.next_timeout() {
            self.now_ms = self.now_ms.max(at);
        }
        self.producer.on_timeout(self.now_ms)
    }

    fn disconnect(&mut self, broker: BrokerId) -> Vec<Output> {
        self.outstanding.retain(|_, (b, _)| *b != broker);
        self.producer
            .on_disconnect(self.now_ms, NodeId::Broker(broker))
    }

    fn move_leader(&mut self, op: [u8; 4]) {
        let partition = op[1] as usize % PARTITIONS as usize;
        self.epoch += 1;
        self.leaders[partition] = match op[2] % 4 {
            0 => NO_LEADER,
            n => BROKERS[n as usize - 1],
        };
    }

    /// Answers one outstanding request; with `chaos`, maybe wrongly or not at all.
    fn answer(&mut self, op: [u8; 4], chaos: bool) -> Vec<Output> {
        let index = op[1] as usize % self.outstanding.len().max(1);
        let Some(&id) = self.outstanding.keys().nth(index) else {
            return self.producer.on_timeout(self.now_ms);
        };
        let (broker, request) = self.outstanding.remove(&id).unwrap();
        if chaos && op[2].is_multiple_of(7) {
            // Lost on the way: only the request timeout will tell.
            return self.producer.on_timeout(self.now_ms);
        }
        let response = match request {
            Message::MetadataRequest(_) => self.metadata(),
            Message::InitProducerIdRequest(_) => {
                Message::InitProducerIdResponse(InitProducerIdResponse {
                    error: ErrorCode::NONE,
                    producer_id: 77,
                    producer_epoch: 0,
                })
            }
            Message::ProduceRequest(r) => self.produce(broker, &r, if chaos { op[2] } else { 255 }),
            other => panic!("unexpected request {other:?}"),
        };
        self.producer
            .handle_message(self.now_ms, NodeId::Broker(broker), id, response)
    }

    fn metadata(&self) -> Message {
        let partitions = (0..PARTITIONS)
            .map(|p| PartitionMetadata {
                topic_partition: TopicPartition::new("t", p),
                error: ErrorCode::NONE,
                leader: self.leaders[p as usize],
                leader_epoch: self.epoch,
                replicas: BROKERS.to_vec(),
                isr: BROKERS.to_vec(),
            })
            .collect();
        Message::MetadataResponse(MetadataResponse {
            brokers: BROKERS.to_vec(),
            partitions,
        })
    }

    fn produce(&mut self, broker: BrokerId, request: &ProduceRequest, roll: u8) -> Message {
        let partitions = request
            .partitions
            .iter()
            .map(|p| {
                let index = p.topic_partition.partition as usize;
                let error = if self.leaders[index] != broker {
                    ErrorCode::NOT_LEADER_OR_FOLLOWER
                } else if p.producer.is_some() && roll < 20 {
                    // What a leader that lost this producer's state, or saw a gap, answers.
                    [
                        ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
                        ErrorCode::UNKNOWN_PRODUCER_ID,
                    ][roll as usize % 2]
                } else if roll < 100 {
                    PRODUCE_ERRORS[roll as usize % PRODUCE_ERRORS.len()]
                } else {
                    ErrorCode::NONE
                };
                let base_offset = if error == ErrorCode::NONE {
                    self.log_end[index]
                } else {
                    -1
                };
                if error == ErrorCode::NONE {
                    self.log_end[index] += p.records.len() as Offset;
                }
                ProducePartitionResponse {
                    topic_partition: p.topic_partition.clone(),
                    error,
                    base_offset,
                }
            })
            .collect();
        Message::ProduceResponse(ProduceResponse { partitions })
    }

    fn check(&mut self, out: Vec<Output>) {
        let next = self.producer.next_timeout();
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
                } => self.sent(b, correlation_id, message),
                Output::Disconnect(NodeId::Broker(b)) => {
                    self.outstanding.retain(|_, (x, _)| *x != b)
                }
                other => panic!("unexpected output {other:?}"),
            }
        }
        for event in self.producer.drain_events() {
            let ProducerEvent::Completed { value, result, .. } = event else {
                panic!("a producer without transactions reported {event:?}");
            };
            assert!(
                value >= 1 && value <= self.next_value,
                "unknown value {value}"
            );
            let earlier = self.completed.insert(value, result);
            assert!(
                earlier.is_none(),
                "{value} completed twice: {earlier:?} then {result:?}"
            );
        }
        let pending = self.next_value as usize - self.completed.len();
        assert_eq!(self.producer.pending(), pending);
    }

    fn sent(&mut self, broker: BrokerId, correlation_id: u64, message: Message) {
        if let Message::ProduceRequest(r) = &message {
            let mut tps: Vec<&TopicPartition> =
                r.partitions.iter().map(|p| &p.topic_partition).collect();
            let count = tps.len();
            tps.dedup();
            assert_eq!(tps.len(), count, "one batch per partition");
            for p in &r.partitions {
                let Some(seq) = p.producer else {
                    continue;
                };
                let values: Vec<u64> = p.records.iter().map(|r| r.value).collect();
                let key = (
                    p.topic_partition.partition,
                    seq.producer_epoch,
                    seq.base_sequence,
                );
                let first = self.sequences.entry(key).or_insert_with(|| values.clone());
                assert_eq!(*first, values, "sequence {key:?} reused for other records");
            }
            let in_flight = self
                .outstanding
                .values()
                .filter(|(b, _)| *b == broker)
                .count();
            assert!(
                in_flight < self.max_in_flight,
                "{in_flight} already in flight to {broker}"
            );
            if self.acks == Acks::None {
                return;
            }
        }
        self.outstanding.insert(correlation_id, (broker, message));
    }

    /// Heals the cluster (every partition led, every answer right) and runs until every send is complete.
    fn settle(&mut self) {
        self.leaders = [1, 2, 3];
        self.epoch += 1;
        let deadline_ms = self.now_ms + MAX_BLOCK_MS + 120_000;
        while self.producer.pending() > 0 {
            assert!(
                self.now_ms <= deadline_ms,
                "{} sends never completed",
                self.producer.pending()
            );
            let out = if self.outstanding.is_empty() {
                assert!(
                    self.producer.next_timeout().is_some(),
                    "sends pending with nothing to wait for"
                );
                self.run_next_timer()
            } else {
                self.answer([0; 4], false)
            };
            self.check(out);
        }
    }
}

fn config(acks: u8, retries: u8, max_in_flight: u8, linger_ms: u8) -> ProducerConfig {
    ProducerConfig {
        acks: [Acks::None, Acks::Leader, Acks::All][acks as usize % 3],
        retries: u32::from(retries % 4),
        max_in_flight_requests_per_connection: 1 + max_in_flight as usize % 5,
        linger_ms: u64::from(linger_ms % 20),
        batch_size: 100,
        request_timeout_ms: 2_000,
        delivery_timeout_ms: 10_000,
        enable_idempotence: false,
        ..ProducerConfig::default()
    }
}

proptest! {
    #[test]
    fn every_send_completes_exactly_once_within_the_limits(
        settings in any::<[u8; 4]>(),
        seed in any::<u64>(),
        ops in proptest::collection::vec(any::<[u8; 4]>(), 1..200),
    ) {
        let [acks, retries, max_in_flight, linger_ms] = settings;
        let mut h = Harness::new(config(acks, retries, max_in_flight, linger_ms), seed);
        for op in ops {
            h.step(op);
        }
        h.settle();
        prop_assert_eq!(h.completed.len() as u64, h.next_value);
    }

    #[test]
    fn an_idempotent_producer_completes_every_send_once_and_never_reuses_a_sequence(
        settings in any::<[u8; 3]>(),
        seed in any::<u64>(),
        ops in proptest::collection::vec(any::<[u8; 4]>(), 1..200),
    ) {
        let [retries, max_in_flight, linger_ms] = settings;
        let config = ProducerConfig {
            acks: Acks::All,
            retries: 1 + u32::from(retries % 4),
            enable_idempotence: true,
            ..config(2, 0, max_in_flight, linger_ms)
        };
        let mut h = Harness::new(config, seed);
        for op in ops {
            h.step(op);
        }
        h.settle();
        prop_assert_eq!(h.completed.len() as u64, h.next_value);
        prop_assert!(h.next_value == 0 || !h.sequences.is_empty(), "batches went out numbered");
    }
}
