//! Transactional offset commits through the broker leading the group's `__consumer_offsets` partition: hidden (and
//! UNSTABLE_OFFSET_COMMIT) until the producer's COMMIT marker is written there, dropped by an ABORT, reloaded the
//! same by a new leader, refused from an old generation or an old producer epoch; and a whole transaction whose
//! coordinator is on the same broker, so its markers are appended locally.

use super::group_tests::{
    answers, broker, data, lead, offsets_log, stable_member_with_offset, CLIENT, ME,
};
use super::tests::register;
use super::*;
use crate::error::ErrorCode;
use crate::internal_topics::{CONSUMER_OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC};
use crate::protocol::*;
use crate::storage::Disk;

/// The transaction coordinator elsewhere that sends this broker its markers.
const TXN_COORDINATOR: NodeId = NodeId::Broker(2);

fn txn_offset_commit(
    b: &mut Broker,
    now: u64,
    (producer_id, producer_epoch): (i64, i16),
    member: &str,
    generation_id: i32,
    offset: Offset,
) -> ErrorCode {
    let req = TxnOffsetCommitRequest {
        transactional_id: format!("tx-{producer_id}"),
        group_id: "g".into(),
        producer_id,
        producer_epoch,
        generation_id,
        member_id: member.into(),
        group_instance_id: None,
        offsets: vec![(data(), offset)],
    };
    match &answers(b.handle_message(now, CLIENT, 8, Message::TxnOffsetCommitRequest(req)))[..] {
        [Message::TxnOffsetCommitResponse(r)] => {
            assert_eq!(r.results.len(), 1);
            r.results[0].1
        }
        other => panic!("{other:?}"),
    }
}

/// What OffsetFetch answers for t-0: (offset, error), requiring stable offsets or not.
fn fetch(b: &mut Broker, now: u64, require_stable: bool) -> (Offset, ErrorCode) {
    let req = OffsetFetchRequest {
        group_id: "g".into(),
        partitions: Some(vec![data()]),
        require_stable,
    };
    match &answers(b.handle_message(now, CLIENT, 6, Message::OffsetFetchRequest(req)))[..] {
        [Message::OffsetFetchResponse(r)] => (r.offsets[0].1, r.offsets[0].2),
        other => panic!("{other:?}"),
    }
}

