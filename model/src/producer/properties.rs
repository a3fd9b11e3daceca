//! Properties of the producer under arbitrary answers, lost connections, leader moves and timeouts.

use super::fake_cluster::*;
use super::*;
use crate::config::Acks;
use crate::protocol::*;
use proptest::prelude::*;

const PRODUCE_ERRORS: [ErrorCode; 6] = [
    ErrorCode::NOT_LEADER_OR_FOLLOWER,
    ErrorCode::NOT_ENOUGH_REPLICAS,
    ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    ErrorCode::REQUEST_TIMED_OUT,
    ErrorCode::FENCED_LEADER_EPOCH,
    ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
];
/// What a leader that lost an idempotent producer's state, or saw a gap, answers.
const SEQUENCE_ERRORS: [ErrorCode; 2] = [
    ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
    ErrorCode::UNKNOWN_PRODUCER_ID,
];

/// A producer without transactions, idempotent or not, in the made-up cluster.
struct Plain {
    cluster: FakeCluster,
    acks: Acks,
    max_in_flight: usize,
}

impl Plain {
    fn new(config: ProducerConfig, seed: u64) -> Plain {
        Plain {
            acks: config.acks,
            max_in_flight: config.max_in_flight_requests_per_connection,
            cluster: FakeCluster::new(config, seed),
        }
    }
}

impl Harness for Plain {
    const LOST_ONE_IN: u8 = 7;
    const SETTLE_MS: u64 = 120_000;

    fn cluster(&mut self) -> &mut FakeCluster {
        &mut self.cluster
    }

    fn act(&mut self, op: [u8; 4]) -> Vec<Output> {
        let key: Option<Arc<[u8]>> = op[1].is_multiple_of(2).then(|| Arc::from(&op[2..3]));
        let partition = (op[1] % 5 == 1).then_some(i32::from(op[2]) % PARTITIONS);
        self.cluster.send(key, partition)
    }

    fn shake(&mut self, op: [u8; 4]) {
        self.cluster.move_leader(op);
    }

    fn respond(&mut self, broker: BrokerId, request: Message, roll: u8) -> Message {
        match request {
            Message::InitProducerIdRequest(_) => {
                Message::InitProducerIdResponse(InitProducerIdResponse {
                    error: ErrorCode::NONE,
                    producer_id: 77,
                    producer_epoch: 0,
                })
            }
            Message::ProduceRequest(r) => self.cluster.produce(broker, &r, |p| match p.producer {
                Some(_) if roll < 20 => rolled(roll, 20, &SEQUENCE_ERRORS),
                _ => rolled(roll, 100, &PRODUCE_ERRORS),
            }),
            other => panic!("unexpected request {other:?}"),
        }
    }

    fn sent(&mut self, broker: BrokerId, message: &Message) -> bool {
        let Message::ProduceRequest(r) = message else {
            return true;
        };
        self.cluster.check_batches(r);
        let in_flight = self
            .cluster
            .outstanding
            .values()
            .filter(|(b, _)| *b == broker)
            .count();
        assert!(
            in_flight < self.max_in_flight,
            "{in_flight} already in flight to {broker}"
        );
        self.acks != Acks::None
    }

    fn on_event(&mut self, event: ProducerEvent) {
        let ProducerEvent::Completed { value, result, .. } = event else {
            panic!("a producer without transactions reported {event:?}");
        };
        self.cluster.complete(value, result);
    }

    fn unsettled(&mut self) -> Option<String> {
        let pending = self.cluster.producer.pending();
        (pending > 0).then(|| format!("{pending} sends pending"))
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
        let mut h = Plain::new(config(acks, retries, max_in_flight, linger_ms), seed);
        h.run(ops);
        prop_assert_eq!(h.cluster.completed.len() as u64, h.cluster.next_value);
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
        let mut h = Plain::new(config, seed);
        h.run(ops);
        let FakeCluster { completed, next_value, sequences, .. } = &h.cluster;
        prop_assert_eq!(completed.len() as u64, *next_value);
        prop_assert!(*next_value == 0 || !sequences.is_empty(), "batches went out numbered");
    }
}
