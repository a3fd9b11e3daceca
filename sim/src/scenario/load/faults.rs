//! The `[faults]` section: random faults drawn from the seed, and a scripted timeline of `[[faults.at]]` entries,
//! each a Fault by its kebab-case `kind` with its fields beside it.

use super::walk::{Res, Table, Value, LONG};
use crate::nemesis::fault::{Fault, Target};
use crate::scenario::{FaultKind, Faults, RandomFaults, Scenario, ScheduledFault};

/// Every fault kind by its scenario name (the serde name of both FaultKind and Fault's `kind` tag).
pub(super) const KINDS: [(&str, FaultKind); 13] = [
    ("crash", FaultKind::Crash),
    ("power-loss", FaultKind::PowerLoss),
    ("isolate", FaultKind::Isolate),
    ("cut-off-from-cluster", FaultKind::CutOffFromCluster),
    ("split-halves", FaultKind::SplitHalves),
    ("one-way", FaultKind::OneWay),
    ("bridge", FaultKind::Bridge),
    ("slow", FaultKind::Slow),
    (
        "isr-shrink-then-leader-dies",
        FaultKind::IsrShrinkThenLeaderDies,
    ),
    (
        "isr-grows-then-leader-dies",
        FaultKind::IsrGrowsThenLeaderDies,
    ),
    ("create-partitions", FaultKind::CreatePartitions),
    ("consumer-crash", FaultKind::ConsumerCrash),
    ("consumer-pause", FaultKind::ConsumerPause),
];

/// The most partitions one create-partitions fault adds: every partition is a log on every replica and a
/// fetch on every follower, so a larger step would only slow the simulation, not test anything more.
pub(super) const MAX_INCREASE: i128 = 1_000;

/// What a fault is checked against: broker ids exist in 1..=brokers, and faults start inside the fault phase.
pub(super) struct Limits {
    pub brokers: i32,
    pub duration_ms: u64,
    /// Whether transactional producers or processors run, so a fault may target their coordinator.
    pub transactions: bool,
    /// The scenario's topics, which a create-partitions fault may grow.
    pub topics: Vec<String>,
    /// How many members the scenario's `[group]` has (0 without one): consumer faults name one of them.
    pub group_members: u32,
}

impl Limits {
    /// What a loaded scenario's faults may name.
    pub fn of(s: &Scenario) -> Limits {
        Limits {
            brokers: s.brokers,
            duration_ms: s.duration_ms,
            transactions: s.coordinator_transactional_id().is_some(),
            topics: s.topics.iter().map(|t| t.name.clone()).collect(),
            group_members: s.group.as_ref().map_or(0, |g| g.members),
        }
    }
}

/// A fault schedule file (`ksim run --faults`): `[[at]]` entries as a scenario's `[[faults.at]]` gives them.
pub(super) fn schedule(root: &Table, limits: &Limits) -> Res<Vec<ScheduledFault>> {
    root.only(&["at"])?;
    root.or("at", Vec::new(), |v| timeline(v, limits))
}

pub(super) fn faults(t: &Table, limits: &Limits) -> Res<Faults> {
    t.only(&["random", "at"])?;
    let random = t.opt("random", |v| random(&v.table()?))?;
    let consumer_kinds = [FaultKind::ConsumerCrash, FaultKind::ConsumerPause];
    let needs_group = random
        .as_ref()
        .is_some_and(|r| r.kinds.iter().any(|k| consumer_kinds.contains(k)));
    if needs_group && limits.group_members == 0 {
        let r = t.get("random").expect("read above").table()?;
        return Err(r.blame(
            &["kinds"],
            format!(
                "{}.random.kinds: consumer faults need a [group] to hit",
                t.path()
            ),
        ));
    }
    let timeline = t.or("at", Vec::new(), |v| timeline(v, limits))?;
    Ok(Faults { random, timeline })
}

fn random(t: &Table) -> Res<RandomFaults> {
    t.only(&["kinds", "interval_ms", "duration_ms", "apply"])?;
    Ok(RandomFaults {
        kinds: t.req("kinds", kinds)?,
        interval_ms: t.req("interval_ms", |v| v.range(0))?,
        // A fault of length 0 back to back with a gap of 0 would never let the schedule advance.
        duration_ms: t.req("duration_ms", |v| v.range(1))?,
        apply: t.or("apply", true, Value::bool)?,
    })
}

