//! A broker as a topic grows: it hosts a new partition the controller assigns it, reports every partition of the
//! topic in Metadata (so producers and subscribers see the growth), and sends CreatePartitions to the controller.

use super::tests::register;
use super::*;
use crate::error::ErrorCode;
use crate::protocol::*;
use crate::storage::Disk;

fn topic() -> TopicConfig {
    TopicConfig {
        name: "t".into(),
        partitions: 1,
        replication_factor: 2,
        min_insync_replicas: 1,
        unclean_leader_election_enable: false,
        log: crate::config::LogConfig::default(),
    }
}

fn metadata(partition: i32, leader: BrokerId) -> PartitionMetadata {
    PartitionMetadata {
        topic_partition: TopicPartition::new("t", partition),
        error: ErrorCode::NONE,
        leader,
        leader_epoch: 0,
        replicas: vec![leader, 3 - leader],
        isr: vec![leader, 3 - leader],
    }
}

fn update_metadata(b: &mut Broker, partitions: Vec<PartitionMetadata>) {
    let req = UpdateMetadataRequest {
        controller_epoch: 1,
        live_brokers: vec![1, 2],
        partitions,
    };
    b.handle_message(
        0,
        NodeId::Controller,
        2,
        Message::UpdateMetadataRequest(req),
    );
}

fn metadata_partitions(b: &mut Broker) -> Vec<i32> {
    let req = MetadataRequest {
        topics: Some(vec!["t".into()]),
    };
    let out = b.handle_message(0, NodeId::Client(1), 3, Message::MetadataRequest(req));
    match &out[..] {
        [Output::Send {
            message: Message::MetadataResponse(resp),
            ..
        }] => resp
            .partitions
            .iter()
            .map(|p| p.topic_partition.partition)
            .collect(),
        other => panic!("{other:?}"),
    }
}

fn started() -> Broker {
    let (mut b, _) = Broker::start(
        1,
        BrokerConfig::default(),
        vec![topic()],
        Disk::default(),
        1,
        0,
    );
    register(&mut b);
    b
}

#[test]
fn metadata_reports_partitions_added_after_the_first_update() {
    let mut b = started();
    update_metadata(&mut b, vec![metadata(0, 1)]);
    assert_eq!(metadata_partitions(&mut b), vec![0]);
    update_metadata(&mut b, vec![metadata(0, 1), metadata(1, 2), metadata(2, 1)]);
    assert_eq!(metadata_partitions(&mut b), vec![0, 1, 2]);
}

#[test]
fn a_new_partition_in_leader_and_isr_is_hosted_and_led_from_an_empty_log() {
    let mut b = started();
    let state = LeaderAndIsrPartitionState {
        topic_partition: TopicPartition::new("t", 1),
        leader: 1,
        leader_epoch: 0,
        isr: vec![1, 2],
        partition_epoch: 0,
        replicas: vec![1, 2],
    };
    let req = LeaderAndIsrRequest {
        controller_epoch: 1,
        broker_epoch: 7,
        partition_states: vec![state],
    };
    b.handle_message(0, NodeId::Controller, 4, Message::LeaderAndIsrRequest(req));
    let p = &b.partitions[&TopicPartition::new("t", 1)];
    assert!(p.is_leader());
    assert_eq!((p.leader_epoch, p.log_end_offset()), (0, 0));
}

#[test]
fn create_partitions_sent_to_a_broker_is_not_controller() {
    let mut b = started();
    let req = CreatePartitionsRequest {
        topics: vec![CreatePartitionsTopic {
            name: "t".into(),
            count: 2,
            assignments: None,
        }],
        timeout_ms: 1_000,
        validate_only: false,
    };
    let out = b.handle_message(
        0,
        NodeId::Client(9),
        5,
        Message::CreatePartitionsRequest(req),
    );
    let errors: Vec<ErrorCode> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                to: NodeId::Client(9),
                message: Message::CreatePartitionsResponse(resp),
                ..
            } => Some(resp.results[0].error),
            _ => None,
        })
        .collect();
    assert_eq!(errors, vec![ErrorCode::NOT_CONTROLLER]);
    assert!(!b.partitions.contains_key(&TopicPartition::new("t", 1)));
}
