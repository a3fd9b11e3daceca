//! Transcripts of a group member against a scripted coordinator.
//!
//! Each test drives a [`GroupConsumer`] message by message, as Kafka's `ConsumerCoordinatorTest` does with its
//! `MockClient`: brokers 1 and 2 lead topic "t" (even partitions on 1, odd on 2) and broker 3 is the group's
//! coordinator. After every input the script checks that `next_timeout` lies in the future, so a member that
//! would spin on a timer fails every test.

use super::*;
use crate::config::Fix;
use crate::consumer::tests::batch;
use crate::consumer::StartPosition;
use crate::group::assignor::Assignor;
use crate::protocol::*;
use std::fmt::Write;

/// The broker FindCoordinator names.
const COORDINATOR: BrokerId = 3;

fn tp(partition: i32) -> TopicPartition {
    TopicPartition::new("t", partition)
}

fn consumer_config() -> ConsumerConfig {
    ConsumerConfig {
        max_poll_records: 2,
        ..ConsumerConfig::default()
    }
}

/// Group "g" with short timers, no auto-commit, `auto.offset.reset=earliest`, the range assignor.
fn member_config() -> GroupMemberConfig {
    GroupMemberConfig {
        session_timeout_ms: 10_000,
        heartbeat_interval_ms: 3_000,
        max_poll_interval_ms: 20_000,
        enable_auto_commit: false,
        auto_offset_reset: StartPosition::Earliest,
        partition_assignment_strategy: vec![Assignor::Range],
        ..GroupMemberConfig::new("g")
    }
}

fn cooperative() -> GroupMemberConfig {
    GroupMemberConfig {
        partition_assignment_strategy: vec![Assignor::CooperativeSticky],
        commit_on_revoke: true,
        ..member_config()
    }
}

/// Metadata for topic "t" with `partitions` partitions, even ones led by broker 1 and odd ones by broker 2.
fn metadata(partitions: i32) -> Message {
    let partitions = (0..partitions)
        .map(|p| PartitionMetadata {
            topic_partition: tp(p),
            error: ErrorCode::NONE,
            leader: if p % 2 == 0 { 1 } else { 2 },
            leader_epoch: 1,
            replicas: vec![1, 2, 3],
            isr: vec![1, 2, 3],
        })
        .collect();
    Message::MetadataResponse(MetadataResponse {
        brokers: vec![1, 2, 3],
        partitions,
    })
}

fn coordinator(node_id: BrokerId) -> Message {
    Message::FindCoordinatorResponse(FindCoordinatorResponse {
        error: ErrorCode::NONE,
        node_id,
    })
}

/// A member of the JoinGroup response: its id, and the partitions it owns from `generation`.
fn member(id: &str, owned: &[i32], generation: i32) -> JoinGroupMember {
    JoinGroupMember {
        member_id: id.to_string(),
        metadata: Subscription {
            topics: vec!["t".to_string()],
            owned_partitions: owned.iter().map(|&p| tp(p)).collect(),
            generation_id: generation,
        },
    }
}

fn join_error(error: ErrorCode, member_id: &str) -> Message {
    Message::JoinGroupResponse(JoinGroupResponse {
        error,
        generation_id: -1,
        protocol_name: None,
        leader: String::new(),
        member_id: member_id.to_string(),
        members: Vec::new(),
    })
}

/// JoinGroup succeeded: `member_id` is in `generation`, led by `leader` (who alone is told the members).
fn joined(
    generation: i32,
    protocol: Assignor,
    leader: &str,
    member_id: &str,
    members: Vec<JoinGroupMember>,
) -> Message {
    Message::JoinGroupResponse(JoinGroupResponse {
        error: ErrorCode::NONE,
        generation_id: generation,
        protocol_name: Some(protocol.name().to_string()),
        leader: leader.to_string(),
        member_id: member_id.to_string(),
        members,
    })
}

fn synced(partitions: &[i32]) -> Message {
    Message::SyncGroupResponse(SyncGroupResponse {
        error: ErrorCode::NONE,
        assignment: Assignment {
            partitions: partitions.iter().map(|&p| tp(p)).collect(),
        },
    })
}

fn heartbeat(error: ErrorCode) -> Message {
    Message::HeartbeatResponse(HeartbeatResponse { error })
}

/// OffsetFetch: each partition's committed offset (-1: none).
fn committed(offsets: &[(i32, Offset)]) -> Message {
    Message::OffsetFetchResponse(OffsetFetchResponse {
        error: ErrorCode::NONE,
        offsets: offsets
            .iter()
            .map(|&(p, o)| (tp(p), o, ErrorCode::NONE))
            .collect(),
    })
}

/// A fetch answer for one partition: `values` from `base_offset`, with the high watermark just past them.
fn records(partition: i32, base_offset: Offset, values: &[u64]) -> Message {
    let high_watermark = base_offset + values.len() as Offset;
    records_to(partition, base_offset, values, high_watermark)
}

fn records_to(
    partition: i32,
    base_offset: Offset,
    values: &[u64],
    high_watermark: Offset,
) -> Message {
    let batches = if values.is_empty() {
        Vec::new()
    } else {
        vec![batch(base_offset, 1, values)]
    };
    Message::FetchResponse(FetchResponse {
        partitions: vec![FetchPartitionResponse {
            topic_partition: tp(partition),
            error: ErrorCode::NONE,
            high_watermark,
            log_start_offset: 0,
            log_end_offset: high_watermark,
            last_stable_offset: high_watermark,
            aborted_transactions: Vec::new(),
            batches,
        }],
    })
}

fn tps(tps: &[TopicPartition]) -> String {
    let names: Vec<String> = tps.iter().map(ToString::to_string).collect();
    format!("[{}]", names.join(", "))
}

fn offsets(offsets: &[(TopicPartition, Offset)]) -> String {
    let parts: Vec<String> = offsets.iter().map(|(tp, o)| format!("{tp}@{o}")).collect();
    format!("[{}]", parts.join(", "))
}

