//! Consumer behaviour driven message by message, without a simulator: each test is a transcript of what it sends.

use super::*;
use crate::error::ErrorCode;
use crate::ids::NO_LEADER;
use crate::protocol::*;
use crate::record::{BatchAttributes, Record, RecordBatch};
use std::fmt::Write;

fn tp(partition: i32) -> TopicPartition {
    TopicPartition::new("t", partition)
}

/// A plain batch of `values` from `base_offset`, written in leader epoch `epoch`.
pub(super) fn batch(base_offset: Offset, epoch: LeaderEpoch, values: &[u64]) -> RecordBatch {
    let records = values
        .iter()
        .map(|&value| Record {
            key: None,
            value,
            timestamp_ms: 0,
            internal: None,
        })
        .collect();
    RecordBatch {
        base_offset,
        partition_leader_epoch: epoch,
        records,
        producer: None,
        attributes: BatchAttributes::default(),
        compacted: None,
    }
}

/// Metadata naming (partition, leader, leader epoch) for topic "t".
fn metadata(leaders: &[(i32, BrokerId, LeaderEpoch)]) -> Message {
    let partitions = leaders
        .iter()
        .map(|&(partition, leader, leader_epoch)| PartitionMetadata {
            topic_partition: tp(partition),
            error: ErrorCode::NONE,
            leader,
            leader_epoch,
            replicas: vec![1, 2, 3],
            isr: vec![1, 2, 3],
        })
        .collect();
    Message::MetadataResponse(MetadataResponse {
        brokers: vec![1, 2, 3],
        partitions,
    })
}

fn fetched(
    partition: i32,
    high_watermark: Offset,
    batches: Vec<RecordBatch>,
) -> FetchPartitionResponse {
    FetchPartitionResponse {
        topic_partition: tp(partition),
        error: ErrorCode::NONE,
        high_watermark,
        log_start_offset: 0,
        log_end_offset: high_watermark,
        last_stable_offset: high_watermark,
        aborted_transactions: Vec::new(),
        batches,
    }
}

fn fetch_error(partition: i32, error: ErrorCode) -> FetchPartitionResponse {
    FetchPartitionResponse {
        error,
        ..fetched(partition, -1, vec![])
    }
}

fn fetch_response(partitions: Vec<FetchPartitionResponse>) -> Message {
    Message::FetchResponse(FetchResponse { partitions })
}

fn epoch_end(partition: i32, leader_epoch: LeaderEpoch, end_offset: Offset) -> Message {
    let answer = EpochEndOffset {
        topic_partition: tp(partition),
        error: ErrorCode::NONE,
        leader_epoch,
        end_offset,
    };
    Message::OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse {
        partitions: vec![answer],
    })
}

/// Drives a consumer and writes a transcript: each input, then what the consumer sent and told the application.
struct Script {
    consumer: Consumer,
    transcript: String,
    /// The correlation id of the latest request to each node.
    last_sent: BTreeMap<NodeId, u64>,
}

impl Script {
    fn new(assignment: &[i32], start: StartPosition) -> Script {
        let assignment = assignment.iter().map(|&p| tp(p)).collect();
        let consumer = Consumer::new(
            7,
            ConsumerConfig::default(),
            vec![1, 2, 3],
            assignment,
            start,
        );
        Script {
            consumer,
            transcript: String::new(),
            last_sent: BTreeMap::new(),
        }
    }

    fn start(&mut self, now_ms: u64) -> &mut Self {
        let out = self.consumer.start(now_ms);
        self.record(now_ms, "start".into(), out)
    }

    /// Answers the latest request sent to `broker`.
    fn answer(&mut self, now_ms: u64, broker: BrokerId, message: Message) -> &mut Self {
        let correlation_id = self.sent_to(broker);
        let input = format!(
            "{} answers #{correlation_id}: {}",
            NodeId::Broker(broker),
            describe(&message)
        );
        let out =
            self.consumer
                .handle_message(now_ms, NodeId::Broker(broker), correlation_id, message);
        self.record(now_ms, input, out)
    }

    fn timeout(&mut self, now_ms: u64) -> &mut Self {
        let out = self.consumer.on_timeout(now_ms);
        self.record(now_ms, "timeout".into(), out)
    }

