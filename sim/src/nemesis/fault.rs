//! Faults as data: each is a plain value that can be printed, saved and replayed.

use ksim_model::BrokerId;
use serde::{Deserialize, Serialize};

/// A node the nemesis can hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    Broker(BrokerId),
    Controller,
    /// The current leader of the scenario's first partition, resolved when the fault starts.
    Leader,
    /// The current transaction coordinator of the first transactional producer, or without one of the first
    /// transactional processor (the leader of its `__transaction_state` partition), resolved when the fault starts.
    Coordinator,
    /// The coordinator of the scenario's consumer group (the leader of its `__consumer_offsets` partition),
    /// resolved when the fault starts.
    GroupCoordinator,
}

/// One fault. Each lasts from its start until it is healed (`duration_ms` after it starts, or at the end of the fault phase).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fault {
    /// Kill the process; restart it when healed. The page cache survives.
    Crash { target: Target },
    /// Cut the power: unflushed log data is lost from a random point of the unflushed suffix; restart when healed.
    PowerLoss { target: Target },
    /// Cut one node off from every other node.
    Isolate { target: Target },
    /// Cut one broker off from the other brokers and the controller while clients still reach it (the Jepsen
    /// 2013 partition): a leader keeps answering producers until the controller fences it and its followers
    /// elect another.
    CutOffFromCluster { target: Target },
    /// Split the cluster (brokers, controller) into two halves with no traffic between them.
    SplitHalves,
    /// Drop traffic in one direction only, from `from` to `to`.
    OneWay { from: Target, to: Target },
    /// Two halves that cannot talk, and one node (`bridge`) that talks to both.
    Bridge { bridge: Target },
    /// Slow every link to `min_ms..max_ms` and lose packets with `loss_rate` (TCP resends them).
    Slow {
        min_ms: u64,
        max_ms: u64,
        loss_rate: f64,
    },
    /// Cut the first partition's leader off from its followers until the ISR shrinks to the leader alone, then
    /// make the leader die (`power_loss` chooses power loss over a crash): forces the unclean-election decision.
    IsrShrinkThenLeaderDies { power_loss: bool },
    /// Watch the first partition's ISR at the controller, for up to `duration_ms`; the moment it gains a member,
    /// make its leader die (`power_loss` chooses power loss over a crash) for `duration_ms`. A power cut takes
    /// the fetch response that carried the admitted follower its missing records with it: what KAFKA-7128 needs.
    IsrGrowsThenLeaderDies { power_loss: bool },
    /// An admin client grows `topic` by `increase_by` partitions (describe, then CreatePartitions at the
    /// controller), retrying until `duration_ms` runs out. Partitions only grow: there is nothing to heal.
    CreatePartitions { topic: String, increase_by: i32 },
    /// Kill a consumer-group member's process (`member` counts from 0); it restarts as a new member when healed.
    ConsumerCrash { member: u32 },
    /// Stall a group member's application thread: it neither polls nor finishes processing until healed, while
    /// its consumer's heartbeat thread runs on (so a stall past `max.poll.interval.ms` makes it leave the group).
    ConsumerPause { member: u32 },
}
