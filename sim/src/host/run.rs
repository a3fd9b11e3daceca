//! One seed, start to finish: a fresh madsim runtime on a fresh thread, the cluster, the nemesis, the settle,
//! the final read, and the checkers.

use super::node::{address, run_node};
use super::power_cuts::PowerCuts;
use super::process::{BrokerNode, ControllerNode, Process};
use super::recorder::{Recorder, SharedRecorder};
use super::samples::Samples;
use super::Clock;
use crate::checkers::{self, Violation, ViolationKind};
use crate::history::{FinalBatch, FinalPartition, FinalReplica, GroupInfo, History, TxnIntent};
use crate::nemesis::apply::{GroupTargets, Nemesis};
use crate::nemesis::fault::Fault;
use crate::nemesis::schedule::draw_schedule;
use crate::scenario::{Scenario, ScheduledFault};
use crate::workload::admin_client::{AdminNode, ScheduledGrowth, ADMIN_CLIENT};
use crate::workload::consumer_client::ConsumerClient;
use crate::workload::eos_processor_client::{
    transactional_id as eos_transactional_id, EosClients, EosProcessorClient, EosWork,
};
use crate::workload::group_app::GroupApp;
use crate::workload::group_member_client::{GroupMemberClient, GroupWork};
use crate::workload::producer_client::ProducerClient;
use crate::workload::txn_producer_client::{transactional_id, TxnProducerClient, TxnWork};
use ksim_model::config::{ConsumerConfig, LogConfig, TopicConfig};
use ksim_model::controller::PartitionRecord;
use ksim_model::internal_topics::{partition_for, CONSUMER_OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC};
use ksim_model::protocol::IsolationLevel;
use ksim_model::record::{ControlMarker, RecordBatch};
use ksim_model::{BrokerId, NodeId, Offset, TopicPartition, NO_LEADER};
use madsim::runtime::{Handle, Runtime};
use madsim::task::NodeId as SimNodeId;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long the final reader may take to read every partition to its HW after the settle.
const FINAL_READ_TIMEOUT_MS: u64 = 60_000;
/// The final reader's client id (producers are 1.., consumers 101.., read_committed consumers 151.., transactional
/// producers 300..).
const FINAL_READER: u32 = 200;

/// Everything one seed produced.
pub struct RunOutput {
    pub seed: u64,
    pub history: History,
    pub violations: Vec<Violation>,
    /// FNV-1a over every traced event: the identity of the run.
    pub trace_hash: u64,
    pub events: u64,
    pub schedule: Vec<ScheduledFault>,
    pub simulated_ms: u64,
    /// The HTML view's samples, when `RunOptions::samples` asked for them.
    pub samples: Option<Samples>,
    /// Messages delivered to nodes over the simulated network.
    pub messages: u64,
}

/// How to run a seed beyond the scenario (all off by default: a plain run).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunOptions {
    /// Sample every replica's LEO and HW after each broker step, and keep the fault windows (for `--html`).
    /// Read-only: the run and its trace hash are the same with or without them.
    pub samples: bool,
    /// Replay this fault schedule instead of the one the seed draws (`ksim run --faults`). The seed still draws
    /// its schedule, unused, so everything else it decides (the nemesis's split halves and power-loss cut
    /// points, the network) is what it would be: replaying a run's own schedule replays the run exactly.
    pub faults: Option<Vec<ScheduledFault>>,
}

/// Runs one seed of `scenario` on its own thread (one madsim runtime per fresh thread keeps runs independent).
pub fn run_seed(scenario: &Scenario, seed: u64) -> RunOutput {
    run_seed_with(scenario, seed, RunOptions::default())
}

