//! Applying faults to the running cluster: killing and restarting nodes, cutting power, clogging links.

use super::fault::{Fault, Target};
use crate::host::power_cuts::PowerCuts;
use crate::host::process::{BrokerNode, ControllerNode};
use crate::host::recorder::SharedRecorder;
use crate::host::samples::{FaultWindow, WindowKind};
use crate::host::Clock;
use crate::workload::group_app::GroupApp;
use ksim_model::controller::PartitionRecord;
use ksim_model::internal_topics::{partition_for, TRANSACTION_STATE_TOPIC};
use ksim_model::{BrokerId, NodeId, TopicPartition, NO_LEADER};
use madsim::net::NetSim;
use madsim::runtime::Handle;
use madsim::task::NodeId as SimNodeId;
use rand_chacha::rand_core::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Everything the nemesis needs to reach the cluster.
pub struct Nemesis {
    pub handle: Handle,
    pub nodes: BTreeMap<NodeId, SimNodeId>,
    pub brokers: BTreeMap<BrokerId, Arc<Mutex<BrokerNode>>>,
    pub controller: Arc<Mutex<ControllerNode>>,
    pub recorder: SharedRecorder,
    pub clock: Clock,
    pub rng: Mutex<ChaCha8Rng>,
    /// Nodes the nemesis has taken down and not yet restarted.
    down: Mutex<BTreeSet<NodeId>>,
    pub replica_lag_time_max_ms: u64,
    pub default_latency_ms: (u64, u64),
    /// `transaction.state.log.num.partitions`, to find a transactional id's coordinator.
    pub txn_log_partitions: i32,
    /// The transactional id whose coordinator `Target::Coordinator` names (see
    /// `Scenario::coordinator_transactional_id`).
    pub coordinator_transactional_id: String,
    /// The scenario's consumer group, when it has one.
    group: Option<GroupTargets>,
    /// Where a power cut voids what its node had sent and not yet delivered.
    power_cuts: PowerCuts,
}

/// What consumer faults reach: the group's coordinator partition and its members' applications.
pub struct GroupTargets {
    /// The group's partition of `__consumer_offsets`: its leader is the group coordinator.
    pub offsets_partition: TopicPartition,
    /// Each member's client node and application, by member index.
    pub members: BTreeMap<u32, (NodeId, Arc<Mutex<dyn GroupApp>>)>,
}

