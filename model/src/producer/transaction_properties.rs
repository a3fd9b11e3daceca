//! Properties of the transactional producer under arbitrary answers, lost answers and connections, and moving
//! leaders and coordinators (transaction and group), driven by an application that runs transactions the way
//! Kafka's docs ask, sending a consumer group's offsets into some of them.

use super::fake_cluster::*;
use super::*;
use crate::consumer::ConsumerGroupMetadata;
use crate::protocol::*;
use proptest::prelude::*;
use TransactionOperation::*;

/// What the coordinator answers, `roll` below 60, to a request it would otherwise take.
const COORDINATOR_ERRORS: [ErrorCode; 3] = [
    ErrorCode::CONCURRENT_TRANSACTIONS,
    ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode::COORDINATOR_NOT_AVAILABLE,
];
/// What the group coordinator answers, `roll` below 60, for a partition of a TxnOffsetCommit: all retried.
const GROUP_COORDINATOR_ERRORS: [ErrorCode; 4] = [
    ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode::COORDINATOR_NOT_AVAILABLE,
    ErrorCode::REQUEST_TIMED_OUT,
    ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
];
/// What a partition leader answers, `roll` below 60, to a transactional batch.
const PRODUCE_ERRORS: [ErrorCode; 6] = [
    ErrorCode::NOT_ENOUGH_REPLICAS,
    ErrorCode::REQUEST_TIMED_OUT,
    ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
    ErrorCode::INVALID_PRODUCER_EPOCH,
    ErrorCode::NOT_LEADER_OR_FOLLOWER,
];

/// A transactional producer and the application using it, in the made-up cluster with a coordinator.
struct Transactional {
    cluster: FakeCluster,
    coordinator: BrokerId,
    /// The coordinator of group "g".
    group_coordinator: BrokerId,
    /// The epoch the coordinator gave last.
    producer_epoch: i16,
    /// Partitions the coordinator added to the open transaction.
    added: BTreeSet<i32>,
    /// The coordinator added the group's offsets to the open transaction.
    offsets_added: bool,
    /// Partitions whose offsets were sent to the open transaction and not yet taken by the group coordinator.
    offsets_pending: BTreeSet<TopicPartition>,
    /// The call the application waits on.
    awaited: Option<TransactionOperation>,
    /// A fatal error was reported: nothing may be sent any more.
    dead: bool,
}

impl Transactional {
    fn new(config: ProducerConfig, seed: u64) -> Transactional {
        Transactional {
            cluster: FakeCluster::new(config, seed),
            coordinator: 2,
            group_coordinator: 3,
            producer_epoch: -1,
            added: BTreeSet::new(),
            offsets_added: false,
            offsets_pending: BTreeSet::new(),
            awaited: None,
            dead: false,
        }
    }

    /// The application calls `operation` and waits for the event that ends it.
    fn call(&mut self, operation: TransactionOperation) -> Vec<Output> {
        self.awaited = Some(operation);
        let (producer, now_ms) = (&mut self.cluster.producer, self.cluster.now_ms);
        match operation {
            InitTransactions => producer.init_transactions(now_ms),
            SendOffsetsToTransaction => {
                // The consumed positions, as a consume-transform-produce application would send them.
                let next = self.cluster.next_value as Offset;
                let offsets = BTreeMap::from([
                    (TopicPartition::new("in", 0), next),
                    (TopicPartition::new("in", 1), next + 1),
                ]);
                let group = ConsumerGroupMetadata {
                    group_id: "g".into(),
                    generation_id: 1,
                    member_id: "m-1".into(),
                    group_instance_id: None,
                };
                producer.send_offsets_to_transaction(now_ms, offsets, group)
            }
            CommitTransaction => producer.commit_transaction(now_ms),
            AbortTransaction => producer.abort_transaction(now_ms),
        }
    }