/// `run_seed` as `options` say: with the view's samples recorded, or with a given fault schedule.
pub fn run_seed_with(scenario: &Scenario, seed: u64, options: RunOptions) -> RunOutput {
    let mut recorder = Recorder::default();
    recorder.samples = options.samples.then(Samples::default);
    let recorder: SharedRecorder = Arc::new(Mutex::new(recorder));
    let scenario = Arc::new(scenario.clone());
    let (rec, s) = (recorder.clone(), scenario.clone());
    let result = std::thread::spawn(move || {
        let config = madsim_config(&s);
        Runtime::with_seed_and_config(seed, config).block_on(simulate(s, seed, rec, options.faults))
    })
    .join();
    let mut recorder = std::mem::take(&mut *recorder.lock().unwrap());
    let (schedule, simulated_ms) = match result {
        Ok(done) => done,
        Err(panic) => {
            let message = panic_message(&panic);
            recorder.online_violations.push(Violation {
                kind: ViolationKind::Invariant,
                tp: None,
                at_ms: None,
                records: Vec::new(),
                message: format!("the simulation panicked: {message}"),
            });
            (Vec::new(), 0)
        }
    };
    let mut violations = recorder.online_violations.clone();
    violations.extend(checkers::check_all(&recorder.history));
    checkers::sort_violations(&mut violations);
    RunOutput {
        seed,
        history: recorder.history,
        violations,
        trace_hash: recorder.trace.value(),
        events: recorder.events,
        schedule,
        simulated_ms,
        samples: recorder.samples,
        messages: recorder.messages,
    }
}

/// madsim's settings for a scenario: its one-way network latency.
pub(super) fn madsim_config(s: &Scenario) -> madsim::Config {
    let mut config = madsim::Config::default();
    let (lo, hi) = s.network.latency_ms;
    config.net.send_latency = Duration::from_millis(lo)..Duration::from_millis(hi + 1);
    config
}

pub(super) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "unknown panic".into()
    }
}

/// Topics with their effective topic-level configs, the transaction log among them when transactions run (Kafka
/// creates it on the first FindCoordinator; here it exists from the start).
pub fn topic_configs(s: &Scenario) -> Vec<TopicConfig> {
    let mut topics: Vec<TopicConfig> = s
        .topics
        .iter()
        .map(|t| TopicConfig {
            name: t.name.as_str().into(),
            partitions: t.partitions,
            replication_factor: t.replication_factor,
            min_insync_replicas: t.min_insync_replicas(&s.broker),
            unclean_leader_election_enable: t.unclean_leader_election_enable(&s.broker),
            // Data topics keep Kafka's default `cleanup.policy=delete`: the checkers read them whole.
            log: LogConfig {
                segment_ms: s.broker.log_roll_ms,
                ..LogConfig::default()
            },
        })
        .collect();
    // Transactional producers and transactional processors alike need the transaction log.
    if s.coordinator_transactional_id().is_some() {
        topics.push(TopicConfig {
            name: TRANSACTION_STATE_TOPIC.into(),
            partitions: s.broker.transaction_state_log_num_partitions,
            replication_factor: s.broker.transaction_state_log_replication_factor,
            min_insync_replicas: s.broker.transaction_state_log_min_isr,
            // Kafka never elects an out-of-sync leader for its internal topics' sake either way; keep it safe.
            unclean_leader_election_enable: false,
            // Kafka creates its internal topics compacted: the newest state per transactional id is what counts.
            log: LogConfig {
                segment_ms: s.broker.log_roll_ms,
                ..LogConfig::compacted()
            },
        });
    }
    if s.group.is_some() {
        topics.push(TopicConfig {
            name: CONSUMER_OFFSETS_TOPIC.into(),
            partitions: s.broker.offsets_topic_num_partitions,
            replication_factor: s.broker.offsets_topic_replication_factor,
            // Kafka's `offsets.topic` has no min.insync.replicas of its own: the broker default applies, and its
            // appends are acks=all.
            min_insync_replicas: s.broker.min_insync_replicas,
            unclean_leader_election_enable: false,
            // Compacted, as Kafka creates it: the newest commit per group and partition is what counts.
            log: LogConfig {
                segment_ms: s.broker.log_roll_ms,
                ..LogConfig::compacted()
            },
        });
    }
    topics
}

/// A group member's client id (members are 211..).
fn group_member_id(index: u32) -> u32 {
    211 + index
}