    fn disconnect(&mut self, now_ms: u64, broker: BrokerId) -> &mut Self {
        let out = self.consumer.on_disconnect(now_ms, NodeId::Broker(broker));
        self.record(
            now_ms,
            format!("{} disconnects", NodeId::Broker(broker)),
            out,
        )
    }

    /// Runs timers up to `until_ms`, as the host would.
    fn wait_until(&mut self, until_ms: u64) -> &mut Self {
        while let Some(at) = self.consumer.next_timeout().filter(|at| *at <= until_ms) {
            self.timeout(at);
        }
        self
    }

    fn sent_to(&self, broker: BrokerId) -> u64 {
        *self
            .last_sent
            .get(&NodeId::Broker(broker))
            .unwrap_or_else(|| panic!("nothing sent to broker {broker}"))
    }

    fn record(&mut self, now_ms: u64, input: String, out: Vec<Output>) -> &mut Self {
        let next = self.consumer.next_timeout();
        assert!(
            next.is_none_or(|at| at > now_ms),
            "next_timeout {next:?} is not after now {now_ms}"
        );
        writeln!(self.transcript, "@{now_ms} {input}").unwrap();
        for o in &out {
            writeln!(self.transcript, "  -> {}", render(o)).unwrap();
        }
        for e in self.consumer.drain_events() {
            writeln!(self.transcript, "  => {}", render_event(&e)).unwrap();
        }
        for o in out {
            if let Output::Send {
                to, correlation_id, ..
            } = o
            {
                self.last_sent.insert(to, correlation_id);
            }
        }
        self
    }
}

fn render(o: &Output) -> String {
    match o {
        Output::Send {
            to,
            correlation_id,
            message,
        } => format!("{to} #{correlation_id}: {}", describe(message)),
        Output::Disconnect(peer) => format!("disconnect {peer}"),
        Output::Observe(observation) => format!("observe {observation:?}"),
    }
}

pub(super) fn describe(message: &Message) -> String {
    match message {
        Message::MetadataRequest(r) => format!("Metadata {:?}", r.topics),
        Message::MetadataResponse(r) => {
            let leaders: Vec<String> = r
                .partitions
                .iter()
                .map(|p| {
                    format!(
                        "{} leader {} epoch {}",
                        p.topic_partition, p.leader, p.leader_epoch
                    )
                })
                .collect();
            format!("Metadata [{}]", leaders.join(", "))
        }
        Message::FetchRequest(r) => {
            let parts: Vec<String> = r
                .partitions
                .iter()
                .map(|p| {
                    let epoch = p.current_leader_epoch.map_or("-".into(), |e| e.to_string());
                    format!(
                        "{}@{} epoch {epoch} max {}",
                        p.topic_partition, p.fetch_offset, p.max_records
                    )
                })
                .collect();
            format!(
                "Fetch replica {:?} wait {}ms [{}]",
                r.replica_id,
                r.max_wait_ms,
                parts.join(", ")
            )
        }
        Message::FetchResponse(r) => {
            let parts: Vec<String> = r
                .partitions
                .iter()
                .map(|p| {
                    let batches: Vec<String> = p
                        .batches
                        .iter()
                        .map(|b| format!("{}..{}", b.base_offset, b.next_offset()))
                        .collect();
                    format!(
                        "{} {} hw {} batches [{}]",
                        p.topic_partition,
                        p.error,
                        p.high_watermark,
                        batches.join(" ")
                    )
                })
                .collect();
            format!("Fetch [{}]", parts.join(", "))
        }
        Message::OffsetsForLeaderEpochRequest(r) => {
            let parts: Vec<String> = r
                .partitions
                .iter()
                .map(|p| {
                    format!(
                        "{} current {} epoch {}",
                        p.topic_partition, p.current_leader_epoch, p.leader_epoch
                    )
                })
                .collect();
            format!("OffsetsForLeaderEpoch [{}]", parts.join(", "))
        }
        Message::OffsetsForLeaderEpochResponse(r) => {
            let parts: Vec<String> = r
                .partitions
                .iter()
                .map(|p| {
                    format!(
                        "{} {} epoch {} ends at {}",
                        p.topic_partition, p.error, p.leader_epoch, p.end_offset
                    )
                })
                .collect();
            format!("OffsetsForLeaderEpoch [{}]", parts.join(", "))
        }
        other => other.api_name().to_string(),
    }
}

