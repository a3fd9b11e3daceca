//! Tests for the scenario loader: a full file round-trips, defaults fill in, and each class of error names its
//! line, key and cause.

use super::{load, parse, position, ScenarioError};
use crate::checkers::ViolationKind;
use crate::nemesis::fault::{Fault, Target};
use crate::scenario::{
    Expect, FaultKind, Faults, GroupProcessing, Network, RandomFaults, Scenario, ScheduledFault,
    TopicSpec, Workload,
};
use crate::workload::group_member_client::CommitMode;
use ksim_model::config::{Acks, BrokerConfig, ConsumerConfig, Fix, Fixes, ProducerConfig};
use ksim_model::consumer::StartPosition;
use ksim_model::group::assignor::Assignor;
use ksim_model::group::coordinator::GroupConfig;
use ksim_model::protocol::IsolationLevel;
use std::path::Path;

/// The format's full example, with a scripted fault of every kind.
const FULL: &str = r#"
name = "acks-all-min-insync-2"
description = "RF 3, acks=all, min.insync.replicas=2"
duration_ms = 60000
settle_ms = 20000

[cluster]
brokers = 3

[broker]
"min.insync.replicas" = 2
"unclean.leader.election.enable" = false
"replica.lag.time.max.ms" = 10000
"replica.fetch.wait.max.ms" = 400
"replica.fetch.backoff.ms" = 900
"replica.socket.timeout.ms" = 20000
"replica.high.watermark.checkpoint.interval.ms" = 4000
"log.flush.interval.messages" = 9223372036854775807
"log.flush.interval.ms" = 1000
"broker.heartbeat.interval.ms" = 1500
"broker.session.timeout.ms" = 6000
"vm.dirty_expire_centisecs" = 1500
"eligible.leader.replicas.version" = 0
"transaction.state.log.num.partitions" = 5
"transaction.state.log.replication.factor" = 2
"transaction.state.log.min.isr" = 1
"transaction.abort.timed.out.transaction.cleanup.interval.ms" = 2000
"offsets.topic.num.partitions" = 4
"offsets.topic.replication.factor" = 2
"group.initial.rebalance.delay.ms" = 0
"group.min.session.timeout.ms" = 5000
"group.max.session.timeout.ms" = 60000
"offsets.commit.timeout.ms" = 4000

[[topic]]
name = "events"
partitions = 3
"replication.factor" = 3
"min.insync.replicas" = 2
"unclean.leader.election.enable" = true

[[topic]]
name = "audit.log"
partitions = 1
"replication.factor" = 1

[producer]
acks = "1"
retries = 10
"retry.backoff.ms" = 200
"request.timeout.ms" = 10000
"delivery.timeout.ms" = 30000
"max.in.flight.requests.per.connection" = 1
"linger.ms" = 0
"batch.size" = 1_024
"metadata.max.age.ms" = 60000
"transaction.timeout.ms" = 5000

[consumer]
"fetch.max.wait.ms" = 100
"max.poll.records" = 10
"request.timeout.ms" = 5000
"retry.backoff.ms" = 50
"metadata.max.age.ms" = 0x10
"isolation.level" = "read_committed"

[workload]
producers = 2
records_per_second = 100
keys = 0
consumers = 3
read_committed_consumers = 2
records_per_transaction = 4
abort_percent = 25
zombie_restarts = 1
stall_percent = 5

[model]
revert = ["KIP-98"]

[network]
latency_ms = [2, 2]

[faults]
random = { kinds = ["crash", "power-loss", "isolate", "split-halves", "one-way", "bridge", "slow", "isr-shrink-then-leader-dies", "isr-grows-then-leader-dies", "create-partitions"], interval_ms = [5000, 15000], duration_ms = [2000, 10000] }

[[faults.at]]
at_ms = 10000
duration_ms = 20000
kind = "crash"
target = "leader"

[[faults.at]]
at_ms = 0
duration_ms = 1
kind = "power-loss"
target = { broker = 3 }

[[faults.at]]
at_ms = 1
duration_ms = 2
kind = "isolate"
target = "controller"

[[faults.at]]
at_ms = 2
duration_ms = 3
kind = "split-halves"

[[faults.at]]
at_ms = 3
duration_ms = 4
kind = "one-way"
from = { broker = 1 }
to = "controller"

[[faults.at]]
at_ms = 4
duration_ms = 5
kind = "bridge"
bridge = { broker = 2 }

[[faults.at]]
at_ms = 5
duration_ms = 6
kind = "slow"
min_ms = 5
max_ms = 50
loss_rate = 0.1

[[faults.at]]
at_ms = 6
duration_ms = 8
kind = "create-partitions"
topic = "audit.log"
increase_by = 3

[[faults.at]]
at_ms = 59999
duration_ms = 7
kind = "isr-shrink-then-leader-dies"
power_loss = true

[[faults.at]]
at_ms = 59999
duration_ms = 9
kind = "isr-grows-then-leader-dies"
power_loss = false

[expect]
allow = ["lost-write", "divergence"]
find = ["lost-write"]
"#;