fn spawn_group_members(
    s: &Scenario,
    seed: u64,
    bootstrap: &[BrokerId],
    recorder: &SharedRecorder,
    mut spawn_client: impl FnMut(u32, Arc<Mutex<dyn Process>>),
) -> Option<GroupTargets> {
    let group = s.group.as_ref()?;
    let mut members = BTreeMap::new();
    let topics = s.group_input_topics();
    recorder.lock().unwrap().history.groups.groups.insert(
        group.config.group_id.clone(),
        GroupInfo {
            topics: topics.clone(),
            assignor: group.config.partition_assignment_strategy[0]
                .name()
                .to_string(),
            output_topics: s
                .group_output_topic()
                .map(str::to_owned)
                .into_iter()
                .collect(),
        },
    );
    for index in 0..group.members {
        let id = group_member_id(index);
        // Members join one after another, each join a rebalance.
        let start_ms = 10 + u64::from(index) * 1_000;
        let seed = seed
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(id as u64);
        if let Some(output_topic) = s.group_output_topic() {
            let settings = EosClients {
                consumer: s.consumer.clone(),
                group: group.config.clone(),
                producer: s.producer.clone(),
                bootstrap: bootstrap.to_vec(),
                input_topics: topics.clone(),
                fixes: s.broker.fixes.clone(),
            };
            let work = EosWork {
                output_topic: output_topic.into(),
                processing_ms: group.processing_ms,
                stall_percent: group.stall_percent,
                stall_ms: group.stall_ms,
                stall_until_ms: s.duration_ms,
                start_ms,
            };
            let client = EosProcessorClient::new(
                id,
                eos_transactional_id(index),
                settings,
                work,
                seed,
                recorder.clone(),
            );
            let client = Arc::new(Mutex::new(client));
            spawn_client(id, client.clone());
            members.insert(
                index,
                (NodeId::Client(id), client as Arc<Mutex<dyn GroupApp>>),
            );
            continue;
        }
        let work = GroupWork {
            commit: group.commit,
            processing_ms: group.processing_ms,
            stall_percent: group.stall_percent,
            stall_ms: group.stall_ms,
            start_ms,
            async_processing: group.async_processing,
        };
        let client = GroupMemberClient::new(
            id,
            s.consumer.clone(),
            group.config.clone(),
            bootstrap.to_vec(),
            topics.clone(),
            s.broker.fixes.clone(),
            work,
            seed,
            recorder.clone(),
        );
        let client = Arc::new(Mutex::new(client));
        spawn_client(id, client.clone());
        members.insert(
            index,
            (NodeId::Client(id), client as Arc<Mutex<dyn GroupApp>>),
        );
    }
    let partition = partition_for(
        &group.config.group_id,
        s.broker.offsets_topic_num_partitions,
    );
    Some(GroupTargets {
        offsets_partition: TopicPartition::new(CONSUMER_OFFSETS_TOPIC, partition),
        members,
    })
}

/// Each group's committed offsets as the coordinator of its `__consumer_offsets` partition holds them at the end.
fn final_committed(
    s: &Scenario,
    controller: &Arc<Mutex<ControllerNode>>,
    brokers: &BTreeMap<BrokerId, Arc<Mutex<BrokerNode>>>,
) -> BTreeMap<String, BTreeMap<TopicPartition, Offset>> {
    let Some(group) = &s.group else {
        return BTreeMap::new();
    };
    let group_id = &group.config.group_id;
    let partition = partition_for(group_id, s.broker.offsets_topic_num_partitions);
    let tp = TopicPartition::new(CONSUMER_OFFSETS_TOPIC, partition);
    let leader = controller.lock().unwrap().state().partitions[&tp].leader;
    brokers
        .get(&leader)
        .and_then(|b| b.lock().unwrap().broker()?.committed_offsets(group_id))
        .map(|offsets| BTreeMap::from([(group_id.clone(), offsets)]))
        .unwrap_or_default()
}

pub(super) fn spawn_node(
    handle: &Handle,
    id: NodeId,
    process: Arc<Mutex<dyn Process>>,
    recorder: &SharedRecorder,
    clock: Clock,
    power_cuts: &PowerCuts,
) -> SimNodeId {
    let recorder = recorder.clone();
    let power_cuts = power_cuts.clone();
    handle
        .create_node()
        .name(id.to_string())
        .ip(address(id).ip())
        .init(move || {
            run_node(
                id,
                process.clone(),
                recorder.clone(),
                clock,
                power_cuts.clone(),
            )
        })
        .build()
        .id()
}

