//! Properties of the transactional producer under arbitrary answers, lost answers and connections, and moving
//! leaders and coordinators, driven by an application that runs transactions the way Kafka's docs ask.

use super::*;
use crate::ids::NO_LEADER;
use crate::protocol::*;
use proptest::prelude::*;

const BROKERS: [BrokerId; 3] = [1, 2, 3];
const PARTITIONS: i32 = 3;

/// A made-up cluster and coordinator around one transactional producer, and the application using it.
struct Harness {
    producer: Producer,
    now_ms: u64,
    next_value: u64,
    outstanding: BTreeMap<u64, (BrokerId, Message)>,
    leaders: [BrokerId; PARTITIONS as usize],
    leader_epoch: i32,
    coordinator: BrokerId,
    /// The epoch the coordinator gave last.
    producer_epoch: i16,
    /// Partitions the coordinator added to the open transaction.
    added: BTreeSet<i32>,
    log_end: [Offset; PARTITIONS as usize],
    completed: BTreeMap<u64, SendResult>,
    sequences: BTreeMap<(i32, i16, i32), Vec<u64>>,
    /// The call the application waits on.
    awaited: Option<TransactionOperation>,
    /// A fatal error was reported: nothing may be sent any more.
    dead: bool,
}

impl Harness {
    fn new(config: ProducerConfig, seed: u64) -> Harness {
        Harness {
            producer: Producer::new(1, config, BROKERS.to_vec(), seed),
            now_ms: 0,
            next_value: 0,
            outstanding: BTreeMap::new(),
            leaders: [1, 2, 3],
            leader_epoch: 1,
            coordinator: 2,
            producer_epoch: -1,
            added: BTreeSet::new(),
            log_end: [0; PARTITIONS as usize],
            completed: BTreeMap::new(),
            sequences: BTreeMap::new(),
            awaited: None,
            dead: false,
        }
    }

    fn step(&mut self, op: [u8; 4]) {
        self.now_ms += u64::from(op[3] % 50);
        let out = match op[0] % 8 {
            0..=2 => self.act(op),
            3 | 4 => self.answer(op, true),
            5 => self.disconnect(BROKERS[op[1] as usize % 3]),
            6 => {
                self.move_things(op);
                self.producer.on_timeout(self.now_ms)
            }
            _ => self.run_next_timer(),
        };
        self.check(out);
    }

    /// What the application does next, by the producer's state.
    fn act(&mut self, op: [u8; 4]) -> Vec<Output> {
        let now_ms = self.now_ms;
        if self.awaited.is_some() {
            return self.producer.on_timeout(now_ms);
        }
        match self.producer.transaction_state().unwrap() {
            TransactionState::Uninitialized => {
                self.awaited = Some(TransactionOperation::InitTransactions);
                self.producer.init_transactions(now_ms)
            }
            TransactionState::Ready => {
                // Local only; the clock moved, so let the sender run as the host would.
                self.producer.begin_transaction();
                self.producer.on_timeout(now_ms)
            }
            TransactionState::InTransaction => match op[1] % 20 {
                0 => {
                    self.awaited = Some(TransactionOperation::CommitTransaction);
                    self.producer.commit_transaction(now_ms)
                }
                1 => {
                    self.awaited = Some(TransactionOperation::AbortTransaction);
                    self.producer.abort_transaction(now_ms)
                }
                2 => {
                    self.awaited = Some(TransactionOperation::SendOffsetsToTransaction);
                    self.producer.send_offsets_to_transaction(now_ms, "g")
                }
                _ => self.send(op),
            },
            TransactionState::AbortableError => {
                self.awaited = Some(TransactionOperation::AbortTransaction);
                self.producer.abort_transaction(now_ms)
            }
            // Every send fails at once.
            TransactionState::FatalError => self.send(op),
            _ => self.producer.on_timeout(now_ms),
        }
    }

