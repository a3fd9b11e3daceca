//! Fixes of known Kafka bugs that a run may revert, to show that the checkers catch the bug each one fixed.
//!
//! Every fix is in force by default; a scenario reverts one by its name (`[model] revert = ["KIP-98"]`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A fix, named after the Kafka change that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Fix {
    /// KIP-98's producer-epoch fencing on the broker: a batch or marker from a producer epoch older than the one a
    /// partition knows is refused with INVALID_PRODUCER_EPOCH. Reverted, a zombie producer's writes land after its
    /// successor took over.
    Kip98ProducerEpochFencing,
    /// KIP-429's cooperative revocation: a partition the new assignment takes away is revoked (its listener runs,
    /// its buffered records are dropped and it is no longer fetched) before the member rejoins, so the partition's
    /// next owner, assigned in the following generation, is its only reader. Reverted, the member runs
    /// `onPartitionsRevoked` but keeps fetching and returning the partition's records.
    Kip429CooperativeRevocation,
}

impl Fix {
    pub const ALL: [Fix; 2] = [
        Fix::Kip98ProducerEpochFencing,
        Fix::Kip429CooperativeRevocation,
    ];

    /// The name a scenario uses.
    pub fn name(self) -> &'static str {
        match self {
            Fix::Kip98ProducerEpochFencing => "KIP-98",
            Fix::Kip429CooperativeRevocation => "KIP-429",
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