/// The transaction coordinator's marker for `producer_id` in the offsets partition; its answer's error.
fn write_marker(b: &mut Broker, now: u64, producer_id: i64, committed: bool) -> ErrorCode {
    let req = WriteTxnMarkersRequest {
        markers: vec![WritableTxnMarker {
            producer_id,
            producer_epoch: 0,
            transaction_result: committed,
            partitions: vec![offsets_log()],
            coordinator_epoch: 1,
        }],
    };
    let out = b.handle_message(
        now,
        TXN_COORDINATOR,
        77,
        Message::WriteTxnMarkersRequest(req),
    );
    let answer = out.into_iter().find_map(|o| match o {
        Output::Send {
            to,
            message: Message::WriteTxnMarkersResponse(r),
            ..
        } if to == TXN_COORDINATOR => Some(r),
        _ => None,
    });
    match answer
        .expect("the marker is answered at once: one replica")
        .markers[..]
    {
        [(pid, ref results)] if pid == producer_id => results[0].1,
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn txn_offsets_are_unstable_until_the_commit_marker_and_an_abort_discards_them() {
    let mut b = broker(Disk::default(), ME, 1);
    let member = stable_member_with_offset(&mut b);
    assert_eq!(
        txn_offset_commit(&mut b, 4_000, (100, 0), &member, 1, 50),
        ErrorCode::NONE
    );
    assert_eq!(
        fetch(&mut b, 4_001, true),
        (-1, ErrorCode::UNSTABLE_OFFSET_COMMIT)
    );
    assert_eq!(
        fetch(&mut b, 4_001, false),
        (42, ErrorCode::NONE),
        "invisible before the marker"
    );
    // The offsets are the producer's transactional batch, holding the partition's last stable offset back.
    let log = &b.partitions[&offsets_log()].log;
    let batch = log.file.batches().last().unwrap();
    assert!(batch.attributes.transactional);
    assert_eq!(batch.producer.map(|p| p.producer_id), Some(100));
    assert_eq!(write_marker(&mut b, 4_002, 100, true), ErrorCode::NONE);
    assert_eq!(fetch(&mut b, 4_003, true), (50, ErrorCode::NONE));
    // An aborted transaction's offsets are discarded.
    assert_eq!(
        txn_offset_commit(&mut b, 4_004, (101, 0), &member, 1, 60),
        ErrorCode::NONE
    );
    assert_eq!(write_marker(&mut b, 4_005, 101, false), ErrorCode::NONE);
    assert_eq!(fetch(&mut b, 4_006, true), (50, ErrorCode::NONE));
}

#[test]
fn an_old_generation_or_an_old_producer_epoch_is_refused() {
    let mut b = broker(Disk::default(), ME, 1);
    let member = stable_member_with_offset(&mut b);
    assert_eq!(
        txn_offset_commit(&mut b, 4_000, (100, 0), &member, 0, 50),
        ErrorCode::ILLEGAL_GENERATION
    );
    assert_eq!(
        txn_offset_commit(&mut b, 4_001, (100, 0), "someone-else", 1, 50),
        ErrorCode::UNKNOWN_MEMBER_ID
    );
    // Once epoch 1 of producer 100 wrote here, its epoch 0 is a zombie.
    assert_eq!(
        txn_offset_commit(&mut b, 4_002, (100, 1), &member, 1, 50),
        ErrorCode::NONE
    );
    assert_eq!(
        txn_offset_commit(&mut b, 4_003, (100, 0), &member, 1, 51),
        ErrorCode::INVALID_PRODUCER_EPOCH
    );
    // As in Kafka (before KIP-890 verified TxnOffsetCommit with the transaction coordinator), the refused append
    // drops the pending offset of that producer id and partition, epoch 1's included (`failPendingTxnOffsetCommit`
    // knows no epochs): the cache forgets it, though the log keeps it for the next load.
    assert_eq!(fetch(&mut b, 4_004, true), (42, ErrorCode::NONE));
}

#[test]
fn a_new_leader_of_the_offsets_partition_reloads_committed_txn_offsets_and_drops_aborted_ones() {
    let mut b = broker(Disk::default(), ME, 1);
    let member = stable_member_with_offset(&mut b);
    txn_offset_commit(&mut b, 4_000, (100, 0), &member, 1, 50);
    write_marker(&mut b, 4_001, 100, true);
    txn_offset_commit(&mut b, 4_002, (101, 0), &member, 1, 60);
    write_marker(&mut b, 4_003, 101, false);
    // Producer 102's transaction is still open when leadership moves.
    txn_offset_commit(&mut b, 4_004, (102, 0), &member, 1, 70);
    lead(&mut b, 2, 2);
    assert_eq!(
        txn_offset_commit(&mut b, 4_005, (103, 0), &member, 1, 80),
        ErrorCode::NOT_COORDINATOR
    );
    let mut b = broker(b.into_disk(), ME, 3);
    assert_eq!(
        fetch(&mut b, 5_000, false),
        (50, ErrorCode::NONE),
        "the committed transaction's offset, not the aborted one's"
    );
    assert_eq!(
        fetch(&mut b, 5_000, true),
        (-1, ErrorCode::UNSTABLE_OFFSET_COMMIT),
        "producer 102's offset is pending again"
    );
    assert_eq!(write_marker(&mut b, 5_001, 102, false), ErrorCode::NONE);
    assert_eq!(fetch(&mut b, 5_002, true), (50, ErrorCode::NONE));
}

/// A broker leading `__consumer_offsets`-0 and `__transaction_state`-0: group and transaction coordinator both.
fn both_coordinators() -> Broker {
    let config = BrokerConfig {
        offsets_topic_num_partitions: 1,
        transaction_state_log_num_partitions: 1,
        ..BrokerConfig::default()
    };
    let topic = |name: &str| TopicConfig {
        name: name.into(),
        partitions: 1,
        replication_factor: 1,
        min_insync_replicas: 1,
        unclean_leader_election_enable: false,
        log: crate::config::LogConfig::default(),
    };
    let topics = vec![
        topic(CONSUMER_OFFSETS_TOPIC),
        topic(TRANSACTION_STATE_TOPIC),
    ];
    let (mut b, _) = Broker::start(ME, config, topics, Disk::default(), 1, 0);
    register(&mut b);
    let tps = [
        offsets_log(),
        TopicPartition::new(TRANSACTION_STATE_TOPIC, 0),
    ];
    let req = LeaderAndIsrRequest {
        controller_epoch: 1,
        broker_epoch: 7,
        partition_states: tps
            .iter()
            .map(|tp| LeaderAndIsrPartitionState {
                topic_partition: tp.clone(),
                leader: ME,
                leader_epoch: 1,
                isr: vec![ME],
                partition_epoch: 1,
                replicas: vec![ME],
            })
            .collect(),
    };
    b.handle_message(0, NodeId::Controller, 2, Message::LeaderAndIsrRequest(req));
    let update = UpdateMetadataRequest {
        controller_epoch: 1,
        live_brokers: vec![ME],
        partitions: tps
            .iter()
            .map(|tp| PartitionMetadata {
                topic_partition: tp.clone(),
                error: ErrorCode::NONE,
                leader: ME,
                leader_epoch: 1,
                replicas: vec![ME],
                isr: vec![ME],
            })
            .collect(),
    };
    b.handle_message(
        0,
        NodeId::Controller,
        3,
        Message::UpdateMetadataRequest(update),
    );
    b
}

/// The one answer to the client in `out`.
fn answer(out: Vec<Output>) -> Message {
    let mut all = answers(out);
    assert_eq!(all.len(), 1, "one answer: {all:?}");
    all.pop().unwrap()
}

#[test]
fn a_transaction_that_sends_offsets_commits_them_through_markers_written_on_the_same_broker() {
    let mut b = both_coordinators();
    let init = InitProducerIdRequest {
        transactional_id: Some("app".into()),
        transaction_timeout_ms: 60_000,
        producer_id: NO_PRODUCER_ID,
        producer_epoch: NO_PRODUCER_EPOCH,
    };
    let (pid, epoch) =
        match answer(b.handle_message(1, CLIENT, 1, Message::InitProducerIdRequest(init))) {
            Message::InitProducerIdResponse(r) if r.error == ErrorCode::NONE => {
                (r.producer_id, r.producer_epoch)
            }
            other => panic!("{other:?}"),
        };
    let add = AddOffsetsToTxnRequest {
        transactional_id: "app".into(),
        producer_id: pid,
        producer_epoch: epoch,
        group_id: "g".into(),
    };
    match answer(b.handle_message(2, CLIENT, 2, Message::AddOffsetsToTxnRequest(add))) {
        Message::AddOffsetsToTxnResponse(r) => assert_eq!(r.error, ErrorCode::NONE),
        other => panic!("{other:?}"),
    }
    // A producer outside group management (no member, no generation) writing for an unknown group.
    assert_eq!(
        txn_offset_commit(&mut b, 3, (pid, epoch), UNKNOWN_MEMBER_ID, -1, 9),
        ErrorCode::NONE
    );
    assert_eq!(
        fetch(&mut b, 4, true),
        (-1, ErrorCode::UNSTABLE_OFFSET_COMMIT)
    );
    let end = EndTxnRequest {
        transactional_id: "app".into(),
        producer_id: pid,
        producer_epoch: epoch,
        committed: true,
    };
    match answer(b.handle_message(5, CLIENT, 4, Message::EndTxnRequest(end))) {
        Message::EndTxnResponse(r) => assert_eq!(r.error, ErrorCode::NONE),
        other => panic!("{other:?}"),
    }
    // The marker goes to the offsets partition, led here, and is written within the next steps.
    for now in 6..10 {
        b.on_timeout(now);
    }
    let markers = b.partitions[&offsets_log()]
        .log
        .file
        .batches()
        .iter()
        .filter(|batch| batch.is_control())
        .count();
    assert_eq!(markers, 1);
    assert_eq!(fetch(&mut b, 10, true), (9, ErrorCode::NONE));
}