    fn send(&mut self, op: [u8; 4]) -> Vec<Output> {
        self.next_value += 1;
        let partition = op[2]
            .is_multiple_of(2)
            .then_some(i32::from(op[2] / 2) % PARTITIONS);
        self.producer
            .send(self.now_ms, "t", None, self.next_value, partition)
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

    fn move_things(&mut self, op: [u8; 4]) {
        if op[1].is_multiple_of(4) {
            self.coordinator = BROKERS[op[2] as usize % 3];
            return;
        }
        self.leader_epoch += 1;
        self.leaders[op[1] as usize % PARTITIONS as usize] = match op[2] % 4 {
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
        if chaos && op[2].is_multiple_of(11) {
            return self.producer.on_timeout(self.now_ms);
        }
        let roll = if chaos { op[2] } else { 255 };
        let response = self.respond(broker, request, roll);
        self.producer
            .handle_message(self.now_ms, NodeId::Broker(broker), id, response)
    }

    /// A coordinator error, or NONE: `roll` below 60 picks a retriable one, 1 in 256 a fence, 1 in 256 a lost
    /// producer id mapping (abortable, or fatal for InitProducerId).
    fn coordinator_error(&self, broker: BrokerId, roll: u8) -> ErrorCode {
        if broker != self.coordinator {
            ErrorCode::NOT_COORDINATOR
        } else if roll == 1 {
            ErrorCode::PRODUCER_FENCED
        } else if roll == 2 {
            ErrorCode::INVALID_PRODUCER_ID_MAPPING
        } else if roll < 60 {
            [
                ErrorCode::CONCURRENT_TRANSACTIONS,
                ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
                ErrorCode::COORDINATOR_NOT_AVAILABLE,
            ][roll as usize % 3]
        } else {
            ErrorCode::NONE
        }
    }

    fn respond(&mut self, broker: BrokerId, request: Message, roll: u8) -> Message {
        match request {
            Message::MetadataRequest(_) => self.metadata(),
            Message::FindCoordinatorRequest(_) => {
                let ok = roll >= 30;
                Message::FindCoordinatorResponse(FindCoordinatorResponse {
                    error: if ok {
                        ErrorCode::NONE
                    } else {
                        ErrorCode::COORDINATOR_NOT_AVAILABLE
                    },
                    node_id: if ok { self.coordinator } else { -1 },
                })
            }
            Message::InitProducerIdRequest(r) => {
                assert_eq!(r.transactional_id.as_deref(), Some("tx"));
                let error = self.coordinator_error(broker, roll);
                if error == ErrorCode::NONE {
                    // The coordinator aborts whatever was open and bumps the epoch.
                    self.producer_epoch += 1;
                    self.added.clear();
                }
                Message::InitProducerIdResponse(InitProducerIdResponse {
                    error,
                    producer_id: 77,
                    producer_epoch: self.producer_epoch,
                })
            }
            Message::AddPartitionsToTxnRequest(r) => {
                let error = self.coordinator_error(broker, roll);
                if error == ErrorCode::NONE {
                    self.added
                        .extend(r.partitions.iter().map(|tp| tp.partition));
                }
                let results = r.partitions.iter().map(|tp| (tp.clone(), error)).collect();
                Message::AddPartitionsToTxnResponse(AddPartitionsToTxnResponse { results })
            }
            Message::AddOffsetsToTxnRequest(_) => {
                let error = self.coordinator_error(broker, roll);
                Message::AddOffsetsToTxnResponse(AddOffsetsToTxnResponse { error })
            }
            Message::EndTxnRequest(_) => {
                let error = self.coordinator_error(broker, roll);
                if error == ErrorCode::NONE {
                    self.added.clear();
                }
                Message::EndTxnResponse(EndTxnResponse { error })
            }
            Message::ProduceRequest(r) => self.produce(broker, &r, roll),
            other => panic!("unexpected request {other:?}"),
        }
    }

    fn metadata(&self) -> Message {
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

    fn produce(&mut self, broker: BrokerId, request: &ProduceRequest, roll: u8) -> Message {
        let partitions = request
            .partitions
            .iter()
            .map(|p| {
                let index = p.topic_partition.partition as usize;
                let error = if self.leaders[index] != broker {
                    ErrorCode::NOT_LEADER_OR_FOLLOWER
                } else if roll < 60 {
                    [
                        ErrorCode::NOT_ENOUGH_REPLICAS,
                        ErrorCode::REQUEST_TIMED_OUT,
                        ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                        ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
                        ErrorCode::INVALID_PRODUCER_EPOCH,
                        ErrorCode::NOT_LEADER_OR_FOLLOWER,
                    ][roll as usize % 6]
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

    fn txn_outstanding(&self) -> bool {
        self.outstanding
            .values()
            .any(|(_, m)| !matches!(m, Message::ProduceRequest(_) | Message::MetadataRequest(_)))
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
            self.on_event(event);
        }
        let pending = self.next_value as usize - self.completed.len();
        assert_eq!(self.producer.pending(), pending);
    }

    fn on_event(&mut self, event: ProducerEvent) {
        let ended = match event {
            ProducerEvent::Completed { value, result, .. } => {
                let earlier = self.completed.insert(value, result);
                assert!(earlier.is_none(), "{value} completed twice");
                return;
            }
            ProducerEvent::TransactionsInitialized { .. } => TransactionOperation::InitTransactions,
            ProducerEvent::OffsetsAddedToTransaction { .. } => {
                TransactionOperation::SendOffsetsToTransaction
            }
            ProducerEvent::TransactionCommitted => TransactionOperation::CommitTransaction,
            ProducerEvent::TransactionAborted => TransactionOperation::AbortTransaction,
            ProducerEvent::TransactionFailed {
                operation, fatal, ..
            } => {
                self.dead |= fatal;
                let Some(operation) = operation else {
                    assert!(
                        self.awaited.is_none(),
                        "told of an error while {:?} waits",
                        self.awaited
                    );
                    return;
                };
                assert!(
                    fatal || operation != TransactionOperation::AbortTransaction,
                    "an abort fails only for good"
                );
                operation
            }
        };
        assert_eq!(self.awaited.take(), Some(ended), "one event per call");
    }

    fn sent(&mut self, broker: BrokerId, correlation_id: u64, message: Message) {
        assert!(
            !self.dead,
            "{} sent after a fatal error",
            message.api_name()
        );
        match &message {
            Message::ProduceRequest(r) => {
                assert!(
                    !self.txn_outstanding(),
                    "a produce went while a transactional request was out"
                );
                for p in &r.partitions {
                    assert!(p.attributes.transactional);
                    assert!(
                        self.added.contains(&p.topic_partition.partition),
                        "{} written before it was added",
                        p.topic_partition
                    );
                    let seq = p.producer.expect("numbered");
                    assert_eq!(
                        seq.producer_epoch, self.producer_epoch,
                        "written under an old epoch"
                    );
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
            Message::MetadataRequest(_) => {}
            txn => {
                assert!(!self.txn_outstanding(), "two transactional requests out");
                if let Message::EndTxnRequest(_) = txn {
                    assert_eq!(self.producer.pending(), 0, "EndTxn before the flush");
                }
            }
        }
        self.outstanding.insert(correlation_id, (broker, message));
    }

    /// Heals the cluster and lets the application finish: every send completes and the producer ends ready,
    /// or dead.
    fn settle(&mut self) {
        self.leaders = [1, 2, 3];
        self.leader_epoch += 1;
        let deadline_ms = self.now_ms + MAX_BLOCK_MS + 600_000;
        loop {
            let state = self.producer.transaction_state().unwrap();
            let done = self.awaited.is_none()
                && self.producer.pending() == 0
                && matches!(
                    state,
                    TransactionState::Ready | TransactionState::FatalError
                );
            if done {
                return;
            }
            assert!(
                self.now_ms <= deadline_ms,
                "never settled: {state:?}, {:?} waits",
                self.awaited
            );
            let out = if self.awaited.is_none() && state == TransactionState::InTransaction {
                self.awaited = Some(TransactionOperation::CommitTransaction);
                self.producer.commit_transaction(self.now_ms)
            } else if self.awaited.is_none() && state == TransactionState::AbortableError {
                self.awaited = Some(TransactionOperation::AbortTransaction);
                self.producer.abort_transaction(self.now_ms)
            } else if self.awaited.is_none() && state == TransactionState::Uninitialized {
                self.awaited = Some(TransactionOperation::InitTransactions);
                self.producer.init_transactions(self.now_ms)
            } else if self.outstanding.is_empty() {
                assert!(
                    self.producer.next_timeout().is_some(),
                    "{state:?} with nothing to wait for"
                );
                self.run_next_timer()
            } else {
                self.answer([0; 4], false)
            };
            self.check(out);
        }
    }
}

proptest! {
    #[test]
    fn a_transactional_producer_keeps_kafkas_rules_and_completes_every_send_once(
        settings in any::<[u8; 2]>(),
        seed in any::<u64>(),
        ops in proptest::collection::vec(any::<[u8; 4]>(), 1..300),
    ) {
        let config = ProducerConfig {
            transactional_id: Some("tx".to_string()),
            enable_idempotence: true,
            retries: 1 + u32::from(settings[0] % 4),
            max_in_flight_requests_per_connection: 1 + settings[1] as usize % 5,
            linger_ms: u64::from(settings[1] % 10),
            batch_size: 100,
            request_timeout_ms: 2_000,
            delivery_timeout_ms: 10_000,
            ..ProducerConfig::default()
        };
        let mut h = Harness::new(config, seed);
        for op in ops {
            h.step(op);
        }
        h.settle();
        prop_assert_eq!(h.completed.len() as u64, h.next_value);
    }
}
