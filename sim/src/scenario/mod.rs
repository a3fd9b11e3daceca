//! A scenario: the cluster, its Kafka configuration, the workload, the faults and what the run is expected to show.
//! Scenarios are TOML files in `scenarios/`; `load` parses and validates one, naming file, line and key on error.

pub mod faults_file;
mod load;

pub use load::{load, load_faults, load_matrix, parse, ScenarioError};

use crate::checkers::ViolationKind;
use crate::nemesis::fault::Fault;
use crate::workload::group_member_client::CommitMode;
use ksim_model::config::{BrokerConfig, ConsumerConfig, GroupMemberConfig, ProducerConfig};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Length of the fault phase: the workload runs and the nemesis acts.
    pub duration_ms: u64,
    /// After the fault phase every fault is healed and the cluster gets this long to converge.
    pub settle_ms: u64,
    /// Number of brokers, with ids 1..=brokers.
    pub brokers: i32,
    pub broker: BrokerConfig,
    pub topics: Vec<TopicSpec>,
    pub producer: ProducerConfig,
    pub consumer: ConsumerConfig,
    pub workload: Workload,
    pub network: Network,
    pub faults: Faults,
    pub expect: Expect,
    /// A consumer group reading the scenario's topics, when the scenario has a `[group]`.
    pub group: Option<GroupSpec>,
}

/// A consumer group: its members' settings and what the application does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSpec {
    pub config: GroupMemberConfig,
    pub members: u32,
    /// The topics it subscribes to; None: every topic of the scenario.
    pub topics: Option<Vec<String>>,
    pub commit: CommitMode,
    /// The application processes on a worker thread and polls again at once.
    pub async_processing: bool,
    pub processing_ms: (u64, u64),
    pub stall_percent: u32,
    pub stall_ms: u64,
    /// What each member does with what it polls.
    pub processing: GroupProcessing,
}

/// What a group's members do with the records they poll.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupProcessing {
    /// Process each record, then commit as `commit` says: at-least-once.
    Plain,
    /// Consume-transform-produce (Kafka's exactly-once, KIP-447): each input record becomes one record of
    /// `output_topic`, written in a transaction together with the input offsets.
    Transactional { output_topic: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    /// `replication.factor`
    pub replication_factor: i32,
    /// Topic-level `min.insync.replicas`, overriding the broker's.
    pub min_insync_replicas: Option<usize>,
    /// Topic-level `unclean.leader.election.enable`, overriding the broker's.
    pub unclean_leader_election_enable: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    /// Producer clients, each sending at `records_per_second`.
    pub producers: u32,
    pub records_per_second: u32,
    /// Keys are drawn from 0..keys; 0 sends null keys (sticky partitioning).
    pub keys: u32,
    /// Consumers that read every partition from the start during the run (for poll checkers), with the
    /// `[consumer]` settings.
    pub consumers: u32,
    /// More such consumers, reading with `isolation.level` = read_committed whatever `[consumer]` says.
    pub read_committed_consumers: u32,
    /// Transactional producers, each with its own `transactional.id`, running one transaction after another.
    pub transactional_producers: u32,
    /// Records each transaction sends, spread over the topics' partitions.
    pub records_per_transaction: u32,
    /// The share of transactions (in percent) a transactional producer aborts on purpose.
    pub abort_percent: u32,
    /// Restarts per transactional id: each starts a new producer with the same `transactional.id` at a time drawn
    /// from the seed while the previous one keeps running, a zombie until it is fenced.
    pub zombie_restarts: u32,
    /// The share of transactions (in percent) during which the producer stalls, halfway through, for longer
    /// than `transaction.timeout.ms` (a long GC pause or a hung thread): the coordinator aborts the transaction
    /// with a bumped epoch, and the producer comes back fenced.
    pub stall_percent: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// One-way latency of a message, drawn uniformly from this range (ms).
    pub latency_ms: (u64, u64),
}

/// Random faults drawn from the seed, and scripted faults at fixed times.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    pub random: Option<RandomFaults>,
    pub timeline: Vec<ScheduledFault>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RandomFaults {
    /// Which kinds to draw from, by their scenario names (`crash`, `power-loss`, `isolate`, ...).
    pub kinds: Vec<FaultKind>,
    /// Gap between the end of one fault and the start of the next (ms), drawn uniformly.
    pub interval_ms: (u64, u64),
    /// How long each fault lasts (ms), drawn uniformly.
    pub duration_ms: (u64, u64),
    /// Whether the drawn faults happen. `apply = false` (what `ksim shrink` writes) still draws them, so every
    /// later draw of the seed (the network's latencies, the nemesis's own choices) is what it was, while the
    /// timeline alone is the schedule: a seed's drawn faults written out as a timeline replay its run exactly.
    pub apply: bool,
}

/// The fault kinds the random nemesis can draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    Crash,
    PowerLoss,
    Isolate,
    CutOffFromCluster,
    SplitHalves,
    OneWay,
    Bridge,
    Slow,
    IsrShrinkThenLeaderDies,
    IsrGrowsThenLeaderDies,
    CreatePartitions,
    ConsumerCrash,
    ConsumerPause,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduledFault {
    pub at_ms: u64,
    pub duration_ms: u64,
    pub fault: Fault,
}

/// What the configuration is known to allow, and what a sweep over it must find at least once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expect {
    pub allow: Vec<ViolationKind>,
    pub find: Vec<ViolationKind>,
}

impl Scenario {
    /// The group's consume-transform-produce output topic, if its members are transactional processors.
    pub fn group_output_topic(&self) -> Option<&str> {
        match &self.group.as_ref()?.processing {
            GroupProcessing::Plain => None,
            GroupProcessing::Transactional { output_topic } => Some(output_topic),
        }
    }

    /// The topics the group subscribes to: `[group] topics`, else every scenario topic but its output topic.
    pub fn group_input_topics(&self) -> Vec<String> {
        let Some(group) = &self.group else {
            return Vec::new();
        };
        // By default it reads what the producers write: everything but its own output.
        group
            .topics
            .clone()
            .unwrap_or_else(|| self.produced_topics())
    }

    /// The topics the workload's producers write: every scenario topic but the processors' output, which only
    /// their transactions write (so every record in it is some input's output).
    pub fn produced_topics(&self) -> Vec<String> {
        let output = self.group_output_topic();
        self.topics
            .iter()
            .map(|t| t.name.clone())
            .filter(|t| Some(t.as_str()) != output)
            .collect()
    }

    /// The `transactional.id` whose transaction coordinator the `"coordinator"` fault target names: the first
    /// transactional producer's, else the first transactional processor's; None without transactions.
    pub fn coordinator_transactional_id(&self) -> Option<String> {
        if self.workload.transactional_producers > 0 {
            Some(crate::workload::txn_producer_client::transactional_id(0))
        } else {
            self.group_output_topic()
                .map(|_| crate::workload::eos_processor_client::transactional_id(0))
        }
    }
}

impl TopicSpec {
    pub fn min_insync_replicas(&self, broker: &BrokerConfig) -> usize {
        self.min_insync_replicas
            .unwrap_or(broker.min_insync_replicas)
    }
    pub fn unclean_leader_election_enable(&self, broker: &BrokerConfig) -> bool {
        self.unclean_leader_election_enable
            .unwrap_or(broker.unclean_leader_election_enable)
    }
}