impl Nemesis {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        handle: Handle,
        nodes: BTreeMap<NodeId, SimNodeId>,
        brokers: BTreeMap<BrokerId, Arc<Mutex<BrokerNode>>>,
        controller: Arc<Mutex<ControllerNode>>,
        recorder: SharedRecorder,
        clock: Clock,
        rng: ChaCha8Rng,
        replica_lag_time_max_ms: u64,
        default_latency_ms: (u64, u64),
        txn_log_partitions: i32,
        coordinator_transactional_id: String,
    ) -> Self {
        Nemesis {
            handle,
            nodes,
            brokers,
            controller,
            recorder,
            clock,
            rng: Mutex::new(rng),
            down: Mutex::new(BTreeSet::new()),
            replica_lag_time_max_ms,
            default_latency_ms,
            txn_log_partitions,
            group: None,
            coordinator_transactional_id,
            power_cuts: PowerCuts::default(),
        }
    }

    /// Lets power cuts take what their node had in flight.
    pub fn with_power_cuts(mut self, power_cuts: PowerCuts) -> Self {
        self.power_cuts = power_cuts;
        self
    }

    /// Lets faults reach the scenario's consumer group.
    pub fn with_group(mut self, group: GroupTargets) -> Self {
        self.group = Some(group);
        self
    }

    fn record(&self, what: &str, fault: &Fault, detail: &dyn std::fmt::Debug) {
        let now = self.clock.now_ms();
        self.recorder
            .lock()
            .unwrap()
            .trace_event(now, &("nemesis", what, fault, detail));
    }

    /// Opens a fault window for the HTML view when the recorder samples (not traced: `record` traces the fault).
    fn window_start(
        &self,
        kind: WindowKind,
        fault: &Fault,
        nodes: &[NodeId],
        others: &[NodeId],
    ) -> Option<usize> {
        let start_ms = self.clock.now_ms();
        let mut recorder = self.recorder.lock().unwrap();
        let samples = recorder.samples.as_mut()?;
        Some(samples.fault_start(FaultWindow {
            kind,
            fault: fault.clone(),
            nodes: nodes.to_vec(),
            others: others.to_vec(),
            start_ms,
            end_ms: None,
        }))
    }

    fn window_end(&self, window: Option<usize>) {
        let Some(index) = window else { return };
        let now = self.clock.now_ms();
        if let Some(samples) = self.recorder.lock().unwrap().samples.as_mut() {
            samples.fault_end(index, now);
        }
    }

    /// The broker a target names now: `Leader` is the controller's leader of the scenario's first partition,
    /// `Coordinator` the leader of the `__transaction_state` partition of the scenario's first transactional id.
    pub fn resolve(&self, target: Target) -> NodeId {
        let controller = self.controller.lock().unwrap();
        let partitions = &controller.state().partitions;
        let leader = match target {
            Target::Broker(b) => return NodeId::Broker(b),
            Target::Controller => return NodeId::Controller,
            Target::Leader => first_partition(partitions).map_or(NO_LEADER, |p| p.leader),
            Target::Coordinator => {
                let tp = TopicPartition::new(
                    TRANSACTION_STATE_TOPIC,
                    partition_for(&self.coordinator_transactional_id, self.txn_log_partitions),
                );
                partitions.get(&tp).map_or(NO_LEADER, |p| p.leader)
            }
            Target::GroupCoordinator => self
                .group
                .as_ref()
                .and_then(|g| partitions.get(&g.offsets_partition))
                .map_or(NO_LEADER, |p| p.leader),
        };
        NodeId::Broker(if leader == NO_LEADER { 1 } else { leader })
    }

    fn cluster(&self) -> Vec<NodeId> {
        self.nodes
            .keys()
            .copied()
            .filter(|n| !matches!(n, NodeId::Client(_)))
            .collect()
    }

    /// Applies `fault` for `duration_ms`, then heals it.
    pub async fn apply(&self, fault: Fault, duration_ms: u64) {
        match fault {
            Fault::Crash { target } => {
                self.outage(&fault, self.resolve(target), false, duration_ms)
                    .await
            }
            Fault::PowerLoss { target } => {
                self.outage(&fault, self.resolve(target), true, duration_ms)
                    .await
            }
            Fault::Isolate { target } => {
                let node = self.resolve(target);
                let others: Vec<NodeId> =
                    self.nodes.keys().copied().filter(|n| *n != node).collect();
                self.cut(&fault, &[node], &others, duration_ms).await
            }
            Fault::CutOffFromCluster { target } => {
                let node = self.resolve(target);
                let others: Vec<NodeId> =
                    self.cluster().into_iter().filter(|n| *n != node).collect();
                self.cut(&fault, &[node], &others, duration_ms).await
            }
            Fault::SplitHalves => {
                let (a, b) = self.halves(None);
                self.cut(&fault, &a, &b, duration_ms).await
            }
            Fault::Bridge { bridge } => {
                let bridge = self.resolve(bridge);
                let (a, b) = self.halves(Some(bridge));
                self.cut(&fault, &a, &b, duration_ms).await
            }
            Fault::OneWay { from, to } => {
                let (from, to) = (self.resolve(from), self.resolve(to));
                self.record("start", &fault, &(from, to));
                let window = self.window_start(WindowKind::OneWay, &fault, &[from], &[to]);
                NetSim::current().clog_link(self.nodes[&from], self.nodes[&to]);
                madsim::time::sleep(Duration::from_millis(duration_ms)).await;
                NetSim::current().unclog_link(self.nodes[&from], self.nodes[&to]);
                self.record("heal", &fault, &());
                self.window_end(window);
            }
            Fault::Slow {
                min_ms,
                max_ms,
                loss_rate,
            } => {
                self.record("start", &fault, &());
                let window = self.window_start(WindowKind::Slow, &fault, &[], &[]);
                self.set_network(min_ms, max_ms, loss_rate);
                madsim::time::sleep(Duration::from_millis(duration_ms)).await;
                let (lo, hi) = self.default_latency_ms;
                self.set_network(lo, hi, 0.0);
                self.record("heal", &fault, &());
                self.window_end(window);
            }
            Fault::IsrShrinkThenLeaderDies { power_loss } => {
                self.isr_shrink_then_leader_dies(&fault, power_loss, duration_ms)
                    .await
            }
            Fault::IsrGrowsThenLeaderDies { power_loss } => {
                self.isr_grows_then_leader_dies(&fault, power_loss, duration_ms)
                    .await
            }
            Fault::CreatePartitions { ref topic, .. } => {
                // The admin client node carries it out at this very time (run.rs gives it the schedule's
                // growths) and traces its outcome; here the partition count it starts from is traced.
                let count = self
                    .controller
                    .lock()
                    .unwrap()
                    .state()
                    .topic_partitions(topic)
                    .count();
                self.record("start", &fault, &("partitions", count));
                let window = self.window_start(WindowKind::Grow, &fault, &[], &[]);
                self.window_end(window);
            }
            Fault::ConsumerCrash { member } => {
                self.consumer_crash(&fault, member, duration_ms).await
            }
            Fault::ConsumerPause { member } => {
                let (node, app) = self.member(member);
                let until = self.clock.now_ms() + duration_ms;
                app.lock().unwrap().pause_until(until);
                self.record("start", &fault, &(node, until));
                let window = self.window_start(WindowKind::ConsumerPause, &fault, &[node], &[]);
                madsim::time::sleep(Duration::from_millis(duration_ms)).await;
                self.record("heal", &fault, &node);
                self.window_end(window);
            }
        }
    }

    fn member(&self, member: u32) -> (NodeId, Arc<Mutex<dyn GroupApp>>) {
        let group = self.group.as_ref().expect("consumer faults need a [group]");
        let (node, app) = &group.members[&member];
        (*node, app.clone())
    }

    /// Kills a member's process (it records that it stops owning anything first), restarts it when healed.
    async fn consumer_crash(&self, fault: &Fault, member: u32, duration_ms: u64) {
        let (node, app) = self.member(member);
        if !self.down.lock().unwrap().insert(node) {
            self.record("skip", fault, &(node, "already down"));
            return;
        }
        app.lock().unwrap().stopped(self.clock.now_ms());
        self.handle.kill(self.nodes[&node]);
        self.record("start", fault, &node);
        let window = self.window_start(WindowKind::ConsumerCrash, fault, &[node], &[]);
        madsim::time::sleep(Duration::from_millis(duration_ms)).await;
        self.restart(fault, node);
        self.window_end(window);
    }

    fn set_network(&self, min_ms: u64, max_ms: u64, loss_rate: f64) {
        NetSim::current().update_config(|c| {
            c.send_latency = Duration::from_millis(min_ms)..Duration::from_millis(max_ms + 1);
            c.packet_loss_rate = loss_rate;
        });
    }

    /// Shuffles brokers and controller into two halves (the bridge, if any, in neither).
    fn halves(&self, bridge: Option<NodeId>) -> (Vec<NodeId>, Vec<NodeId>) {
        let mut nodes: Vec<NodeId> = self
            .cluster()
            .into_iter()
            .filter(|n| Some(*n) != bridge)
            .collect();
        let mut rng = self.rng.lock().unwrap();
        for i in (1..nodes.len()).rev() {
            nodes.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        let b = nodes.split_off(nodes.len() / 2);
        (nodes, b)
    }

    async fn cut(&self, fault: &Fault, a: &[NodeId], b: &[NodeId], duration_ms: u64) {
        self.record("start", fault, &(a, b));
        let window = self.window_start(WindowKind::Cut, fault, a, b);
        let net = NetSim::current();
        for x in a {
            for y in b {
                net.clog_link(self.nodes[x], self.nodes[y]);
                net.clog_link(self.nodes[y], self.nodes[x]);
            }
        }
        madsim::time::sleep(Duration::from_millis(duration_ms)).await;
        for x in a {
            for y in b {
                net.unclog_link(self.nodes[x], self.nodes[y]);
                net.unclog_link(self.nodes[y], self.nodes[x]);
            }
        }
        self.record("heal", fault, &());
        self.window_end(window);
    }

    /// Kills a node (cutting its power too if asked), keeps it down for `duration_ms`, restarts it.
    async fn outage(&self, fault: &Fault, node: NodeId, power_loss: bool, duration_ms: u64) {
        if !self.down.lock().unwrap().insert(node) {
            self.record("skip", fault, &(node, "already down"));
            return;
        }
        let window = self.kill(fault, node, power_loss);
        madsim::time::sleep(Duration::from_millis(duration_ms)).await;
        self.restart(fault, node);
        self.window_end(window);
    }

    /// Returns the HTML view's window for the outage (`window_end` it at the restart).
    fn kill(&self, fault: &Fault, node: NodeId, power_loss: bool) -> Option<usize> {
        self.handle.kill(self.nodes[&node]);
        if power_loss {
            self.power_cuts.cut(node);
        }
        let lost = match node {
            NodeId::Broker(b) => {
                let mut broker = self.brokers[&b].lock().unwrap();
                broker.crash();
                if power_loss {
                    let mut rng = self.rng.lock().unwrap();
                    broker.lose_power(|| rng.next_u64())
                } else {
                    Vec::new()
                }
            }
            NodeId::Controller => {
                self.controller.lock().unwrap().crash();
                Vec::new()
            }
            NodeId::Client(_) => unreachable!("the nemesis does not kill clients"),
        };
        self.record("start", fault, &(node, lost));
        let kind = if power_loss {
            WindowKind::PowerLoss
        } else {
            WindowKind::Crash
        };
        self.window_start(kind, fault, &[node], &[])
    }

    fn restart(&self, fault: &Fault, node: NodeId) {
        self.handle.restart(self.nodes[&node]);
        self.down.lock().unwrap().remove(&node);
        self.record("heal", fault, &node);
    }

    /// Cuts the leader off from the other brokers until the ISR shrinks to the leader alone (it still reaches
    /// the controller and clients, so it keeps acknowledging), then makes it die for `duration_ms`, then restarts it.
    async fn isr_shrink_then_leader_dies(&self, fault: &Fault, power_loss: bool, duration_ms: u64) {
        let leader = self.resolve(Target::Leader);
        let others: Vec<NodeId> = self
            .brokers
            .keys()
            .map(|b| NodeId::Broker(*b))
            .filter(|n| *n != leader)
            .collect();
        let shrink_ms = self.replica_lag_time_max_ms * 3 / 2 + 1_000;
        self.record("start", fault, &(leader, shrink_ms));
        let cut = self.window_start(WindowKind::Cut, fault, &[leader], &others);
        let net = NetSim::current();
        for o in &others {
            net.clog_link(self.nodes[&leader], self.nodes[o]);
            net.clog_link(self.nodes[o], self.nodes[&leader]);
        }
        madsim::time::sleep(Duration::from_millis(shrink_ms)).await;
        let downtime = duration_ms;
        let took_down = self.down.lock().unwrap().insert(leader);
        let outage = if took_down {
            self.kill(fault, leader, power_loss)
        } else {
            None
        };
        for o in &others {
            net.unclog_link(self.nodes[&leader], self.nodes[o]);
            net.unclog_link(self.nodes[o], self.nodes[&leader]);
        }
        self.window_end(cut);
        madsim::time::sleep(Duration::from_millis(downtime)).await;
        if took_down {
            self.restart(fault, leader);
        }
        self.window_end(outage);
    }

    /// The first partition's ISR and leader as the controller has them.
    fn first_partition_isr(&self) -> (Vec<BrokerId>, BrokerId) {
        let controller = self.controller.lock().unwrap();
        first_partition(&controller.state().partitions)
            .map_or((Vec::new(), NO_LEADER), |p| (p.isr.clone(), p.leader))
    }

    /// Watches the first partition's ISR every millisecond for up to `duration_ms`; the moment the controller
    /// admits a member, the leader that asked for it dies for `duration_ms`, then restarts.
    async fn isr_grows_then_leader_dies(&self, fault: &Fault, power_loss: bool, duration_ms: u64) {
        let (mut isr, _) = self.first_partition_isr();
        self.record("start", fault, &isr);
        let give_up_ms = self.clock.now_ms() + duration_ms;
        let leader = loop {
            if self.clock.now_ms() >= give_up_ms {
                self.record("skip", fault, &"the ISR did not grow");
                return;
            }
            madsim::time::sleep(Duration::from_millis(1)).await;
            let (now, leader) = self.first_partition_isr();
            if leader != NO_LEADER && now.iter().any(|b| !isr.contains(b)) {
                break NodeId::Broker(leader);
            }
            isr = now;
        };
        self.outage(fault, leader, power_loss, duration_ms).await
    }
}

/// The scenario's first partition (internal topics sort first and are passed over).
fn first_partition(
    partitions: &BTreeMap<TopicPartition, PartitionRecord>,
) -> Option<&PartitionRecord> {
    partitions
        .iter()
        .find(|(tp, _)| !tp.topic.starts_with("__"))
        .map(|(_, p)| p)
}