fn kinds(v: &Value) -> Res<Vec<FaultKind>> {
    let items = v.array()?;
    if items.is_empty() {
        return Err(
            v.bad("must name at least one fault kind (leave out `random` for no random faults)")
        );
    }
    let mut kinds = Vec::new();
    for item in &items {
        let kind = fault_kind(item)?;
        if kinds.contains(&kind) {
            return Err(item.bad("repeats a fault kind already listed"));
        }
        kinds.push(kind);
    }
    Ok(kinds)
}

fn fault_kind(v: &Value) -> Res<FaultKind> {
    let name = v.str()?;
    let kind = KINDS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k);
    kind.ok_or_else(|| {
        let names: Vec<String> = KINDS.iter().map(|(n, _)| format!("{n:?}")).collect();
        v.bad(format_args!(
            "names an unknown fault kind {name:?}; the kinds are {}",
            names.join(", ")
        ))
    })
}

fn timeline(v: &Value, limits: &Limits) -> Res<Vec<ScheduledFault>> {
    v.array()?
        .iter()
        .map(|entry| scheduled(&entry.table()?, limits))
        .collect()
}

fn scheduled(t: &Table, limits: &Limits) -> Res<ScheduledFault> {
    let kind = t.req("kind", fault_kind)?;
    let valid: Vec<&str> = ["at_ms", "duration_ms", "kind"]
        .into_iter()
        .chain(fields(kind).iter().copied())
        .collect();
    t.only(&valid)?;
    let at_ms = t.req("at_ms", |v| at_ms(v, limits.duration_ms))?;
    let duration_ms = t.req("duration_ms", |v| v.int_in(1, LONG))?;
    let fault = fault(t, kind, limits)?;
    Ok(ScheduledFault {
        at_ms,
        duration_ms,
        fault,
    })
}

/// A scripted fault must start inside the fault phase; after it, everything is healed.
fn at_ms(v: &Value, duration_ms: u64) -> Res<u64> {
    let at: u64 = v.int_in(0, LONG)?;
    if at >= duration_ms {
        return Err(v.bad(format_args!(
            "({at}) must be before the end of the fault phase (duration_ms = {duration_ms})"
        )));
    }
    Ok(at)
}

/// The keys each kind takes beside `kind`, `at_ms` and `duration_ms`: Fault's fields.
fn fields(kind: FaultKind) -> &'static [&'static str] {
    match kind {
        FaultKind::Crash
        | FaultKind::PowerLoss
        | FaultKind::Isolate
        | FaultKind::CutOffFromCluster => &["target"],
        FaultKind::SplitHalves => &[],
        FaultKind::OneWay => &["from", "to"],
        FaultKind::Bridge => &["bridge"],
        FaultKind::Slow => &["min_ms", "max_ms", "loss_rate"],
        FaultKind::IsrShrinkThenLeaderDies | FaultKind::IsrGrowsThenLeaderDies => &["power_loss"],
        FaultKind::CreatePartitions => &["topic", "increase_by"],
        FaultKind::ConsumerCrash | FaultKind::ConsumerPause => &["member"],
    }
}

fn fault(t: &Table, kind: FaultKind, limits: &Limits) -> Res<Fault> {
    let target = |key: &str| t.req(key, |v| target(v, limits));
    Ok(match kind {
        FaultKind::Crash => Fault::Crash {
            target: target("target")?,
        },
        FaultKind::PowerLoss => Fault::PowerLoss {
            target: target("target")?,
        },
        FaultKind::Isolate => Fault::Isolate {
            target: target("target")?,
        },
        FaultKind::CutOffFromCluster => Fault::CutOffFromCluster {
            target: t.req("target", |v| match self::target(v, limits)? {
                Target::Controller => {
                    Err(v.bad("must name a broker: the controller is the cluster"))
                }
                broker => Ok(broker),
            })?,
        },
        FaultKind::SplitHalves => Fault::SplitHalves,
        FaultKind::OneWay => one_way(t, target("from")?, target("to")?)?,
        FaultKind::Bridge => Fault::Bridge {
            bridge: target("bridge")?,
        },
        FaultKind::Slow => slow(t)?,
        FaultKind::IsrShrinkThenLeaderDies => Fault::IsrShrinkThenLeaderDies {
            power_loss: t.req("power_loss", Value::bool)?,
        },
        FaultKind::IsrGrowsThenLeaderDies => Fault::IsrGrowsThenLeaderDies {
            power_loss: t.req("power_loss", Value::bool)?,
        },
        FaultKind::CreatePartitions => Fault::CreatePartitions {
            topic: t.req("topic", |v| topic(v, &limits.topics))?,
            increase_by: t.req("increase_by", |v| v.int_in(1, MAX_INCREASE))?,
        },
        FaultKind::ConsumerCrash => Fault::ConsumerCrash {
            member: t.req("member", |v| member(v, limits.group_members))?,
        },
        FaultKind::ConsumerPause => Fault::ConsumerPause {
            member: t.req("member", |v| member(v, limits.group_members))?,
        },
    })
}