    fn send(&mut self, op: [u8; 4]) -> Vec<Output> {
        let partition = op[2]
            .is_multiple_of(2)
            .then_some(i32::from(op[2] / 2) % PARTITIONS);
        self.cluster.send(None, partition)
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
        } else {
            rolled(roll, 60, &COORDINATOR_ERRORS)
        }
    }

    /// The group coordinator's answer for one partition of a TxnOffsetCommit: retriable errors below 60, 1 in
    /// 256 an old generation (abortable), 1 in 256 a fenced epoch (fatal).
    fn group_coordinator_error(&self, broker: BrokerId, roll: u8) -> ErrorCode {
        if broker != self.group_coordinator {
            ErrorCode::NOT_COORDINATOR
        } else if roll == 3 {
            ErrorCode::ILLEGAL_GENERATION
        } else if roll == 4 {
            ErrorCode::INVALID_PRODUCER_EPOCH
        } else {
            rolled(roll, 60, &GROUP_COORDINATOR_ERRORS)
        }
    }

    /// The transaction ended at the coordinator (or was aborted by a new epoch): nothing is in it any more.
    fn transaction_ended(&mut self) {
        self.added.clear();
        self.offsets_added = false;
        self.offsets_pending.clear();
    }

    fn txn_outstanding(&self) -> bool {
        self.cluster
            .outstanding
            .values()
            .any(|(_, m)| !matches!(m, Message::ProduceRequest(_) | Message::MetadataRequest(_)))
    }
}

impl Harness for Transactional {
    const LOST_ONE_IN: u8 = 11;
    const SETTLE_MS: u64 = 600_000;

    fn cluster(&mut self) -> &mut FakeCluster {
        &mut self.cluster
    }

    /// What the application does next, by the producer's state.
    fn act(&mut self, op: [u8; 4]) -> Vec<Output> {
        if self.awaited.is_some() {
            return self.cluster.poke();
        }
        match self.cluster.producer.transaction_state().unwrap() {
            TransactionState::Uninitialized => self.call(InitTransactions),
            TransactionState::Ready => {
                // Local only; the clock moved, so let the sender run as the host would.
                self.cluster.producer.begin_transaction();
                self.cluster.poke()
            }
            TransactionState::InTransaction => match op[1] % 20 {
                0 => self.call(CommitTransaction),
                1 => self.call(AbortTransaction),
                2 => self.call(SendOffsetsToTransaction),
                _ => self.send(op),
            },
            TransactionState::AbortableError => self.call(AbortTransaction),
            // Every send fails at once.
            TransactionState::FatalError => self.send(op),
            _ => self.cluster.poke(),
        }
    }

    /// Moves the transaction or group coordinator, or a partition's leader.
    fn shake(&mut self, op: [u8; 4]) {
        if op[1].is_multiple_of(4) {
            self.coordinator = BROKERS[op[2] as usize % 3];
        } else if op[1] % 4 == 1 {
            self.group_coordinator = BROKERS[op[2] as usize % 3];
        } else {
            self.cluster.move_leader(op);
        }
    }