pub(super) async fn simulate(
    s: Arc<Scenario>,
    seed: u64,
    recorder: SharedRecorder,
    replay: Option<Vec<ScheduledFault>>,
) -> (Vec<ScheduledFault>, u64) {
    let handle = Handle::current();
    let clock = Clock::new();
    let power_cuts = PowerCuts::default();
    let topics = topic_configs(&s);
    // What the consumers read (a fixed assignment: as with Kafka's `assign`, partitions added later are not
    // theirs) and checkers judge: the scenario's topics, not the internal ones.
    let partitions: Vec<TopicPartition> = topics
        .iter()
        .filter(|t| !t.name.starts_with("__"))
        .flat_map(|t| (0..t.partitions).map(|p| TopicPartition::new(t.name.clone(), p)))
        .collect();
    let bootstrap: Vec<BrokerId> = (1..=s.brokers).collect();
    let mut nodes = BTreeMap::new();

    let controller = Arc::new(Mutex::new(ControllerNode::new(
        s.broker.clone(),
        topics.clone(),
        s.brokers,
    )));
    nodes.insert(
        NodeId::Controller,
        spawn_node(
            &handle,
            NodeId::Controller,
            controller.clone(),
            &recorder,
            clock,
            &power_cuts,
        ),
    );
    let mut brokers = BTreeMap::new();
    for b in 1..=s.brokers {
        let broker = Arc::new(Mutex::new(BrokerNode::new(
            b,
            s.broker.clone(),
            topics.clone(),
        )));
        nodes.insert(
            NodeId::Broker(b),
            spawn_node(
                &handle,
                NodeId::Broker(b),
                broker.clone(),
                &recorder,
                clock,
                &power_cuts,
            ),
        );
        brokers.insert(b, broker);
    }
    // The producers write every topic but the processors' output, which only the processors write.
    let topic_names: Vec<Arc<str>> = s
        .produced_topics()
        .iter()
        .map(|t| t.as_str().into())
        .collect();
    let spawn_client =
        |nodes: &mut BTreeMap<NodeId, SimNodeId>, id: u32, client: Arc<Mutex<dyn Process>>| {
            let node = NodeId::Client(id);
            nodes.insert(
                node,
                spawn_node(&handle, node, client, &recorder, clock, &power_cuts),
            );
        };
    for p in 1..=s.workload.producers {
        let client = ProducerClient::new(
            p,
            s.producer.clone(),
            bootstrap.clone(),
            topic_names.clone(),
            s.workload.records_per_second,
            s.workload.keys,
            s.duration_ms,
            seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .wrapping_add(p as u64),
            recorder.clone(),
        );
        spawn_client(&mut nodes, p, Arc::new(Mutex::new(client)));
    }
    let mut starts = ChaCha8Rng::seed_from_u64(seed ^ 0x7a6f_6d62_6965);
    for index in 0..s.workload.transactional_producers {
        let restarts = s.workload.zombie_restarts as u64;
        for instance in 0..=restarts {
            let id = 300 + index * 10 + instance as u32;
            // The first instance starts at once; each restart somewhere in its share of the fault phase.
            let share = s.duration_ms / (restarts + 1);
            let start_ms = if instance == 0 {
                10 + index as u64
            } else {
                share * instance + starts.next_u64() % (share / 2).max(1)
            };
            let work = TxnWork {
                topics: topic_names.clone(),
                records_per_second: s.workload.records_per_second,
                records_per_transaction: s.workload.records_per_transaction,
                abort_percent: s.workload.abort_percent,
                stall_percent: s.workload.stall_percent,
                // Past the timeout and the coordinator's next look for expired transactions.
                stall_ms: s.producer.transaction_timeout_ms
                    + s.broker
                        .transaction_abort_timed_out_transaction_cleanup_interval_ms
                    + 1_000,
                keys: s.workload.keys,
                start_ms,
                stop_ms: s.duration_ms,
            };
            let client = TxnProducerClient::new(
                id,
                transactional_id(index),
                s.producer.clone(),
                bootstrap.clone(),
                work,
                seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    .wrapping_add(id as u64),
                recorder.clone(),
            );
            spawn_client(&mut nodes, id, Arc::new(Mutex::new(client)));
        }
    }
    // The workload's consumers run with the scenario's reverted fixes (KIP-320 is a client change too); the final
    // reader never does, so the final logs are read the same way in every run.
    let workload_consumer = ConsumerConfig {
        fixes: s.broker.fixes.clone(),
        ..s.consumer.clone()
    };
    let read_committed = ConsumerConfig {
        isolation_level: IsolationLevel::ReadCommitted,
        ..workload_consumer.clone()
    };
    let consumers = (1..=s.workload.consumers).map(|c| (100 + c, workload_consumer.clone()));
    let committed_readers =
        (1..=s.workload.read_committed_consumers).map(|c| (150 + c, read_committed.clone()));
    for (id, config) in consumers.chain(committed_readers) {
        if config.isolation_level == IsolationLevel::ReadCommitted {
            recorder.lock().unwrap().history.read_committed.insert(id);
        }
        let client = ConsumerClient::new(
            id,
            config,
            bootstrap.clone(),
            partitions.clone(),
            recorder.clone(),
            false,
        );
        spawn_client(&mut nodes, id, Arc::new(Mutex::new(client)));
    }
    let group_targets = spawn_group_members(&s, seed, &bootstrap, &recorder, |id, client| {
        spawn_client(&mut nodes, id, client)
    });

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let drawn = draw_schedule(&s, &mut rng);
    let schedule = replay.unwrap_or(drawn);
    recorder
        .lock()
        .unwrap()
        .trace_event(0, &("schedule", &schedule));
    let growths = scheduled_growths(&schedule);
    if !growths.is_empty() {
        let admin = AdminNode::new(bootstrap.clone(), growths, recorder.clone());
        spawn_client(&mut nodes, ADMIN_CLIENT, Arc::new(Mutex::new(admin)));
    }
    let mut nemesis = Nemesis::new(
        handle.clone(),
        nodes.clone(),
        brokers.clone(),
        controller.clone(),
        recorder.clone(),
        clock,
        rng,
        s.broker.replica_lag_time_max_ms,
        s.network.latency_ms,
        s.broker.transaction_state_log_num_partitions,
        s.coordinator_transactional_id().unwrap_or_default(),
    );
    nemesis = nemesis.with_power_cuts(power_cuts.clone());
    if let Some(group) = group_targets {
        nemesis = nemesis.with_group(group);
    }
    let nemesis = Arc::new(nemesis);
    let faults: Vec<_> = schedule
        .iter()
        .cloned()
        .map(|f| {
            let nemesis = nemesis.clone();
            madsim::task::spawn(async move {
                nemesis.clock.sleep_until_ms(f.at_ms).await;
                nemesis.apply(f.fault, f.duration_ms).await;
            })
        })
        .collect();
    clock.sleep_until_ms(s.duration_ms).await;
    for f in faults {
        f.await.expect("fault task");
    }
    recorder
        .lock()
        .unwrap()
        .trace_event(clock.now_ms(), &"healed: settling");
    clock.sleep_until_ms(clock.now_ms() + s.settle_ms).await;

    // Partitions the nemesis added during the run are read and judged like the first ones.
    let partitions = scenario_partitions(&controller.lock().unwrap().state().partitions);
    // The final reader sees every record below the HW, aborted ones included: the checkers tell them apart.
    let final_config = ConsumerConfig {
        isolation_level: IsolationLevel::ReadUncommitted,
        ..s.consumer.clone()
    };
    let reader = Arc::new(Mutex::new(ConsumerClient::new(
        FINAL_READER,
        final_config,
        bootstrap.clone(),
        partitions.clone(),
        recorder.clone(),
        true,
    )));
    let final_reader = spawn_node(
        &handle,
        NodeId::Client(FINAL_READER),
        reader.clone(),
        &recorder,
        clock,
        &power_cuts,
    );
    let deadline = clock.now_ms() + FINAL_READ_TIMEOUT_MS;
    while !reader.lock().unwrap().caught_up() && clock.now_ms() < deadline {
        madsim::time::sleep(Duration::from_millis(100)).await;
    }
    let finals = final_state(&partitions, &controller, &brokers, &reader);
    let committed = final_committed(&s, &controller, &brokers);
    let now = clock.now_ms();
    {
        let mut rec = recorder.lock().unwrap();
        rec.trace_event(now, &("final committed", &committed));
        rec.history.groups.final_committed = committed;
        rec.trace_event(now, &("final", &finals));
        rec.history.final_partitions = finals;
    }
    // Stop every node so its tasks, and the processes and logs they hold, are dropped with the runtime: tasks
    // left waiting on each other's channels would otherwise keep them all alive (megabytes per run).
    for id in nodes.values().chain([&final_reader]) {
        handle.kill(*id);
    }
    madsim::time::sleep(Duration::from_millis(1)).await;
    (schedule, now)
}

