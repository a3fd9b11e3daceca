//! The scenario's own sections: the top level, `[cluster]`, `[[topic]]`, `[workload]`, `[network]`, `[expect]` and
//! `[model]`.
//! Each table's unknown keys are rejected before its values are read, so a misspelt key is never reported as missing.

use super::faults::{self, Limits};
use super::kafka;
use super::walk::{Res, Table, Value, INT, LONG};
use crate::checkers::ViolationKind;
use crate::scenario::{Expect, Faults, GroupProcessing, Network, Scenario, TopicSpec, Workload};
use ksim_model::config::{BrokerConfig, Fix, Fixes};

const ROOT_KEYS: [&str; 15] = [
    "name",
    "description",
    "duration_ms",
    "settle_ms",
    "cluster",
    "broker",
    "topic",
    "producer",
    "consumer",
    "workload",
    "network",
    "faults",
    "expect",
    "model",
    "group",
];

const TOPIC_KEYS: [&str; 5] = [
    "name",
    "partitions",
    "replication.factor",
    "min.insync.replicas",
    "unclean.leader.election.enable",
];

/// Kafka's limit on topic name length.
const MAX_TOPIC_NAME: usize = 249;

/// The whole scenario; `stem` is the file's stem when loaded from a file, which `name` must equal.
pub(super) fn scenario(root: &Table, stem: Option<&str>) -> Res<Scenario> {
    root.only(&ROOT_KEYS)?;
    let name = root.req("name", |v| scenario_name(v, stem))?;
    let description = root.req("description", |v| v.str().map(str::to_owned))?;
    let duration_ms = root.req("duration_ms", |v| v.int_in(1, LONG))?;
    let settle_ms = root.or("settle_ms", 30_000, |v| v.int_in(1, LONG))?;
    let brokers = root.opt("cluster", |v| cluster(&v.table()?))?;
    let brokers = brokers.ok_or_else(|| root.missing("cluster", ": add [cluster] with brokers"))?;
    let workload = section(root, "workload", DEFAULT_WORKLOAD, workload)?;
    let mut broker: BrokerConfig = section(root, "broker", Default::default(), kafka::broker)?;
    broker.fixes = section(root, "model", Fixes::default(), model)?;
    let topics = topics(root, brokers)?;
    let group = root.opt("group", |v| super::group::group(&v.table()?))?;
    let processors = group
        .as_ref()
        .is_some_and(|g| g.processing != GroupProcessing::Plain);
    let limits = Limits {
        brokers,
        duration_ms,
        transactions: workload.transactional_producers > 0 || processors,
        topics: topics.iter().map(|t| t.name.clone()).collect(),
        group_members: group.as_ref().map_or(0, |g| g.members),
    };
    let scenario = Scenario {
        name,
        description,
        duration_ms,
        settle_ms,
        brokers,
        broker,
        topics,
        producer: section(root, "producer", Default::default(), kafka::producer)?,
        consumer: section(root, "consumer", Default::default(), kafka::consumer)?,
        workload,
        network: section(root, "network", DEFAULT_NETWORK, network)?,
        faults: section(root, "faults", NO_FAULTS, |t| faults::faults(t, &limits))?,
        expect: section(root, "expect", Expect::default(), expect)?,
        group,
    };
    check_transactions(root, &scenario)?;
    check_group(root, &scenario)?;
    Ok(scenario)
}

/// An optional table: `default` when the file leaves it out.
fn section<'a, 'i, T>(
    root: &Table<'a, 'i>,
    key: &str,
    default: T,
    read: impl FnOnce(&Table<'a, 'i>) -> Res<T>,
) -> Res<T> {
    root.or(key, default, |v| read(&v.table()?))
}

