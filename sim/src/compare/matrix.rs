//! A comparison matrix: configurations (the cross product of Kafka settings) against fault profiles, each pair a
//! cell that runs as an ordinary scenario built from the matrix's base scenario.

use crate::checkers::ViolationKind;
use crate::nemesis::fault::{Fault, Target};
use crate::scenario::{Expect, Faults, Scenario, ScheduledFault};
use ksim_model::config::Acks;
use serde::{Deserialize, Serialize};

/// A matrix as its TOML file describes it, with the base scenario already loaded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    pub name: String,
    pub description: String,
    /// The scenario every cell starts from: cluster, topics, workload, network, client settings.
    pub base: Scenario,
    /// The base scenario's path as the matrix file gives it.
    pub base_path: String,
    /// Seeds per cell when the command line does not say.
    pub seeds: u64,
    pub axes: Axes,
    pub profiles: Vec<Profile>,
    pub verdict: VerdictRules,
}

/// The values each setting takes. Settings Kafka ignores or refuses in a combination are not varied there
/// (see [`Matrix::configs`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Axes {
    pub acks: Vec<Acks>,
    pub min_insync_replicas: Vec<usize>,
    pub replication_factor: Vec<i32>,
    pub unclean_leader_election_enable: Vec<bool>,
    pub enable_idempotence: Vec<bool>,
}

/// A named set of faults, with what it does to the cluster so the report can hold each cell to Kafka's
/// documented guarantees.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub description: String,
    /// The profile's own faults, as a scenario's `[faults]` table gives them.
    pub faults: Faults,
    /// Faults that hit every broker of the cell's cluster, one after another `stagger_ms` apart (0: all at once).
    pub every_broker: Vec<EveryBroker>,
    /// The faults move partition leadership away from a leader that had records its followers lacked.
    pub leader_failover: bool,
    /// A majority of every partition's replicas keep their disks (no correlated power loss).
    pub majority_disks_intact: bool,
    /// A replica is down or cut off long enough (past `replica.lag.time.max.ms`) to leave the ISR while the
    /// others run.
    pub replica_leaves_isr: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EveryBrokerKind {
    Crash,
    PowerLoss,
    Isolate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EveryBroker {
    pub kind: EveryBrokerKind,
    pub at_ms: u64,
    pub duration_ms: u64,
    pub stagger_ms: u64,
}

/// When a cell counts as unavailable: in the median seed some partition went this long without taking a write.
/// The default is a little more than a leader fail-over takes (`broker.session.timeout.ms` = 9 s, the election,
/// the producer's metadata refresh), so a cell is unavailable when writes stall beyond fail-over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictRules {
    pub unavailable_window_ms: u64,
}

impl Default for VerdictRules {
    fn default() -> Self {
        VerdictRules {
            unavailable_window_ms: 12_000,
        }
    }
}

/// One point of the axes: the settings a cell runs with. `min_insync_replicas` is None where it has no effect
/// (acks 0 and 1: only acks=all waits for the ISR).
/// Serialized with Kafka's names and values (`"acks": "all"`, `"min.insync.replicas": 2`), as a user writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    #[serde(with = "kafka_acks")]
    pub acks: Acks,
    #[serde(rename = "min.insync.replicas")]
    pub min_insync_replicas: Option<usize>,
    #[serde(rename = "replication.factor")]
    pub replication_factor: i32,
    #[serde(rename = "unclean.leader.election.enable")]
    pub unclean_leader_election_enable: bool,
    #[serde(rename = "enable.idempotence")]
    pub enable_idempotence: bool,
}

/// `acks` as Kafka's configuration spells it: "0", "1", "all".
mod kafka_acks {
    use super::{acks_name, Acks};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(acks: &Acks, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(acks_name(*acks))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Acks, D::Error> {
        match String::deserialize(d)?.as_str() {
            "0" => Ok(Acks::None),
            "1" => Ok(Acks::Leader),
            "all" | "-1" => Ok(Acks::All),
            other => Err(serde::de::Error::custom(format!(
                "acks must be \"0\", \"1\" or \"all\", not {other:?}"
            ))),
        }
    }
}

impl Config {
    /// Kafka's names and values, e.g. `acks=all min.insync.replicas=2 replication.factor=3 unclean=false
    /// idempotence=true`.
    pub fn label(&self) -> String {
        let min = self
            .min_insync_replicas
            .map_or("-".to_string(), |m| m.to_string());
        format!(
            "acks={} min.insync={} rf={} unclean={} idempotence={}",
            acks_name(self.acks),
            min,
            self.replication_factor,
            self.unclean_leader_election_enable,
            self.enable_idempotence
        )
    }
}

/// `acks` as Kafka's configuration spells it.
pub fn acks_name(acks: Acks) -> &'static str {
    match acks {
        Acks::None => "0",
        Acks::Leader => "1",
        Acks::All => "all",
    }
}

