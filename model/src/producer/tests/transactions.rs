//! The transactional producer driven message by message: coordinator discovery, partitions added before their
//! batches, commit after the flush, aborts, retries, fencing, and the epoch bump after an abortable error.

use super::*;
use crate::consumer::ConsumerGroupMetadata;

/// The coordinator the tests' FindCoordinator answers name, unless a test moves it.
const COORDINATOR: BrokerId = 1;

fn transactional() -> ProducerConfig {
    ProducerConfig {
        transactional_id: Some("tx".to_string()),
        enable_idempotence: true,
        linger_ms: 0,
        ..config()
    }
}

fn coordinator(node_id: BrokerId) -> Message {
    Message::FindCoordinatorResponse(FindCoordinatorResponse {
        error: ErrorCode::NONE,
        node_id,
    })
}

fn init_answer(error: ErrorCode, producer_epoch: i16) -> Message {
    let ok = error == ErrorCode::NONE;
    Message::InitProducerIdResponse(InitProducerIdResponse {
        error,
        producer_id: if ok { 77 } else { NO_PRODUCER_ID },
        producer_epoch: if ok {
            producer_epoch
        } else {
            NO_PRODUCER_EPOCH
        },
    })
}

/// AddPartitionsToTxn answered with `error` for each of `partitions` of topic "t".
fn added(partitions: &[i32], error: ErrorCode) -> Message {
    let results = partitions.iter().map(|p| (tp(*p), error)).collect();
    Message::AddPartitionsToTxnResponse(AddPartitionsToTxnResponse { results })
}

fn ended(error: ErrorCode) -> Message {
    Message::EndTxnResponse(EndTxnResponse { error })
}

/// The group coordinator the tests' FindCoordinator (GROUP) answers name, unless a test moves it.
const GROUP_COORDINATOR: BrokerId = 3;

fn offsets_added(error: ErrorCode) -> Message {
    Message::AddOffsetsToTxnResponse(AddOffsetsToTxnResponse { error })
}

/// TxnOffsetCommit answered with `error` for each of `partitions` of topic "t".
fn offsets_committed(partitions: &[(i32, ErrorCode)]) -> Message {
    let results = partitions.iter().map(|&(p, e)| (tp(p), e)).collect();
    Message::TxnOffsetCommitResponse(TxnOffsetCommitResponse { results })
}

/// Member "m-1" of group "group-1" in generation 4.
fn member() -> ConsumerGroupMetadata {
    ConsumerGroupMetadata {
        group_id: "group-1".into(),
        generation_id: 4,
        member_id: "m-1".into(),
        group_instance_id: None,
    }
}

impl Script {
    fn init(&mut self, now_ms: u64) -> &mut Self {
        let out = self.producer.init_transactions(now_ms);
        self.record(now_ms, "init_transactions".into(), out)
    }

    fn begin(&mut self, now_ms: u64) -> &mut Self {
        self.producer.begin_transaction();
        self.record(now_ms, "begin_transaction".into(), Vec::new())
    }

    fn commit(&mut self, now_ms: u64) -> &mut Self {
        let out = self.producer.commit_transaction(now_ms);
        self.record(now_ms, "commit_transaction".into(), out)
    }

    /// sendOffsetsToTransaction of t-0@10 and t-1@20 for [`member`].
    fn send_offsets(&mut self, now_ms: u64) -> &mut Self {
        let offsets = BTreeMap::from([(tp(0), 10), (tp(1), 20)]);
        let out = self
            .producer
            .send_offsets_to_transaction(now_ms, offsets, member());
        self.record(
            now_ms,
            "send_offsets_to_transaction t-0@10 t-1@20".into(),
            out,
        )
    }

    /// In a transaction from 200 whose offsets were added at the coordinator (at 201) and whose group coordinator
    /// is [`GROUP_COORDINATOR`] (found at 202): the TxnOffsetCommit is out.
    fn sending_offsets(config: ProducerConfig) -> Script {
        let mut s = Script::ready(config);
        s.begin(200).send_offsets(200);
        s.answer_latest(201, "AddOffsetsToTxn", offsets_added(ErrorCode::NONE));
        s.answer_latest(202, "FindCoordinator", coordinator(GROUP_COORDINATOR));
        assert_eq!(
            s.producer.next_timeout(),
            Some(302),
            "retry.backoff.ms after the lookup"
        );
        s.wait_until(302);
        assert_eq!(
            s.sent.last().map(|(to, _, m)| (*to, m.api_name())),
            Some((NodeId::Broker(GROUP_COORDINATOR), "TxnOffsetCommit"))
        );
        s
    }

