//! The transaction coordinator a broker hosts, driven message by message: a single broker leads both the
//! `__transaction_state` partition and the data partition, so every append commits at once.

use super::tests::register;
use super::*;
use crate::config::{Fix, Fixes, LogConfig};
use crate::error::ErrorCode;
use crate::internal_topics::TRANSACTION_STATE_TOPIC;
use crate::protocol::*;
use crate::record::{BatchAttributes, BatchProducer, ControlMarker, Record};
use crate::storage::Disk;
use crate::txn::TxnState;

const ME: BrokerId = 1;
const CLIENT: NodeId = NodeId::Client(9);

fn data() -> TopicPartition {
    TopicPartition::new("t", 0)
}

fn txn_log() -> TopicPartition {
    TopicPartition::new(TRANSACTION_STATE_TOPIC, 0)
}

fn topic(name: &str) -> TopicConfig {
    TopicConfig {
        name: name.into(),
        partitions: 1,
        replication_factor: 1,
        min_insync_replicas: 1,
        unclean_leader_election_enable: false,
        log: if name.starts_with("__") {
            LogConfig::compacted()
        } else {
            LogConfig::default()
        },
    }
}

fn lead(tp: TopicPartition, leader: BrokerId, leader_epoch: i32) -> LeaderAndIsrPartitionState {
    LeaderAndIsrPartitionState {
        topic_partition: tp,
        leader,
        leader_epoch,
        isr: vec![leader],
        partition_epoch: leader_epoch,
        replicas: vec![ME],
    }
}

/// A registered broker leading both partitions, with metadata saying so.
fn coordinator(fixes: Fixes, disk: Disk) -> Broker {
    let mut b = registered(fixes, disk);
    set_leaders(&mut b, ME, 1);
    b
}

/// A registered broker that leads nothing yet.
fn registered(fixes: Fixes, disk: Disk) -> Broker {
    let config = BrokerConfig {
        transaction_state_log_num_partitions: 1,
        fixes,
        ..BrokerConfig::default()
    };
    let topics = vec![topic("t"), topic(TRANSACTION_STATE_TOPIC)];
    let (mut b, _) = Broker::start(ME, config, topics, disk, 1, 0);
    register(&mut b);
    b
}

fn set_leaders(b: &mut Broker, leader: BrokerId, leader_epoch: i32) {
    let states = vec![
        lead(data(), leader, leader_epoch),
        lead(txn_log(), leader, leader_epoch),
    ];
    let metadata = states
        .iter()
        .map(|s| PartitionMetadata {
            topic_partition: s.topic_partition.clone(),
            error: ErrorCode::NONE,
            leader: s.leader,
            leader_epoch: s.leader_epoch,
            replicas: s.replicas.clone(),
            isr: s.isr.clone(),
        })
        .collect();
    let req = LeaderAndIsrRequest {
        controller_epoch: 1,
        broker_epoch: 7,
        partition_states: states,
    };
    b.handle_message(0, NodeId::Controller, 2, Message::LeaderAndIsrRequest(req));
    let update = UpdateMetadataRequest {
        controller_epoch: 1,
        live_brokers: vec![ME],
        partitions: metadata,
    };
    b.handle_message(
        0,
        NodeId::Controller,
        3,
        Message::UpdateMetadataRequest(update),
    );
}

