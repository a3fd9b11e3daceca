//! Drawing a fault schedule from the seed: random faults one after another, plus the scenario's timeline.

use super::fault::{Fault, Target};
use crate::scenario::{FaultKind, RandomFaults, Scenario, ScheduledFault, TopicSpec};
use rand_chacha::rand_core::Rng;
use rand_chacha::ChaCha8Rng;

/// Uniform in `lo..=hi`.
pub fn between(rng: &mut ChaCha8Rng, lo: u64, hi: u64) -> u64 {
    lo + rng.next_u64() % (hi - lo + 1)
}

/// The whole schedule for one seed, sorted by start time; every fault ends within the fault phase.
pub fn draw_schedule(scenario: &Scenario, rng: &mut ChaCha8Rng) -> Vec<ScheduledFault> {
    let mut schedule: Vec<ScheduledFault> = scenario
        .faults
        .timeline
        .iter()
        .map(|f| ScheduledFault {
            duration_ms: f.duration_ms.min(scenario.duration_ms - f.at_ms),
            ..f.clone()
        })
        .collect();
    if let Some(random) = &scenario.faults.random {
        let drawn = draw_random(scenario, random, rng);
        // Drawn either way, so the draws after them are the seed's own (see `RandomFaults::apply`).
        if random.apply {
            schedule.extend(drawn);
        }
    }
    schedule.sort_by_key(|f| f.at_ms);
    schedule
}

fn draw_random(
    scenario: &Scenario,
    random: &RandomFaults,
    rng: &mut ChaCha8Rng,
) -> Vec<ScheduledFault> {
    let mut out = Vec::new();
    let mut t = between(rng, random.interval_ms.0, random.interval_ms.1);
    while t < scenario.duration_ms {
        let duration =
            between(rng, random.duration_ms.0, random.duration_ms.1).min(scenario.duration_ms - t);
        let kind = random.kinds[(rng.next_u64() % random.kinds.len() as u64) as usize];
        let targets = Targets {
            brokers: scenario.brokers,
            coordinator: scenario.coordinator_transactional_id().is_some(),
            topics: &scenario.topics,
            group_members: scenario.group.as_ref().map_or(0, |g| g.members),
        };
        let fault = draw_fault(kind, targets, rng);
        out.push(ScheduledFault {
            at_ms: t,
            duration_ms: duration,
            fault,
        });
        t += duration + between(rng, random.interval_ms.0, random.interval_ms.1);
    }
    out
}

/// What a random fault may hit: the brokers, the transaction coordinator when transactions run, and the
/// scenario's topics (to grow).
#[derive(Clone, Copy, Debug)]
pub struct Targets<'a> {
    pub brokers: i32,
    pub coordinator: bool,
    pub topics: &'a [TopicSpec],
    /// The scenario's group members (0 without a group): they, and the group's coordinator, may be hit.
    pub group_members: u32,
}

/// The leader, a broker, the controller (if allowed) or the coordinator (if transactions run), uniformly. Without
/// transactions the draw is what it always was, so existing seeds keep their schedules.
fn draw_target(targets: Targets, rng: &mut ChaCha8Rng, allow_controller: bool) -> Target {
    let brokers = targets.brokers as u64;
    let group = targets.group_members > 0;
    let choices = brokers + 1 + allow_controller as u64 + targets.coordinator as u64 + group as u64;
    match rng.next_u64() % choices {
        0 => Target::Leader,
        n if n <= brokers => Target::Broker(n as i32),
        n if allow_controller && n == brokers + 1 => Target::Controller,
        n if group && n == choices - 1 => Target::GroupCoordinator,
        _ => Target::Coordinator,
    }
}

pub fn draw_fault(kind: FaultKind, targets: Targets, rng: &mut ChaCha8Rng) -> Fault {
    match kind {
        FaultKind::Crash => Fault::Crash {
            target: draw_target(targets, rng, true),
        },
        FaultKind::PowerLoss => Fault::PowerLoss {
            target: draw_target(targets, rng, false),
        },
        FaultKind::Isolate => Fault::Isolate {
            target: draw_target(targets, rng, true),
        },
        FaultKind::CutOffFromCluster => Fault::CutOffFromCluster {
            target: draw_target(targets, rng, false),
        },
        FaultKind::SplitHalves => Fault::SplitHalves,
        FaultKind::OneWay => {
            let from = draw_target(targets, rng, true);
            let mut to = draw_target(targets, rng, true);
            if to == from {
                to = if from == Target::Controller {
                    Target::Leader
                } else {
                    Target::Controller
                };
            }
            Fault::OneWay { from, to }
        }
        FaultKind::Bridge => Fault::Bridge {
            bridge: draw_target(targets, rng, false),
        },
        FaultKind::Slow => {
            let min_ms = between(rng, 1, 20);
            Fault::Slow {
                min_ms,
                max_ms: min_ms + between(rng, 0, 80),
                loss_rate: between(rng, 0, 20) as f64 / 100.0,
            }
        }
        FaultKind::IsrShrinkThenLeaderDies => Fault::IsrShrinkThenLeaderDies {
            power_loss: rng.next_u64().is_multiple_of(2),
        },
        FaultKind::IsrGrowsThenLeaderDies => Fault::IsrGrowsThenLeaderDies {
            power_loss: rng.next_u64().is_multiple_of(2),
        },
        // One partition at a time, to a topic drawn uniformly: a run grows by as many steps as it draws.
        FaultKind::CreatePartitions => Fault::CreatePartitions {
            topic: targets.topics[(rng.next_u64() % targets.topics.len() as u64) as usize]
                .name
                .clone(),
            increase_by: 1,
        },
        FaultKind::ConsumerCrash => Fault::ConsumerCrash {
            member: draw_member(targets, rng),
        },
        FaultKind::ConsumerPause => Fault::ConsumerPause {
            member: draw_member(targets, rng),
        },
    }
}

/// A group member, uniformly; the loader refuses consumer faults without a `[group]`.
fn draw_member(targets: Targets, rng: &mut ChaCha8Rng) -> u32 {
    assert!(targets.group_members > 0, "consumer faults need a [group]");
    (rng.next_u64() % u64::from(targets.group_members)) as u32
}