fn describe(message: &Message) -> String {
    match message {
        Message::MetadataRequest(r) => format!("Metadata {:?}", r.topics),
        Message::MetadataResponse(r) => format!("Metadata {} partitions", r.partitions.len()),
        Message::FindCoordinatorRequest(r) => {
            format!("FindCoordinator {:?} {:?}", r.key_type, r.key)
        }
        Message::FindCoordinatorResponse(r) => {
            format!("FindCoordinator {} node {}", r.error, r.node_id)
        }
        Message::JoinGroupRequest(r) => {
            let protocols: Vec<String> = r
                .protocols
                .iter()
                .map(|p| {
                    format!(
                        "{} owns {} gen {}",
                        p.name,
                        tps(&p.metadata.owned_partitions),
                        p.metadata.generation_id
                    )
                })
                .collect();
            format!(
                "JoinGroup {:?} member {:?} session {}ms rebalance {}ms [{}]",
                r.group_id,
                r.member_id,
                r.session_timeout_ms,
                r.rebalance_timeout_ms,
                protocols.join(", ")
            )
        }
        Message::JoinGroupResponse(r) => {
            let members: Vec<String> = r.members.iter().map(|m| m.member_id.clone()).collect();
            format!(
                "JoinGroup {} gen {} protocol {:?} leader {:?} member {:?} members {members:?}",
                r.error, r.generation_id, r.protocol_name, r.leader, r.member_id
            )
        }
        Message::SyncGroupRequest(r) => {
            let assignments: Vec<String> = r
                .assignments
                .iter()
                .map(|(m, a)| format!("{m}: {}", tps(&a.partitions)))
                .collect();
            format!(
                "SyncGroup gen {} member {:?} {{{}}}",
                r.generation_id,
                r.member_id,
                assignments.join(", ")
            )
        }
        Message::SyncGroupResponse(r) => {
            format!("SyncGroup {} {}", r.error, tps(&r.assignment.partitions))
        }
        Message::HeartbeatRequest(r) => {
            format!("Heartbeat gen {} member {:?}", r.generation_id, r.member_id)
        }
        Message::HeartbeatResponse(r) => format!("Heartbeat {}", r.error),
        Message::LeaveGroupRequest(r) => format!("LeaveGroup {:?} {:?}", r.group_id, r.members),
        Message::OffsetFetchRequest(r) => format!(
            "OffsetFetch {} require_stable {}",
            tps(r.partitions.as_deref().unwrap_or_default()),
            r.require_stable
        ),
        Message::OffsetFetchResponse(r) => {
            let parts: Vec<String> = r
                .offsets
                .iter()
                .map(|(tp, o, e)| format!("{tp}@{o} {e}"))
                .collect();
            format!("OffsetFetch {} [{}]", r.error, parts.join(", "))
        }
        Message::OffsetCommitRequest(r) => format!(
            "OffsetCommit gen {} member {:?} {}",
            r.generation_id,
            r.member_id,
            offsets(&r.offsets)
        ),
        Message::OffsetCommitResponse(r) => {
            let parts: Vec<String> = r
                .results
                .iter()
                .map(|(tp, e)| format!("{tp} {e}"))
                .collect();
            format!("OffsetCommit [{}]", parts.join(", "))
        }
        // Fetches read as in the fetcher's own transcripts.
        Message::FetchRequest(_) | Message::FetchResponse(_) => {
            crate::consumer::tests::describe(message)
        }
        other => other.api_name().to_string(),
    }
}

fn render_event(e: &GroupEvent) -> String {
    match e {
        GroupEvent::Assigned {
            generation,
            member_id,
            partitions,
        } => format!(
            "assigned gen {generation} {member_id:?} {}",
            tps(partitions)
        ),
        GroupEvent::Revoked { partitions, lost } => {
            let how = if *lost { "lost" } else { "revoked" };
            format!("{how} {}", tps(partitions))
        }
        GroupEvent::Fetched { tp, committed } => format!("committed {tp} is {committed:?}"),
        GroupEvent::Reset { tp, from, to } => format!("reset {tp} from {from:?} to {to}"),
        GroupEvent::Committed {
            id,
            source,
            generation,
            offsets: o,
            outcome,
        } => format!(
            "commit #{id} ({source:?}, gen {generation}) {} {outcome:?}",
            offsets(o)
        ),
    }
}

/// Drives a member and writes a transcript: each input, what the member sent (->), told the application (=>),
/// and returned from `poll` (<=).
struct Script {
    consumer: GroupConsumer,
    transcript: String,
    /// Every request sent, in order, and whether it has been answered.
    sent: Vec<(NodeId, u64, Message, bool)>,
    events: Vec<GroupEvent>,
}

impl Script {
    fn with_fixes(config: GroupMemberConfig, fixes: Fixes) -> Script {
        Script {
            consumer: GroupConsumer::new(
                7,
                consumer_config(),
                config,
                vec![1, 2, 3],
                vec!["t".to_string()],
                fixes,
            ),
            transcript: String::new(),
            sent: Vec::new(),
            events: Vec::new(),
        }
    }

    fn start(&mut self, now_ms: u64) -> &mut Self {
        let out = self.consumer.start(now_ms);
        self.record(now_ms, "start".into(), out)
    }

    fn poll(&mut self, now_ms: u64) -> Polled {
        let (polled, out) = self.consumer.poll(now_ms);
        self.record(now_ms, "poll".into(), out);
        for (tp, records) in &polled.records {
            writeln!(
                self.transcript,
                "  <= gen {} {tp} {records:?}",
                polled.generation
            )
            .unwrap();
        }
        polled
    }

    fn commit(&mut self, now_ms: u64, offsets: &[(i32, Offset)], sync: bool) -> u64 {
        let offsets: Vec<(TopicPartition, Offset)> =
            offsets.iter().map(|&(p, o)| (tp(p), o)).collect();
        let what = if sync { "commitSync" } else { "commitAsync" };
        let input = format!("{what} {}", self::offsets(&offsets));
        let (id, out) = self.consumer.commit_offsets(now_ms, offsets, sync);
        self.record(now_ms, format!("{input} is #{id}"), out);
        id
    }

    /// Answers the latest unanswered request of API `api`, wherever it went.
    fn answer(&mut self, now_ms: u64, api: &str, message: Message) -> &mut Self {
        let index = self
            .sent
            .iter()
            .rposition(|(_, _, m, answered)| !answered && m.api_name() == api)
            .unwrap_or_else(|| panic!("no {api} waits for an answer"));
        self.sent[index].3 = true;
        let (to, correlation_id) = (self.sent[index].0, self.sent[index].1);
        let input = format!("{to} answers #{correlation_id}: {}", describe(&message));
        let out = self
            .consumer
            .handle_message(now_ms, to, correlation_id, message);
        self.record(now_ms, input, out)
    }