/// The smallest valid scenario: every optional key left out.
const MINIMAL: &str = r#"name = "t"
description = "d"
duration_ms = 60000

[cluster]
brokers = 3

[[topic]]
name = "events"
partitions = 1
"replication.factor" = 3
"#;

fn err(text: &str) -> ScenarioError {
    match parse(text, "t.toml") {
        Ok(s) => panic!("expected an error, got {s:?}"),
        Err(e) => e,
    }
}

/// MINIMAL with `extra` appended.
fn with(extra: &str) -> String {
    format!("{MINIMAL}{extra}")
}

/// MINIMAL with the line starting `prefix` replaced by `line` (or removed when `line` is empty).
fn replacing(prefix: &str, line: &str) -> String {
    let lines: Vec<&str> = MINIMAL
        .lines()
        .map(|l| if l.starts_with(prefix) { line } else { l })
        .collect();
    lines.join("\n")
}

/// The 1-based line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .expect("needle in text")
}

/// Asserts an error's line (the line holding `needle`), key and a fragment of its message.
fn assert_error(text: &str, needle: &str, key: &str, fragment: &str) {
    let e = err(text);
    assert_eq!(
        (e.line, e.key.as_str()),
        (line_of(text, needle), key),
        "{e}"
    );
    assert!(
        e.message.contains(fragment),
        "message `{}` lacks `{fragment}`",
        e.message
    );
}

fn full_expected() -> Scenario {
    let scheduled = |at_ms, duration_ms, fault| ScheduledFault {
        at_ms,
        duration_ms,
        fault,
    };
    Scenario {
        name: "acks-all-min-insync-2".into(),
        description: "RF 3, acks=all, min.insync.replicas=2".into(),
        duration_ms: 60_000,
        settle_ms: 20_000,
        brokers: 3,
        broker: BrokerConfig {
            min_insync_replicas: 2,
            unclean_leader_election_enable: false,
            replica_lag_time_max_ms: 10_000,
            replica_fetch_wait_max_ms: 400,
            replica_fetch_backoff_ms: 900,
            replica_socket_timeout_ms: 20_000,
            replica_high_watermark_checkpoint_interval_ms: 4_000,
            log_flush_interval_messages: u64::MAX,
            log_flush_interval_ms: Some(1_000),
            log_roll_ms: 604_800_000,
            log_cleaner_enable: true,
            log_cleaner_backoff_ms: 15_000,
            broker_heartbeat_interval_ms: 1_500,
            broker_session_timeout_ms: 6_000,
            vm_dirty_expire_centisecs: 1_500,
            eligible_leader_replicas_version: 0,
            transaction_state_log_num_partitions: 5,
            transaction_state_log_replication_factor: 2,
            transaction_state_log_min_isr: 1,
            transaction_abort_timed_out_transaction_cleanup_interval_ms: 2_000,
            offsets_topic_num_partitions: 4,
            offsets_topic_replication_factor: 2,
            group: GroupConfig {
                initial_rebalance_delay_ms: 0,
                min_session_timeout_ms: 5_000,
                max_session_timeout_ms: 60_000,
                offsets_commit_timeout_ms: 4_000,
            },
            fixes: Fixes {
                reverted: [Fix::Kip98ProducerEpochFencing].into(),
            },
        },
        topics: vec![
            TopicSpec {
                name: "events".into(),
                partitions: 3,
                replication_factor: 3,
                min_insync_replicas: Some(2),
                unclean_leader_election_enable: Some(true),
            },
            TopicSpec {
                name: "audit.log".into(),
                partitions: 1,
                replication_factor: 1,
                min_insync_replicas: None,
                unclean_leader_election_enable: None,
            },
        ],
        producer: ProducerConfig {
            acks: Acks::Leader,
            retries: 10,
            retry_backoff_ms: 200,
            request_timeout_ms: 10_000,
            delivery_timeout_ms: 30_000,
            max_in_flight_requests_per_connection: 1,
            linger_ms: 0,
            batch_size: 1_024,
            metadata_max_age_ms: 60_000,
            enable_idempotence: false,
            transactional_id: None,
            transaction_timeout_ms: 5_000,
        },
        consumer: ConsumerConfig {
            fetch_max_wait_ms: 100,
            max_poll_records: 10,
            request_timeout_ms: 5_000,
            retry_backoff_ms: 50,
            metadata_max_age_ms: 16,
            isolation_level: IsolationLevel::ReadCommitted,
            fixes: Default::default(),
        },
        workload: Workload {
            producers: 2,
            records_per_second: 100,
            keys: 0,
            consumers: 3,
            read_committed_consumers: 2,
            transactional_producers: 0,
            records_per_transaction: 4,
            abort_percent: 25,
            zombie_restarts: 1,
            stall_percent: 5,
        },
        network: Network { latency_ms: (2, 2) },
        faults: Faults {
            random: Some(RandomFaults {
                kinds: vec![
                    FaultKind::Crash,
                    FaultKind::PowerLoss,
                    FaultKind::Isolate,
                    FaultKind::SplitHalves,
                    FaultKind::OneWay,
                    FaultKind::Bridge,
                    FaultKind::Slow,
                    FaultKind::IsrShrinkThenLeaderDies,
                    FaultKind::IsrGrowsThenLeaderDies,
                    FaultKind::CreatePartitions,
                ],
                interval_ms: (5_000, 15_000),
                duration_ms: (2_000, 10_000),
                apply: true,
            }),
            timeline: vec![
                scheduled(
                    10_000,
                    20_000,
                    Fault::Crash {
                        target: Target::Leader,
                    },
                ),
                scheduled(
                    0,
                    1,
                    Fault::PowerLoss {
                        target: Target::Broker(3),
                    },
                ),
                scheduled(
                    1,
                    2,
                    Fault::Isolate {
                        target: Target::Controller,
                    },
                ),
                scheduled(2, 3, Fault::SplitHalves),
                scheduled(
                    3,
                    4,
                    Fault::OneWay {
                        from: Target::Broker(1),
                        to: Target::Controller,
                    },
                ),
                scheduled(
                    4,
                    5,
                    Fault::Bridge {
                        bridge: Target::Broker(2),
                    },
                ),
                scheduled(
                    5,
                    6,
                    Fault::Slow {
                        min_ms: 5,
                        max_ms: 50,
                        loss_rate: 0.1,
                    },
                ),
                scheduled(
                    6,
                    8,
                    Fault::CreatePartitions {
                        topic: "audit.log".into(),
                        increase_by: 3,
                    },
                ),
                scheduled(
                    59_999,
                    7,
                    Fault::IsrShrinkThenLeaderDies { power_loss: true },
                ),
                scheduled(
                    59_999,
                    9,
                    Fault::IsrGrowsThenLeaderDies { power_loss: false },
                ),
            ],
        },
        expect: Expect {
            allow: vec![ViolationKind::LostWrite, ViolationKind::Divergence],
            find: vec![ViolationKind::LostWrite],
        },
        group: None,
    }
}

