//! CreatePartitions at the controller: topics grow with placed, led partitions; shrinking, standing still,
//! unknown topics and impossible assignments are refused with Kafka's errors.

use super::*;
use crate::config::TopicConfig;

fn topic() -> TopicConfig {
    TopicConfig {
        name: "t".into(),
        partitions: 2,
        replication_factor: 2,
        min_insync_replicas: 1,
        unclean_leader_election_enable: false,
        log: crate::config::LogConfig::default(),
    }
}

/// A controller over brokers 1..=3, all registered, with topic `t` of 2 partitions of 2 replicas.
fn controller() -> Controller {
    let mut state = ControllerState::create(3, &[topic()]);
    for b in 1..=3 {
        state.register(b, 1);
    }
    Controller::start(state, BrokerConfig::default(), vec![topic()], 0).0
}

fn grow(name: &str, count: i32, assignments: Option<Vec<Vec<BrokerId>>>) -> CreatePartitionsTopic {
    CreatePartitionsTopic {
        name: name.into(),
        count,
        assignments,
    }
}

/// Sends a CreatePartitions from an admin client; returns the per-topic errors and everything else sent.
fn create(
    c: &mut Controller,
    topics: Vec<CreatePartitionsTopic>,
    validate_only: bool,
) -> (Vec<(String, ErrorCode)>, Vec<Output>) {
    let req = CreatePartitionsRequest {
        topics,
        timeout_ms: 30_000,
        validate_only,
    };
    let out = c.handle_message(
        1_000,
        NodeId::Client(250),
        7,
        Message::CreatePartitionsRequest(req),
    );
    let answer = out.iter().find_map(|o| match o {
        Output::Send {
            to: NodeId::Client(250),
            correlation_id: 7,
            message: Message::CreatePartitionsResponse(resp),
        } => Some(resp.clone()),
        _ => None,
    });
    let results = answer
        .expect("an answer to the admin client")
        .results
        .into_iter()
        .map(|r| (r.name, r.error))
        .collect();
    (results, out)
}

fn partitions_of(c: &Controller, topic: &str) -> Vec<(i32, Vec<BrokerId>)> {
    c.state()
        .topic_partitions(topic)
        .map(|(tp, p)| (tp.partition, p.replicas.clone()))
        .collect()
}

/// The partitions each broker was sent LeaderAndIsr for.
fn leader_and_isr(out: &[Output]) -> Vec<(NodeId, Vec<i32>)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send {
                to,
                message: Message::LeaderAndIsrRequest(req),
                ..
            } => Some((
                *to,
                req.partition_states
                    .iter()
                    .map(|s| s.topic_partition.partition)
                    .collect(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn a_topic_grows_with_new_partitions_placed_led_and_pushed_to_their_replicas() {
    let mut c = controller();
    let (results, out) = create(&mut c, vec![grow("t", 4, None)], false);
    assert_eq!(results, vec![("t".to_string(), ErrorCode::NONE)]);
    // The round-robin goes on where partition 1 left it: partition 2 starts on broker 3, partition 3 on 1.
    assert_eq!(
        partitions_of(&c, "t"),
        vec![
            (0, vec![1, 2]),
            (1, vec![2, 3]),
            (2, vec![3, 1]),
            (3, vec![1, 2])
        ]
    );
    let p2 = &c.state().partitions[&TopicPartition::new("t", 2)];
    assert_eq!(
        (
            p2.leader,
            p2.leader_epoch,
            p2.partition_epoch,
            p2.isr.clone()
        ),
        (3, 0, 0, vec![3, 1])
    );
    assert_eq!(
        leader_and_isr(&out),
        vec![
            (NodeId::Broker(1), vec![2, 3]),
            (NodeId::Broker(2), vec![3]),
            (NodeId::Broker(3), vec![2])
        ]
    );
    let metadata_to: Vec<NodeId> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                to,
                message: Message::UpdateMetadataRequest(req),
                ..
            } => {
                assert_eq!(
                    req.partitions.len(),
                    4,
                    "every partition of t, the new ones too"
                );
                Some(*to)
            }
            _ => None,
        })
        .collect();
    assert_eq!(metadata_to.len(), 3);
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Observe(Observation::PartitionsCreated {
            previous_count: 2,
            count: 4,
            ..
        })
    )));
}