    fn abort(&mut self, now_ms: u64) -> &mut Self {
        let out = self.producer.abort_transaction(now_ms);
        self.record(now_ms, "abort_transaction".into(), out)
    }

    /// Answers the latest request of API `api`, wherever it went.
    fn answer_latest(&mut self, now_ms: u64, api: &str, message: Message) -> &mut Self {
        let (to, correlation_id) = self
            .sent
            .iter()
            .rev()
            .find(|(_, _, m)| m.api_name() == api)
            .map(|(to, id, _)| (*to, *id))
            .unwrap_or_else(|| panic!("no {api} sent"));
        let NodeId::Broker(broker) = to else {
            panic!("{api} went to {to}");
        };
        self.answer_id(now_ms, broker, correlation_id, message)
    }

    /// The producer's transaction state.
    fn state(&self) -> Option<TransactionState> {
        self.producer.transaction_state()
    }

    /// The APIs of the requests sent from the `from`-th on.
    fn apis_from(&self, from: usize) -> Vec<&'static str> {
        self.sent[from..]
            .iter()
            .map(|(_, _, m)| m.api_name())
            .collect()
    }

    /// init_transactions with the coordinator on broker [`COORDINATOR`]; ready at 102.
    fn ready(config: ProducerConfig) -> Script {
        let mut s = Script::new(config);
        s.init(0);
        s.answer_latest(1, "FindCoordinator", coordinator(COORDINATOR));
        s.wait_until(101);
        s.answer_latest(102, "InitProducerId", init_answer(ErrorCode::NONE, 0));
        assert_eq!(s.state(), Some(TransactionState::Ready));
        s
    }

    /// In a transaction from 200 that added t-0 (led by broker 2) and has 100 in flight to it.
    fn producing(config: ProducerConfig) -> Script {
        let mut s = Script::ready(config);
        s.begin(200).send_to(200, 0, 100);
        s.answer_latest(201, "Metadata", metadata(&[(0, 2, 1), (1, 3, 1)]));
        s.answer_latest(202, "AddPartitionsToTxn", added(&[0], ErrorCode::NONE));
        assert_eq!(s.apis_from(s.sent.len() - 1), vec!["Produce"]);
        s
    }
}

