//! Loading a comparison matrix (`ksim compare`): its base scenario, the axes of Kafka settings, the fault
//! profiles and the verdict thresholds, with the same file-line-key errors as a scenario.

use super::faults::{self, Limits};
use super::kafka;
use super::walk::{Bad, Res, Table, Value, LONG};
use crate::compare::matrix::{Axes, EveryBroker, EveryBrokerKind, Matrix, Profile, VerdictRules};
use crate::scenario::{Faults, Scenario};
use std::path::Path;

const ROOT_KEYS: [&str; 9] = [
    "name",
    "description",
    "base",
    "seeds",
    "duration_ms",
    "settle_ms",
    "axes",
    "verdict",
    "profile",
];
const AXES: [&str; 5] = [
    "acks",
    "min.insync.replicas",
    "replication.factor",
    "unclean.leader.election.enable",
    "enable.idempotence",
];
const PROFILE_KEYS: [&str; 7] = [
    "name",
    "description",
    "faults",
    "every_broker",
    "leader_failover",
    "majority_disks_intact",
    "replica_leaves_isr",
];
/// The largest replication factor a matrix may ask for: every replica is a simulated broker.
const MAX_REPLICATION_FACTOR: i128 = 9;

/// Why a matrix did not load: a problem in the matrix file itself, or its base scenario's own error.
pub(super) enum Failure {
    Here(Bad),
    Base(super::ScenarioError),
}

impl From<Bad> for Failure {
    fn from(bad: Bad) -> Self {
        Failure::Here(bad)
    }
}

/// The matrix; `dir` is the matrix file's folder, against which `base` is resolved.
pub(super) fn matrix(root: &Table, stem: Option<&str>, dir: &Path) -> Result<Matrix, Failure> {
    root.only(&ROOT_KEYS)?;
    let name = root.req("name", |v| name(v, stem))?;
    let description = root.req("description", |v| v.str().map(str::to_owned))?;
    let base_path = root.req("base", |v| v.str().map(str::to_owned))?;
    let mut base: Scenario = super::load(&dir.join(&base_path)).map_err(Failure::Base)?;
    let seeds = root.or("seeds", 50, |v| v.int_in(1, LONG))?;
    base.duration_ms = root.or("duration_ms", base.duration_ms, |v| v.int_in(1, LONG))?;
    base.settle_ms = root.or("settle_ms", base.settle_ms, |v| v.int_in(1, LONG))?;
    let axes = root.req("axes", |v| axes(&v.table()?))?;
    let verdict = root.or("verdict", VerdictRules::default(), |v| verdict(&v.table()?))?;
    let largest = axes
        .replication_factor
        .iter()
        .copied()
        .max()
        .unwrap_or(1)
        .max(base.brokers);
    let profiles = root.req("profile", |v| profiles(v, &base, largest))?;
    let matrix = Matrix {
        name,
        description,
        base,
        base_path,
        seeds,
        axes,
        profiles,
        verdict,
    };
    if matrix.configs().is_empty() {
        let axes = root.get("axes").expect("read above").table()?;
        return Err(axes
            .blame(
                &["min.insync.replicas"],
                "axes: every combination is skipped (min.insync.replicas above every replication.factor at \
                 acks=all); no configuration is left to run"
                    .to_string(),
            )
            .into());
    }
    Ok(matrix)
}

fn name(v: &Value, stem: Option<&str>) -> Res<String> {
    let name = v.str()?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(v.bad("must be a non-empty name of letters, digits and dashes"));
    }
    match stem {
        Some(stem) if stem != name => Err(v.bad(format_args!(
            "({name:?}) must equal the file's name without .toml ({stem:?})"
        ))),
        _ => Ok(name.to_owned()),
    }
}

fn axes(t: &Table) -> Res<Axes> {
    t.only(&AXES)?;
    Ok(Axes {
        acks: t.req("acks", |v| distinct(v, kafka::acks))?,
        min_insync_replicas: t.req("min.insync.replicas", |v| {
            distinct(v, |x| x.int_in(1, MAX_REPLICATION_FACTOR))
        })?,
        replication_factor: t.req("replication.factor", |v| {
            distinct(v, |x| x.int_in(1, MAX_REPLICATION_FACTOR))
        })?,
        unclean_leader_election_enable: t.req("unclean.leader.election.enable", |v| {
            distinct(v, |x| x.bool())
        })?,
        enable_idempotence: t.req("enable.idempotence", |v| distinct(v, |x| x.bool()))?,
    })
}

