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
}

impl Fix {
    pub const ALL: [Fix; 1] = [Fix::Kip98ProducerEpochFencing];

    /// The name a scenario uses.
    pub fn name(self) -> &'static str {
        match self {
            Fix::Kip98ProducerEpochFencing => "KIP-98",
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
