//! The made-up cluster the producer's property tests run a producer against, transactional or not: three brokers
//! that lead topic "t"'s partitions and answer requests rightly, wrongly or not at all, leaders that move, and the
//! loop that drives the producer through it, checking after every step what any producer must keep to.

use super::*;
use crate::ids::NO_LEADER;
use crate::protocol::*;

pub(super) const BROKERS: [BrokerId; 3] = [1, 2, 3];
pub(super) const PARTITIONS: i32 = 3;

/// The cluster's side of the test: the requests the producer has not had answered, who leads what, and what the
/// producer reported.
pub(super) struct FakeCluster {
    pub producer: Producer,
    pub now_ms: u64,
    /// The value of the latest send; sends are numbered from 1.
    pub next_value: u64,
    pub outstanding: BTreeMap<u64, (BrokerId, Message)>,
    pub leaders: [BrokerId; PARTITIONS as usize],
    pub leader_epoch: i32,
    pub log_end: [Offset; PARTITIONS as usize],
    pub completed: BTreeMap<u64, SendResult>,
    /// The records each numbered batch's (partition, producer epoch, base sequence) went out with. One sequence
    /// must always name the same records, or the broker's deduplication would drop a different batch.
    pub sequences: BTreeMap<(i32, i16, i32), Vec<u64>>,
}

impl FakeCluster {
    pub fn new(config: ProducerConfig, seed: u64) -> FakeCluster {
        FakeCluster {
            producer: Producer::new(1, config, BROKERS.to_vec(), seed),
            now_ms: 0,
            next_value: 0,
            outstanding: BTreeMap::new(),
            leaders: [1, 2, 3],
            leader_epoch: 1,
            log_end: [0; PARTITIONS as usize],
            completed: BTreeMap::new(),
            sequences: BTreeMap::new(),
        }
    }

    /// The application sends the next value to topic "t".
    pub fn send(&mut self, key: Option<Arc<[u8]>>, partition: Option<i32>) -> Vec<Output> {
        self.next_value += 1;
        self.producer
            .send(self.now_ms, "t", key, self.next_value, partition)
    }

    /// Lets the producer's sender run now, as the host does after time moves.
    pub fn poke(&mut self) -> Vec<Output> {
        self.producer.on_timeout(self.now_ms)
    }

    pub fn run_next_timer(&mut self) -> Vec<Output> {
        if let Some(at) = self.producer.next_timeout() {
            self.now_ms = self.now_ms.max(at);
        }
        self.poke()
    }

    /// The connection to `broker` breaks: what was out to it is never answered.
    pub fn disconnect(&mut self, broker: BrokerId) -> Vec<Output> {
        self.outstanding.retain(|_, (b, _)| *b != broker);
        self.producer
            .on_disconnect(self.now_ms, NodeId::Broker(broker))
    }

    /// Partition `op[1]` gets a new leader, broker `op[2] % 4` (none for 0), under a new leader epoch.
    pub fn move_leader(&mut self, op: [u8; 4]) {
        self.leader_epoch += 1;
        self.leaders[op[1] as usize % PARTITIONS as usize] = match op[2] % 4 {
            0 => NO_LEADER,
            n => BROKERS[n as usize - 1],
        };
    }

    /// Every partition led again, under a new leader epoch.
    pub fn heal(&mut self) {
        self.leaders = [1, 2, 3];
        self.leader_epoch += 1;
    }

    pub fn metadata(&self) -> Message {
        let partitions = (0..PARTITIONS)
            .map(|p| PartitionMetadata {
                topic_partition: TopicPartition::new("t", p),
                error: ErrorCode::NONE,
                leader: self.leaders[p as usize],
                leader_epoch: self.leader_epoch,
                replicas: BROKERS.to_vec(),
                isr: BROKERS.to_vec(),
            })
            .collect();
        Message::MetadataResponse(MetadataResponse {
            brokers: BROKERS.to_vec(),
            partitions,
        })
    }

