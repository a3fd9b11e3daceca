//! The group coordinator a broker hosts, driven message by message: one broker leads the group's
//! `__consumer_offsets` partition, so every append commits at once; then it restarts and loads the group again.

use super::tests::register;
use super::*;
use crate::error::ErrorCode;
use crate::internal_topics::CONSUMER_OFFSETS_TOPIC;
use crate::protocol::*;
use crate::storage::Disk;

pub(super) const ME: BrokerId = 1;
pub(super) const CLIENT: NodeId = NodeId::Client(7);

pub(super) fn offsets_log() -> TopicPartition {
    TopicPartition::new(CONSUMER_OFFSETS_TOPIC, 0)
}

pub(super) fn data() -> TopicPartition {
    TopicPartition::new("t", 0)
}

/// A registered broker leading `__consumer_offsets`-0 at `leader_epoch` (or following broker 2), with metadata.
pub(super) fn broker(disk: Disk, leader: BrokerId, leader_epoch: i32) -> Broker {
    let config = BrokerConfig {
        offsets_topic_num_partitions: 1,
        ..BrokerConfig::default()
    };
    let topic = TopicConfig {
        name: CONSUMER_OFFSETS_TOPIC.into(),
        partitions: 1,
        replication_factor: 1,
        min_insync_replicas: 1,
        unclean_leader_election_enable: false,
        log: LogConfig::compacted(),
    };
    let (mut b, _) = Broker::start(ME, config, vec![topic], disk, 1, 0);
    register(&mut b);
    lead(&mut b, leader, leader_epoch);
    b
}

pub(super) fn lead(b: &mut Broker, leader: BrokerId, leader_epoch: i32) {
    let state = LeaderAndIsrPartitionState {
        topic_partition: offsets_log(),
        leader,
        leader_epoch,
        isr: vec![leader],
        partition_epoch: leader_epoch,
        replicas: vec![ME, 2],
    };
    let update = UpdateMetadataRequest {
        controller_epoch: 1,
        live_brokers: vec![ME, 2],
        partitions: vec![PartitionMetadata {
            topic_partition: offsets_log(),
            error: ErrorCode::NONE,
            leader,
            leader_epoch,
            replicas: vec![ME, 2],
            isr: vec![leader],
        }],
    };
    let req = LeaderAndIsrRequest {
        controller_epoch: 1,
        broker_epoch: 7,
        partition_states: vec![state],
    };
    b.handle_message(0, NodeId::Controller, 2, Message::LeaderAndIsrRequest(req));
    b.handle_message(
        0,
        NodeId::Controller,
        3,
        Message::UpdateMetadataRequest(update),
    );
}

/// The answers to the client in `out`.
pub(super) fn answers(out: Vec<Output>) -> Vec<Message> {
    out.into_iter()
        .filter_map(|o| match o {
            Output::Send { to, message, .. } if to == CLIENT => Some(message),
            _ => None,
        })
        .collect()
}

fn join(b: &mut Broker, now: u64, member_id: &str) -> Vec<Message> {
    let req = JoinGroupRequest {
        group_id: "g".into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 30_000,
        member_id: member_id.into(),
        protocol_type: "consumer".into(),
        protocols: vec![JoinGroupProtocol {
            name: "range".into(),
            metadata: Subscription {
                topics: vec!["t".into()],
                owned_partitions: Vec::new(),
                generation_id: -1,
            },
        }],
    };
    answers(b.handle_message(now, CLIENT, 1, Message::JoinGroupRequest(req)))
}

fn heartbeat(b: &mut Broker, now: u64, member_id: &str, generation_id: i32) -> ErrorCode {
    let req = HeartbeatRequest {
        group_id: "g".into(),
        generation_id,
        member_id: member_id.into(),
    };
    match &answers(b.handle_message(now, CLIENT, 4, Message::HeartbeatRequest(req)))[..] {
        [Message::HeartbeatResponse(r)] => r.error,
        other => panic!("{other:?}"),
    }
}

