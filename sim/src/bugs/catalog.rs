//! The catalog of historic Kafka bugs: each a model switch named after the change that fixed it, the library
//! scenario whose faults expose it, and the violations that name it.

use crate::checkers::ViolationKind;
use crate::scenario::Scenario;
use ksim_model::config::Fix;

/// One historic bug.
pub struct Bug {
    /// The Kafka change that fixed it (KIP or JIRA).
    pub name: &'static str,
    pub what: &'static str,
    /// The library scenario that exposes it.
    pub scenario: &'static str,
    /// Puts the bug back into a scenario.
    pub revert: fn(&mut Scenario),
    /// Violations that show it (any one counts as caught).
    pub shows: &'static [ViolationKind],
}

fn revert(s: &mut Scenario, fix: Fix) {
    s.broker.fixes.reverted.insert(fix);
}

use ViolationKind::*;

pub const CATALOG: [Bug; 8] = [
    Bug {
        name: "KIP-101",
        what: "a new follower truncates to its own high watermark instead of asking the leader where their logs agree",
        scenario: "acks-all-min-insync-2",
        revert: |s| revert(s, Fix::Kip101LeaderEpochTruncation),
        shows: &[LostWrite, Divergence],
    },
    Bug {
        name: "KIP-279",
        what: "a follower takes the leader's end offset for an epoch it does not hold and keeps records the leader never had",
        scenario: "non-idempotent-retries",
        revert: |s| revert(s, Fix::Kip279EpochChainTruncation),
        shows: &[Divergence, LostWrite],
    },
    Bug {
        name: "KAFKA-7128",
        what: "a new leader whose HW lags admits a follower to the ISR before it reaches the old leader's committed offset",
        scenario: "isr-expansion-after-failover",
        revert: |s| revert(s, Fix::Kafka7128IsrEpochStart),
        shows: &[LostWrite, CommittedLost, Divergence],
    },
    Bug {
        name: "KIP-320",
        what: "a consumer fetches without its leader epoch and never checks its position against a new leader's log",
        scenario: "unclean-election-paused-consumer",
        revert: |s| revert(s, Fix::Kip320FetchLeaderEpoch),
        shows: &[LostConsume, PollSkip],
    },
    Bug {
        name: "KIP-98",
        what: "brokers accept batches and markers from a producer epoch older than the partition's",
        scenario: "zombie-fencing",
        revert: |s| revert(s, Fix::Kip98ProducerEpochFencing),
        shows: &[ZombieWrite],
    },
    Bug {
        name: "KIP-966",
        what: "the last replica standing leads again without the records it lost (no eligible leader replicas)",
        scenario: "acks-all-min-insync-2",
        revert: |s| s.broker.eligible_leader_replicas_version = 0,
        shows: &[LostWrite],
    },
    Bug {
        name: "KIP-429",
        what: "a cooperative consumer runs onPartitionsRevoked but keeps fetching the revoked partition",
        scenario: "group-rebalance-storm",
        revert: |s| revert(s, Fix::Kip429CooperativeRevocation),
        shows: &[DoubleOwner],
    },
    Bug {
        name: "KAFKA-15583",
        what: "a leader alone in its ISR advances the HW below min.insync.replicas, past every eligible leader replica",
        scenario: "eligible-leaders-isr-shrink",
        revert: |s| revert(s, Fix::Kafka15583StrictMinIsrHw),
        shows: &[CommittedLost, Divergence],
    },
];