/// The partitions of the scenario's topics (not the internal ones) the controller knows, those added during the
/// run included.
fn scenario_partitions(
    partitions: &BTreeMap<TopicPartition, PartitionRecord>,
) -> Vec<TopicPartition> {
    partitions
        .keys()
        .filter(|tp| !tp.topic.starts_with("__"))
        .cloned()
        .collect()
}

/// The schedule's create-partitions faults, for the admin client to carry out at their times.
fn scheduled_growths(schedule: &[ScheduledFault]) -> Vec<ScheduledGrowth> {
    schedule
        .iter()
        .filter_map(|f| match &f.fault {
            Fault::CreatePartitions { topic, increase_by } => Some(ScheduledGrowth::new(
                f.at_ms,
                topic.clone(),
                *increase_by,
                f.duration_ms,
            )),
            _ => None,
        })
        .collect()
}

/// What every partition looks like at the end: the controller's leader and ISR, what the final reader read, and
/// each live replica's own log.
fn final_state(
    partitions: &[TopicPartition],
    controller: &Arc<Mutex<ControllerNode>>,
    brokers: &BTreeMap<BrokerId, Arc<Mutex<BrokerNode>>>,
    reader: &Arc<Mutex<ConsumerClient>>,
) -> BTreeMap<TopicPartition, FinalPartition> {
    let controller = controller.lock().unwrap();
    let reader = reader.lock().unwrap();
    let collected = reader.collected.as_ref().expect("final reader collects");
    partitions
        .iter()
        .map(|tp| {
            let record = &controller.state().partitions[tp];
            let leader = (record.leader != NO_LEADER).then_some(record.leader);
            let replicas = brokers
                .values()
                .filter_map(|b| {
                    let node = b.lock().unwrap();
                    let p = node.broker()?.partitions.get(tp)?;
                    Some(FinalReplica {
                        broker: node.id,
                        records: p.log.file.offset_values(),
                        high_watermark: p.high_watermark,
                        log_end_offset: p.log_end_offset(),
                        leader_epoch: p.leader_epoch,
                    })
                })
                .collect();
            let read = if leader.is_some() {
                collected.get(tp).cloned().unwrap_or_default()
            } else {
                Vec::new()
            };
            let batches = leader
                .and_then(|l| brokers.get(&l))
                .and_then(|b| {
                    let node = b.lock().unwrap();
                    Some(final_batches(
                        node.broker()?.partitions.get(tp)?.log.file.batches(),
                    ))
                })
                .unwrap_or_default();
            (
                tp.clone(),
                FinalPartition {
                    leader,
                    isr: record.isr.clone(),
                    read,
                    replicas,
                    batches,
                },
            )
        })
        .collect()
}

/// The producer-stamped batch headers of a log, markers included.
fn final_batches(batches: &[RecordBatch]) -> Vec<FinalBatch> {
    batches
        .iter()
        .filter_map(|b| {
            let p = b.producer?;
            Some(FinalBatch {
                base_offset: b.base_offset,
                last_offset: b.last_offset(),
                producer_id: p.producer_id,
                producer_epoch: p.producer_epoch,
                transactional: b.attributes.transactional,
                marker: b.attributes.control.map(|m| match m {
                    ControlMarker::Commit { .. } => TxnIntent::Commit,
                    ControlMarker::Abort { .. } => TxnIntent::Abort,
                }),
            })
        })
        .collect()
}