/// The one answer to the client in `out`.
fn answer(out: Vec<Output>) -> Message {
    let mut answers: Vec<Message> = out
        .into_iter()
        .filter_map(|o| match o {
            Output::Send { to, message, .. } if to == CLIENT => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(answers.len(), 1, "one answer: {answers:?}");
    answers.pop().unwrap()
}

fn init(b: &mut Broker, now: u64) -> InitProducerIdResponse {
    let req = InitProducerIdRequest {
        transactional_id: Some("app".into()),
        transaction_timeout_ms: 60_000,
        producer_id: NO_PRODUCER_ID,
        producer_epoch: NO_PRODUCER_EPOCH,
    };
    match answer(b.handle_message(now, CLIENT, 1, Message::InitProducerIdRequest(req))) {
        Message::InitProducerIdResponse(r) => r,
        other => panic!("{other:?}"),
    }
}

fn add_partition(b: &mut Broker, now: u64, pid: i64, epoch: i16) -> ErrorCode {
    let req = AddPartitionsToTxnRequest {
        transactional_id: "app".into(),
        producer_id: pid,
        producer_epoch: epoch,
        partitions: vec![data()],
    };
    match answer(b.handle_message(now, CLIENT, 2, Message::AddPartitionsToTxnRequest(req))) {
        Message::AddPartitionsToTxnResponse(r) => r.results[0].1,
        other => panic!("{other:?}"),
    }
}

fn produce(b: &mut Broker, now: u64, pid: i64, epoch: i16, seq: i32, value: u64) -> ErrorCode {
    let req = ProduceRequest {
        acks: -1,
        timeout_ms: 1000,
        partitions: vec![ProducePartition {
            topic_partition: data(),
            records: Arc::from([Record {
                key: None,
                value,
                timestamp_ms: now,
                internal: None,
            }]),
            producer: Some(BatchProducer {
                producer_id: pid,
                producer_epoch: epoch,
                base_sequence: seq,
            }),
            attributes: BatchAttributes {
                transactional: true,
                control: None,
            },
        }],
    };
    match answer(b.handle_message(now, CLIENT, 3, Message::ProduceRequest(req))) {
        Message::ProduceResponse(r) => r.partitions[0].error,
        other => panic!("{other:?}"),
    }
}

fn end(b: &mut Broker, now: u64, pid: i64, epoch: i16, committed: bool) -> ErrorCode {
    let req = EndTxnRequest {
        transactional_id: "app".into(),
        producer_id: pid,
        producer_epoch: epoch,
        committed,
    };
    match answer(b.handle_message(now, CLIENT, 4, Message::EndTxnRequest(req))) {
        Message::EndTxnResponse(r) => r.error,
        other => panic!("{other:?}"),
    }
}

/// What a read_committed consumer gets from offset 0: the values and the aborted transactions.
fn read_committed(b: &mut Broker, now: u64) -> (Vec<u64>, Vec<AbortedTransaction>) {
    let req = FetchRequest {
        replica_id: None,
        max_wait_ms: 0,
        min_records: 1,
        isolation_level: IsolationLevel::ReadCommitted,
        partitions: vec![FetchPartition {
            topic_partition: data(),
            current_leader_epoch: None,
            fetch_offset: 0,
            max_records: 100,
        }],
    };
    match answer(b.handle_message(now, CLIENT, 5, Message::FetchRequest(req))) {
        Message::FetchResponse(r) => {
            let p = &r.partitions[0];
            let values = p
                .batches
                .iter()
                .flat_map(|b| b.entries().map(|(_, r)| r.value).collect::<Vec<_>>())
                .collect();
            (values, p.aborted_transactions.clone())
        }
        other => panic!("{other:?}"),
    }
}

fn txn_state(b: &Broker) -> (i16, TxnState) {
    let m = b.txn_coordinators[&0].txns.get("app").unwrap();
    (m.current.producer_epoch, m.current.state)
}

fn markers(b: &Broker) -> Vec<(i16, ControlMarker)> {
    b.partitions[&data()]
        .log
        .file
        .batches()
        .iter()
        .filter_map(|batch| Some((batch.producer?.producer_epoch, batch.attributes.control?)))
        .collect()
}

#[test]
fn find_coordinator_names_the_leader_of_the_ids_transaction_log_partition() {
    let mut b = coordinator(Fixes::default(), Disk::default());
    let req = FindCoordinatorRequest {
        key: "app".into(),
        key_type: CoordinatorType::Transaction,
    };
    match answer(b.handle_message(0, CLIENT, 1, Message::FindCoordinatorRequest(req))) {
        Message::FindCoordinatorResponse(r) => {
            assert_eq!((r.error, r.node_id), (ErrorCode::NONE, ME))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_committed_transaction_is_hidden_from_read_committed_until_its_marker_is_written() {
    let mut b = coordinator(Fixes::default(), Disk::default());
    let id = init(&mut b, 1);
    assert_eq!((id.error, id.producer_epoch), (ErrorCode::NONE, 0));
    let pid = id.producer_id;
    assert_eq!(pid, 7 << 20, "derived from the broker epoch");
    assert_eq!(add_partition(&mut b, 2, pid, 0), ErrorCode::NONE);
    assert_eq!(produce(&mut b, 3, pid, 0, 0, 100), ErrorCode::NONE);
    assert_eq!(
        read_committed(&mut b, 4).0,
        Vec::<u64>::new(),
        "the transaction is open"
    );
    assert_eq!(end(&mut b, 5, pid, 0, true), ErrorCode::NONE);
    assert_eq!(
        markers(&b),
        vec![(
            0,
            ControlMarker::Commit {
                coordinator_epoch: 1
            }
        )],
        "the marker carries the coordinator epoch (the transaction log's leader epoch)"
    );
    assert_eq!(txn_state(&b), (0, TxnState::CompleteCommit));
    assert_eq!(read_committed(&mut b, 6).0, vec![100]);
}

#[test]
fn an_abort_indexes_the_transaction_for_read_committed_consumers() {
    let mut b = coordinator(Fixes::default(), Disk::default());
    let pid = init(&mut b, 1).producer_id;
    add_partition(&mut b, 2, pid, 0);
    produce(&mut b, 3, pid, 0, 0, 100);
    assert_eq!(end(&mut b, 5, pid, 0, false), ErrorCode::NONE);
    assert_eq!(txn_state(&b), (0, TxnState::CompleteAbort));
    let (values, aborted) = read_committed(&mut b, 6);
    assert_eq!(
        aborted
            .iter()
            .map(|a| (a.producer_id, a.first_offset))
            .collect::<Vec<_>>(),
        vec![(pid, 0)]
    );
    assert_eq!(
        values,
        vec![100],
        "the broker returns the batch; the consumer drops it by the index"
    );
}

/// A producer restarts while its predecessor's transaction is open: the coordinator bumps the epoch and aborts
/// with it, so the zombie's next batch is refused on the partition.
fn zombie_after_fence(fixes: Fixes) -> (Broker, i64, ErrorCode) {
    let mut b = coordinator(fixes, Disk::default());
    let pid = init(&mut b, 1).producer_id;
    add_partition(&mut b, 2, pid, 0);
    produce(&mut b, 3, pid, 0, 0, 100);
    let successor = init(&mut b, 4);
    assert_eq!(
        successor.error,
        ErrorCode::CONCURRENT_TRANSACTIONS,
        "retry until the abort is written"
    );
    assert_eq!(
        markers(&b),
        vec![(
            1,
            ControlMarker::Abort {
                coordinator_epoch: 1
            }
        )]
    );
    let successor = init(&mut b, 5);
    assert_eq!(
        (
            successor.error,
            successor.producer_id,
            successor.producer_epoch
        ),
        (ErrorCode::NONE, pid, 2)
    );
    assert_eq!(add_partition(&mut b, 6, pid, 0), ErrorCode::PRODUCER_FENCED);
    assert_eq!(end(&mut b, 6, pid, 0, true), ErrorCode::PRODUCER_FENCED);
    let zombie = produce(&mut b, 7, pid, 0, 1, 101);
    (b, pid, zombie)
}

#[test]
fn a_restarted_producer_fences_its_zombie_on_the_coordinator_and_the_partition() {
    let (mut b, _, zombie) = zombie_after_fence(Fixes::default());
    assert_eq!(zombie, ErrorCode::INVALID_PRODUCER_EPOCH);
    assert_eq!(
        read_committed(&mut b, 8).0,
        vec![100],
        "only the aborted record, indexed"
    );
}

#[test]
fn without_kip_98_fencing_the_zombies_batch_lands_after_the_abort() {
    let fixes = Fixes {
        reverted: [Fix::Kip98ProducerEpochFencing].into(),
    };
    let (mut b, pid, zombie) = zombie_after_fence(fixes);
    assert_eq!(zombie, ErrorCode::NONE);
    // The successor commits a transaction on the partition: its marker takes the zombie's record along.
    add_partition(&mut b, 8, pid, 2);
    produce(&mut b, 9, pid, 2, 0, 200);
    assert_eq!(end(&mut b, 10, pid, 2, true), ErrorCode::NONE);
    let (values, aborted) = read_committed(&mut b, 11);
    assert!(
        values.contains(&101) && aborted.len() == 1,
        "{values:?} {aborted:?}"
    );
}

#[test]
fn a_new_leader_of_the_transaction_log_reloads_the_state_and_an_old_one_answers_not_coordinator() {
    let mut b = coordinator(Fixes::default(), Disk::default());
    let pid = init(&mut b, 1).producer_id;
    add_partition(&mut b, 2, pid, 0);
    // Leadership moves away: requests are no longer this broker's to answer.
    set_leaders(&mut b, 2, 2);
    assert_eq!(end(&mut b, 3, pid, 0, true), ErrorCode::NOT_COORDINATOR);
    // The broker restarts and leads again: the transaction is found Ongoing in the log, as it was.
    let disk = b.into_disk();
    let mut b = coordinator(Fixes::default(), disk);
    set_leaders(&mut b, ME, 3);
    assert_eq!(txn_state(&b), (0, TxnState::Ongoing));
    assert_eq!(b.txn_coordinators[&0].coordinator_epoch, 3);
    assert_eq!(end(&mut b, 4, pid, 0, true), ErrorCode::NONE);
    assert_eq!(
        markers(&b),
        vec![(
            0,
            ControlMarker::Commit {
                coordinator_epoch: 3
            }
        )]
    );
}

#[test]
fn an_open_transaction_past_its_timeout_is_aborted_with_a_bumped_epoch() {
    let mut b = coordinator(Fixes::default(), Disk::default());
    let pid = init(&mut b, 1).producer_id;
    add_partition(&mut b, 2, pid, 0);
    produce(&mut b, 3, pid, 0, 0, 100);
    // The cleanup runs every 10 s; the transaction times out after 60 s.
    b.on_timeout(70_000);
    assert_eq!(txn_state(&b), (1, TxnState::CompleteAbort));
    assert_eq!(
        end(&mut b, 70_001, pid, 0, true),
        ErrorCode::PRODUCER_FENCED
    );
}

/// A coordinator whose data partition another broker leads: the marker travels as WriteTxnMarkers.
fn remote_leader(b: &mut Broker) {
    let data_state = LeaderAndIsrPartitionState {
        topic_partition: data(),
        leader: 2,
        leader_epoch: 2,
        isr: vec![2],
        partition_epoch: 2,
        replicas: vec![ME, 2],
    };
    let req = LeaderAndIsrRequest {
        controller_epoch: 1,
        broker_epoch: 7,
        partition_states: vec![data_state],
    };
    b.handle_message(0, NodeId::Controller, 4, Message::LeaderAndIsrRequest(req));
    let update = UpdateMetadataRequest {
        controller_epoch: 1,
        live_brokers: vec![ME, 2],
        partitions: vec![PartitionMetadata {
            topic_partition: data(),
            error: ErrorCode::NONE,
            leader: 2,
            leader_epoch: 2,
            replicas: vec![ME, 2],
            isr: vec![2],
        }],
    };
    b.handle_message(
        0,
        NodeId::Controller,
        5,
        Message::UpdateMetadataRequest(update),
    );
}

/// The WriteTxnMarkers requests in `out`, with their correlation ids.
fn marker_requests(out: &[Output]) -> Vec<(u64, WriteTxnMarkersRequest)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send {
                to: NodeId::Broker(2),
                correlation_id,
                message: Message::WriteTxnMarkersRequest(r),
            } => Some((*correlation_id, r.clone())),
            _ => None,
        })
        .collect()
}

fn marker_answer(b: &mut Broker, now: u64, id: u64, pid: i64, error: ErrorCode) -> Vec<Output> {
    let resp = WriteTxnMarkersResponse {
        markers: vec![(pid, vec![(data(), error)])],
    };
    b.handle_message(
        now,
        NodeId::Broker(2),
        id,
        Message::WriteTxnMarkersResponse(resp),
    )
}

#[test]
fn markers_to_another_leader_are_retried_until_written_then_the_transaction_completes() {
    let mut b = coordinator(Fixes::default(), Disk::default());
    remote_leader(&mut b);
    let pid = init(&mut b, 1).producer_id;
    add_partition(&mut b, 2, pid, 0);
    let sent = marker_requests(&end_txn_outputs(&mut b, 3, pid, true));
    assert_eq!(sent.len(), 1);
    let marker = &sent[0].1.markers[0];
    assert_eq!(
        (
            marker.producer_id,
            marker.transaction_result,
            marker.coordinator_epoch,
            &marker.partitions
        ),
        (pid, true, 1, &vec![data()])
    );
    // The leader has no ISR to spare: the marker is retried after the backoff.
    assert!(marker_requests(&marker_answer(
        &mut b,
        4,
        sent[0].0,
        pid,
        ErrorCode::NOT_ENOUGH_REPLICAS
    ))
    .is_empty());
    assert_eq!(txn_state(&b), (0, TxnState::PrepareCommit));
    let retry = marker_requests(&b.on_timeout(200));
    assert_eq!(retry.len(), 1, "sent again after the backoff");
    // The connection breaks before the answer: sent once more.
    b.on_disconnect(201, NodeId::Broker(2));
    let again = marker_requests(&b.on_timeout(400));
    assert_eq!(again.len(), 1);
    marker_answer(&mut b, 401, again[0].0, pid, ErrorCode::NONE);
    assert_eq!(txn_state(&b), (0, TxnState::CompleteCommit));
}

#[test]
fn a_fenced_marker_stops_a_deposed_coordinator_short_of_completing() {
    let mut b = coordinator(Fixes::default(), Disk::default());
    remote_leader(&mut b);
    let pid = init(&mut b, 1).producer_id;
    add_partition(&mut b, 2, pid, 0);
    let sent = marker_requests(&end_txn_outputs(&mut b, 3, pid, false));
    assert_eq!(sent.len(), 1);
    marker_answer(
        &mut b,
        5,
        sent[0].0,
        pid,
        ErrorCode::TRANSACTION_COORDINATOR_FENCED,
    );
    assert!(
        marker_requests(&b.on_timeout(1_000)).is_empty(),
        "not sent again"
    );
    assert_eq!(
        txn_state(&b),
        (0, TxnState::PrepareAbort),
        "never completed by this coordinator"
    );
}

/// Everything an EndTxn makes the coordinator do (the answer and the markers it sends).
fn end_txn_outputs(b: &mut Broker, now: u64, pid: i64, committed: bool) -> Vec<Output> {
    let req = EndTxnRequest {
        transactional_id: "app".into(),
        producer_id: pid,
        producer_epoch: 0,
        committed,
    };
    b.handle_message(now, CLIENT, 4, Message::EndTxnRequest(req))
}

#[test]
fn a_coordinator_that_reloads_a_prepared_transaction_writes_its_markers() {
    let mut b = coordinator(Fixes::default(), Disk::default());
    remote_leader(&mut b);
    let pid = init(&mut b, 1).producer_id;
    add_partition(&mut b, 2, pid, 0);
    end(&mut b, 3, pid, 0, true);
    // The coordinator restarts before any marker is answered.
    let disk = b.into_disk();
    let mut b = registered(Fixes::default(), disk);
    remote_leader(&mut b);
    let out = set_leaders_of_txn_log(&mut b, 3);
    assert_eq!(txn_state(&b), (0, TxnState::PrepareCommit));
    let sent = marker_requests(&out);
    assert_eq!(
        sent.len(),
        1,
        "the reloaded prepared transaction's marker is sent"
    );
    assert_eq!(sent[0].1.markers[0].coordinator_epoch, 3);
    marker_answer(&mut b, 11, sent[0].0, pid, ErrorCode::NONE);
    assert_eq!(txn_state(&b), (0, TxnState::CompleteCommit));
}

fn set_leaders_of_txn_log(b: &mut Broker, leader_epoch: i32) -> Vec<Output> {
    let req = LeaderAndIsrRequest {
        controller_epoch: 1,
        broker_epoch: 7,
        partition_states: vec![lead(txn_log(), ME, leader_epoch)],
    };
    b.handle_message(0, NodeId::Controller, 6, Message::LeaderAndIsrRequest(req))
}

#[test]
fn a_transaction_log_append_the_isr_never_takes_times_out_as_coordinator_not_available() {
    let mut b = registered(Fixes::default(), Disk::default());
    // The transaction log has a follower that never fetches: the HW cannot pass the coordinator's record.
    let state = LeaderAndIsrPartitionState {
        isr: vec![ME, 2],
        replicas: vec![ME, 2],
        ..lead(txn_log(), ME, 1)
    };
    let req = LeaderAndIsrRequest {
        controller_epoch: 1,
        broker_epoch: 7,
        partition_states: vec![state],
    };
    b.handle_message(0, NodeId::Controller, 2, Message::LeaderAndIsrRequest(req));
    let req = InitProducerIdRequest {
        transactional_id: Some("app".into()),
        transaction_timeout_ms: 60_000,
        producer_id: NO_PRODUCER_ID,
        producer_epoch: NO_PRODUCER_EPOCH,
    };
    let out = b.handle_message(1, CLIENT, 1, Message::InitProducerIdRequest(req.clone()));
    assert!(
        out.iter()
            .all(|o| !matches!(o, Output::Send { to, .. } if *to == CLIENT)),
        "no answer while the record waits for the ISR"
    );
    assert!(
        b.next_timeout().unwrap() <= 1 + super::REQUEST_TIMEOUT_MS,
        "the append's deadline wakes the broker"
    );
    match answer(b.on_timeout(1 + super::REQUEST_TIMEOUT_MS)) {
        Message::InitProducerIdResponse(r) => {
            assert_eq!(r.error, ErrorCode::COORDINATOR_NOT_AVAILABLE)
        }
        other => panic!("{other:?}"),
    }
    // The change was dropped: the id is free to change again, not stuck on CONCURRENT_TRANSACTIONS.
    let out = b.handle_message(40_000, CLIENT, 1, Message::InitProducerIdRequest(req));
    assert!(out
        .iter()
        .all(|o| !matches!(o, Output::Send { to, .. } if *to == CLIENT)));
    assert!(b.txn_coordinators[&0]
        .txns
        .get("app")
        .unwrap()
        .pending
        .is_some());
}