    /// Answers the latest OffsetCommit with `error` for each of its partitions.
    fn answer_commit(&mut self, now_ms: u64, error: ErrorCode) -> &mut Self {
        let Message::OffsetCommitRequest(r) = self.latest("OffsetCommit") else {
            unreachable!()
        };
        let results = r
            .offsets
            .iter()
            .map(|(tp, _)| (tp.clone(), error))
            .collect();
        let answer = Message::OffsetCommitResponse(OffsetCommitResponse { results });
        self.answer(now_ms, "OffsetCommit", answer)
    }

    fn timeout(&mut self, now_ms: u64) -> &mut Self {
        let out = self.consumer.on_timeout(now_ms);
        self.record(now_ms, "timeout".into(), out)
    }

    fn disconnect(&mut self, now_ms: u64, broker: BrokerId) -> &mut Self {
        for (to, _, _, answered) in &mut self.sent {
            *answered |= *to == NodeId::Broker(broker);
        }
        let out = self.consumer.on_disconnect(now_ms, NodeId::Broker(broker));
        self.record(now_ms, format!("broker {broker} disconnects"), out)
    }

    /// Runs timers up to `until_ms`, as the host would.
    fn wait_until(&mut self, until_ms: u64) -> &mut Self {
        while let Some(at) = self.consumer.next_timeout().filter(|at| *at <= until_ms) {
            self.timeout(at);
        }
        self
    }

    /// The latest request of API `api`.
    fn latest(&self, api: &str) -> &Message {
        self.sent
            .iter()
            .rev()
            .find(|(_, _, m, _)| m.api_name() == api)
            .map(|(_, _, m, _)| m)
            .unwrap_or_else(|| panic!("no {api} sent"))
    }

    /// The APIs of the requests sent from the `from`-th on.
    fn apis_from(&self, from: usize) -> Vec<&'static str> {
        self.sent[from..]
            .iter()
            .map(|(_, _, m, _)| m.api_name())
            .collect()
    }

    /// Unanswered requests of API `api`.
    fn waiting(&self, api: &str) -> usize {
        self.sent
            .iter()
            .filter(|(_, _, m, answered)| !answered && m.api_name() == api)
            .count()
    }

    fn record(&mut self, now_ms: u64, input: String, out: Vec<Output>) -> &mut Self {
        let next = self.consumer.next_timeout();
        assert!(
            next.is_none_or(|at| at > now_ms),
            "after {input} at {now_ms}: next_timeout {next:?} is not in the future\n{}",
            self.transcript
        );
        writeln!(self.transcript, "@{now_ms} {input}").unwrap();
        for o in &out {
            let line = match o {
                Output::Send {
                    to,
                    correlation_id,
                    message,
                } => format!("{to} #{correlation_id}: {}", describe(message)),
                Output::Disconnect(peer) => format!("disconnect {peer}"),
                Output::Observe(observation) => format!("observe {observation:?}"),
            };
            writeln!(self.transcript, "  -> {line}").unwrap();
        }
        for e in self.consumer.drain_events() {
            writeln!(self.transcript, "  => {}", render_event(&e)).unwrap();
            self.events.push(e);
        }
        for o in out {
            match o {
                Output::Send {
                    to,
                    correlation_id,
                    message,
                } => self.sent.push((to, correlation_id, message, false)),
                Output::Disconnect(NodeId::Broker(broker)) => {
                    for (to, _, _, answered) in &mut self.sent {
                        *answered |= *to == NodeId::Broker(broker);
                    }
                }
                _ => {}
            }
        }
        self
    }

    /// Started at 0, with metadata for 4 partitions at 1 and the coordinator found at 2.
    fn found(config: GroupMemberConfig, fixes: Fixes) -> Script {
        let mut s = Script::with_fixes(config, fixes);
        s.start(0);
        assert_eq!(s.apis_from(0), vec!["Metadata", "FindCoordinator"]);
        s.answer(1, "Metadata", metadata(4));
        s.answer(2, "FindCoordinator", coordinator(COORDINATOR));
        s
    }

    /// A new member "m-1" that joined generation 1 as its leader beside "m-2", took t-0 and t-1 (range), found
    /// t-0 committed at 5 and t-1 without a commit (so at 0), and has fetches out to brokers 1 and 2 at 101.
    fn leader_with(config: GroupMemberConfig, fixes: Fixes) -> Script {
        let protocol = config.partition_assignment_strategy[0];
        let mut s = Script::found(config, fixes);
        s.poll(10);
        s.answer(
            11,
            "JoinGroup",
            join_error(ErrorCode::MEMBER_ID_REQUIRED, "m-1"),
        );
        let members = vec![member("m-1", &[], -1), member("m-2", &[], -1)];
        s.answer(12, "JoinGroup", joined(1, protocol, "m-1", "m-1", members));
        s.answer(13, "SyncGroup", synced(&[0, 1]));
        // The assignment is taken up in the next poll (`onJoinComplete`).
        s.poll(13);
        s.answer(14, "OffsetFetch", committed(&[(0, 5), (1, -1)]));
        s.wait_until(100);
        s.answer(101, "Metadata", metadata(4));
        assert!(s.consumer.stable());
        s
    }

    /// [`Script::leader`] that has read t-0 at 5..7 and t-1 at 0..2 (buffered, not yet polled) by 103.
    fn reading(config: GroupMemberConfig) -> Script {
        Script::reading_with(config, Fixes::default())
    }

    fn reading_with(config: GroupMemberConfig, fixes: Fixes) -> Script {
        let mut s = Script::leader_with(config, fixes);
        s.answer_fetch(102, 1, records(0, 5, &[105, 106]));
        s.answer_fetch(103, 2, records(1, 0, &[200, 201]));
        s
    }

    /// Answers the latest unanswered Fetch to `broker`.
    fn answer_fetch(&mut self, now_ms: u64, broker: BrokerId, message: Message) -> &mut Self {
        let index = self
            .sent
            .iter()
            .rposition(|(to, _, m, answered)| {
                !answered && *to == NodeId::Broker(broker) && m.api_name() == "Fetch"
            })
            .unwrap_or_else(|| panic!("no Fetch to broker {broker} waits"));
        self.sent[index].3 = true;
        let correlation_id = self.sent[index].1;
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

    /// Keeps the member's heartbeats answered with NONE, polling at every heartbeat, up to `until_ms`.
    fn heartbeat_until(&mut self, until_ms: u64) -> &mut Self {
        while let Some(at) = self.consumer.next_timeout().filter(|at| *at <= until_ms) {
            self.timeout(at);
            if self.waiting("Heartbeat") > 0 {
                self.answer(at, "Heartbeat", heartbeat(ErrorCode::NONE));
            }
        }
        self
    }

    fn committed_events(&self) -> Vec<(CommitSource, i32, CommitOutcome)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                GroupEvent::Committed {
                    source,
                    generation,
                    outcome,
                    ..
                } => Some((*source, *generation, *outcome)),
                _ => None,
            })
            .collect()
    }
}