    /// Answers a produce: NOT_LEADER_OR_FOLLOWER for a batch to a partition `broker` does not lead, else the error
    /// `error` picks for the batch; a batch answered NONE is appended at its partition's log end.
    pub fn produce(
        &mut self,
        broker: BrokerId,
        request: &ProduceRequest,
        error: impl Fn(&ProducePartition) -> ErrorCode,
    ) -> Message {
        let partitions = request
            .partitions
            .iter()
            .map(|p| {
                let index = p.topic_partition.partition as usize;
                let error = if self.leaders[index] != broker {
                    ErrorCode::NOT_LEADER_OR_FOLLOWER
                } else {
                    error(p)
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

    /// A produce the producer sent holds one batch per partition, and a numbered batch's sequence names the same
    /// records every time it goes out.
    pub fn check_batches(&mut self, request: &ProduceRequest) {
        let mut tps: Vec<&TopicPartition> = request
            .partitions
            .iter()
            .map(|p| &p.topic_partition)
            .collect();
        let count = tps.len();
        tps.dedup();
        assert_eq!(tps.len(), count, "one batch per partition");
        for p in &request.partitions {
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
    }

    /// A send completed: one the application made, and only once.
    pub fn complete(&mut self, value: u64, result: SendResult) {
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

    /// The producer's next timer is after now: a host would otherwise spin.
    fn check_timer(&self) {
        let next = self.producer.next_timeout();
        assert!(
            next.is_none_or(|at| at > self.now_ms),
            "timer {next:?} not after {}",
            self.now_ms
        );
    }
}

/// How the fake cluster rolls an answer: `errors[roll % len]` for a `roll` below `below`, else NONE.
pub(super) fn rolled(roll: u8, below: u8, errors: &[ErrorCode]) -> ErrorCode {
    if roll < below {
        errors[roll as usize % errors.len()]
    } else {
        ErrorCode::NONE
    }
}

/// A property test's harness: a [`FakeCluster`] with a kind of producer's own application, answers and checks.
/// The provided methods drive it, each step chosen by four arbitrary bytes.
pub(super) trait Harness {
    /// One in how many arbitrary answers is lost on the way (only the request timeout tells).
    const LOST_ONE_IN: u8;
    /// How long, past `max.block.ms`, settling may take.
    const SETTLE_MS: u64;

    fn cluster(&mut self) -> &mut FakeCluster;

    /// What the application does next.
    fn act(&mut self, op: [u8; 4]) -> Vec<Output>;

    /// Moves what moves in the cluster: a partition's leader, or more.
    fn shake(&mut self, op: [u8; 4]);

    /// The answer to a request other than metadata; `roll` picks errors, and 255 always answers rightly.
    fn respond(&mut self, broker: BrokerId, request: Message, roll: u8) -> Message;

    /// Checks a request the producer sent to `broker`; false when no answer will come.
    fn sent(&mut self, broker: BrokerId, message: &Message) -> bool;

    fn on_event(&mut self, event: ProducerEvent);

    /// What is left to finish, or None once the producer has settled.
    fn unsettled(&mut self) -> Option<String>;

    /// The call the application makes, if any, to finish what it started while the cluster settles.
    fn finish(&mut self) -> Option<Vec<Output>> {
        None
    }

    /// Runs `ops`, then settles.
    fn run(&mut self, ops: Vec<[u8; 4]>) {
        for op in ops {
            self.step(op);
        }
        self.settle();
    }

    /// One step chosen by `op`: the application acts, a request is answered, a connection breaks, something moves,
    /// or time passes.
    fn step(&mut self, op: [u8; 4]) {
        self.cluster().now_ms += u64::from(op[3] % 50);
        let out = match op[0] % 8 {
            0..=2 => self.act(op),
            3 | 4 => self.answer(op, true),
            5 => self.cluster().disconnect(BROKERS[op[1] as usize % 3]),
            6 => {
                self.shake(op);
                self.cluster().poke()
            }
            _ => self.cluster().run_next_timer(),
        };
        self.check(out);
    }

    /// Answers one outstanding request; with `chaos`, maybe wrongly or not at all.
    fn answer(&mut self, op: [u8; 4], chaos: bool) -> Vec<Output> {
        let cluster = self.cluster();
        let index = op[1] as usize % cluster.outstanding.len().max(1);
        let Some(&id) = cluster.outstanding.keys().nth(index) else {
            return cluster.poke();
        };
        let (broker, request) = cluster.outstanding.remove(&id).unwrap();
        if chaos && op[2].is_multiple_of(Self::LOST_ONE_IN) {
            // Lost on the way: only the request timeout will tell.
            return cluster.poke();
        }
        let response = match request {
            Message::MetadataRequest(_) => cluster.metadata(),
            request => self.respond(broker, request, if chaos { op[2] } else { 255 }),
        };
        let cluster = self.cluster();
        cluster
            .producer
            .handle_message(cluster.now_ms, NodeId::Broker(broker), id, response)
    }

    /// Takes the producer's outputs and events, checking them and the producer's timer and pending count.
    fn check(&mut self, out: Vec<Output>) {
        self.cluster().check_timer();
        for o in out {
            match o {
                Output::Send {
                    to: NodeId::Broker(b),
                    correlation_id,
                    message,
                } => {
                    if self.sent(b, &message) {
                        self.cluster()
                            .outstanding
                            .insert(correlation_id, (b, message));
                    }
                }
                Output::Disconnect(NodeId::Broker(b)) => {
                    self.cluster().outstanding.retain(|_, (x, _)| *x != b)
                }
                other => panic!("unexpected output {other:?}"),
            }
        }
        for event in self.cluster().producer.drain_events() {
            self.on_event(event);
        }
        let cluster = self.cluster();
        let pending = cluster.next_value as usize - cluster.completed.len();
        assert_eq!(cluster.producer.pending(), pending);
    }

    /// Heals the cluster (every partition led, every answer right) and runs until the producer has settled.
    fn settle(&mut self) {
        self.cluster().heal();
        let deadline_ms = self.cluster().now_ms + MAX_BLOCK_MS + Self::SETTLE_MS;
        while let Some(left) = self.unsettled() {
            let cluster = self.cluster();
            assert!(cluster.now_ms <= deadline_ms, "never settled: {left}");
            let out = match self.finish() {
                Some(out) => out,
                None if self.cluster().outstanding.is_empty() => {
                    let cluster = self.cluster();
                    assert!(
                        cluster.producer.next_timeout().is_some(),
                        "{left} with nothing to wait for"
                    );
                    cluster.run_next_timer()
                }
                None => self.answer([0; 4], false),
            };
            self.check(out);
        }
    }
}