#[test]
fn init_transactions_finds_the_coordinator_then_gets_an_id_from_it() {
    let s = Script::ready(transactional());
    let init = s.sent.iter().find_map(|(to, _, m)| match m {
        Message::InitProducerIdRequest(r) => Some((*to, r.clone())),
        _ => None,
    });
    let (to, request) = init.expect("InitProducerId sent");
    assert_eq!(to, NodeId::Broker(COORDINATOR));
    assert_eq!(request.transactional_id.as_deref(), Some("tx"));
    assert_eq!(
        (request.producer_id, request.producer_epoch),
        (NO_PRODUCER_ID, NO_PRODUCER_EPOCH)
    );
    assert_eq!(s.producer.producer_id_and_epoch(), Some((77, 0)));
    // Kafka's sender marks InitProducerId as retried when it had to look the coordinator up first, and sleeps
    // `retry.backoff.ms` before it sends it.
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn a_transaction_adds_its_partitions_before_producing_and_commits_after_its_sends() {
    let mut s = Script::ready(transactional());
    s.begin(200).send_to(200, 0, 100).send_to(200, 1, 101);
    s.answer_latest(201, "Metadata", metadata(&[(0, 2, 1), (1, 3, 1)]));
    // While AddPartitionsToTxn is out no batch goes, not even to a partition it does not name.
    s.send_to(202, 0, 102);
    assert!(s.produce_requests().is_empty());
    s.answer_latest(203, "AddPartitionsToTxn", added(&[0, 1], ErrorCode::NONE));
    assert_eq!(s.produce_requests().len(), 2);
    for (_, _, m) in &s.sent {
        if let Message::ProduceRequest(r) = m {
            assert!(r.partitions.iter().all(|p| p.attributes.transactional));
        }
    }
    // Commit waits for every send of the transaction.
    let before_commit = s.sent.len();
    s.commit(204);
    s.answer(205, 2, ok(0, 0));
    assert_eq!(s.sent.len(), before_commit, "101 is still in flight");
    s.answer(206, 3, ok(1, 0));
    assert_eq!(s.apis_from(before_commit), vec!["EndTxn"]);
    s.answer_latest(207, "EndTxn", ended(ErrorCode::NONE));
    assert_eq!(s.state(), Some(TransactionState::Ready));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn an_abort_fails_what_was_not_sent_waits_for_what_was_then_ends_the_transaction() {
    let mut s = Script::producing(transactional());
    // t-1 is new: its record waits for AddPartitionsToTxn when the application aborts.
    s.send_to(203, 1, 101);
    s.abort(204);
    s.answer_latest(205, "AddPartitionsToTxn", added(&[1], ErrorCode::NONE));
    let before = s.sent.len();
    s.answer(206, 2, ok(0, 0));
    assert_eq!(s.apis_from(before), vec!["EndTxn"]);
    s.answer_latest(207, "EndTxn", ended(ErrorCode::NONE));
    assert_eq!(s.producer.pending(), 0);
    // Nothing failed, so no epoch bump: the next transaction starts at once.
    assert_eq!(s.state(), Some(TransactionState::Ready));
    assert_eq!(s.producer.producer_id_and_epoch(), Some((77, 0)));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn a_transaction_with_nothing_added_ends_without_end_txn() {
    let mut s = Script::ready(transactional());
    let before = s.sent.len();
    s.begin(200).commit(200);
    s.begin(201).abort(201);
    assert_eq!(s.sent.len(), before);
    let tail: Vec<&str> = s
        .transcript
        .lines()
        .skip_while(|l| !l.starts_with("@200"))
        .collect();
    insta::assert_snapshot!(tail.join("\n"));
}

#[test]
fn not_coordinator_on_end_txn_finds_the_coordinator_again_and_retries_there() {
    let mut s = Script::producing(transactional());
    s.answer(203, 2, ok(0, 0));
    s.commit(204);
    s.answer_latest(205, "EndTxn", ended(ErrorCode::NOT_COORDINATOR));
    s.answer_latest(206, "FindCoordinator", coordinator(3));
    // EndTxn goes again `retry.backoff.ms` after it is next in line, to the new coordinator.
    assert_eq!(s.producer.next_timeout(), Some(306));
    s.wait_until(306);
    assert_eq!(
        s.sent.last().map(|(to, _, m)| (*to, m.api_name())),
        Some((NodeId::Broker(3), "EndTxn"))
    );
    s.answer_latest(307, "EndTxn", ended(ErrorCode::NONE));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn producer_fenced_by_the_coordinator_fails_every_pending_send_and_sends_nothing_more() {
    let mut s = Script::producing(transactional());
    s.send_to(203, 1, 101);
    s.answer_latest(
        204,
        "AddPartitionsToTxn",
        added(&[1], ErrorCode::PRODUCER_FENCED),
    );
    assert_eq!(s.producer.pending(), 0);
    assert_eq!(s.state(), Some(TransactionState::FatalError));
    let sent = s.sent.len();
    // Later calls fail at once with the fatal error.
    s.send_to(205, 0, 102);
    s.commit(206);
    s.wait_until(1_000_000);
    assert_eq!(s.sent.len(), sent, "nothing sent after the fatal error");
    // The late answer to 100 finds nothing.
    s.answer(1_000_001, 2, ok(0, 0));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn invalid_producer_epoch_on_a_produce_is_abortable_and_a_fenced_abort_is_fatal() {
    // Kafka (KIP-588) makes INVALID_PRODUCER_EPOCH from a partition leader abortable: a transaction timed out by
    // the coordinator bumps the epoch too. A real zombie learns it is fenced when it tries to end the transaction.
    let mut s = Script::producing(transactional());
    s.answer(203, 2, failed(0, ErrorCode::INVALID_PRODUCER_EPOCH));
    assert_eq!(s.state(), Some(TransactionState::AbortableError));
    s.abort(204);
    s.answer_latest(205, "EndTxn", ended(ErrorCode::PRODUCER_FENCED));
    let sent = s.sent.len();
    s.wait_until(1_000_000);
    assert_eq!(s.sent.len(), sent, "no epoch bump after the fence");
    assert_eq!(s.state(), Some(TransactionState::FatalError));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn concurrent_transactions_on_init_producer_id_is_retried_after_the_backoff() {
    let mut s = Script::new(transactional());
    s.init(0);
    s.answer_latest(1, "FindCoordinator", coordinator(COORDINATOR));
    s.wait_until(101);
    s.answer_latest(
        102,
        "InitProducerId",
        init_answer(ErrorCode::CONCURRENT_TRANSACTIONS, 0),
    );
    assert_eq!(s.producer.next_timeout(), Some(202));
    s.wait_until(202);
    assert_eq!(
        s.apis_from(0),
        vec!["FindCoordinator", "InitProducerId", "InitProducerId"]
    );
    s.answer_latest(203, "InitProducerId", init_answer(ErrorCode::NONE, 3));
    assert_eq!(s.producer.producer_id_and_epoch(), Some((77, 3)));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn concurrent_transactions_on_the_first_add_partitions_is_retried_after_20ms() {
    let mut s = Script::ready(transactional());
    s.begin(200).send_to(200, 0, 100);
    s.answer_latest(201, "Metadata", metadata(&[(0, 2, 1)]));
    s.answer_latest(
        202,
        "AddPartitionsToTxn",
        added(&[0], ErrorCode::CONCURRENT_TRANSACTIONS),
    );
    assert_eq!(s.producer.next_timeout(), Some(222));
    s.wait_until(222);
    assert_eq!(s.sent.last().unwrap().2.api_name(), "AddPartitionsToTxn");
}

#[test]
fn a_failed_send_makes_the_transaction_abortable_and_its_abort_bumps_the_epoch() {
    let mut s = Script::producing(transactional());
    // The broker lost this producer's sequence: the gap fails the batch, and the transaction with it.
    s.answer(203, 2, failed(0, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER));
    s.commit(204);
    assert_eq!(
        s.state(),
        Some(TransactionState::AbortableError),
        "the commit was refused"
    );
    s.abort(205);
    s.answer_latest(206, "EndTxn", ended(ErrorCode::NONE));
    let bump = match &s.sent.last().unwrap().2 {
        Message::InitProducerIdRequest(r) => (r.producer_id, r.producer_epoch),
        other => panic!("{other:?} after EndTxn"),
    };
    assert_eq!(
        bump,
        (77, 0),
        "InitProducerId with the current id and epoch"
    );
    s.answer_latest(207, "InitProducerId", init_answer(ErrorCode::NONE, 1));
    // The next transaction adds t-0 again and numbers it from 0 in epoch 1.
    s.begin(208).send_to(208, 0, 101);
    s.answer_latest(209, "AddPartitionsToTxn", added(&[0], ErrorCode::NONE));
    let last = s.numbers_from(0).pop();
    assert_eq!(last, Some((1, 0, vec![101])));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn a_commit_that_fails_after_an_unanswered_end_txn_has_an_unknown_outcome() {
    let mut s = Script::producing(transactional());
    s.answer(203, 2, ok(0, 0));
    s.commit(204);
    // The coordinator may have committed before the connection broke.
    s.disconnect(205, COORDINATOR);
    s.answer_latest(206, "FindCoordinator", coordinator(COORDINATOR));
    s.wait_until(306);
    s.answer_latest(307, "EndTxn", ended(ErrorCode::PRODUCER_FENCED));
    let failed = s.producer.drain_events();
    assert!(failed.is_empty(), "drained by the transcript");
    assert!(s.transcript.ends_with(
        "TransactionFailed { operation: Some(CommitTransaction), error: PRODUCER_FENCED, fatal: true, \
         outcome_unknown: true }\n"
    ));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn send_offsets_to_transaction_adds_the_group_then_commits_the_offsets_at_the_group_coordinator() {
    let mut s = Script::sending_offsets(transactional());
    let request = match &s.sent.last().unwrap().2 {
        Message::TxnOffsetCommitRequest(r) => r.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (
            request.producer_id,
            request.producer_epoch,
            request.generation_id
        ),
        (77, 0, 4),
        "the producer's id and epoch, the member's generation"
    );
    assert_eq!(request.member_id, "m-1");
    let before = s.sent.len();
    s.answer_latest(
        303,
        "TxnOffsetCommit",
        offsets_committed(&[(0, ErrorCode::NONE), (1, ErrorCode::NONE)]),
    );
    assert_eq!(s.sent.len(), before);
    assert!(s
        .transcript
        .ends_with("=> OffsetsSentToTransaction { group_id: \"group-1\" }\n"));
    // The offsets started the transaction at the coordinator, so ending it takes an EndTxn, to the
    // transaction coordinator.
    s.commit(304);
    assert_eq!(
        s.sent.last().map(|(to, _, m)| (*to, m.api_name())),
        Some((NodeId::Broker(COORDINATOR), "EndTxn"))
    );
    s.answer_latest(305, "EndTxn", ended(ErrorCode::NONE));
    assert_eq!(s.state(), Some(TransactionState::Ready));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn not_coordinator_on_txn_offset_commit_finds_the_group_coordinator_again_and_retries_what_was_refused(
) {
    let mut s = Script::sending_offsets(transactional());
    s.answer_latest(
        303,
        "TxnOffsetCommit",
        offsets_committed(&[(0, ErrorCode::NONE), (1, ErrorCode::NOT_COORDINATOR)]),
    );
    let lookup = match &s.sent.last().unwrap().2 {
        Message::FindCoordinatorRequest(r) => (r.key_type, r.key.clone()),
        other => panic!("{other:?}"),
    };
    assert_eq!(lookup, (CoordinatorType::Group, "group-1".to_string()));
    s.answer_latest(304, "FindCoordinator", coordinator(2));
    s.wait_until(404);
    let retried = match s.sent.last().unwrap() {
        (NodeId::Broker(2), _, Message::TxnOffsetCommitRequest(r)) => r.offsets.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        retried,
        vec![(tp(1), 20)],
        "only what was refused goes again"
    );
    // The coordinator loading the group only delays it, at the same coordinator.
    s.answer_latest(
        405,
        "TxnOffsetCommit",
        offsets_committed(&[(1, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS)]),
    );
    s.wait_until(505);
    assert_eq!(
        s.sent.last().map(|(to, _, m)| (*to, m.api_name())),
        Some((NodeId::Broker(2), "TxnOffsetCommit"))
    );
    s.answer_latest(
        506,
        "TxnOffsetCommit",
        offsets_committed(&[(1, ErrorCode::NONE)]),
    );
    assert_eq!(s.state(), Some(TransactionState::InTransaction));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn an_old_generation_fails_send_offsets_and_leaves_the_transaction_to_abort() {
    for error in [
        ErrorCode::ILLEGAL_GENERATION,
        ErrorCode::UNKNOWN_MEMBER_ID,
        ErrorCode::FENCED_INSTANCE_ID,
    ] {
        let mut s = Script::sending_offsets(transactional());
        s.answer_latest(
            303,
            "TxnOffsetCommit",
            offsets_committed(&[(0, error), (1, ErrorCode::NONE)]),
        );
        assert_eq!(s.state(), Some(TransactionState::AbortableError));
        let failed = format!(
            "=> TransactionFailed {{ operation: Some(SendOffsetsToTransaction), error: {error:?}, fatal: false, \
             outcome_unknown: false }}\n"
        );
        assert!(s.transcript.ends_with(&failed), "{}", s.transcript);
        // A commit is refused; the abort ends the transaction at the coordinator (the offsets started it), without
        // an epoch bump.
        s.commit(304);
        assert_eq!(s.state(), Some(TransactionState::AbortableError));
        s.abort(305);
        s.answer_latest(306, "EndTxn", ended(ErrorCode::NONE));
        assert_eq!(s.state(), Some(TransactionState::Ready));
        assert_eq!(s.producer.producer_id_and_epoch(), Some((77, 0)));
        if error == ErrorCode::ILLEGAL_GENERATION {
            insta::assert_snapshot!(s.transcript);
        }
    }
}

#[test]
fn a_fenced_epoch_on_txn_offset_commit_is_fatal() {
    let mut s = Script::sending_offsets(transactional());
    s.answer_latest(
        303,
        "TxnOffsetCommit",
        offsets_committed(&[(0, ErrorCode::INVALID_PRODUCER_EPOCH), (1, ErrorCode::NONE)]),
    );
    assert_eq!(s.state(), Some(TransactionState::FatalError));
    assert!(s.transcript.ends_with(
        "=> TransactionFailed { operation: Some(SendOffsetsToTransaction), error: INVALID_PRODUCER_EPOCH, \
         fatal: true, outcome_unknown: false }\n"
    ));
}

#[test]
fn a_lost_connection_to_the_group_coordinator_finds_it_again() {
    let mut s = Script::sending_offsets(transactional());
    s.disconnect(303, GROUP_COORDINATOR);
    assert_eq!(
        s.sent.last().map(|(_, _, m)| m.api_name()),
        Some("FindCoordinator")
    );
    s.answer_latest(304, "FindCoordinator", coordinator(GROUP_COORDINATOR));
    s.wait_until(404);
    s.answer_latest(
        405,
        "TxnOffsetCommit",
        offsets_committed(&[(0, ErrorCode::NONE), (1, ErrorCode::NONE)]),
    );
    assert!(s
        .transcript
        .ends_with("=> OffsetsSentToTransaction { group_id: \"group-1\" }\n"));
}

#[test]
fn add_offsets_to_txn_retries_at_the_transaction_coordinator_before_anything_goes_to_the_group() {
    let mut s = Script::ready(transactional());
    s.begin(200).send_offsets(200);
    s.answer_latest(
        201,
        "AddOffsetsToTxn",
        offsets_added(ErrorCode::CONCURRENT_TRANSACTIONS),
    );
    s.wait_until(301);
    s.answer_latest(
        302,
        "AddOffsetsToTxn",
        offsets_added(ErrorCode::NOT_COORDINATOR),
    );
    assert_eq!(
        s.apis_from(2),
        vec!["AddOffsetsToTxn", "AddOffsetsToTxn", "FindCoordinator"]
    );
    match &s.sent.last().unwrap().2 {
        Message::FindCoordinatorRequest(r) => assert_eq!(r.key_type, CoordinatorType::Transaction),
        other => panic!("{other:?}"),
    }
}

#[test]
fn send_offsets_with_no_offsets_ends_at_once_and_sends_nothing() {
    let mut s = Script::ready(transactional());
    let before = s.sent.len();
    s.begin(200);
    let out = s
        .producer
        .send_offsets_to_transaction(200, BTreeMap::new(), member());
    s.record(200, "send_offsets_to_transaction (none)".into(), out);
    assert_eq!(s.sent.len(), before);
    assert!(s
        .transcript
        .ends_with("=> OffsetsSentToTransaction { group_id: \"group-1\" }\n"));
}

#[test]
#[should_panic(expected = "send outside a transaction")]
fn a_send_outside_a_transaction_is_a_bug() {
    let mut s = Script::ready(transactional());
    s.send_to(200, 0, 100);
}

#[test]
fn a_lost_producer_id_mapping_on_the_abort_ends_it_with_the_epoch_bump() {
    let mut s = Script::producing(transactional());
    s.answer(203, 2, ok(0, 0));
    s.abort(204);
    s.answer_latest(205, "EndTxn", ended(ErrorCode::INVALID_PRODUCER_ID_MAPPING));
    s.answer_latest(206, "InitProducerId", init_answer(ErrorCode::NONE, 1));
    assert_eq!(s.state(), Some(TransactionState::Ready));
    // The bump ended the transaction: the next one adds t-0 again before writing to it.
    let before = s.sent.len();
    s.begin(207).send_to(207, 0, 101);
    assert_eq!(s.apis_from(before), vec!["AddPartitionsToTxn"]);
    insta::assert_snapshot!(s.transcript);
}
