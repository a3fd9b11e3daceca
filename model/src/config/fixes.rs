//! Fixes of known Kafka bugs that a run may revert, to show that the checkers catch the bug each one fixed.
//!
//! Every fix is in force by default; a scenario reverts one by its name (`[model] revert = ["KIP-98"]`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A fix, named after the Kafka change that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Fix {
    /// KIP-101's leader-epoch truncation: a replica that becomes a follower asks the leader (OffsetsForLeaderEpoch)
    /// where their logs agree and truncates there. Reverted, it truncates to its own high watermark, as Kafka did
    /// before 0.11: records above a lagging HW are thrown away (lost if acknowledged), and records the leader never
    /// had survive below a new leader's appends (the replicas diverge).
    Kip101LeaderEpochTruncation,
    /// KIP-279's epoch-chain truncation: when the leader answers with an epoch the follower does not hold, the
    /// follower truncates to the end of its own epoch below and asks again; when both hold it, to where the shorter
    /// ends it. Reverted (KIP-101 alone), the follower truncates to the leader's end offset, keeping records of an
    /// epoch it led that the leader never had: after fast leader changes the replicas diverge.
    Kip279EpochChainTruncation,
    /// KAFKA-7128: a follower joins the ISR only once its LEO reaches the leader's current epoch's start offset as
    /// well as the HW. Reverted, a new leader whose HW still lags admits a follower that lacks records the old
    /// leader had committed; when that follower leads, they are lost.
    Kafka7128IsrEpochStart,
    /// KIP-98's producer-epoch fencing on the broker: a batch or marker from a producer epoch older than the one a
    /// partition knows is refused with INVALID_PRODUCER_EPOCH. Reverted, a zombie producer's writes land after its
    /// successor took over.
    Kip98ProducerEpochFencing,
    /// KIP-429's cooperative revocation: a partition the new assignment takes away is revoked (its listener runs,
    /// its buffered records are dropped and it is no longer fetched) before the member rejoins, so the partition's
    /// next owner, assigned in the following generation, is its only reader. Reverted, the member runs
    /// `onPartitionsRevoked` but keeps fetching and returning the partition's records.
    Kip429CooperativeRevocation,
    /// KIP-320 (Kafka 2.1): a consumer names the leader epoch it believes current in every Fetch (a broker with
    /// another epoch answers FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH), and after a leader change it asks the new
    /// leader (OffsetsForLeaderEpoch) where the epoch of its last consumed record ends, seeking back there if the
    /// log it read was truncated. Reverted, the consumer fetches as clients did before 2.1: no epoch, no
    /// validation, so after an unclean election it carries on from its old position in the new leader's log and
    /// never reads the records the new leader wrote below it.
    Kip320FetchLeaderEpoch,
    /// KAFKA-15583 (Kafka 3.7, part of KIP-966): the leader's high watermark stays put while the ISR is smaller
    /// than `min.insync.replicas`, so every replica that left the ISR on the way down (the Eligible Leader Replicas)
    /// holds the HW. Reverted, the HW follows whatever ISR is left, as it did before 3.7: a leader alone in its ISR
    /// exposes records no other replica has, and an eligible leader elected after it dies lacks them.
    Kafka15583StrictMinIsrHw,
}

impl Fix {
    pub const ALL: [Fix; 7] = [
        Fix::Kip101LeaderEpochTruncation,
        Fix::Kip279EpochChainTruncation,
        Fix::Kafka7128IsrEpochStart,
        Fix::Kip98ProducerEpochFencing,
        Fix::Kip429CooperativeRevocation,
        Fix::Kip320FetchLeaderEpoch,
        Fix::Kafka15583StrictMinIsrHw,
    ];

    /// The name a scenario uses.
    pub fn name(self) -> &'static str {
        match self {
            Fix::Kip101LeaderEpochTruncation => "KIP-101",
            Fix::Kip279EpochChainTruncation => "KIP-279",
            Fix::Kafka7128IsrEpochStart => "KAFKA-7128",
            Fix::Kip98ProducerEpochFencing => "KIP-98",
            Fix::Kip429CooperativeRevocation => "KIP-429",
            Fix::Kip320FetchLeaderEpoch => "KIP-320",
            Fix::Kafka15583StrictMinIsrHw => "KAFKA-15583",
        }
    }

    pub fn from_name(name: &str) -> Option<Fix> {
        Fix::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The fixes a run has reverted; none by default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fixes {
    pub reverted: BTreeSet<Fix>,
}

impl Fixes {
    /// Whether `fix` is in force.
    pub fn has(&self, fix: Fix) -> bool {
        !self.reverted.contains(&fix)
    }
}