#[test]
fn full_example_loads_every_value() {
    assert_eq!(parse(FULL, "t.toml").unwrap(), full_expected());
}

#[test]
fn minimal_scenario_takes_every_default() {
    let s = parse(MINIMAL, "t.toml").unwrap();
    assert_eq!(s.settle_ms, 30_000);
    assert_eq!(s.broker, BrokerConfig::default());
    assert_eq!(s.producer, ProducerConfig::default());
    assert_eq!(s.consumer, ConsumerConfig::default());
    assert_eq!(
        s.workload,
        Workload {
            producers: 1,
            records_per_second: 50,
            keys: 16,
            consumers: 1,
            read_committed_consumers: 0,
            transactional_producers: 0,
            records_per_transaction: 10,
            abort_percent: 0,
            zombie_restarts: 0,
            stall_percent: 0,
        }
    );
    assert_eq!(
        s.network,
        Network {
            latency_ms: (1, 10)
        }
    );
    assert_eq!(
        s.faults,
        Faults {
            random: None,
            timeline: vec![]
        }
    );
    assert_eq!(s.expect, Expect::default());
    let topic = &s.topics[0];
    assert_eq!(
        (
            topic.min_insync_replicas,
            topic.unclean_leader_election_enable
        ),
        (None, None)
    );
}

#[test]
fn empty_sections_take_defaults_too() {
    let s = parse(
        &with("[broker]\n[producer]\n[consumer]\n[workload]\n[network]\n[faults]\n[expect]\n"),
        "t",
    )
    .unwrap();
    assert_eq!(s, parse(MINIMAL, "t").unwrap());
}

#[test]
fn every_shipped_scenario_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut loaded = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            load(&path).unwrap_or_else(|e| panic!("{e}"));
            loaded += 1;
        }
    }
    assert!(loaded > 0);
}

#[test]
fn acks_accepts_kafkas_strings_and_integers() {
    let acks = |v: &str| {
        parse(&with(&format!("[producer]\nacks = {v}\n")), "t")
            .unwrap()
            .producer
            .acks
    };
    assert_eq!(acks("\"all\""), Acks::All);
    assert_eq!(acks("\"-1\""), Acks::All);
    assert_eq!(acks("-1"), Acks::All);
    assert_eq!(acks("\"1\""), Acks::Leader);
    assert_eq!(acks("1"), Acks::Leader);
    assert_eq!(acks("\"0\""), Acks::None);
    assert_eq!(acks("0"), Acks::None);
}

#[test]
fn default_delivery_timeout_rises_to_cover_linger_and_request_timeout() {
    let text = with("[producer]\n\"request.timeout.ms\" = 200000\n\"linger.ms\" = 10\n");
    assert_eq!(
        parse(&text, "t").unwrap().producer.delivery_timeout_ms,
        200_010
    );
}

#[test]
fn loss_rate_may_be_written_as_an_integer() {
    let text = with("[[faults.at]]\nat_ms = 0\nduration_ms = 1\nkind = \"slow\"\nmin_ms = 1\nmax_ms = 1\nloss_rate = 0\n");
    let fault = &parse(&text, "t").unwrap().faults.timeline[0].fault;
    assert_eq!(
        *fault,
        Fault::Slow {
            min_ms: 1,
            max_ms: 1,
            loss_rate: 0.0
        }
    );
}