const DEFAULT_WORKLOAD: Workload = Workload {
    producers: 1,
    records_per_second: 50,
    keys: 16,
    consumers: 1,
    read_committed_consumers: 0,
    transactional_producers: 0,
    records_per_transaction: 10,
    abort_percent: 0,
    zombie_restarts: 0,
    stall_percent: 0,
};
const DEFAULT_NETWORK: Network = Network {
    latency_ms: (1, 10),
};
const NO_FAULTS: Faults = Faults {
    random: None,
    timeline: Vec::new(),
};

/// A scenario is known by its file name, so reports and sweeps can name it; the two must agree.
fn scenario_name(v: &Value, stem: Option<&str>) -> Res<String> {
    let name = v.str()?;
    if name.is_empty() {
        return Err(v.bad("must not be empty"));
    }
    match stem {
        Some(stem) if stem != name => Err(v.bad(format_args!(
            "({name:?}) must equal the file's name without .toml ({stem:?})"
        ))),
        _ => Ok(name.to_owned()),
    }
}

fn cluster(t: &Table) -> Res<i32> {
    t.only(&["brokers"])?;
    t.req("brokers", |v| v.int_in(1, 9))
}

fn topics(root: &Table, brokers: i32) -> Res<Vec<TopicSpec>> {
    let Some(v) = root.get("topic") else {
        return Err(root.missing("topic", ": a scenario needs at least one [[topic]]"));
    };
    if v.table().is_ok() {
        return Err(v.bad("must be an array of tables: write [[topic]], not [topic]"));
    }
    let items = v.array()?;
    if items.is_empty() {
        return Err(v.bad("must hold at least one topic: add a [[topic]] table"));
    }
    let mut topics: Vec<TopicSpec> = Vec::new();
    for item in &items {
        let topic = topic(&item.table()?, brokers)?;
        if let Some(i) = topics.iter().position(|t| t.name == topic.name) {
            let first = format!("{}[{i}]", v.key());
            return Err(item.table()?.blame(
                &["name"],
                format!("{}.name {:?} is taken by {first}", item.key(), topic.name),
            ));
        }
        topics.push(topic);
    }
    Ok(topics)
}

fn topic(t: &Table, brokers: i32) -> Res<TopicSpec> {
    t.only(&TOPIC_KEYS)?;
    Ok(TopicSpec {
        name: t.req("name", topic_name)?,
        partitions: t.req("partitions", |v| v.int_in(1, INT))?,
        replication_factor: t.req("replication.factor", |v| replication_factor(v, brokers))?,
        min_insync_replicas: t.opt("min.insync.replicas", kafka::min_insync_replicas)?,
        unclean_leader_election_enable: t.opt("unclean.leader.election.enable", Value::bool)?,
    })
}

/// Kafka's rules for topic names: 1 to 249 characters of [a-zA-Z0-9._-], and not "." or "..".
fn topic_name(v: &Value) -> Res<String> {
    let name = v.str()?;
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let why = if name.is_empty() {
        "must not be empty"
    } else if name.len() > MAX_TOPIC_NAME {
        "must be at most 249 characters, as Kafka requires"
    } else if name == "." || name == ".." {
        "must not be \".\" or \"..\", as Kafka requires"
    } else if !name.chars().all(legal) {
        "may only hold ASCII letters, digits, '.', '_' and '-', as Kafka requires"
    } else {
        return Ok(name.to_owned());
    };
    Err(v.bad(format_args!("({name:?}) {why}")))
}

fn replication_factor(v: &Value, brokers: i32) -> Res<i32> {
    let rf: i32 = v.int_in(1, INT)?;
    if rf > brokers {
        let plural = if brokers == 1 { "broker" } else { "brokers" };
        let key = v.key();
        return Err(v.fail(format!(
            "{key}: impossible cluster: replication.factor {rf} > {brokers} {plural}"
        )));
    }
    Ok(rf)
}

const WORKLOAD_KEYS: [&str; 10] = [
    "producers",
    "records_per_second",
    "keys",
    "consumers",
    "read_committed_consumers",
    "transactional_producers",
    "records_per_transaction",
    "abort_percent",
    "zombie_restarts",
    "stall_percent",
];