fn request<'a>(s: &'a Script, api: &str) -> &'a Message {
    s.latest(api)
}

fn polled_values(polled: &Polled) -> Vec<(TopicPartition, Vec<Offset>)> {
    polled
        .records
        .iter()
        .map(|(tp, records)| (tp.clone(), records.iter().map(|(o, _)| *o).collect()))
        .collect()
}

#[test]
fn a_new_member_gets_an_id_joins_as_leader_assigns_by_range_and_reads_from_its_committed_offsets() {
    let mut s = Script::reading(member_config());
    let Message::JoinGroupRequest(first) = &s.sent[2].2 else {
        panic!("the first group request after the lookup is JoinGroup");
    };
    assert_eq!(
        first.member_id, "",
        "a new member joins without an id (KIP-394)"
    );
    let Message::SyncGroupRequest(sync) = request(&s, "SyncGroup") else {
        unreachable!()
    };
    assert_eq!(
        sync.assignments,
        vec![
            (
                "m-1".to_string(),
                Assignment {
                    partitions: vec![tp(0), tp(1)]
                }
            ),
            (
                "m-2".to_string(),
                Assignment {
                    partitions: vec![tp(2), tp(3)]
                }
            ),
        ],
        "range over the leader's metadata: 4 partitions, 2 members"
    );
    let Message::OffsetFetchRequest(fetch) = request(&s, "OffsetFetch") else {
        unreachable!()
    };
    assert!(
        fetch.require_stable,
        "KIP-447: the consumer asks for stable offsets"
    );
    let first = s.poll(104);
    assert_eq!(polled_values(&first), vec![(tp(0), vec![5, 6])]);
    let second = s.poll(105);
    assert_eq!(
        polled_values(&second),
        vec![(tp(1), vec![0, 1])],
        "max.poll.records = 2 per poll"
    );
    assert_eq!(second.generation, 1);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn a_follower_syncs_with_no_assignments_and_takes_the_one_the_coordinator_hands_it() {
    let mut s = Script::found(member_config(), Fixes::default());
    s.poll(10);
    s.answer(
        11,
        "JoinGroup",
        join_error(ErrorCode::MEMBER_ID_REQUIRED, "m-2"),
    );
    s.answer(
        12,
        "JoinGroup",
        joined(4, Assignor::Range, "m-1", "m-2", vec![]),
    );
    let Message::SyncGroupRequest(sync) = request(&s, "SyncGroup") else {
        unreachable!()
    };
    assert_eq!((sync.generation_id, sync.member_id.as_str()), (4, "m-2"));
    assert!(sync.assignments.is_empty(), "a follower assigns nothing");
    s.answer(13, "SyncGroup", synced(&[2, 3]));
    // The assignment is taken up in the next poll (`onJoinComplete`).
    s.poll(13);
    assert_eq!(s.consumer.owned(), vec![tp(2), tp(3)]);
    assert_eq!(s.consumer.generation(), 4);
    assert_eq!(
        s.events,
        vec![GroupEvent::Assigned {
            generation: 4,
            member_id: "m-2".into(),
            partitions: vec![tp(2), tp(3)]
        }]
    );
    let Message::OffsetFetchRequest(fetch) = request(&s, "OffsetFetch") else {
        unreachable!()
    };
    assert_eq!(fetch.partitions, Some(vec![tp(2), tp(3)]));
}

#[test]
fn a_member_that_has_not_polled_does_not_join() {
    let mut s = Script::found(member_config(), Fixes::default());
    s.wait_until(60_000);
    assert_eq!(s.waiting("JoinGroup"), 0, "KafkaConsumer joins in poll");
    s.poll(60_001);
    assert_eq!(s.waiting("JoinGroup"), 1);
}

#[test]
fn a_stable_member_heartbeats_every_heartbeat_interval() {
    let mut s = Script::reading(member_config());
    let before = s.sent.len();
    s.heartbeat_until(10_000);
    let sent: Vec<&'static str> = s
        .apis_from(before)
        .into_iter()
        .filter(|api| *api == "Heartbeat")
        .collect();
    // Stable at 13: heartbeats at 3013, 6013, 9013.
    assert_eq!(sent.len(), 3);
    assert!(s.transcript.contains("@3013 timeout\n  -> broker-3 #"));
    assert!(s.transcript.contains("@9013 timeout\n  -> broker-3 #"));
    let Message::HeartbeatRequest(h) = request(&s, "Heartbeat") else {
        unreachable!()
    };
    assert_eq!((h.generation_id, h.member_id.as_str()), (1, "m-1"));
}

impl Script {
    /// A new member "m-2" that joined generation 1 as a follower of "m-1" and was handed `partitions`, all
    /// committed at 0, with fetches out for them from 101.
    fn follower(config: GroupMemberConfig, fixes: Fixes, partitions: &[i32]) -> Script {
        let protocol = config.partition_assignment_strategy[0];
        let mut s = Script::found(config, fixes);
        s.poll(10);
        s.answer(
            11,
            "JoinGroup",
            join_error(ErrorCode::MEMBER_ID_REQUIRED, "m-2"),
        );
        s.answer(12, "JoinGroup", joined(1, protocol, "m-1", "m-2", vec![]));
        s.answer(13, "SyncGroup", synced(partitions));
        // The assignment is taken up in the next poll (`onJoinComplete`).
        s.poll(13);
        if !partitions.is_empty() {
            let zeros: Vec<(i32, Offset)> = partitions.iter().map(|&p| (p, 0)).collect();
            s.answer(14, "OffsetFetch", committed(&zeros));
            s.wait_until(100);
            s.answer(101, "Metadata", metadata(4));
        }
        assert!(s.consumer.stable());
        s
    }

    /// The latest JoinGroup's member id and what it reports owning, from which generation.
    fn join_request(&self) -> (String, Vec<TopicPartition>, i32) {
        let Message::JoinGroupRequest(r) = self.latest("JoinGroup") else {
            unreachable!()
        };
        let metadata = &r.protocols[0].metadata;
        (
            r.member_id.clone(),
            metadata.owned_partitions.clone(),
            metadata.generation_id,
        )
    }
}

/// A heartbeat answered REBALANCE_IN_PROGRESS at 3014, and the poll at 3020 that starts the rebalance.
fn rebalance_requested(s: &mut Script) -> Polled {
    s.wait_until(3_013);
    s.answer(
        3_014,
        "Heartbeat",
        heartbeat(ErrorCode::REBALANCE_IN_PROGRESS),
    );
    assert_eq!(s.waiting("JoinGroup"), 0, "the rebalance starts in poll");
    s.poll(3_020)
}

#[test]
fn rebalance_in_progress_auto_commits_then_revokes_everything_and_rejoins_even_when_the_commit_fails(
) {
    let config = GroupMemberConfig {
        enable_auto_commit: true,
        ..member_config()
    };
    let mut s = Script::reading(config);
    s.poll(104);
    let polled = rebalance_requested(&mut s);
    // onJoinPrepare commits what poll returned so far, synchronously, before anything is revoked.
    let Message::OffsetCommitRequest(commit) = request(&s, "OffsetCommit") else {
        panic!("no commit before the rebalance");
    };
    assert_eq!(commit.generation_id, 1);
    assert_eq!(commit.offsets, vec![(tp(0), 7), (tp(1), 0)]);
    assert_eq!(s.waiting("JoinGroup"), 0, "JoinGroup waits for the commit");
    // Kafka's poll does not block on the join, but the eager protocol marks every owned partition pending
    // revocation first (`maybeMarkPartitionsPendingRevocation`), so none of their records come out meanwhile.
    assert_eq!(polled_values(&polled), vec![]);
    s.answer_commit(3_021, ErrorCode::REBALANCE_IN_PROGRESS);
    assert_eq!(
        s.committed_events(),
        vec![(
            CommitSource::Auto,
            1,
            CommitOutcome::Failed(ErrorCode::REBALANCE_IN_PROGRESS)
        )]
    );
    assert_eq!(
        s.join_request(),
        ("m-1".to_string(), vec![], 1),
        "eager: everything is revoked before JoinGroup"
    );
    assert!(
        s.poll(3_022).records.is_empty(),
        "nothing owned while joining"
    );
    let members = vec![member("m-1", &[], 1), member("m-2", &[], 1)];
    s.answer(
        3_030,
        "JoinGroup",
        joined(2, Assignor::Range, "m-1", "m-1", members),
    );
    s.answer(3_031, "SyncGroup", synced(&[0, 1]));
    // The assignment is taken up in the next poll (`onJoinComplete`).
    s.poll(3_031);
    s.poll(3_032);
    assert_eq!(
        s.waiting("JoinGroup"),
        0,
        "the completed rebalance answered every request to rejoin made during it"
    );
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn a_committing_rebalance_listener_commits_before_an_eager_revocation() {
    let config = GroupMemberConfig {
        commit_on_revoke: true,
        ..member_config()
    };
    let mut s = Script::reading(config);
    s.poll(104);
    s.poll(105);
    rebalance_requested(&mut s);
    let Message::OffsetCommitRequest(commit) = request(&s, "OffsetCommit") else {
        panic!("no listener commit");
    };
    assert_eq!(commit.offsets, vec![(tp(0), 7), (tp(1), 2)]);
    assert!(
        !s.transcript.contains("revoked"),
        "the listener commits first"
    );
    s.answer_commit(3_021, ErrorCode::NONE);
    assert_eq!(
        s.committed_events(),
        vec![(CommitSource::Revoke, 1, CommitOutcome::Committed)]
    );
    assert_eq!(
        s.events.last(),
        Some(&GroupEvent::Revoked {
            partitions: vec![tp(0), tp(1)],
            lost: false
        })
    );
    assert_eq!(s.waiting("JoinGroup"), 1);
}

#[test]
fn no_poll_for_max_poll_interval_leaves_the_group_loses_the_partitions_and_rejoins_afresh() {
    let mut s = Script::reading(member_config());
    // The poll timer last started with the poll at 13 that took up the assignment; the heartbeat thread keeps the
    // session alive meanwhile.
    s.heartbeat_until(25_000);
    let Message::LeaveGroupRequest(leave) = request(&s, "LeaveGroup") else {
        panic!("no LeaveGroup");
    };
    assert_eq!(leave.members, vec!["m-1".to_string()]);
    assert!(
        s.transcript.contains("@20013 timeout\n  -> broker-3"),
        "max.poll.interval.ms after the last poll (Kafka's timers expire at their deadline)"
    );
    assert!(s.events.contains(&GroupEvent::Revoked {
        partitions: vec![tp(0), tp(1)],
        lost: true
    }));
    let polled = s.poll(25_001);
    assert!(
        polled.records.is_empty(),
        "records buffered for lost partitions are not returned"
    );
    assert_eq!(s.join_request(), (String::new(), vec![], -1));
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn illegal_generation_on_a_heartbeat_loses_the_partitions_and_rejoins_with_the_same_member_id() {
    let mut s = Script::reading(member_config());
    s.wait_until(3_013);
    s.answer(3_014, "Heartbeat", heartbeat(ErrorCode::ILLEGAL_GENERATION));
    assert_eq!(
        s.events.last(),
        Some(&GroupEvent::Revoked {
            partitions: vec![tp(0), tp(1)],
            lost: true
        })
    );
    assert!(s.poll(3_020).records.is_empty());
    assert_eq!(s.join_request(), ("m-1".to_string(), vec![], -1));
}

#[test]
fn unknown_member_id_on_a_heartbeat_loses_the_partitions_and_rejoins_as_a_new_member() {
    let mut s = Script::reading(member_config());
    s.wait_until(3_013);
    s.answer(3_014, "Heartbeat", heartbeat(ErrorCode::UNKNOWN_MEMBER_ID));
    assert!(s.events.contains(&GroupEvent::Revoked {
        partitions: vec![tp(0), tp(1)],
        lost: true
    }));
    assert!(s.poll(3_020).records.is_empty());
    assert_eq!(s.join_request(), (String::new(), vec![], -1));
}

#[test]
fn a_commit_fenced_by_generation_or_member_id_fails_and_loses_the_partitions() {
    for (error, rejoin_as) in [
        (ErrorCode::ILLEGAL_GENERATION, "m-1"),
        (ErrorCode::UNKNOWN_MEMBER_ID, ""),
    ] {
        let mut s = Script::reading(member_config());
        s.poll(104);
        let id = s.commit(105, &[(0, 7)], true);
        s.answer_commit(106, error);
        assert_eq!(
            s.events[s.events.len() - 2..],
            [
                GroupEvent::Committed {
                    id,
                    source: CommitSource::Manual,
                    generation: 1,
                    offsets: vec![(tp(0), 7)],
                    outcome: CommitOutcome::Failed(error),
                },
                GroupEvent::Revoked {
                    partitions: vec![tp(0), tp(1)],
                    lost: true
                }
            ]
        );
        assert!(s.poll(107).records.is_empty());
        assert_eq!(s.join_request().0, rejoin_as, "{error}");
    }
}

#[test]
fn not_coordinator_on_a_heartbeat_looks_the_coordinator_up_again_and_keeps_the_partitions() {
    let mut s = Script::reading(member_config());
    s.wait_until(3_013);
    let before = s.sent.len();
    s.answer(3_014, "Heartbeat", heartbeat(ErrorCode::NOT_COORDINATOR));
    assert_eq!(s.apis_from(before), vec!["FindCoordinator"]);
    s.answer(3_015, "FindCoordinator", coordinator(1));
    s.wait_until(6_013);
    assert_eq!(s.sent.last().map(|(to, ..)| *to), Some(NodeId::Broker(1)));
    assert_eq!(
        s.sent.last().map(|(_, _, m, _)| m.api_name()),
        Some("Heartbeat")
    );
    assert_eq!(s.consumer.owned(), vec![tp(0), tp(1)]);
    assert!(!s.transcript.contains("lost"));
}

#[test]
fn a_disconnected_coordinator_is_looked_up_again() {
    let mut s = Script::reading(member_config());
    let before = s.sent.len();
    s.disconnect(200, COORDINATOR);
    // The fetcher refreshes metadata on any lost connection, as Kafka's NetworkClient does.
    assert_eq!(s.apis_from(before), vec!["Metadata", "FindCoordinator"]);
    assert_eq!(s.consumer.owned(), vec![tp(0), tp(1)]);
}

#[test]
fn join_group_waits_for_the_rebalance_timeout_plus_five_seconds_or_the_request_timeout() {
    for (max_poll_interval_ms, timeout_ms) in [(20_000, 30_000), (60_000, 65_000)] {
        let config = GroupMemberConfig {
            max_poll_interval_ms,
            ..member_config()
        };
        let mut s = Script::found(config, Fixes::default());
        s.poll(10);
        assert_eq!(s.consumer.next_timeout(), Some(10 + timeout_ms));
        s.wait_until(10 + timeout_ms);
        assert!(
            s.transcript.contains(&format!(
                "@{} timeout\n  -> disconnect broker-3",
                10 + timeout_ms
            )),
            "{}",
            s.transcript
        );
        assert_eq!(
            s.sent.last().map(|(_, _, m, _)| m.api_name()),
            Some("Metadata")
        );
        // A failed JoinGroup backs off `retry.backoff.ms` before the coordinator is looked up again.
        s.wait_until(10 + timeout_ms + 100);
        assert_eq!(
            s.sent.last().map(|(_, _, m, _)| m.api_name()),
            Some("FindCoordinator")
        );
    }
}

#[test]
fn commit_sync_retries_coordinator_errors_until_default_api_timeout_and_then_is_unknown() {
    let config = GroupMemberConfig {
        session_timeout_ms: 120_000,
        heartbeat_interval_ms: 100_000,
        max_poll_interval_ms: 300_000,
        ..member_config()
    };
    let mut s = Script::follower(config, Fixes::default(), &[]);
    s.commit(100, &[(0, 5)], true);
    s.answer_commit(101, ErrorCode::NOT_COORDINATOR);
    s.answer(102, "FindCoordinator", coordinator(COORDINATOR));
    // The second attempt goes unanswered: request.timeout.ms closes the connection, and the commit may be stored.
    s.wait_until(30_201);
    s.answer(30_202, "FindCoordinator", coordinator(COORDINATOR));
    s.wait_until(60_100);
    assert_eq!(
        s.committed_events(),
        vec![(CommitSource::Manual, 1, CommitOutcome::Unknown)]
    );
    assert_eq!(
        s.apis_from(0)
            .iter()
            .filter(|a| **a == "OffsetCommit")
            .count(),
        3
    );
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn commit_async_is_tried_once() {
    let mut s = Script::follower(member_config(), Fixes::default(), &[]);
    s.commit(100, &[(0, 5)], false);
    s.answer_commit(101, ErrorCode::NOT_COORDINATOR);
    s.answer(102, "FindCoordinator", coordinator(COORDINATOR));
    s.commit(200, &[(0, 6)], false);
    // Unanswered until request.timeout.ms: it may have been stored.
    s.heartbeat_until(30_300);
    assert_eq!(
        s.committed_events(),
        vec![
            (
                CommitSource::Manual,
                1,
                CommitOutcome::Failed(ErrorCode::NOT_COORDINATOR)
            ),
            (CommitSource::Manual, 1, CommitOutcome::Unknown)
        ]
    );
    assert_eq!(
        s.apis_from(0)
            .iter()
            .filter(|a| **a == "OffsetCommit")
            .count(),
        2
    );
}

/// A cooperative follower owning t-0 and t-1 that is handed only t-0 in generation 2.
fn cooperative_revocation(fixes: Fixes) -> Script {
    let mut s = Script::follower(cooperative(), fixes, &[0, 1]);
    s.answer_fetch(102, 1, records(0, 0, &[100, 101]));
    s.answer_fetch(103, 2, records(1, 0, &[200, 201]));
    let polled = rebalance_requested(&mut s);
    assert_eq!(polled_values(&polled), vec![(tp(0), vec![0, 1])]);
    assert_eq!(
        s.join_request(),
        ("m-2".to_string(), vec![tp(0), tp(1)], 1),
        "cooperative: the member keeps and reports what it owns, and its listener is not called\n{}",
        s.transcript
    );
    // Partitions kept are fetched and returned throughout the rebalance.
    s.answer_fetch(3_021, 1, records(0, 2, &[102, 103]));
    s.answer(
        3_022,
        "JoinGroup",
        joined(2, Assignor::CooperativeSticky, "m-1", "m-2", vec![]),
    );
    assert_eq!(polled_values(&s.poll(3_023)), vec![(tp(1), vec![0, 1])]);
    s.answer(3_024, "SyncGroup", synced(&[0]));
    // The assignment is taken up in the next poll (`onJoinComplete`).
    s.poll(3_024);
    // The listener commits the partition taken away, in the new generation, before it is revoked.
    let Message::OffsetCommitRequest(commit) = request(&s, "OffsetCommit") else {
        panic!("no listener commit");
    };
    assert_eq!(
        (commit.generation_id, commit.offsets.clone()),
        (2, vec![(tp(1), 2)])
    );
    s.answer_fetch(3_025, 2, records(1, 2, &[202, 203]));
    s.answer_commit(3_026, ErrorCode::NONE);
    s
}

#[test]
fn cooperative_revocation_commits_and_revokes_only_what_moves_then_rejoins() {
    let mut s = cooperative_revocation(Fixes::default());
    assert_eq!(
        s.events[s.events.len() - 3..],
        [
            GroupEvent::Committed {
                id: 1,
                source: CommitSource::Revoke,
                generation: 2,
                offsets: vec![(tp(1), 2)],
                outcome: CommitOutcome::Committed
            },
            GroupEvent::Revoked {
                partitions: vec![tp(1)],
                lost: false
            },
            GroupEvent::Assigned {
                generation: 2,
                member_id: "m-2".into(),
                partitions: vec![tp(0)]
            }
        ]
    );
    let polled = s.poll(3_030);
    assert_eq!(polled_values(&polled), vec![(tp(0), vec![2, 3])]);
    assert_eq!(
        s.join_request(),
        ("m-2".to_string(), vec![tp(0)], 2),
        "the member rejoins so the revoked partition can be handed out"
    );
    assert!(s.poll(3_031).records.is_empty(), "t-1's records are gone");
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn with_kip_429_reverted_a_revoked_partition_is_still_read() {
    let fixes = Fixes {
        reverted: [Fix::Kip429CooperativeRevocation].into(),
    };
    let mut s = cooperative_revocation(fixes);
    assert!(s.events.contains(&GroupEvent::Revoked {
        partitions: vec![tp(1)],
        lost: false
    }));
    let mut read: Vec<(TopicPartition, Vec<Offset>)> = polled_values(&s.poll(3_030));
    read.extend(polled_values(&s.poll(3_031)));
    assert!(
        read.contains(&(tp(1), vec![2, 3])),
        "the zombie partition's records still come out: {read:?}"
    );
}

#[test]
fn the_leader_rejoins_when_its_metadata_shows_more_partitions_than_it_assigned() {
    let mut s = Script::reading(member_config());
    // A leader change on t-0 makes the fetcher refresh metadata, which now shows 6 partitions.
    let not_leader = Message::FetchResponse(FetchResponse {
        partitions: vec![FetchPartitionResponse {
            topic_partition: tp(0),
            error: ErrorCode::NOT_LEADER_OR_FOLLOWER,
            high_watermark: -1,
            log_start_offset: 0,
            log_end_offset: -1,
            last_stable_offset: -1,
            aborted_transactions: Vec::new(),
            batches: Vec::new(),
        }],
    });
    s.answer_fetch(200, 1, not_leader);
    s.wait_until(300);
    s.answer(301, "Metadata", metadata(6));
    assert_eq!(s.waiting("JoinGroup"), 0);
    s.poll(302);
    assert_eq!(s.join_request().0, "m-1");
    let members = vec![member("m-1", &[], 1), member("m-2", &[], 1)];
    s.answer(
        303,
        "JoinGroup",
        joined(2, Assignor::Range, "m-1", "m-1", members),
    );
    let Message::SyncGroupRequest(sync) = request(&s, "SyncGroup") else {
        unreachable!()
    };
    assert_eq!(
        sync.assignments[0].1.partitions,
        vec![tp(0), tp(1), tp(2)],
        "range over 6 partitions"
    );
}

#[test]
fn a_poll_that_empties_a_partition_fetches_it_again_at_once() {
    let mut s = Script::reading(member_config());
    // t-0's second fetch brings more: t-0 is paused with 4 records waiting, and nothing is in flight to broker 1.
    s.answer_fetch(110, 1, records(0, 7, &[107, 108]));
    assert_eq!(polled_values(&s.poll(111)), vec![(tp(0), vec![5, 6])]);
    assert_eq!(polled_values(&s.poll(112)), vec![(tp(1), vec![0, 1])]);
    let before = s.sent.len();
    assert_eq!(polled_values(&s.poll(113)), vec![(tp(0), vec![7, 8])]);
    let Some((to, _, Message::FetchRequest(fetch), _)) = s.sent.get(before) else {
        panic!("no fetch after t-0 emptied:\n{}", s.transcript);
    };
    assert_eq!(*to, NodeId::Broker(1));
    assert_eq!(fetch.partitions[0].fetch_offset, 9);
}

#[test]
fn session_expiry_looks_the_coordinator_up_again_and_heartbeats_promptly() {
    let mut s = Script::reading(member_config());
    s.poll(104);
    // The heartbeat at 3013 goes unanswered; the session (10 s) runs out 10 s after the last good one (13).
    s.wait_until(10_013);
    assert_eq!(
        s.sent.last().map(|(_, _, m, _)| m.api_name()),
        Some("FindCoordinator"),
        "{}",
        s.transcript
    );
    assert!(s.transcript.contains("@10013 timeout"));
    s.answer(10_014, "FindCoordinator", coordinator(COORDINATOR));
    s.wait_until(10_200);
    assert_eq!(
        s.sent.last().map(|(_, _, m, _)| m.api_name()),
        Some("Heartbeat"),
        "{}",
        s.transcript
    );
    s.answer(10_201, "Heartbeat", heartbeat(ErrorCode::UNKNOWN_MEMBER_ID));
    assert!(s.events.contains(&GroupEvent::Revoked {
        partitions: vec![tp(0), tp(1)],
        lost: true
    }));
}

/// Answers every request as a healthy cluster would: coordinator requests after 1 ms, an empty fetch after
/// `fetch.max.wait.ms`.
fn healthy_answer(message: &Message) -> (u64, Message) {
    match message {
        Message::HeartbeatRequest(_) => (1, heartbeat(ErrorCode::NONE)),
        Message::MetadataRequest(_) => (1, metadata(4)),
        Message::FindCoordinatorRequest(_) => (1, coordinator(COORDINATOR)),
        Message::LeaveGroupRequest(r) => (
            1,
            Message::LeaveGroupResponse(LeaveGroupResponse {
                error: ErrorCode::NONE,
                members: r
                    .members
                    .iter()
                    .map(|m| (m.clone(), ErrorCode::NONE))
                    .collect(),
            }),
        ),
        Message::OffsetCommitRequest(r) => (
            1,
            Message::OffsetCommitResponse(OffsetCommitResponse {
                results: r
                    .offsets
                    .iter()
                    .map(|(tp, _)| (tp.clone(), ErrorCode::NONE))
                    .collect(),
            }),
        ),
        Message::FetchRequest(r) => {
            let p = &r.partitions[0];
            assert_eq!(r.partitions.len(), 1, "one partition per leader here");
            (
                r.max_wait_ms,
                records_to(
                    p.topic_partition.partition,
                    p.fetch_offset,
                    &[],
                    p.fetch_offset,
                ),
            )
        }
        other => panic!("unexpected {}", other.api_name()),
    }
}

/// Runs the member against a healthy cluster from `now_ms` to `until_ms`, answering every request sent from the
/// `from`-th on, the application polling every `poll_every_ms` if at all. Returns the timer wake-ups.
fn run_healthy(
    s: &mut Script,
    from: usize,
    mut now_ms: u64,
    until_ms: u64,
    poll_every_ms: Option<u64>,
) -> usize {
    let mut scheduled = vec![true; from];
    let mut answers: BTreeMap<(u64, usize), Message> = BTreeMap::new();
    let mut next_poll_ms = poll_every_ms.map(|every| now_ms + every);
    let mut wakeups = 0;
    loop {
        scheduled.resize(s.sent.len(), false);
        for (i, done) in scheduled.iter_mut().enumerate() {
            if !*done && !s.sent[i].3 {
                *done = true;
                let (delay_ms, answer) = healthy_answer(&s.sent[i].2);
                answers.insert((now_ms + delay_ms, i), answer);
            }
        }
        let answer_at = answers.keys().next().map(|(at, _)| *at);
        let timer = s.consumer.next_timeout();
        let Some(at) = [answer_at, timer, next_poll_ms].into_iter().flatten().min() else {
            break;
        };
        if at > until_ms {
            break;
        }
        assert!(at >= now_ms, "time goes backwards");
        now_ms = at;
        if answer_at == Some(at) {
            let ((_, i), answer) = answers.pop_first().expect("due");
            if s.sent[i].3 {
                continue;
            }
            s.sent[i].3 = true;
            let (to, correlation_id) = (s.sent[i].0, s.sent[i].1);
            let out = s
                .consumer
                .handle_message(now_ms, to, correlation_id, answer);
            s.record(now_ms, format!("{to} answers #{correlation_id}"), out);
        } else if timer == Some(at) {
            wakeups += 1;
            s.timeout(now_ms);
        } else {
            s.poll(now_ms);
            next_poll_ms = next_poll_ms
                .zip(poll_every_ms)
                .map(|(at, every)| at + every);
        }
    }
    wakeups
}

#[test]
fn an_idle_member_heartbeats_and_long_polls_without_spinning_or_stalling() {
    let config = GroupMemberConfig {
        enable_auto_commit: true,
        ..member_config()
    };
    let mut s = Script::reading(config);
    // The fetches out at 103 are answered too.
    let start = s.sent.len() - 2;
    let wakeups = run_healthy(&mut s, start, 103, 60_999, Some(1_000));
    let count = |s: &Script, api: &str| s.apis_from(start).iter().filter(|a| **a == api).count();
    assert_eq!(count(&s, "Heartbeat"), 20, "one every 3 s for a minute");
    assert_eq!(count(&s, "OffsetCommit"), 12, "one auto-commit every 5 s");
    let fetches = count(&s, "Fetch");
    assert!(
        (200..=245).contains(&fetches),
        "empty fetches wait fetch.max.wait.ms each, on two leaders: {fetches}"
    );
    assert!(wakeups <= 25, "{wakeups} timer wake-ups in a minute");
    assert!(s.consumer.stable());
    // Then the application stops polling: the member leaves, and outside the group it sleeps.
    let from = s.sent.len();
    let wakeups = run_healthy(&mut s, from, 61_000, 661_000, None);
    assert!(s.events.contains(&GroupEvent::Revoked {
        partitions: vec![tp(0), tp(1)],
        lost: true
    }));
    assert_eq!(count(&s, "LeaveGroup"), 1);
    assert!(
        wakeups <= 15,
        "{wakeups} wake-ups in 10 idle minutes:\n{}",
        s.transcript
    );
}

#[test]
fn no_fetch_goes_out_while_the_application_is_busy_outside_poll() {
    let mut s = Script::reading(member_config());
    let first = s.poll(104);
    assert_eq!(polled_values(&first), vec![(tp(0), vec![5, 6])]);
    // Before returning records, poll fetched the partition it emptied (Kafka's pipelining). The application
    // processes what it got; the pre-fetch comes back empty: a consumer inside poll would fetch again at once, but
    // Kafka's classic consumer sends fetches only from poll.
    let sent = s.sent.len();
    s.answer_fetch(105, 1, records(0, 7, &[]));
    s.wait_until(2_000);
    assert!(
        !s.apis_from(sent).contains(&"Fetch"),
        "{:?}",
        s.apis_from(sent)
    );
    s.poll(2_001);
    assert!(
        s.apis_from(sent).contains(&"Fetch"),
        "polling fetches again"
    );
}