#[test]
fn fault_kind_names_match_serde() {
    for (name, kind) in super::faults::KINDS {
        assert_eq!(serde_json::to_string(&kind).unwrap(), format!("{name:?}"));
    }
}

#[test]
fn display_is_file_line_column_message() {
    let e = err(&replacing("brokers", "brokers = 10"));
    assert_eq!(
        e.to_string(),
        "t.toml:6:11: cluster.brokers must be between 1 and 9, got 10"
    );
    assert_eq!(e.file, "t.toml");
}

#[test]
fn columns_count_characters_not_bytes() {
    // "é" is two bytes: byte 8 is the "=", the fourth character of line 2.
    assert_eq!(position("ab\néé = 1", 8), (2, 4));
    assert_eq!(position("", 0), (1, 1));
}

// One test per class of error.

#[test]
fn syntax_error_names_the_line_and_key() {
    let text = replacing("description", "description = \"unterminated");
    assert_error(
        &text,
        "unterminated",
        "description",
        "TOML syntax error at description",
    );
}

#[test]
fn duplicate_key_is_a_syntax_error() {
    let text = with("name = \"again\"\n");
    assert_error(&text, "again", "name", "duplicate key");
}

#[test]
fn unknown_top_level_key_lists_valid_keys() {
    let text = format!("duraton_ms = 5\n{MINIMAL}");
    assert_error(
        &text,
        "duraton_ms",
        "duraton_ms",
        "unknown key duraton_ms; valid keys at the top level: name,",
    );
}

#[test]
fn unknown_section_key_lists_valid_keys() {
    let text = with("[consumer]\n\"fetch.min.bytes\" = 1\n");
    let e = err(&text);
    assert_eq!(
        (e.line, e.key.as_str()),
        (
            line_of(&text, "fetch.min.bytes"),
            "consumer.\"fetch.min.bytes\""
        )
    );
    assert!(
        e.message
            .contains("valid keys in consumer: \"fetch.max.wait.ms\", \"max.poll.records\""),
        "{e}"
    );
}

#[test]
fn unknown_fault_field_lists_the_kinds_fields() {
    let text =
        with("[[faults.at]]\nat_ms = 0\nduration_ms = 1\nkind = \"crash\"\nfrom = \"leader\"\n");
    assert_error(
        &text,
        "from",
        "faults.at[0].from",
        "valid keys in faults.at[0]: at_ms, duration_ms, kind, target",
    );
}

#[test]
fn unquoted_dotted_key_says_to_quote_kafkas_names() {
    let text = with("[broker]\nmin.insync.replicas = 2\n");
    assert_error(
        &text,
        "min.insync",
        "broker.min",
        "Kafka's dotted names must be quoted",
    );
    assert!(err(&text)
        .message
        .contains("write \"min.insync.replicas\" = ..."));
}

#[test]
fn unquoted_dotted_topic_key_says_to_quote_too() {
    let text = replacing("\"replication.factor\"", "replication.factor = 3");
    assert_error(
        &text,
        "replication.factor",
        "topic[0].replication",
        "write \"replication.factor\" = ...",
    );
}

#[test]
fn wrong_type_names_expected_and_found() {
    let text = replacing("brokers", "brokers = \"3\"");
    assert_error(
        &text,
        "brokers",
        "cluster.brokers",
        "must be an integer, not a string (\"3\")",
    );
    let text = with("[broker]\n\"unclean.leader.election.enable\" = \"true\"\n");
    assert_error(
        &text,
        "unclean",
        "broker.\"unclean.leader.election.enable\"",
        "must be a boolean",
    );
}

#[test]
fn missing_required_top_level_key_points_at_line_one() {
    assert_error(
        &replacing("description", ""),
        "name",
        "description",
        "missing required key description",
    );
}

#[test]
fn missing_required_table_key_points_at_the_header() {
    let text = replacing("partitions", "");
    assert_error(
        &text,
        "[[topic]]",
        "topic[0].partitions",
        "missing required key topic[0].partitions",
    );
}

#[test]
fn missing_cluster_is_reported() {
    let text = replacing("[cluster]", "").replace("brokers = 3", "");
    assert_error(&text, "name", "cluster", "missing required key cluster");
}

#[test]
fn brokers_must_be_one_to_nine() {
    assert_error(
        &replacing("brokers", "brokers = 0"),
        "brokers",
        "cluster.brokers",
        "between 1 and 9, got 0",
    );
}

#[test]
fn replication_factor_above_brokers_is_an_impossible_cluster() {
    let text = replacing("\"replication.factor\"", "\"replication.factor\" = 5");
    let fragment = "impossible cluster: replication.factor 5 > 3 brokers";
    assert_error(
        &text,
        "replication",
        "topic[0].\"replication.factor\"",
        fragment,
    );
}