fn workload(t: &Table) -> Res<Workload> {
    t.only(&WORKLOAD_KEYS)?;
    let d = DEFAULT_WORKLOAD;
    let count = |v: &Value| v.int_in(0, u32::MAX.into());
    Ok(Workload {
        producers: t.or("producers", d.producers, count)?,
        records_per_second: t.or("records_per_second", d.records_per_second, |v| {
            v.int_in(1, u32::MAX.into())
        })?,
        keys: t.or("keys", d.keys, count)?,
        consumers: t.or("consumers", d.consumers, count)?,
        read_committed_consumers: t.or(
            "read_committed_consumers",
            d.read_committed_consumers,
            |v| v.int_in(0, 49),
        )?,
        // Client ids leave room for 9 transactional ids of 10 instances each.
        transactional_producers: t.or(
            "transactional_producers",
            d.transactional_producers,
            |v| v.int_in(0, 9),
        )?,
        records_per_transaction: t.or(
            "records_per_transaction",
            d.records_per_transaction,
            |v| v.int_in(1, 10_000),
        )?,
        abort_percent: t.or("abort_percent", d.abort_percent, |v| v.int_in(0, 100))?,
        zombie_restarts: t.or("zombie_restarts", d.zombie_restarts, |v| v.int_in(0, 9))?,
        stall_percent: t.or("stall_percent", d.stall_percent, |v| v.int_in(0, 100))?,
    })
}

/// `[model]`: the Kafka fixes this run reverts, by name, to show what the checkers catch without them.
fn model(t: &Table) -> Res<Fixes> {
    t.only(&["revert"])?;
    let mut fixes = Fixes::default();
    for item in t.or("revert", Vec::new(), |v| v.array())? {
        let name = item.str()?;
        let Some(fix) = Fix::from_name(name) else {
            let names: Vec<String> = Fix::ALL.iter().map(|f| format!("{:?}", f.name())).collect();
            return Err(item.bad(format_args!(
                "names an unknown fix {name:?}; the fixes are {}",
                names.join(", ")
            )));
        };
        if !fixes.reverted.insert(fix) {
            return Err(item.bad(format_args!("repeats {name:?}")));
        }
    }
    Ok(fixes)
}

/// Transactions need an idempotent producer with acks=all (Kafka refuses a `transactional.id` otherwise), and
/// a cluster with brokers enough for the transaction log's replication factor.
fn check_transactions(root: &Table, s: &Scenario) -> Res<()> {
    // Who runs transactions, by the key that asks for them.
    let (who, section) = if s.workload.transactional_producers > 0 {
        ("workload.transactional_producers", "workload")
    } else if s.group_output_topic().is_some() {
        ("group.processing = \"transactional\"", "group")
    } else {
        return Ok(());
    };
    let blame = |keys: &[&str], message: String| -> Res<()> {
        let table = root.get(keys[0]).map(|v| v.table()).transpose()?;
        Err(match table {
            Some(t) => t.blame(&keys[1..], message),
            None => root.blame(&[section], message),
        })
    };
    if !s.producer.enable_idempotence {
        return blame(
            &["producer", "enable.idempotence", "acks", "retries"],
            format!(
                "{who} needs an idempotent producer (acks \"all\", retries > 0, enable.idempotence not false), \
                 as Kafka requires for a transactional.id"
            ),
        );
    }
    let rf = s.broker.transaction_state_log_replication_factor;
    if rf > s.brokers {
        return blame(
            &["broker", "transaction.state.log.replication.factor"],
            format!(
                "broker.\"transaction.state.log.replication.factor\": impossible cluster: {rf} > {} brokers \
                 (Kafka's default is 3; set it to at most the broker count)",
                s.brokers
            ),
        );
    }
    Ok(())
}

fn network(t: &Table) -> Res<Network> {
    t.only(&["latency_ms"])?;
    Ok(Network {
        latency_ms: t.or("latency_ms", DEFAULT_NETWORK.latency_ms, |v| v.range(1))?,
    })
}

