//! The admin client's grow call driven message by message: describe, create, and the retries in between.

use super::*;
use crate::ids::TopicPartition;
use crate::protocol::{CreatePartitionsTopicResult, PartitionMetadata};

fn metadata(partitions: i32) -> Message {
    let partitions = (0..partitions)
        .map(|p| PartitionMetadata {
            topic_partition: TopicPartition::new("t", p),
            error: ErrorCode::NONE,
            leader: 1,
            leader_epoch: 0,
            replicas: vec![1],
            isr: vec![1],
        })
        .collect();
    Message::MetadataResponse(MetadataResponse {
        brokers: vec![1, 2],
        partitions,
    })
}

fn answer(error: ErrorCode) -> Message {
    Message::CreatePartitionsResponse(CreatePartitionsResponse {
        results: vec![CreatePartitionsTopicResult {
            name: "t".into(),
            error,
            error_message: None,
        }],
    })
}

/// The one request in `out`: where it goes, its correlation id and the message.
fn sent(out: &[Output]) -> (NodeId, u64, &Message) {
    let sends: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                to,
                correlation_id,
                message,
            } => Some((*to, *correlation_id, message)),
            _ => None,
        })
        .collect();
    assert_eq!(sends.len(), 1, "{out:?}");
    sends[0]
}

/// A call that described 2 partitions and has its CreatePartitions in flight at time 10.
fn creating() -> (AdminClient, u64, u64) {
    let mut a = AdminClient::new(vec![1, 2]);
    let (id, out) = a.grow_topic(0, "t", 3, 60_000);
    let (to, cid, _) = sent(&out);
    assert_eq!(to, NodeId::Broker(1));
    let out = a.handle_message(10, to, cid, metadata(2));
    let (to, cid, message) = sent(&out);
    assert_eq!(to, NodeId::Controller);
    let Message::CreatePartitionsRequest(req) = message else {
        panic!("{message:?}")
    };
    assert_eq!(req.topics[0].count, 5, "2 described + 3");
    assert_eq!(
        req.timeout_ms,
        60_000 - 10,
        "what is left of the call's timeout"
    );
    (a, id, cid)
}

#[test]
fn growing_describes_the_topic_then_asks_the_controller_for_the_new_total() {
    let (mut a, id, cid) = creating();
    assert!(a.outcome(id).is_none());
    a.handle_message(20, NodeId::Controller, cid, answer(ErrorCode::NONE));
    assert_eq!(
        a.outcome(id),
        Some(&GrowOutcome::Created {
            previous_count: 2,
            count: 5
        })
    );
    assert_eq!(a.next_timeout(), None);
}

#[test]
fn not_controller_is_retried_after_the_backoff() {
    let (mut a, id, cid) = creating();
    let out = a.handle_message(
        20,
        NodeId::Controller,
        cid,
        answer(ErrorCode::NOT_CONTROLLER),
    );
    assert!(out.is_empty() && a.outcome(id).is_none());
    assert_eq!(a.next_timeout(), Some(20 + RETRY_BACKOFF_MS));
    let out = a.on_timeout(20 + RETRY_BACKOFF_MS);
    assert_eq!(sent(&out).0, NodeId::Controller);
}

#[test]
fn a_request_past_its_timeout_is_disconnected_and_retried_and_its_late_success_reads_as_invalid_partitions(
) {
    let (mut a, id, first) = creating();
    let out = a.on_timeout(10 + REQUEST_TIMEOUT_MS);
    assert!(matches!(out[..], [Output::Disconnect(NodeId::Controller)]));
    let out = a.on_timeout(10 + REQUEST_TIMEOUT_MS + RETRY_BACKOFF_MS);
    let (_, second, _) = sent(&out);
    assert_ne!(first, second);
    // The first attempt had created the partitions: the retry asks for the same total and is refused.
    a.handle_message(
        40_000,
        NodeId::Controller,
        second,
        answer(ErrorCode::INVALID_PARTITIONS),
    );
    assert!(matches!(
        a.outcome(id),
        Some(GrowOutcome::Failed {
            count: Some(5),
            error: ErrorCode::INVALID_PARTITIONS,
            ..
        })
    ));
}

#[test]
fn a_call_past_its_deadline_times_out_and_ignores_late_answers() {
    let (mut a, id, cid) = creating();
    a.on_disconnect(30, NodeId::Controller);
    // The controller stays unreachable: every retry breaks at once.
    let mut now = 30;
    while a.outcome(id).is_none() {
        now = a.next_timeout().expect("a call is pending");
        let out = a.on_timeout(now);
        if !out.is_empty() {
            a.on_disconnect(now, NodeId::Controller);
        }
    }
    assert_eq!(now, 60_000);
    assert_eq!(
        a.outcome(id),
        Some(&GrowOutcome::TimedOut { count: Some(5) })
    );
    let out = a.handle_message(60_001, NodeId::Controller, cid, answer(ErrorCode::NONE));
    assert!(out.is_empty());
    assert_eq!(
        a.outcome(id),
        Some(&GrowOutcome::TimedOut { count: Some(5) })
    );
}

#[test]
fn a_broker_without_the_topic_is_asked_again_elsewhere() {
    let mut a = AdminClient::new(vec![1, 2]);
    let (_, out) = a.grow_topic(0, "t", 1, 60_000);
    let (to, cid, _) = sent(&out);
    a.handle_message(5, to, cid, metadata(0));
    let out = a.on_timeout(5 + RETRY_BACKOFF_MS);
    let (to, _, message) = sent(&out);
    assert_eq!(to, NodeId::Broker(2));
    assert!(matches!(message, Message::MetadataRequest(_)));
}