/// A member of the scenario's group, by its index from 0.
fn member(v: &Value, members: u32) -> Res<u32> {
    let index = v.integer()?;
    if members == 0 {
        return Err(v.bad("names a group member, but the scenario has no [group]"));
    }
    match u32::try_from(index) {
        Ok(i) if i < members => Ok(i),
        _ => Err(v.bad(format_args!(
            "names member {index}, but the group's members are 0..={}",
            members - 1
        ))),
    }
}

/// One of the scenario's `[[topic]]` names: the internal topics are Kafka's to size, not the nemesis's.
fn topic(v: &Value, topics: &[String]) -> Res<String> {
    let name = v.str()?;
    if !topics.iter().any(|t| t == name) {
        let names: Vec<String> = topics.iter().map(|t| format!("{t:?}")).collect();
        return Err(v.bad(format_args!(
            "names topic {name:?}, but the scenario's topics are {}",
            names.join(", ")
        )));
    }
    Ok(name.to_owned())
}

fn one_way(t: &Table, from: Target, to: Target) -> Res<Fault> {
    if from == to {
        return Err(t.blame(
            &["to"],
            format!(
                "{}.to names the same node as from: nothing would be cut",
                t.path()
            ),
        ));
    }
    Ok(Fault::OneWay { from, to })
}

fn slow(t: &Table) -> Res<Fault> {
    // Latencies start at 1 ms, as `network.latency_ms` does.
    let min_ms = t.req("min_ms", |v| v.int_in(1, LONG))?;
    let max_ms = t.req("max_ms", |v| v.int_in(1, LONG))?;
    if max_ms < min_ms {
        return Err(t.blame(
            &["max_ms"],
            format!(
                "{}.max_ms ({max_ms}) must be at least min_ms ({min_ms})",
                t.path()
            ),
        ));
    }
    let loss_rate = t.req("loss_rate", loss_rate)?;
    Ok(Fault::Slow {
        min_ms,
        max_ms,
        loss_rate,
    })
}

/// A packet loss rate in [0, 1): a rate of 1 would cut every link rather than slow it.
fn loss_rate(v: &Value) -> Res<f64> {
    let rate = v.float()?;
    if !(0.0..1.0).contains(&rate) {
        return Err(v.bad(format_args!("must be in [0, 1), got {rate}")));
    }
    Ok(rate)
}

/// `"leader"`, `"controller"`, `"coordinator"` (with transactions) or `{ broker = N }` with N an existing broker.
fn target(v: &Value, limits: &Limits) -> Res<Target> {
    const VALID: &str =
        "\"leader\", \"controller\", \"coordinator\", \"group-coordinator\" or { broker = N }";
    match (v.raw().as_str(), v.table()) {
        (Some("leader"), _) => Ok(Target::Leader),
        (Some("group-coordinator"), _) if limits.group_members > 0 => Ok(Target::GroupCoordinator),
        (Some("group-coordinator"), _) => {
            Err(v.bad("names the group coordinator, but the scenario has no [group]"))
        }
        (Some("controller"), _) => Ok(Target::Controller),
        (Some("coordinator"), _) if limits.transactions => Ok(Target::Coordinator),
        (Some("coordinator"), _) => Err(v.bad(
            "names the transaction coordinator, but the workload has no transactional_producers and the group \
             no processing = \"transactional\"",
        )),
        (Some(other), _) => Err(v.bad(format_args!("must be {VALID}, got {other:?}"))),
        (None, Ok(table)) => broker_target(&table, limits.brokers),
        (None, Err(_)) => Err(v.wrong_type(VALID)),
    }
}

fn broker_target(t: &Table, brokers: i32) -> Res<Target> {
    t.only(&["broker"])?;
    let id = t.req("broker", |v| {
        let id = v.integer()?;
        match i32::try_from(id) {
            Ok(id) if (1..=brokers).contains(&id) => Ok(id),
            _ => Err(v.bad(format_args!(
                "names broker {id}, but the cluster's brokers are 1..={brokers}"
            ))),
        }
    })?;
    Ok(Target::Broker(id))
}
