//! Kafka's documented guarantees, each held against the cells it speaks of: the report says whether the
//! measurement agrees, and names the cells where it does not.

use super::cell::{CellResult, Verdict};
use super::matrix::Profile;
use ksim_model::config::Acks;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub id: String,
    /// The guarantee in Kafka's words.
    pub statement: String,
    /// Where Kafka documents it.
    pub source: String,
    /// How many cells it applies to.
    pub cells: usize,
    /// None when no cell of the matrix applies.
    pub holds: Option<bool>,
    /// The cells that disagree, by profile and configuration label.
    pub disagreeing: Vec<String>,
}

struct Rule {
    id: &'static str,
    statement: &'static str,
    source: &'static str,
    applies: fn(&CellResult, &Profile) -> bool,
    agrees: fn(&CellResult) -> bool,
}

const RULES: [Rule; 5] = [
    Rule {
        id: "no-loss-configuration",
        statement: "With acks=all, min.insync.replicas >= 2, replication.factor >= 3 and unclean leader election \
                    off, no acknowledged write is lost while a majority of each partition's replicas keep their disks",
        source: "Kafka documentation, Design: Replicated Logs, and min.insync.replicas (topic configs)",
        applies: |c, p| {
            c.config.acks == Acks::All
                && c.config.min_insync_replicas.is_some_and(|m| m >= 2)
                && c.config.replication_factor >= 3
                && !c.config.unclean_leader_election_enable
                && p.majority_disks_intact
        },
        agrees: |c| c.lossy_seeds == 0 && c.divergence_seeds == 0,
    },
    Rule {
        id: "acks-1-loses-on-fail-over",
        statement: "With acks=1 the leader acknowledges before followers have the record: when leadership fails \
                    over, acknowledged writes are lost",
        source: "Kafka documentation, producer config acks (\"the record will be lost\" if the leader fails \
                 before followers replicate it)",
        applies: |c, p| {
            c.config.acks == Acks::Leader
                && c.config.replication_factor >= 2
                && !c.config.unclean_leader_election_enable
                && p.leader_failover
        },
        agrees: |c| c.lossy_seeds > 0,
    },
    Rule {
        id: "unclean-election-loses",
        statement: "With unclean.leader.election.enable=true an out-of-sync replica can become leader: writes \
                    the old leader acknowledged alone are lost",
        source: "Kafka documentation, Design: Unclean leader election: What if they all die?",
        applies: |c, p| {
            c.config.unclean_leader_election_enable
                && c.config.replication_factor >= 2
                && (c.config.acks == Acks::Leader || c.config.min_insync_replicas == Some(1))
                && p.name.starts_with("isr-shrink")
        },
        agrees: |c| c.lossy_seeds > 0,
    },
    Rule {
        id: "clean-election-waits",
        statement: "With unclean leader election off, a partition whose only in-sync replica dies waits for that \
                    replica to return: it is offline meanwhile, and no acknowledged write is lost",
        source: "Kafka documentation, Design: Unclean leader election (availability versus consistency)",
        applies: |c, p| {
            !c.config.unclean_leader_election_enable
                && c.config.replication_factor >= 2
                && (c.config.acks == Acks::Leader || c.config.min_insync_replicas == Some(1))
                && p.name.starts_with("isr-shrink")
        },
        agrees: |c| c.lossy_seeds == 0 && c.divergence_seeds == 0,
    },
    Rule {
        id: "rf-equal-to-min-insync-blocks-writes",
        statement: "With replication.factor = min.insync.replicas, acks=all writes stop while any one replica \
                    is out of the ISR (NOT_ENOUGH_REPLICAS once the ISR shrinks; timeouts while it waits for the dead \
                    replica)",
        source: "Kafka documentation, min.insync.replicas (\"the producer will raise an exception \
                 (NotEnoughReplicas)\")",
        applies: |c, p| {
            c.config.acks == Acks::All
                && c.config.replication_factor >= 2
                && c.config.min_insync_replicas == Some(c.config.replication_factor as usize)
                && p.replica_leaves_isr
        },
        agrees: |c| c.verdict >= Verdict::Unavailable,
    },
];

/// Every rule, held against the cells (`profiles` gives each cell's profile by name).
pub fn check(cells: &[CellResult], profiles: &[Profile]) -> Vec<Claim> {
    RULES
        .iter()
        .map(|rule| {
            let applicable: Vec<&CellResult> = cells
                .iter()
                .filter(|c| {
                    let p = profiles.iter().find(|p| p.name == c.profile);
                    p.is_some_and(|p| (rule.applies)(c, p))
                })
                .collect();
            let disagreeing: Vec<String> = applicable
                .iter()
                .filter(|c| !(rule.agrees)(c))
                .map(|c| format!("{}: {}", c.profile, c.label))
                .collect();
            Claim {
                id: rule.id.to_string(),
                statement: rule.statement.to_string(),
                source: rule.source.to_string(),
                cells: applicable.len(),
                holds: (!applicable.is_empty()).then_some(disagreeing.is_empty()),
                disagreeing,
            }
        })
        .collect()
}