fn expect(t: &Table) -> Res<Expect> {
    t.only(&["allow", "find"])?;
    let allow = t.or("allow", Vec::new(), violation_kinds)?;
    let find = t.or("find", Vec::new(), violation_kinds)?;
    if let Some((_, v)) = find
        .iter()
        .find(|(kind, _)| !allow.iter().any(|(a, _)| a == kind))
    {
        let name = v.str()?;
        return Err(v.bad(format_args!(
            "({name:?}) must also be in expect.allow: a sweep cannot be required to find what the scenario does not allow"
        )));
    }
    let kinds = |list: Vec<(ViolationKind, Value)>| list.into_iter().map(|(k, _)| k).collect();
    Ok(Expect {
        allow: kinds(allow),
        find: kinds(find),
    })
}

/// A list of violation kind names, each kept with its value so later checks can point at it.
fn violation_kinds<'a, 'i>(v: &Value<'a, 'i>) -> Res<Vec<(ViolationKind, Value<'a, 'i>)>> {
    let mut kinds: Vec<(ViolationKind, Value)> = Vec::new();
    for item in v.array()? {
        let kind = violation_kind(&item)?;
        if kinds.iter().any(|(k, _)| *k == kind) {
            return Err(item.bad(format_args!("repeats {:?}", kind.name())));
        }
        kinds.push((kind, item));
    }
    Ok(kinds)
}

fn violation_kind(v: &Value) -> Res<ViolationKind> {
    let name = v.str()?;
    ViolationKind::from_name(name).ok_or_else(|| {
        let names: Vec<String> = ViolationKind::ALL
            .iter()
            .map(|k| format!("{:?}", k.name()))
            .collect();
        v.bad(format_args!(
            "names an unknown violation kind {name:?}; the kinds are {}",
            names.join(", ")
        ))
    })
}

/// A group needs its offsets topic to fit the cluster, and subscribes only to the scenario's topics.
fn check_group(root: &Table, s: &Scenario) -> Res<()> {
    let Some(group) = &s.group else {
        return Ok(());
    };
    let rf = s.broker.offsets_topic_replication_factor;
    if rf > s.brokers {
        let message = format!(
            "broker.\"offsets.topic.replication.factor\": impossible cluster: {rf} > {} brokers (Kafka's default \
             is 3; set it to at most the broker count)",
            s.brokers
        );
        return Err(match root.get("broker").map(|v| v.table()).transpose()? {
            Some(t) => t.blame(&["offsets.topic.replication.factor"], message),
            None => root.blame(&["group"], message),
        });
    }
    for topic in group.topics.iter().flatten() {
        if !s.topics.iter().any(|t| t.name == *topic) {
            let t = root.get("group").expect("read above").table()?;
            return Err(t.blame(
                &["topics"],
                format!("group.topics: \"{topic}\" is not a [[topic]] of this scenario"),
            ));
        }
    }
    check_output_topic(root, s)
}

/// The processors' output topic is a scenario topic of its own: reading their own output would feed it back in.
fn check_output_topic(root: &Table, s: &Scenario) -> Res<()> {
    let Some(output) = s.group_output_topic() else {
        return Ok(());
    };
    let t = root.get("group").expect("read above").table()?;
    if !s.topics.iter().any(|topic| topic.name == output) {
        return Err(t.blame(
            &["output_topic"],
            format!("group.output_topic: \"{output}\" is not a [[topic]] of this scenario"),
        ));
    }
    if s.group_input_topics().iter().any(|topic| topic == output) {
        return Err(t.blame(
            &["output_topic"],
            format!(
                "group.output_topic: \"{output}\" is also an input (group.topics); the output must be another topic"
            ),
        ));
    }
    if s.group_input_topics().is_empty() {
        return Err(t.blame(
            &["output_topic"],
            format!("group.output_topic: \"{output}\" leaves the group no input topic: add another [[topic]]"),
        ));
    }
    Ok(())
}