#[test]
fn partitions_must_be_positive() {
    let text = replacing("partitions", "partitions = 0");
    assert_error(
        &text,
        "partitions",
        "topic[0].partitions",
        "must be at least 1, got 0",
    );
}

#[test]
fn topic_names_must_be_unique() {
    let text = with("\n[[topic]]\nname = \"events\"\npartitions = 1\n\"replication.factor\" = 1\n");
    let e = err(&text);
    assert_eq!((e.line, e.key.as_str()), (14, "topic[1].name"), "{e}");
    assert!(e.message.contains("\"events\" is taken by topic[0]"), "{e}");
}

#[test]
fn topic_names_must_be_non_empty_and_legal() {
    assert_error(
        &replacing("name = \"events\"", "name = \"\""),
        "name = \"\"",
        "topic[0].name",
        "must not be empty",
    );
    let text = replacing("name = \"events\"", "name = \"a b\"");
    assert_error(&text, "a b", "topic[0].name", "may only hold ASCII letters");
}

#[test]
fn at_least_one_topic() {
    let text = replacing("[[topic]]", "")
        .replace("name = \"events\"", "")
        .replace("partitions = 1", "");
    let text = text.replace("\"replication.factor\" = 3", "");
    assert_error(
        &text,
        "name",
        "topic",
        "a scenario needs at least one [[topic]]",
    );
    let text = replacing("[[topic]]", "[topic]");
    assert_error(&text, "[topic]", "topic", "write [[topic]], not [topic]");
}

#[test]
fn min_insync_replicas_must_be_positive() {
    let text = with("[broker]\n\"min.insync.replicas\" = 0\n");
    assert_error(
        &text,
        "min.insync",
        "broker.\"min.insync.replicas\"",
        "must be at least 1, got 0",
    );
    let text = with("\"min.insync.replicas\" = 0\n");
    assert_error(
        &text,
        "min.insync",
        "topic[0].\"min.insync.replicas\"",
        "must be at least 1, got 0",
    );
}

#[test]
fn ranges_need_min_at_most_max() {
    let text = with(
        "[faults]\nrandom = { kinds = [\"crash\"], interval_ms = [10, 5], duration_ms = [1, 2] }\n",
    );
    assert_error(
        &text,
        "random",
        "faults.random.interval_ms",
        "min <= max, got [10, 5]",
    );
    let text = with("[network]\nlatency_ms = [1, 2, 3]\n");
    assert_error(
        &text,
        "latency_ms",
        "network.latency_ms",
        "two integers, got 3 items",
    );
}

#[test]
fn latency_starts_at_one_millisecond() {
    let text = with("[network]\nlatency_ms = [0, 10]\n");
    assert_error(
        &text,
        "latency_ms",
        "network.latency_ms[0]",
        "must be at least 1, got 0",
    );
}

#[test]
fn broker_targets_must_exist() {
    let text = with(
        "[[faults.at]]\nat_ms = 0\nduration_ms = 1\nkind = \"isolate\"\ntarget = { broker = 4 }\n",
    );
    assert_error(
        &text,
        "broker = 4",
        "faults.at[0].target.broker",
        "names broker 4, but the cluster's brokers are 1..=3",
    );
    let text = with(
        "[[faults.at]]\nat_ms = 0\nduration_ms = 1\nkind = \"crash\"\ntarget = \"follower\"\n",
    );
    assert_error(
        &text,
        "follower",
        "faults.at[0].target",
        "must be \"leader\", \"controller\", \"coordinator\", \"group-coordinator\" or { broker = N }",
    );
}

#[test]
fn loss_rate_must_be_below_one() {
    let text = with("[[faults.at]]\nat_ms = 0\nduration_ms = 1\nkind = \"slow\"\nmin_ms = 1\nmax_ms = 2\nloss_rate = 1.0\n");
    assert_error(
        &text,
        "loss_rate",
        "faults.at[0].loss_rate",
        "must be in [0, 1), got 1",
    );
}

#[test]
fn find_must_be_allowed() {
    let text = with("[expect]\nallow = [\"divergence\"]\nfind = [\"lost-write\"]\n");
    assert_error(
        &text,
        "find",
        "expect.find[0]",
        "(\"lost-write\") must also be in expect.allow",
    );
}

#[test]
fn unknown_violation_kinds_are_named() {
    let text = with("[expect]\nallow = [\"lost-writes\"]\n");
    assert_error(
        &text,
        "allow",
        "expect.allow[0]",
        "unknown violation kind \"lost-writes\"; the kinds are \"lost-write\"",
    );
}

#[test]
fn acks_outside_kafkas_values_is_rejected() {
    let text = with("[producer]\nacks = \"2\"\n");
    assert_error(
        &text,
        "acks",
        "producer.acks",
        "must be \"all\", \"-1\", \"1\" or \"0\" (or the integers -1, 1, 0), got \"2\"",
    );
    let text = with("[producer]\nacks = 2\n");
    assert_error(&text, "acks", "producer.acks", "got 2");
}