/// A non-empty array of values that differ.
fn distinct<T: PartialEq>(v: &Value, read: impl Fn(&Value) -> Res<T>) -> Res<Vec<T>> {
    let items = v.array()?;
    if items.is_empty() {
        return Err(v.bad("must list at least one value"));
    }
    let mut out = Vec::new();
    for item in &items {
        let x = read(item)?;
        if out.contains(&x) {
            return Err(item.bad("repeats a value already listed"));
        }
        out.push(x);
    }
    Ok(out)
}

fn verdict(t: &Table) -> Res<VerdictRules> {
    t.only(&["unavailable_window_ms"])?;
    let d = VerdictRules::default();
    Ok(VerdictRules {
        unavailable_window_ms: t.or("unavailable_window_ms", d.unavailable_window_ms, |v| {
            v.int_in(1, LONG)
        })?,
    })
}

fn profiles(v: &Value, base: &Scenario, largest: i32) -> Res<Vec<Profile>> {
    let items = v.array()?;
    if items.is_empty() {
        return Err(v.bad("must hold at least one [[profile]]"));
    }
    let mut out: Vec<Profile> = Vec::new();
    for item in &items {
        let t = item.table()?;
        let p = profile(&t, base, largest)?;
        if out.iter().any(|o| o.name == p.name) {
            return Err(t.blame(
                &["name"],
                format!("{}.name repeats an earlier profile's name", t.path()),
            ));
        }
        out.push(p);
    }
    Ok(out)
}

fn profile(t: &Table, base: &Scenario, largest: i32) -> Res<Profile> {
    t.only(&PROFILE_KEYS)?;
    // Faults are checked against the smallest cluster a cell runs (the base's) and the matrix's fault phase.
    let limits = Limits::of(base);
    let faults = t.or(
        "faults",
        Faults {
            random: None,
            timeline: Vec::new(),
        },
        |v| faults::faults(&v.table()?, &limits),
    )?;
    let every_broker = t.or("every_broker", Vec::new(), |v| {
        v.array()?
            .iter()
            .map(|e| every_broker(&e.table()?, base.duration_ms, largest))
            .collect()
    })?;
    let name = t.req("name", |v| {
        let n = v.str()?;
        let ok = !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        ok.then(|| n.to_owned())
            .ok_or_else(|| v.bad("must be a non-empty name of letters, digits and dashes"))
    })?;
    Ok(Profile {
        name,
        description: t.req("description", |v| v.str().map(str::to_owned))?,
        faults,
        every_broker,
        leader_failover: t.req("leader_failover", Value::bool)?,
        majority_disks_intact: t.req("majority_disks_intact", Value::bool)?,
        replica_leaves_isr: t.req("replica_leaves_isr", Value::bool)?,
    })
}

fn every_broker(t: &Table, duration_ms: u64, largest: i32) -> Res<EveryBroker> {
    t.only(&["kind", "at_ms", "duration_ms", "stagger_ms"])?;
    let kind = t.req("kind", |v| match v.str()? {
        "crash" => Ok(EveryBrokerKind::Crash),
        "power-loss" => Ok(EveryBrokerKind::PowerLoss),
        "isolate" => Ok(EveryBrokerKind::Isolate),
        other => Err(v.bad(format_args!(
            "must be \"crash\", \"power-loss\" or \"isolate\", got {other:?}"
        ))),
    })?;
    let e = EveryBroker {
        kind,
        at_ms: t.req("at_ms", |v| v.int_in(0, LONG))?,
        duration_ms: t.req("duration_ms", |v| v.int_in(1, LONG))?,
        stagger_ms: t.or("stagger_ms", 0, |v| v.int_in(0, LONG))?,
    };
    let last = e.at_ms + e.stagger_ms * (largest as u64 - 1);
    if last >= duration_ms {
        return Err(t.blame(
            &["stagger_ms", "at_ms"],
            format!(
                "{}: the fault on broker {largest} would start at {last}ms, after the fault phase \
                 (duration_ms = {duration_ms})",
                t.path()
            ),
        ));
    }
    Ok(e)
}