fn render_event(e: &ConsumerEvent) -> String {
    match e {
        ConsumerEvent::Seek { tp, offset } => format!("seek {tp} to {offset}"),
        ConsumerEvent::Polled {
            tp,
            records,
            high_watermark,
        } => format!("polled {tp} {records:?} hw {high_watermark}"),
    }
}

#[test]
fn metadata_then_fetch_polls_and_advances_positions() {
    let mut s = Script::new(&[0, 1], StartPosition::Earliest);
    s.start(0).answer(2, 1, metadata(&[(0, 2, 3), (1, 3, 1)]));
    s.answer(
        5,
        2,
        fetch_response(vec![fetched(0, 3, vec![batch(0, 3, &[100, 101, 102])])]),
    );
    s.answer(
        6,
        3,
        fetch_response(vec![fetched(1, 1, vec![batch(0, 1, &[200])])]),
    );
    s.answer(
        9,
        2,
        fetch_response(vec![fetched(0, 5, vec![batch(3, 3, &[103, 104])])]),
    );
    assert_eq!(s.consumer.position(&tp(0)), Some(5));
    assert_eq!(s.consumer.position(&tp(1)), Some(1));
    assert_eq!(s.consumer.high_watermark(&tp(0)), Some(5));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn a_batch_starting_below_the_position_is_trimmed() {
    let mut s = Script::new(&[0], StartPosition::Earliest);
    s.start(0).answer(1, 1, metadata(&[(0, 2, 1)]));
    s.answer(
        2,
        2,
        fetch_response(vec![fetched(0, 2, vec![batch(0, 1, &[100, 101])])]),
    );
    // The leader answers from the start of the batch holding offset 2, as Kafka's log reads whole batches.
    s.answer(
        3,
        2,
        fetch_response(vec![fetched(
            0,
            5,
            vec![batch(0, 1, &[100, 101, 102, 103, 104])],
        )]),
    );
    assert_eq!(s.consumer.position(&tp(0)), Some(5));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn not_leader_refreshes_metadata_and_fetches_from_the_new_leader_with_its_epoch() {
    let mut s = Script::new(&[0], StartPosition::Earliest);
    s.start(0).answer(1, 1, metadata(&[(0, 2, 3)]));
    s.answer(
        5,
        2,
        fetch_response(vec![fetch_error(0, ErrorCode::NOT_LEADER_OR_FOLLOWER)]),
    );
    s.wait_until(100);
    s.answer(102, 2, metadata(&[(0, 3, 4)]));
    s.wait_until(105);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn a_leader_change_after_reading_validates_the_position_before_fetching() {
    let mut s = Script::new(&[0], StartPosition::Earliest);
    s.start(0).answer(1, 1, metadata(&[(0, 2, 3)]));
    s.answer(
        2,
        2,
        fetch_response(vec![fetched(0, 2, vec![batch(0, 3, &[100, 101])])]),
    );
    s.answer(
        5,
        2,
        fetch_response(vec![fetch_error(0, ErrorCode::FENCED_LEADER_EPOCH)]),
    );
    s.wait_until(100).answer(101, 2, metadata(&[(0, 3, 4)]));
    s.wait_until(105);
    // Epoch 3 ends at 2 on the new leader too: nothing we read was lost, so the position stands.
    s.answer(106, 3, epoch_end(0, 3, 2));
    assert_eq!(s.consumer.position(&tp(0)), Some(2));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn truncation_found_by_validation_seeks_back_to_the_divergence() {
    let mut s = Script::new(&[0], StartPosition::Earliest);
    s.start(0).answer(1, 1, metadata(&[(0, 2, 3)]));
    s.answer(
        2,
        2,
        fetch_response(vec![fetched(
            0,
            4,
            vec![batch(0, 3, &[100, 101, 102, 103])],
        )]),
    );
    s.disconnect(3, 2)
        .wait_until(100)
        .answer(101, 3, metadata(&[(0, 3, 4)]));
    // An unclean leader only had epoch 3 up to offset 1.
    s.wait_until(103).answer(104, 3, epoch_end(0, 3, 1));
    assert_eq!(s.consumer.position(&tp(0)), Some(1));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn offset_out_of_range_resets_to_the_log_start_and_seeks() {
    let mut s = Script::new(&[0], StartPosition::Earliest);
    s.start(0).answer(1, 1, metadata(&[(0, 2, 1)]));
    let out_of_range = FetchPartitionResponse {
        log_start_offset: 4,
        ..fetch_error(0, ErrorCode::OFFSET_OUT_OF_RANGE)
    };
    s.answer(2, 2, fetch_response(vec![out_of_range]));
    assert_eq!(s.consumer.position(&tp(0)), Some(4));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn latest_probes_the_high_watermark_then_reads_from_there() {
    let mut s = Script::new(&[0], StartPosition::Latest);
    s.start(0).answer(1, 1, metadata(&[(0, 2, 1)]));
    assert_eq!(s.consumer.position(&tp(0)), None);
    s.answer(
        2,
        2,
        fetch_response(vec![fetched(0, 7, vec![batch(0, 1, &[100])])]),
    );
    assert!(
        s.consumer.caught_up(),
        "a consumer that starts at the end has read everything below it"
    );
    s.answer(
        9,
        2,
        fetch_response(vec![fetched(0, 8, vec![batch(7, 1, &[107])])]),
    );
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn latest_resets_an_out_of_range_position_to_the_high_watermark() {
    let mut s = Script::new(&[0], StartPosition::Latest);
    s.start(0).answer(1, 1, metadata(&[(0, 2, 1)]));
    s.answer(2, 2, fetch_response(vec![fetched(0, 3, vec![])]));
    let out_of_range = FetchPartitionResponse {
        high_watermark: 1,
        ..fetch_error(0, ErrorCode::OFFSET_OUT_OF_RANGE)
    };
    s.answer(3, 2, fetch_response(vec![out_of_range]));
    assert_eq!(s.consumer.position(&tp(0)), Some(1));
    let events = s
        .transcript
        .lines()
        .filter(|l| l.contains("=> seek"))
        .collect::<Vec<_>>();
    assert_eq!(events, ["  => seek t-0 to 3", "  => seek t-0 to 1"]);
}

#[test]
fn request_timeout_disconnects_and_retries_after_a_metadata_refresh() {
    let mut s = Script::new(&[0], StartPosition::Earliest);
    s.start(0).answer(1, 1, metadata(&[(0, 2, 1)]));
    // Broker 2 never answers; the refresh skips it and learns that broker 1 leads now.
    s.wait_until(30_001);
    s.answer(30_002, 3, metadata(&[(0, 1, 2)]));
    s.wait_until(30_101);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn unknown_leader_epoch_backs_off_without_a_metadata_refresh() {
    let mut s = Script::new(&[0], StartPosition::Earliest);
    s.start(0).answer(1, 1, metadata(&[(0, 2, 5)]));
    s.answer(
        2,
        2,
        fetch_response(vec![fetch_error(0, ErrorCode::UNKNOWN_LEADER_EPOCH)]),
    );
    s.wait_until(102);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn metadata_is_refreshed_every_max_age() {
    let mut s = Script::new(&[0], StartPosition::Earliest);
    s.start(0).answer(1, 1, metadata(&[(0, 2, 1)]));
    assert_eq!(
        s.consumer.next_timeout(),
        Some(30_001),
        "the fetch deadline comes first"
    );
    let mut now_ms = 1;
    while now_ms < 300_001 {
        now_ms += 20_000;
        s.answer(now_ms, 2, fetch_response(vec![fetched(0, 0, vec![])]));
    }
    let requests: Vec<&str> = s
        .transcript
        .lines()
        .filter(|l| l.contains("-> broker") && l.contains("Metadata"))
        .collect();
    assert_eq!(
        requests,
        [
            "  -> broker-1 #1: Metadata Some([\"t\"])",
            "  -> broker-2 #17: Metadata Some([\"t\"])"
        ]
    );
    assert!(s.transcript.ends_with("@300001 broker-2 answers #16: Fetch [t-0 NONE hw 0 batches []]\n  -> broker-2 #17: Metadata Some([\"t\"])\n  -> broker-2 #18: Fetch replica None wait 500ms [t-0@0 epoch 1 max 500]\n"));
}

#[test]
fn stale_and_stray_responses_are_ignored() {
    let mut s = Script::new(&[0], StartPosition::Earliest);
    s.start(0).answer(1, 1, metadata(&[(0, 2, 1)]));
    let correlation_id = s.sent_to(2);
    let records = fetch_response(vec![fetched(0, 1, vec![batch(0, 1, &[100])])]);
    // The right id from the wrong broker, then an id we never used.
    assert!(s
        .consumer
        .handle_message(2, NodeId::Broker(3), correlation_id, records.clone())
        .is_empty());
    assert!(s
        .consumer
        .handle_message(2, NodeId::Broker(2), 99, records)
        .is_empty());
    assert!(s.consumer.drain_events().is_empty());
    assert_eq!(s.consumer.position(&tp(0)), Some(0));
}

#[test]
fn a_response_for_a_position_that_moved_is_discarded() {
    let mut s = Script::new(&[0], StartPosition::Earliest);
    s.start(0).answer(1, 1, metadata(&[(0, 2, 1)]));
    let old_fetch = s.sent_to(2);
    // The leader moves while the fetch to broker 2 is in flight; broker 3 answers first.
    s.disconnect(2, 1)
        .wait_until(100)
        .answer(100, 2, metadata(&[(0, 3, 2)]));
    s.answer(
        101,
        3,
        fetch_response(vec![fetched(0, 2, vec![batch(0, 2, &[100, 101])])]),
    );
    let late = fetch_response(vec![fetched(0, 1, vec![batch(0, 1, &[100])])]);
    s.consumer
        .handle_message(102, NodeId::Broker(2), old_fetch, late);
    assert!(s.consumer.drain_events().is_empty());
    assert_eq!(s.consumer.position(&tp(0)), Some(2));
    assert_eq!(s.consumer.high_watermark(&tp(0)), Some(2));
}

#[test]
fn caught_up_needs_every_partition_at_a_high_watermark_from_a_fetch() {
    let mut s = Script::new(&[0, 1], StartPosition::Earliest);
    s.start(0);
    assert!(
        !s.consumer.caught_up(),
        "positions are known but no high watermark is"
    );
    s.answer(1, 1, metadata(&[(0, 2, 1), (1, 2, 1)]));
    s.answer(
        2,
        2,
        fetch_response(vec![
            fetched(0, 1, vec![batch(0, 1, &[100])]),
            fetched(1, 2, vec![]),
        ]),
    );
    assert!(
        !s.consumer.caught_up(),
        "t-1 is at 0 below its high watermark 2"
    );
    s.answer(
        3,
        2,
        fetch_response(vec![fetched(1, 2, vec![batch(0, 1, &[200, 201])])]),
    );
    assert!(s.consumer.caught_up());
    s.answer(4, 2, fetch_response(vec![fetched(0, 2, vec![])]));
    assert!(
        !s.consumer.caught_up(),
        "t-0's high watermark moved past its position"
    );
}

#[test]
fn metadata_rotates_over_bootstrap_brokers_until_one_answers() {
    let mut s = Script::new(&[0], StartPosition::Earliest);
    s.start(0)
        .disconnect(1, 1)
        .wait_until(100)
        .disconnect(101, 2)
        .wait_until(200);
    s.answer(201, 3, metadata(&[(0, 1, 1)]));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn a_partition_without_a_leader_keeps_asking_for_metadata() {
    let mut s = Script::new(&[0], StartPosition::Earliest);
    s.start(0).answer(1, 1, metadata(&[(0, NO_LEADER, 2)]));
    assert_eq!(s.consumer.next_timeout(), Some(100));
    s.wait_until(100).answer(101, 2, metadata(&[(0, 3, 3)]));
    insta::assert_snapshot!(s.transcript);
}