#[test]
fn an_equal_or_smaller_count_is_invalid_partitions_and_changes_nothing() {
    let mut c = controller();
    for count in [2, 1] {
        let (results, out) = create(&mut c, vec![grow("t", count, None)], false);
        assert_eq!(
            results,
            vec![("t".to_string(), ErrorCode::INVALID_PARTITIONS)]
        );
        assert_eq!(out.len(), 1, "only the answer: {out:?}");
    }
    assert_eq!(partitions_of(&c, "t").len(), 2);
}

#[test]
fn an_unknown_topic_is_unknown_topic_or_partition_and_the_others_still_grow() {
    let mut c = controller();
    let (results, _) = create(
        &mut c,
        vec![grow("nope", 3, None), grow("t", 3, None)],
        false,
    );
    assert_eq!(
        results,
        vec![
            ("nope".to_string(), ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
            ("t".to_string(), ErrorCode::NONE)
        ]
    );
    assert_eq!(partitions_of(&c, "t").len(), 3);
}

#[test]
fn validate_only_answers_as_if_applied_and_changes_nothing() {
    let mut c = controller();
    let (results, out) = create(&mut c, vec![grow("t", 5, None)], true);
    assert_eq!(results, vec![("t".to_string(), ErrorCode::NONE)]);
    assert_eq!(out.len(), 1);
    assert_eq!(partitions_of(&c, "t").len(), 2);
}

#[test]
fn a_topic_named_twice_is_an_invalid_request() {
    let mut c = controller();
    let (results, _) = create(&mut c, vec![grow("t", 3, None), grow("t", 4, None)], false);
    assert!(results
        .iter()
        .all(|(_, e)| *e == ErrorCode::INVALID_REQUEST));
    assert_eq!(partitions_of(&c, "t").len(), 2);
}

#[test]
fn too_few_usable_brokers_for_the_replication_factor_is_invalid_replication_factor() {
    let mut c = controller();
    // Only broker 1 keeps its session: two are fenced.
    let beat = BrokerHeartbeatRequest {
        broker_id: 1,
        broker_epoch: c.state().brokers[&1].epoch,
    };
    let deadline = c.next_timeout().unwrap();
    c.handle_message(
        deadline - 1,
        NodeId::Broker(1),
        1,
        Message::BrokerHeartbeatRequest(beat),
    );
    c.on_timeout(deadline);
    let (results, _) = create(&mut c, vec![grow("t", 3, None)], false);
    assert_eq!(
        results,
        vec![("t".to_string(), ErrorCode::INVALID_REPLICATION_FACTOR)]
    );
}

#[test]
fn a_manual_assignment_is_used_when_it_fits_and_refused_when_it_does_not() {
    let mut c = controller();
    let refused = [
        vec![vec![1, 2], vec![2, 3]],
        vec![vec![1, 9]],
        vec![vec![1, 1]],
        vec![vec![1, 2, 3]],
        vec![vec![]],
    ];
    for assignment in refused {
        let (results, _) = create(&mut c, vec![grow("t", 3, Some(assignment.clone()))], false);
        assert_eq!(
            results,
            vec![("t".to_string(), ErrorCode::INVALID_REPLICA_ASSIGNMENT)],
            "{assignment:?}"
        );
    }
    let (results, _) = create(&mut c, vec![grow("t", 3, Some(vec![vec![2, 1]]))], false);
    assert_eq!(results, vec![("t".to_string(), ErrorCode::NONE)]);
    let p2 = &c.state().partitions[&TopicPartition::new("t", 2)];
    assert_eq!((p2.replicas.clone(), p2.leader), (vec![2, 1], 2));
}

#[test]
fn new_partitions_survive_a_controller_failover() {
    let mut c = controller();
    create(&mut c, vec![grow("t", 3, None)], false);
    let state = c.into_state();
    let (c, out) = Controller::start(state, BrokerConfig::default(), vec![topic()], 2_000);
    assert_eq!(partitions_of(&c, "t").len(), 3);
    assert!(leader_and_isr(&out).iter().any(|(_, ps)| ps.contains(&2)));
}
