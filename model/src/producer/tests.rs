//! Producer behaviour driven message by message, without a simulator: each test is a transcript of what it sends.

use super::*;
use crate::config::Acks;
use crate::ids::{LeaderEpoch, NO_LEADER};
use crate::protocol::*;
use std::fmt::Write;

/// Sends while the topic grows.
mod partition_growth;
/// The transactional producer's transcripts.
mod transactions;

fn tp(partition: i32) -> TopicPartition {
    TopicPartition::new("t", partition)
}

fn config() -> ProducerConfig {
    ProducerConfig {
        linger_ms: 5,
        batch_size: 100,
        // These transcripts are of the plain producer; idempotence has its own (idempotence tests).
        enable_idempotence: false,
        ..ProducerConfig::default()
    }
}

/// Metadata naming (partition, leader, leader epoch) for topic "t".
fn metadata(leaders: &[(i32, BrokerId, LeaderEpoch)]) -> Message {
    let partitions = leaders
        .iter()
        .map(|&(partition, leader, leader_epoch)| PartitionMetadata {
            topic_partition: tp(partition),
            error: if leader == NO_LEADER {
                ErrorCode::LEADER_NOT_AVAILABLE
            } else {
                ErrorCode::NONE
            },
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

fn produced(answers: &[(i32, ErrorCode, Offset)]) -> Message {
    let partitions = answers
        .iter()
        .map(
            |&(partition, error, base_offset)| ProducePartitionResponse {
                topic_partition: tp(partition),
                error,
                base_offset,
            },
        )
        .collect();
    Message::ProduceResponse(ProduceResponse { partitions })
}

fn ok(partition: i32, base_offset: Offset) -> Message {
    produced(&[(partition, ErrorCode::NONE, base_offset)])
}

fn failed(partition: i32, error: ErrorCode) -> Message {
    produced(&[(partition, error, -1)])
}

/// Drives a producer and writes a transcript: each input, then what the producer sent and reported.
struct Script {
    producer: Producer,
    transcript: String,
    /// The correlation id of the latest request to each node.
    last_sent: BTreeMap<NodeId, u64>,
    /// Every request sent, in order.
    sent: Vec<(NodeId, u64, Message)>,
}

impl Script {
    fn new(config: ProducerConfig) -> Script {
        Script {
            producer: Producer::new(7, config, vec![1, 2, 3], 42),
            transcript: String::new(),
            last_sent: BTreeMap::new(),
            sent: Vec::new(),
        }
    }

    fn send(&mut self, now_ms: u64, value: u64) -> &mut Self {
        let out = self.producer.send(now_ms, "t", None, value, None);
        self.record(now_ms, format!("send {value}"), out)
    }

    fn send_keyed(&mut self, now_ms: u64, key: &str, value: u64) -> &mut Self {
        let bytes: Arc<[u8]> = Arc::from(key.as_bytes());
        let out = self.producer.send(now_ms, "t", Some(bytes), value, None);
        self.record(now_ms, format!("send {value} key {key:?}"), out)
    }

    fn send_to(&mut self, now_ms: u64, partition: i32, value: u64) -> &mut Self {
        let out = self
            .producer
            .send(now_ms, "t", None, value, Some(partition));
        self.record(
            now_ms,
            format!("send {value} to partition {partition}"),
            out,
        )
    }

    /// Answers the latest request sent to `broker`.
    fn answer(&mut self, now_ms: u64, broker: BrokerId, message: Message) -> &mut Self {
        let correlation_id = self.sent_to(broker);
        self.answer_id(now_ms, broker, correlation_id, message)
    }

    fn answer_id(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        correlation_id: u64,
        message: Message,
    ) -> &mut Self {
        let input = format!(
            "{} answers #{correlation_id}: {}",
            NodeId::Broker(broker),
            describe(&message)
        );
        let out =
            self.producer
                .handle_message(now_ms, NodeId::Broker(broker), correlation_id, message);
        self.record(now_ms, input, out)
    }

    fn disconnect(&mut self, now_ms: u64, broker: BrokerId) -> &mut Self {
        let out = self.producer.on_disconnect(now_ms, NodeId::Broker(broker));
        let input = format!("{} disconnects", NodeId::Broker(broker));
        self.record(now_ms, input, out)
    }

    fn timeout(&mut self, now_ms: u64) -> &mut Self {
        let out = self.producer.on_timeout(now_ms);
        self.record(now_ms, "timeout".into(), out)
    }

    /// Runs timers up to `until_ms`, as the host would.
    fn wait_until(&mut self, until_ms: u64) -> &mut Self {
        while let Some(at) = self.producer.next_timeout().filter(|at| *at <= until_ms) {
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
        let next = self.producer.next_timeout();
        assert!(
            next.is_none_or(|at| at > now_ms),
            "next_timeout {next:?} is not after now {now_ms}"
        );
        writeln!(self.transcript, "@{now_ms} {input}").unwrap();
        for o in &out {
            writeln!(self.transcript, "  -> {}", render(o)).unwrap();
        }
        for e in self.producer.drain_events() {
            writeln!(self.transcript, "  => {}", render_event(&e)).unwrap();
        }
        for o in out {
            if let Output::Send {
                to,
                correlation_id,
                message,
            } = o
            {
                self.last_sent.insert(to, correlation_id);
                self.sent.push((to, correlation_id, message));
            }
        }
        self
    }

    /// The produce requests sent, as (broker, [(partition, values)]).
    fn produce_requests(&self) -> Vec<(NodeId, Batches)> {
        self.sent
            .iter()
            .filter_map(|(to, _, m)| match m {
                Message::ProduceRequest(r) => Some((*to, batches_of(r))),
                _ => None,
            })
            .collect()
    }
}

/// A request's batches as (partition, values).
type Batches = Vec<(i32, Vec<u64>)>;

fn batches_of(r: &ProduceRequest) -> Batches {
    r.partitions
        .iter()
        .map(|p| {
            let values = p.records.iter().map(|r| r.value).collect();
            (p.topic_partition.partition, values)
        })
        .collect()
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

/// Items described one by one, as a comma-separated list.
fn list<T>(items: impl IntoIterator<Item = T>, describe: impl FnMut(T) -> String) -> String {
    items
        .into_iter()
        .map(describe)
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe(message: &Message) -> String {
    match message {
        Message::MetadataRequest(r) => format!("Metadata {:?}", r.topics),
        Message::MetadataResponse(r) => {
            let leaders = list(&r.partitions, |p| {
                format!(
                    "{} leader {} epoch {}",
                    p.topic_partition, p.leader, p.leader_epoch
                )
            });
            format!("Metadata [{leaders}]")
        }
        Message::ProduceRequest(r) => {
            let parts = list(
                r.partitions.iter().zip(batches_of(r)),
                |(part, (p, values))| {
                    let txn = if part.attributes.transactional {
                        " txn"
                    } else {
                        ""
                    };
                    match part.producer {
                        None => format!("t-{p} {values:?}{txn}"),
                        Some(s) => format!(
                            "t-{p} {values:?} id {} epoch {} seq {}{txn}",
                            s.producer_id, s.producer_epoch, s.base_sequence
                        ),
                    }
                },
            );
            format!(
                "Produce acks {} timeout {}ms [{parts}]",
                r.acks, r.timeout_ms
            )
        }
        Message::ProduceResponse(r) => {
            let parts = list(&r.partitions, |p| {
                format!("{} {} base {}", p.topic_partition, p.error, p.base_offset)
            });
            format!("Produce [{parts}]")
        }
        Message::InitProducerIdResponse(r) => format!(
            "InitProducerId {} id {} epoch {}",
            r.error, r.producer_id, r.producer_epoch
        ),
        Message::InitProducerIdRequest(r) if r.transactional_id.is_some() => format!(
            "InitProducerId {:?} timeout {}ms id {} epoch {}",
            r.transactional_id.as_deref().unwrap(),
            r.transaction_timeout_ms,
            r.producer_id,
            r.producer_epoch
        ),
        Message::FindCoordinatorRequest(r) => {
            format!("FindCoordinator {:?} {:?}", r.key_type, r.key)
        }
        Message::FindCoordinatorResponse(r) => {
            format!("FindCoordinator {} node {}", r.error, r.node_id)
        }
        Message::AddPartitionsToTxnRequest(r) => format!(
            "AddPartitionsToTxn {:?} id {} epoch {} [{}]",
            r.transactional_id,
            r.producer_id,
            r.producer_epoch,
            list(&r.partitions, TopicPartition::to_string)
        ),
        Message::AddPartitionsToTxnResponse(r) => {
            let results = list(&r.results, |(tp, e)| format!("{tp} {e}"));
            format!("AddPartitionsToTxn [{results}]")
        }
        Message::AddOffsetsToTxnRequest(r) => format!(
            "AddOffsetsToTxn {:?} id {} epoch {} group {:?}",
            r.transactional_id, r.producer_id, r.producer_epoch, r.group_id
        ),
        Message::AddOffsetsToTxnResponse(r) => format!("AddOffsetsToTxn {}", r.error),
        Message::EndTxnRequest(r) => format!(
            "EndTxn {:?} id {} epoch {} {}",
            r.transactional_id,
            r.producer_id,
            r.producer_epoch,
            if r.committed { "commit" } else { "abort" }
        ),
        Message::EndTxnResponse(r) => format!("EndTxn {}", r.error),
        Message::TxnOffsetCommitRequest(r) => format!(
            "TxnOffsetCommit {:?} id {} epoch {} group {:?} generation {} member {:?} offsets {}",
            r.transactional_id,
            r.producer_id,
            r.producer_epoch,
            r.group_id,
            r.generation_id,
            r.member_id,
            listed(r.offsets.iter().map(|(tp, o)| format!("{tp}@{o}")))
        ),
        Message::TxnOffsetCommitResponse(r) => format!(
            "TxnOffsetCommit {}",
            listed(r.results.iter().map(|(tp, e)| format!("{tp} {e}")))
        ),
        other => other.api_name().to_string(),
    }
}

fn listed(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

fn render_event(e: &ProducerEvent) -> String {
    let ProducerEvent::Completed { value, tp, result } = e else {
        return format!("{e:?}");
    };
    let tp = tp.as_ref().map_or("-".to_string(), |tp| tp.to_string());
    match result {
        SendResult::Ok { offset } => format!("{value} on {tp} ok at {offset}"),
        SendResult::Failed {
            error,
            maybe_written,
        } => format!("{value} on {tp} failed {error} maybe_written={maybe_written}"),
    }
}

#[test]
fn a_send_asks_for_metadata_then_produces_and_completes_with_offsets() {
    let mut s = Script::new(config());
    s.send(0, 100).send(1, 101);
    s.answer(2, 1, metadata(&[(0, 2, 1)]));
    s.wait_until(10);
    s.answer(11, 2, ok(0, 40));
    assert_eq!(s.producer.pending(), 0);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn records_wait_for_linger_unless_the_batch_fills() {
    // 22 bytes a record, batch.size 100: four records fill a batch; the fifth opens the next one.
    let mut s = Script::new(config());
    s.send_to(0, 0, 100);
    s.answer(1, 1, metadata(&[(0, 2, 1)]));
    for (i, value) in (101..=104).enumerate() {
        s.send_to(2 + i as u64, 0, value);
    }
    // The first batch went as soon as it was followed; the second waits out its linger.
    s.wait_until(20);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn keyed_records_go_to_the_murmur2_partition() {
    let mut s = Script::new(config());
    s.send_keyed(0, "21", 100);
    s.answer(1, 1, metadata(&[(0, 1, 1), (1, 2, 1), (2, 3, 1)]));
    let keys = ["foobar", "abc", "21", "key-7", "key-1", "key-2"];
    for (value, key) in (101..).zip(keys) {
        s.send_keyed(2, key, value);
    }
    s.wait_until(10);
    let mut placed: BTreeMap<i32, Vec<u64>> = BTreeMap::new();
    for (_, batches) in s.produce_requests() {
        for (p, values) in batches {
            placed.entry(p).or_default().extend(values);
        }
    }
    let expected = |key: &str| partitioner::partition_for_key(key.as_bytes(), 3);
    for (value, key) in (100..).zip(["21"].iter().chain(&keys)) {
        assert!(
            placed[&expected(key)].contains(&value),
            "{key} -> {placed:?}"
        );
    }
    assert_eq!(placed.len(), 3, "every partition got a key: {placed:?}");
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn records_without_a_key_stick_to_a_partition_then_switch() {
    // batch.size 100 and 22-byte records: a batch never fills exactly, so the switch comes at 2 x batch.size,
    // every 10 records.
    let mut s = Script::new(ProducerConfig {
        max_in_flight_requests_per_connection: 100,
        ..config()
    });
    s.send(0, 0);
    s.answer(
        1,
        1,
        metadata(&[(0, 1, 1), (1, 2, 1), (2, 3, 1), (3, 1, 1)]),
    );
    for value in 1..40 {
        s.send(2, value);
    }
    s.wait_until(20);
    let mut partition_of: BTreeMap<u64, i32> = BTreeMap::new();
    for (_, batches) in s.produce_requests() {
        for (p, values) in batches {
            partition_of.extend(values.into_iter().map(|v| (v, p)));
        }
    }
    assert_eq!(partition_of.len(), 40);
    for (value, p) in &partition_of {
        assert_eq!(
            *p,
            partition_of[&(value - value % 10)],
            "value {value} left its run"
        );
    }
    let runs: Vec<i32> = (0..4).map(|run| partition_of[&(run * 10)]).collect();
    let distinct: BTreeSet<&i32> = runs.iter().collect();
    assert!(distinct.len() >= 2, "never switched: {runs:?}");
    insta::assert_snapshot!(format!("runs of 10 records: {runs:?}\n{}", s.transcript));
}

#[test]
fn sticky_partitioning_avoids_partitions_without_a_leader() {
    let mut s = Script::new(config());
    s.send(0, 0);
    s.answer(
        1,
        1,
        metadata(&[(0, NO_LEADER, 1), (1, 2, 1), (2, NO_LEADER, 1)]),
    );
    for value in 1..60 {
        s.send(2 + value, value);
    }
    s.wait_until(100);
    for (_, batches) in s.produce_requests() {
        assert!(batches.iter().all(|(p, _)| *p == 1), "{batches:?}");
    }
}

#[test]
fn not_leader_refreshes_metadata_and_retries_on_the_new_leader() {
    let mut s = Script::new(config());
    s.send(0, 100);
    s.answer(1, 1, metadata(&[(0, 2, 1)]));
    s.wait_until(6);
    s.answer(7, 2, failed(0, ErrorCode::NOT_LEADER_OR_FOLLOWER));
    // Metadata may be asked again `retry.backoff.ms` after the last answer; the batch waits as long after the
    // error.
    s.wait_until(101);
    s.answer(102, 2, metadata(&[(0, 3, 2)]));
    s.wait_until(200);
    s.answer(201, 3, ok(0, 8));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn a_request_timeout_disconnects_retries_and_remembers_the_record_may_be_written() {
    let mut s = Script::new(ProducerConfig {
        retries: 1,
        request_timeout_ms: 1_000,
        delivery_timeout_ms: 10_000,
        ..config()
    });
    s.send(0, 100);
    s.answer(1, 1, metadata(&[(0, 2, 1)]));
    s.wait_until(1_010);
    s.answer(1_011, 3, metadata(&[(0, 2, 1)]));
    s.wait_until(1_200);
    // The retry is refused without appending: only the timed-out attempt may have written it.
    s.answer(1_201, 2, failed(0, ErrorCode::NOT_ENOUGH_REPLICAS));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn a_late_answer_after_a_disconnect_is_ignored() {
    let mut s = Script::new(config());
    s.send(0, 100);
    s.answer(1, 1, metadata(&[(0, 2, 1)]));
    s.wait_until(6);
    let stale = s.sent_to(2);
    s.disconnect(7, 2);
    s.answer_id(8, 2, stale, ok(0, 0));
    s.wait_until(120);
    s.answer(121, 2, ok(0, 1));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn batches_without_a_leader_fail_at_the_delivery_timeout() {
    let mut s = Script::new(ProducerConfig {
        delivery_timeout_ms: 1_000,
        retry_backoff_ms: 300,
        ..config()
    });
    s.send(0, 100);
    s.answer(1, 1, metadata(&[(0, NO_LEADER, 1)]));
    for _ in 0..3 {
        let now = s.producer.next_timeout().unwrap();
        s.timeout(now);
        let broker = match s.sent.last().unwrap().0 {
            NodeId::Broker(b) => b,
            other => panic!("{other}"),
        };
        s.answer(now + 1, broker, metadata(&[(0, NO_LEADER, 1)]));
    }
    s.wait_until(1_001);
    assert_eq!(s.producer.pending(), 0);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn an_in_flight_batch_past_its_delivery_timeout_fails_as_maybe_written() {
    let mut s = Script::new(ProducerConfig {
        request_timeout_ms: 1_000,
        delivery_timeout_ms: 1_500,
        ..config()
    });
    s.send(0, 100);
    s.answer(1, 1, metadata(&[(0, 2, 1)]));
    s.wait_until(6);
    s.answer(900, 2, failed(0, ErrorCode::NOT_ENOUGH_REPLICAS));
    s.wait_until(1_600);
    // The request is still in flight; its late answer finds nothing.
    s.answer(1_601, 2, ok(0, 3));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn acks_zero_completes_on_send_without_waiting_for_an_answer() {
    let mut s = Script::new(ProducerConfig {
        acks: Acks::None,
        ..config()
    });
    s.send(0, 100).send(1, 101);
    s.answer(2, 1, metadata(&[(0, 2, 1)]));
    s.wait_until(10);
    assert_eq!(s.producer.pending(), 0);
    assert_eq!(
        s.producer.next_timeout(),
        Some(300_002),
        "only the metadata refresh"
    );
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn no_more_than_max_in_flight_requests_go_to_one_broker() {
    let mut s = Script::new(ProducerConfig {
        max_in_flight_requests_per_connection: 2,
        linger_ms: 0,
        ..config()
    });
    s.send(0, 100);
    s.answer(1, 1, metadata(&[(0, 2, 1), (1, 2, 1)]));
    for value in 101..=104 {
        s.send_to(2, (value % 2) as i32, value);
    }
    assert_eq!(
        s.produce_requests().len(),
        2,
        "two in flight, the rest wait"
    );
    let first = s.sent_to(2) - 1;
    s.answer_id(3, 2, first, ok(0, 0));
    assert_eq!(s.produce_requests().len(), 3, "an answer frees one slot");
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn max_in_flight_one_mutes_the_partition_until_its_batch_is_answered() {
    let mut s = Script::new(ProducerConfig {
        max_in_flight_requests_per_connection: 1,
        linger_ms: 0,
        ..config()
    });
    s.send_to(0, 0, 100);
    s.answer(1, 1, metadata(&[(0, 2, 1)]));
    let first = s.sent_to(2);
    s.send_to(2, 0, 101);
    // The leader moves while the first batch is in flight: the second must not overtake it on broker 3.
    s.disconnect(3, 1);
    s.wait_until(101);
    s.answer(102, 3, metadata(&[(0, 3, 2)]));
    assert_eq!(s.produce_requests().len(), 1, "muted");
    s.answer_id(103, 2, first, failed(0, ErrorCode::NOT_LEADER_OR_FOLLOWER));
    s.wait_until(210);
    assert_eq!(s.produce_requests().len(), 2);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn with_no_retries_a_retriable_error_fails_at_once() {
    let mut s = Script::new(ProducerConfig {
        retries: 0,
        ..config()
    });
    s.send(0, 100).send(0, 101);
    s.answer(1, 1, metadata(&[(0, 2, 1)]));
    s.wait_until(6);
    s.answer(7, 2, failed(0, ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND));
    assert_eq!(s.producer.pending(), 0);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn a_send_to_an_unknown_topic_fails_after_max_block() {
    let mut s = Script::new(config());
    s.send(0, 100);
    let no_topic = || {
        Message::MetadataResponse(MetadataResponse {
            brokers: vec![1, 2, 3],
            partitions: vec![],
        })
    };
    let mut metadata_requests = 0;
    let mut now_ms = 0;
    while s.producer.pending() > 0 {
        if let Some((NodeId::Broker(b), id, Message::MetadataRequest(_))) = s.sent.pop() {
            metadata_requests += 1;
            now_ms += 1;
            s.answer_id(now_ms, b, id, no_topic());
        }
        now_ms = s.producer.next_timeout().unwrap();
        s.timeout(now_ms);
    }
    // Asked again `retry.backoff.ms` after each answer, until `max.block.ms`.
    assert_eq!(now_ms, MAX_BLOCK_MS);
    assert_eq!(metadata_requests as u64, MAX_BLOCK_MS / 101 + 1);
    let tail: Vec<&str> = s.transcript.lines().rev().take(6).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    insta::assert_snapshot!(tail.join("\n"));
}

#[test]
fn metadata_is_refreshed_every_max_age() {
    let mut s = Script::new(ProducerConfig {
        metadata_max_age_ms: 1_000,
        ..config()
    });
    s.send(0, 100);
    s.answer(1, 1, metadata(&[(0, 2, 1)]));
    s.wait_until(6);
    s.answer(7, 2, ok(0, 0));
    assert_eq!(s.producer.next_timeout(), Some(1_001));
    s.wait_until(1_001);
    s.answer(1_002, 2, metadata(&[(0, 2, 1)]));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn a_metadata_request_that_times_out_moves_to_the_next_broker() {
    let mut s = Script::new(ProducerConfig {
        request_timeout_ms: 500,
        ..config()
    });
    s.send(0, 100);
    s.wait_until(700);
    s.answer(701, 2, metadata(&[(0, 3, 1)]));
    s.wait_until(710);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn a_send_to_a_partition_not_in_metadata_yet_waits_for_it() {
    let mut s = Script::new(config());
    s.send(0, 100);
    s.answer(1, 1, metadata(&[(0, 2, 1)]));
    // Partition 2 does not exist yet: the send waits and asks again, as `waitOnMetadata` does.
    s.send_to(2, 2, 101);
    s.wait_until(101);
    s.answer(102, 2, metadata(&[(0, 2, 1), (1, 3, 1), (2, 1, 1)]));
    s.wait_until(110);
    insta::assert_snapshot!(s.transcript);
}

/// The idempotent producer, as Kafka runs it by default.
fn idempotent() -> ProducerConfig {
    ProducerConfig {
        enable_idempotence: true,
        linger_ms: 0,
        ..config()
    }
}

fn producer_id(id: i64) -> Message {
    Message::InitProducerIdResponse(InitProducerIdResponse {
        error: ErrorCode::NONE,
        producer_id: id,
        producer_epoch: 0,
    })
}

impl Script {
    /// Every produce request as (correlation id, epoch, base sequence, values), one batch each.
    fn sequenced(&self) -> Vec<(u64, i16, i32, Vec<u64>)> {
        self.sent
            .iter()
            .filter_map(|(_, id, m)| match m {
                Message::ProduceRequest(r) => {
                    let p = &r.partitions[0];
                    let seq = p.producer.expect("an idempotent batch");
                    let values = p.records.iter().map(|r| r.value).collect();
                    Some((*id, seq.producer_epoch, seq.base_sequence, values))
                }
                _ => None,
            })
            .collect()
    }

    /// (epoch, base sequence, values) of the produce requests from the `from`-th on.
    fn numbers_from(&self, from: usize) -> Vec<(i16, i32, Vec<u64>)> {
        self.sequenced()[from..]
            .iter()
            .map(|(_, epoch, seq, values)| (*epoch, *seq, values.clone()))
            .collect()
    }
}

#[test]
fn an_idempotent_producer_gets_its_id_first_then_numbers_each_partitions_batches() {
    let mut s = Script::new(idempotent());
    // The id is asked of one broker while metadata is asked of the next.
    s.send_to(0, 0, 100);
    let first = s.sent.first().map(|(to, _, m)| (*to, m.api_name()));
    assert_eq!(first, Some((NodeId::Broker(1), "InitProducerId")));
    s.answer(1, 2, metadata(&[(0, 2, 1), (1, 3, 1)]));
    assert!(s.produce_requests().is_empty(), "no batch before the id");
    s.answer(2, 1, producer_id(77));
    s.answer(3, 2, ok(0, 40));
    s.send_to(4, 0, 101).send_to(4, 1, 102);
    assert_eq!(
        s.numbers_from(0),
        vec![(0, 0, vec![100]), (0, 1, vec![101]), (0, 0, vec![102])],
        "sequences count per partition"
    );
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn retries_keep_their_sequence_and_go_out_in_order() {
    let mut s = Script::new(idempotent());
    s.send_to(0, 0, 100);
    s.answer(1, 2, metadata(&[(0, 2, 1)]));
    s.answer(2, 1, producer_id(77));
    s.send_to(3, 0, 101);
    let first = s.sequenced();
    assert_eq!(first.len(), 2);
    // The first fails on a leader change, so the second finds a gap at the broker.
    s.answer_id(
        4,
        2,
        first[0].0,
        failed(0, ErrorCode::NOT_LEADER_OR_FOLLOWER),
    );
    s.answer_id(
        5,
        2,
        first[1].0,
        failed(0, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER),
    );
    s.wait_until(200);
    // Only the first unresolved batch goes out again, with its number; the second waits behind it.
    assert_eq!(s.numbers_from(2), vec![(0, 0, vec![100])]);
    let retry = s.sequenced()[2].0;
    s.answer_id(201, 2, retry, ok(0, 7));
    s.wait_until(400);
    assert_eq!(s.numbers_from(3), vec![(0, 1, vec![101])]);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn unknown_producer_id_bumps_the_epoch_and_numbers_again_from_zero() {
    let mut s = Script::new(idempotent());
    s.send_to(0, 0, 100);
    s.answer(1, 2, metadata(&[(0, 2, 1)]));
    s.answer(2, 1, producer_id(77));
    s.answer(3, 2, ok(0, 0));
    s.send_to(4, 0, 101);
    // The new leader lost this producer's state (its batches were truncated away).
    s.answer(5, 2, failed(0, ErrorCode::UNKNOWN_PRODUCER_ID));
    s.wait_until(200);
    assert_eq!(s.numbers_from(2), vec![(1, 0, vec![101])]);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn a_bump_for_one_partition_leaves_another_partitions_retries_their_numbers() {
    let mut s = Script::new(ProducerConfig {
        delivery_timeout_ms: 1_000,
        ..idempotent()
    });
    s.send_to(0, 0, 100);
    s.answer(1, 2, metadata(&[(0, 2, 1), (1, 3, 1)]));
    s.answer(2, 1, producer_id(77));
    // t-0's batch times out after the broker may have appended it: its retries must keep epoch 0, seq 0.
    let first = s.sequenced()[0].0;
    s.answer_id(5, 2, first, failed(0, ErrorCode::REQUEST_TIMED_OUT));
    s.send_to(50, 1, 102);
    let other = s.sequenced().last().unwrap().0;
    s.answer_id(60, 3, other, failed(1, ErrorCode::UNKNOWN_PRODUCER_ID));
    s.wait_until(900);
    let t0: Vec<(i16, i32, Vec<u64>)> = s
        .numbers_from(0)
        .into_iter()
        .filter(|(_, _, v)| v == &vec![100])
        .collect();
    assert!(t0.len() > 1, "retried");
    assert!(t0.iter().all(|(e, q, _)| (*e, *q) == (0, 0)), "{t0:?}");
    let t1: Vec<(i16, i32)> = s
        .numbers_from(0)
        .into_iter()
        .filter(|(_, _, v)| v == &vec![102])
        .map(|(e, q, _)| (e, q))
        .collect();
    assert_eq!(t1.last(), Some(&(1, 0)), "t-1 restarted in epoch 1");
}

#[test]
fn out_of_order_right_after_an_unresolved_failure_restarts_the_partition() {
    let mut s = Script::new(ProducerConfig {
        delivery_timeout_ms: 1_000,
        ..idempotent()
    });
    s.send_to(0, 0, 100);
    s.answer(1, 2, metadata(&[(0, 2, 1)]));
    s.answer(2, 1, producer_id(77));
    // 100 (seq 0) times out, goes again, and expires in flight, maybe written.
    let first = s.sequenced()[0].0;
    s.answer_id(4, 2, first, failed(0, ErrorCode::REQUEST_TIMED_OUT));
    s.send_to(500, 0, 101);
    // 101 (seq 1) finds the gap 100 left; it waits behind 100 and then asks again.
    let mut answered = vec![first];
    for now in [505, 1_005, 1_105] {
        s.wait_until(now - 1);
        for (id, _, _, values) in s.sequenced() {
            if values == vec![101] && !answered.contains(&id) {
                answered.push(id);
                s.answer_id(
                    now,
                    2,
                    id,
                    failed(0, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER),
                );
            }
        }
    }
    s.wait_until(1_300);
    let last = s.numbers_from(0).pop().unwrap();
    assert_eq!(
        last,
        (1, 0, vec![101]),
        "101 goes again as the first of epoch 1"
    );
}