/// A configuration under a profile.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cell<'m> {
    pub config: Config,
    pub profile: &'m Profile,
}

impl Matrix {
    /// Every combination of the axes Kafka would run differently, in axis order:
    /// - min.insync.replicas only matters to acks=all (for acks 0 and 1 it is not varied);
    /// - min.insync.replicas above replication.factor is skipped (every acks=all write would fail);
    /// - idempotence needs acks=all (Kafka refuses `enable.idempotence=true` with acks 0 or 1);
    /// - with one replica there is nobody to elect uncleanly, so the unclean setting is not varied.
    pub fn configs(&self) -> Vec<Config> {
        let a = &self.axes;
        let mut configs = Vec::new();
        for &acks in &a.acks {
            for &rf in &a.replication_factor {
                let mins: Vec<Option<usize>> = if acks == Acks::All {
                    let valid = a.min_insync_replicas.iter().filter(|&&m| m as i32 <= rf);
                    valid.map(|&m| Some(m)).collect()
                } else {
                    vec![None]
                };
                let uncleans: &[bool] = if rf == 1 {
                    &a.unclean_leader_election_enable[..1]
                } else {
                    &a.unclean_leader_election_enable
                };
                let idempotence: &[bool] = if acks == Acks::All {
                    &a.enable_idempotence
                } else {
                    &[false]
                };
                for &min in &mins {
                    for &unclean in uncleans {
                        for &idempotent in idempotence {
                            configs.push(Config {
                                acks,
                                min_insync_replicas: min,
                                replication_factor: rf,
                                unclean_leader_election_enable: unclean,
                                enable_idempotence: idempotent,
                            });
                        }
                    }
                }
            }
        }
        configs
    }

    /// Every cell, profile by profile.
    pub fn cells(&self) -> Vec<Cell<'_>> {
        let configs = self.configs();
        self.profiles
            .iter()
            .flat_map(|profile| configs.iter().map(move |&config| Cell { config, profile }))
            .collect()
    }

    /// The scenario a cell runs: the base with the cell's settings and the profile's faults. The cluster grows to
    /// the replication factor when the base has fewer brokers.
    pub fn scenario(&self, cell: &Cell) -> Scenario {
        let c = cell.config;
        let mut s = self.base.clone();
        s.name = format!("{}/{}", self.name, cell.profile.name);
        s.description = format!("{} under {}", c.label(), cell.profile.name);
        s.brokers = s.brokers.max(c.replication_factor);
        // acks 0 and 1 ignore min.insync.replicas; Kafka's default (1) stands in for it.
        s.broker.min_insync_replicas = c.min_insync_replicas.unwrap_or(1);
        s.broker.unclean_leader_election_enable = c.unclean_leader_election_enable;
        for t in &mut s.topics {
            t.replication_factor = c.replication_factor;
            t.min_insync_replicas = None;
            t.unclean_leader_election_enable = None;
        }
        s.producer.acks = c.acks;
        s.producer.enable_idempotence = c.enable_idempotence;
        let mut faults = cell.profile.faults.clone();
        for e in &cell.profile.every_broker {
            faults.timeline.extend(e.expand(s.brokers));
        }
        faults.timeline.sort_by_key(|f| f.at_ms);
        s.faults = faults;
        // A comparison measures; it does not judge. Every kind is allowed, none required.
        s.expect = Expect {
            allow: ViolationKind::ALL.to_vec(),
            find: Vec::new(),
        };
        s
    }
}

impl EveryBroker {
    /// One fault per broker, staggered (loading checks the last one starts inside the fault phase).
    pub fn expand(&self, brokers: i32) -> Vec<ScheduledFault> {
        (1..=brokers)
            .map(|b| {
                let target = Target::Broker(b);
                ScheduledFault {
                    at_ms: self.at_ms + self.stagger_ms * (b as u64 - 1),
                    duration_ms: self.duration_ms,
                    fault: match self.kind {
                        EveryBrokerKind::Crash => Fault::Crash { target },
                        EveryBrokerKind::PowerLoss => Fault::PowerLoss { target },
                        EveryBrokerKind::Isolate => Fault::Isolate { target },
                    },
                }
            })
            .collect()
    }
}