    fn respond(&mut self, broker: BrokerId, request: Message, roll: u8) -> Message {
        match request {
            Message::FindCoordinatorRequest(r) => {
                let ok = roll >= 30;
                let found = match r.key_type {
                    CoordinatorType::Transaction => self.coordinator,
                    CoordinatorType::Group => {
                        assert_eq!(r.key, "g");
                        self.group_coordinator
                    }
                };
                Message::FindCoordinatorResponse(FindCoordinatorResponse {
                    error: if ok {
                        ErrorCode::NONE
                    } else {
                        ErrorCode::COORDINATOR_NOT_AVAILABLE
                    },
                    node_id: if ok { found } else { -1 },
                })
            }
            Message::InitProducerIdRequest(r) => {
                assert_eq!(r.transactional_id.as_deref(), Some("tx"));
                let error = self.coordinator_error(broker, roll);
                if error == ErrorCode::NONE {
                    // The coordinator aborts whatever was open and bumps the epoch.
                    self.producer_epoch += 1;
                    self.transaction_ended();
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
            Message::AddOffsetsToTxnRequest(r) => {
                assert_eq!(r.group_id, "g");
                let error = self.coordinator_error(broker, roll);
                if error == ErrorCode::NONE {
                    // Every offset of the call now waits for the group coordinator (the application always
                    // sends these two).
                    self.offsets_added = true;
                    self.offsets_pending = (0..2).map(|p| TopicPartition::new("in", p)).collect();
                }
                Message::AddOffsetsToTxnResponse(AddOffsetsToTxnResponse { error })
            }
            Message::TxnOffsetCommitRequest(r) => {
                let results = r
                    .offsets
                    .iter()
                    .enumerate()
                    .map(|(i, (tp, _))| {
                        let error =
                            self.group_coordinator_error(broker, roll.wrapping_add(i as u8));
                        if error == ErrorCode::NONE {
                            self.offsets_pending.remove(tp);
                        }
                        (tp.clone(), error)
                    })
                    .collect();
                Message::TxnOffsetCommitResponse(TxnOffsetCommitResponse { results })
            }
            Message::EndTxnRequest(r) => {
                assert!(
                    !r.committed || self.offsets_pending.is_empty(),
                    "EndTxn(commit) before the group coordinator took {:?}",
                    self.offsets_pending
                );
                let error = self.coordinator_error(broker, roll);
                if error == ErrorCode::NONE {
                    self.transaction_ended();
                }
                Message::EndTxnResponse(EndTxnResponse { error })
            }
            Message::ProduceRequest(r) => self
                .cluster
                .produce(broker, &r, |_| rolled(roll, 60, &PRODUCE_ERRORS)),
            other => panic!("unexpected request {other:?}"),
        }
    }

    fn sent(&mut self, _broker: BrokerId, message: &Message) -> bool {
        assert!(
            !self.dead,
            "{} sent after a fatal error",
            message.api_name()
        );
        match message {
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
                }
                self.cluster.check_batches(r);
            }
            Message::MetadataRequest(_) => {}
            Message::TxnOffsetCommitRequest(r) => {
                assert!(!self.txn_outstanding(), "two transactional requests out");
                assert!(
                    self.offsets_added,
                    "TxnOffsetCommit before AddOffsetsToTxn was accepted"
                );
                assert_eq!(r.producer_epoch, self.producer_epoch, "an old epoch");
                assert_eq!((r.generation_id, r.member_id.as_str()), (1, "m-1"));
                let sent: BTreeSet<TopicPartition> =
                    r.offsets.iter().map(|(tp, _)| tp.clone()).collect();
                assert_eq!(
                    sent, self.offsets_pending,
                    "a TxnOffsetCommit sends exactly the offsets not yet taken"
                );
            }
            txn => {
                assert!(!self.txn_outstanding(), "two transactional requests out");
                if let Message::EndTxnRequest(_) = txn {
                    assert_eq!(
                        self.cluster.producer.pending(),
                        0,
                        "EndTxn before the flush"
                    );
                }
            }
        }
        true
    }

    fn on_event(&mut self, event: ProducerEvent) {
        let ended = match event {
            ProducerEvent::Completed { value, result, .. } => {
                self.cluster.complete(value, result);
                return;
            }
            ProducerEvent::TransactionsInitialized { .. } => InitTransactions,
            ProducerEvent::OffsetsSentToTransaction { .. } => {
                assert!(
                    self.offsets_pending.is_empty(),
                    "offsets reported sent while {:?} wait",
                    self.offsets_pending
                );
                SendOffsetsToTransaction
            }
            ProducerEvent::TransactionCommitted => CommitTransaction,
            ProducerEvent::TransactionAborted => AbortTransaction,
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
                    fatal || operation != AbortTransaction,
                    "an abort fails only for good"
                );
                operation
            }
        };
        assert_eq!(self.awaited.take(), Some(ended), "one event per call");
    }

    /// Settled: every send complete, no call waiting, and the producer ready, or dead.
    fn unsettled(&mut self) -> Option<String> {
        let state = self.cluster.producer.transaction_state().unwrap();
        let done = self.awaited.is_none()
            && self.cluster.producer.pending() == 0
            && matches!(
                state,
                TransactionState::Ready | TransactionState::FatalError
            );
        (!done).then(|| format!("{state:?}, {:?} waits", self.awaited))
    }

    /// The application ends an open transaction with a commit, an abortable one with an abort, and initializes
    /// again after an epoch bump.
    fn finish(&mut self) -> Option<Vec<Output>> {
        if self.awaited.is_some() {
            return None;
        }
        let operation = match self.cluster.producer.transaction_state().unwrap() {
            TransactionState::InTransaction => CommitTransaction,
            TransactionState::AbortableError => AbortTransaction,
            TransactionState::Uninitialized => InitTransactions,
            _ => return None,
        };
        Some(self.call(operation))
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
        let mut h = Transactional::new(config, seed);
        h.run(ops);
        prop_assert_eq!(h.cluster.completed.len() as u64, h.cluster.next_value);
    }
}