fn fetch_offset(b: &mut Broker, now: u64) -> Offset {
    let req = OffsetFetchRequest {
        group_id: "g".into(),
        partitions: Some(vec![data()]),
        require_stable: true,
    };
    match &answers(b.handle_message(now, CLIENT, 6, Message::OffsetFetchRequest(req)))[..] {
        [Message::OffsetFetchResponse(r)] => r.offsets[0].1,
        other => panic!("{other:?}"),
    }
}

/// A one-member group, Stable at generation 1 with t-0, and offset 42 committed; returns the member id.
pub(super) fn stable_member_with_offset(b: &mut Broker) -> String {
    let req = FindCoordinatorRequest {
        key: "g".into(),
        key_type: CoordinatorType::Group,
    };
    match &answers(b.handle_message(0, CLIENT, 9, Message::FindCoordinatorRequest(req)))[..] {
        [Message::FindCoordinatorResponse(r)] => {
            assert_eq!((r.error, r.node_id), (ErrorCode::NONE, ME))
        }
        other => panic!("{other:?}"),
    }
    let member = match &join(b, 1, UNKNOWN_MEMBER_ID)[..] {
        [Message::JoinGroupResponse(r)] if r.error == ErrorCode::MEMBER_ID_REQUIRED => {
            r.member_id.clone()
        }
        other => panic!("{other:?}"),
    };
    assert!(
        join(b, 2, &member).is_empty(),
        "waits for group.initial.rebalance.delay.ms"
    );
    match &answers(b.on_timeout(3_002))[..] {
        [Message::JoinGroupResponse(r)] => assert_eq!((r.generation_id, &r.leader), (1, &member)),
        other => panic!("{other:?}"),
    }
    let sync = SyncGroupRequest {
        group_id: "g".into(),
        generation_id: 1,
        member_id: member.clone(),
        assignments: vec![(
            member.clone(),
            Assignment {
                partitions: vec![data()],
            },
        )],
    };
    match &answers(b.handle_message(3_003, CLIENT, 3, Message::SyncGroupRequest(sync)))[..] {
        [Message::SyncGroupResponse(r)] => assert_eq!(
            (r.error, &r.assignment.partitions),
            (ErrorCode::NONE, &vec![data()])
        ),
        other => panic!("{other:?}"),
    }
    let commit = OffsetCommitRequest {
        group_id: "g".into(),
        generation_id: 1,
        member_id: member.clone(),
        offsets: vec![(data(), 42)],
    };
    match &answers(b.handle_message(3_004, CLIENT, 5, Message::OffsetCommitRequest(commit)))[..] {
        [Message::OffsetCommitResponse(r)] => {
            assert_eq!(r.results, vec![(data(), ErrorCode::NONE)])
        }
        other => panic!("{other:?}"),
    }
    member
}

#[test]
fn a_group_joins_syncs_and_commits_through_the_leader_of_its_offsets_partition() {
    let mut b = broker(Disk::default(), ME, 1);
    let member = stable_member_with_offset(&mut b);
    assert_eq!(fetch_offset(&mut b, 3_005), 42);
    assert_eq!(heartbeat(&mut b, 3_006, &member, 1), ErrorCode::NONE);
    // The assignment and the offset are records of the partition's log.
    let records = b.partitions[&offsets_log()].log.file.offset_values().len();
    assert!(records >= 2, "group metadata and offset records: {records}");
}

#[test]
fn a_new_leader_of_the_offsets_partition_loads_the_group_and_an_old_one_answers_not_coordinator() {
    let mut b = broker(Disk::default(), ME, 1);
    let member = stable_member_with_offset(&mut b);
    lead(&mut b, 2, 2);
    assert_eq!(
        heartbeat(&mut b, 3_010, &member, 1),
        ErrorCode::NOT_COORDINATOR
    );
    let disk = b.into_disk();
    let mut b = broker(disk, ME, 3);
    assert_eq!(
        fetch_offset(&mut b, 4_000),
        42,
        "offsets reloaded from the log"
    );
    assert_eq!(
        heartbeat(&mut b, 4_001, &member, 1),
        ErrorCode::NONE,
        "the member is known again"
    );
    // Without heartbeats the loaded member expires after its session and the group empties.
    b.on_timeout(4_001 + 10_000);
    assert_eq!(
        heartbeat(&mut b, 14_002, &member, 1),
        ErrorCode::UNKNOWN_MEMBER_ID
    );
}