#[test]
fn durations_must_be_positive() {
    assert_error(
        &replacing("duration_ms", "duration_ms = 0"),
        "duration_ms",
        "duration_ms",
        "must be at least 1, got 0",
    );
    assert_error(
        &format!("settle_ms = 0\n{MINIMAL}"),
        "settle_ms",
        "settle_ms",
        "must be at least 1, got 0",
    );
    let text = with("[[faults.at]]\nat_ms = 0\nduration_ms = 0\nkind = \"split-halves\"\n");
    assert_error(
        &text,
        "duration_ms = 0",
        "faults.at[0].duration_ms",
        "must be at least 1, got 0",
    );
}

#[test]
fn scripted_faults_start_inside_the_fault_phase() {
    let text = with("[[faults.at]]\nat_ms = 60000\nduration_ms = 1\nkind = \"split-halves\"\n");
    assert_error(
        &text,
        "at_ms",
        "faults.at[0].at_ms",
        "(60000) must be before the end of the fault phase",
    );
}

#[test]
fn unknown_fault_kind_lists_the_kinds() {
    let text = with(
        "[faults]\nrandom = { kinds = [\"reboot\"], interval_ms = [1, 2], duration_ms = [1, 2] }\n",
    );
    assert_error(
        &text,
        "reboot",
        "faults.random.kinds[0]",
        "unknown fault kind \"reboot\"; the kinds are \"crash\"",
    );
}

#[test]
fn kafkas_cross_checks_are_enforced() {
    let text = with("[broker]\n\"replica.socket.timeout.ms\" = 100\n");
    assert_error(
        &text,
        "socket",
        "broker.\"replica.socket.timeout.ms\"",
        "must be at least broker.\"replica.fetch.wait.max.ms\" (500)",
    );
    let text = with("[producer]\n\"delivery.timeout.ms\" = 1000\n");
    assert_error(
        &text,
        "delivery",
        "producer.\"delivery.timeout.ms\"",
        "(5 + 30000 = 30005)",
    );
}

#[test]
fn name_must_match_the_file_stem() {
    let dir = std::env::temp_dir().join(format!("ksim-load-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("other.toml");
    std::fs::write(&path, MINIMAL).unwrap();
    let e = load(&path).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!((e.line, e.key.as_str()), (1, "name"));
    assert!(
        e.message
            .contains("(\"t\") must equal the file's name without .toml (\"other\")"),
        "{e}"
    );
    assert_eq!(e.file, path.display().to_string());
}

#[test]
fn unreadable_file_has_no_position() {
    let e = load(Path::new("/nonexistent/ksim.toml")).unwrap_err();
    assert_eq!((e.line, e.column), (0, 0));
    assert!(
        e.to_string()
            .starts_with("/nonexistent/ksim.toml: cannot read the scenario"),
        "{e}"
    );
}

#[test]
fn error_messages_snapshot() {
    let cases = [
        with("[broker]\nmin.insync.replicas = 2\n"),
        replacing("\"replication.factor\"", "\"replication.factor\" = 5"),
        with("[workload]\nproducer = 2\n"),
        with("[[faults.at]]\nat_ms = 0\nduration_ms = 1\nkind = \"one-way\"\nfrom = \"leader\"\nto = \"leader\"\n"),
        with("[expect]\nallow = [\"divergence\"]\nfind = [\"lost-write\"]\n"),
        replacing("brokers", "brokers = [3]"),
    ];
    let messages: Vec<String> = cases.iter().map(|text| err(text).to_string()).collect();
    insta::with_settings!({ snapshot_path => "../snapshots" }, {
        insta::assert_snapshot!(messages.join("\n"));
    });
}

#[test]
fn idempotence_is_on_by_default_and_off_quietly_where_kafka_turns_it_off() {
    let idempotent = |extra: &str| {
        parse(&with(extra), "t")
            .unwrap()
            .producer
            .enable_idempotence
    };
    assert!(idempotent(""));
    assert!(!idempotent("[producer]\nacks = \"1\"\n"));
    assert!(!idempotent("[producer]\nretries = 0\n"));
    assert!(!idempotent(
        "[producer]\n\"max.in.flight.requests.per.connection\" = 6\n"
    ));
    assert!(!idempotent("[producer]\n\"enable.idempotence\" = false\n"));
}

#[test]
fn idempotence_asked_for_with_a_conflicting_setting_is_refused() {
    let text = with("[producer]\nacks = \"1\"\n\"enable.idempotence\" = true\n");
    assert_error(&text, "acks = ", "producer.acks", "enable.idempotence");
    let text = with(
        "[producer]\n\"max.in.flight.requests.per.connection\" = 6\n\"enable.idempotence\" = true\n",
    );
    assert_error(
        &text,
        "max.in.flight",
        "producer.\"max.in.flight.requests.per.connection\"",
        "at most 5",
    );
}

#[test]
fn transactions_need_an_idempotent_producer_and_brokers_for_the_transaction_log() {
    let text = with("[producer]\nacks = \"1\"\n[workload]\ntransactional_producers = 1\n");
    assert_error(
        &text,
        "acks = ",
        "producer.acks",
        "needs an idempotent producer",
    );
    let text = with("[workload]\ntransactional_producers = 1\n");
    assert!(parse(&text, "t").is_ok(), "3 brokers hold the default RF 3");
    let text = format!(
        "{}\n[workload]\ntransactional_producers = 1\n",
        replacing("brokers = 3", "brokers = 2")
            .replace("\"replication.factor\" = 3", "\"replication.factor\" = 2")
    );
    assert_error(
        &text,
        "[workload]",
        "workload",
        "transaction.state.log.replication.factor\": impossible cluster: 3 > 2 brokers",
    );
}

#[test]
fn the_coordinator_is_a_fault_target_only_with_transactions() {
    let fault =
        "[[faults.at]]\nat_ms = 1\nduration_ms = 1\nkind = \"crash\"\ntarget = \"coordinator\"\n";
    assert_error(
        &with(fault),
        "target = ",
        "faults.at[0].target",
        "no transactional_producers",
    );
    let s = parse(
        &with(&format!("[workload]\ntransactional_producers = 1\n{fault}")),
        "t",
    )
    .unwrap();
    assert_eq!(
        s.faults.timeline[0].fault,
        Fault::Crash {
            target: Target::Coordinator
        }
    );
}

#[test]
fn model_reverts_only_known_fixes() {
    let text = with("[model]\nrevert = [\"KIP-9000\"]\n");
    assert_error(
        &text,
        "revert",
        "model.revert[0]",
        "the fixes are \"KIP-101\", \"KIP-279\", \"KAFKA-7128\", \"KIP-98\", \"KIP-429\", \"KIP-320\", \"KAFKA-15583\"",
    );
    let s = parse(&with("[model]\nrevert = [\"KIP-98\"]\n"), "t").unwrap();
    assert!(!s.broker.fixes.has(Fix::Kip98ProducerEpochFencing));
}

#[test]
fn create_partitions_grows_a_scenario_topic_by_a_positive_count() {
    let growth = |topic: &str, increase_by: &str| {
        with(&format!(
            "[[faults.at]]\nat_ms = 0\nduration_ms = 1\nkind = \"create-partitions\"\ntopic = \"{topic}\"\nincrease_by = {increase_by}\n"
        ))
    };
    let s = parse(&growth("events", "2"), "t.toml").unwrap();
    assert_eq!(
        s.faults.timeline[0].fault,
        Fault::CreatePartitions {
            topic: "events".into(),
            increase_by: 2
        }
    );
    assert_error(
        &growth("nope", "2"),
        "nope",
        "faults.at[0].topic",
        "names topic \"nope\", but the scenario's topics are \"events\"",
    );
    assert_error(
        &growth("events", "0"),
        "increase_by",
        "faults.at[0].increase_by",
        "must be between 1 and 1000, got 0",
    );
    assert_error(
        &growth("events", "\"2\""),
        "increase_by",
        "faults.at[0].increase_by",
        "must be an integer",
    );
    let text = with("[[faults.at]]\nat_ms = 0\nduration_ms = 1\nkind = \"create-partitions\"\ntopic = \"events\"\ncount = 4\n");
    assert_error(
        &text,
        "count",
        "faults.at[0].count",
        "valid keys in faults.at[0]: at_ms, duration_ms, kind, topic, increase_by",
    );
    let text = with("[[faults.at]]\nat_ms = 0\nduration_ms = 1\nkind = \"create-partitions\"\ntopic = \"events\"\n");
    assert_error(
        &text,
        "[[faults.at]]",
        "faults.at[0].increase_by",
        "missing required key faults.at[0].increase_by",
    );
}

#[test]
fn a_group_reads_kafkas_names_and_defaults() {
    let s = parse(
        &with(
            "[group]\nmembers = 4\n\"partition.assignment.strategy\" = [\"cooperative-sticky\", \"range\"]\n\
             \"auto.offset.reset\" = \"earliest\"\ncommit = \"async\"\nstall_percent = 5\n",
        ),
        "t",
    )
    .unwrap();
    let g = s.group.expect("a group");
    assert_eq!(g.members, 4);
    assert_eq!(
        g.config.partition_assignment_strategy,
        vec![Assignor::CooperativeSticky, Assignor::Range]
    );
    assert_eq!(g.config.auto_offset_reset, StartPosition::Earliest);
    assert_eq!(g.commit, CommitMode::Async);
    // Kafka's defaults where the file is silent.
    assert_eq!(g.config.group_id, "ksim-group");
    assert_eq!(g.config.session_timeout_ms, 45_000);
    assert_eq!(g.config.heartbeat_interval_ms, 3_000);
    assert_eq!(g.config.max_poll_interval_ms, 300_000);
    assert!(g.config.enable_auto_commit);
    assert_eq!(g.stall_ms, 305_000, "past max.poll.interval.ms");
}

#[test]
fn bad_group_settings_name_their_key() {
    assert_error(
        &with("[group]\n\"partition.assignment.strategy\" = \"fair\"\n"),
        "\"partition.assignment.strategy\"",
        "group.\"partition.assignment.strategy\"",
        "not an assignor",
    );
    assert_error(
        &with("[group]\n\"heartbeat.interval.ms\" = 50000\n"),
        "\"heartbeat.interval.ms\"",
        "group.\"heartbeat.interval.ms\"",
        "lower than",
    );
    assert_error(
        &with("[group]\n\"group.instance.id\" = \"a\"\n"),
        "\"group.instance.id\"",
        "group.\"group.instance.id\"",
        "unknown",
    );
    assert_error(
        &with("[group]\nasync_processing = true\n"),
        "async_processing",
        "group.async_processing",
        "async_processing",
    );
    assert_error(
        &with("[group]\ntopics = [\"other\"]\n"),
        "topics",
        "group.topics",
        "not a [[topic]]",
    );
}

#[test]
fn an_offsets_topic_larger_than_the_cluster_is_an_impossible_cluster() {
    let text = replacing("brokers", "brokers = 2")
        .replace("\"replication.factor\" = 3", "\"replication.factor\" = 2");
    assert_error(
        &format!("{text}\n[group]\nmembers = 2\n"),
        "[group]",
        "group",
        "offsets.topic.replication.factor",
    );
}

#[test]
fn consumer_faults_need_a_group_and_one_of_its_members() {
    assert_error(
        &with("[faults]\nrandom = { kinds = [\"consumer-crash\"], interval_ms = [1, 2], duration_ms = [1, 2] }\n"),
        "random",
        "faults.random.kinds",
        "need a [group]",
    );
    assert_error(
        &with(
            "[group]\nmembers = 2\n[[faults.at]]\nat_ms = 0\nduration_ms = 1\nkind = \"consumer-pause\"\n\
             member = 2\n",
        ),
        "member = 2",
        "faults.at[0].member",
        "0..=1",
    );
    let s = parse(
        &with(
            "[group]\nmembers = 2\n[[faults.at]]\nat_ms = 0\nduration_ms = 1\nkind = \"crash\"\n\
             target = \"group-coordinator\"\n",
        ),
        "t",
    )
    .unwrap();
    assert_eq!(
        s.faults.timeline[0].fault,
        Fault::Crash {
            target: Target::GroupCoordinator
        }
    );
}

/// A second topic, "out", for the processors' output.
const OUT_TOPIC: &str = "\n[[topic]]\nname = \"out\"\npartitions = 1\n\"replication.factor\" = 3\n";

#[test]
fn transactional_processing_writes_a_topic_of_its_own() {
    let group = |keys: &str| with(&format!("{OUT_TOPIC}[group]\n{keys}"));
    let s = parse(
        &group("processing = \"transactional\"\noutput_topic = \"out\"\n"),
        "t",
    )
    .unwrap();
    assert_eq!(s.group_output_topic(), Some("out"));
    assert_eq!(s.group_input_topics(), vec!["events".to_string()]);
    assert_eq!(s.produced_topics(), vec!["events".to_string()]);
    assert_eq!(
        s.coordinator_transactional_id().as_deref(),
        Some("ksim-eos-0"),
        "the processors' coordinator is a fault target"
    );
    assert_eq!(
        parse(&group(""), "t").unwrap().group.unwrap().processing,
        GroupProcessing::Plain
    );
    let text = group("processing = \"exactly-once\"\n");
    assert_error(
        &text,
        "processing =",
        "group.processing",
        "\"plain\" or \"transactional\"",
    );
    let text = group("processing = \"transactional\"\n");
    assert_error(
        &text,
        "processing =",
        "group.processing",
        "needs output_topic",
    );
    let text = group("output_topic = \"out\"\n");
    assert_error(
        &text,
        "output_topic =",
        "group.output_topic",
        "only processing",
    );
    let text = group("processing = \"transactional\"\noutput_topic = \"nope\"\n");
    assert_error(
        &text,
        "output_topic =",
        "group.output_topic",
        "\"nope\" is not a [[topic]]",
    );
    let text = group(
        "processing = \"transactional\"\noutput_topic = \"out\"\ntopics = [\"events\", \"out\"]\n",
    );
    assert_error(
        &text,
        "output_topic =",
        "group.output_topic",
        "is also an input",
    );
    let text = group("processing = \"transactional\"\noutput_topic = \"out\"\ncommit = \"sync\"\n");
    assert_error(
        &text,
        "commit =",
        "group.commit",
        "sendOffsetsToTransaction",
    );
    let text = group(
        "processing = \"transactional\"\noutput_topic = \"out\"\n\"enable.auto.commit\" = true\n",
    );
    assert_error(
        &text,
        "enable.auto.commit",
        "group.\"enable.auto.commit\"",
        "cannot be set",
    );
}

#[test]
fn transactional_processing_needs_an_idempotent_producer() {
    let text = with(&format!(
        "[producer]\nacks = \"1\"\n{OUT_TOPIC}[group]\nprocessing = \"transactional\"\noutput_topic = \"out\"\n"
    ));
    assert_error(
        &text,
        "acks = ",
        "producer.acks",
        "group.processing = \"transactional\" needs an idempotent producer",
    );
}
