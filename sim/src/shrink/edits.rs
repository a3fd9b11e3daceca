//! The reductions a shrink tries, as edits of the scenario file's TOML document: each candidate is the text of a
//! whole scenario, so the file written at the end is exactly the one that was run, comments and all.

use super::search::{chunk_removals, cuts};
use crate::scenario::{faults_file, ScheduledFault};
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

/// The shortest fault window, fault phase and settle a shrink proposes (ms): below them a run barely starts.
const MIN_WINDOW_MS: u64 = 100;
const MIN_SETTLE_MS: u64 = 2_000;

/// Workload and group sizes a shrink may lower, with the least each may become.
const KNOBS: [(&str, &str, u64); 11] = [
    ("workload", "producers", 0),
    ("workload", "records_per_second", 1),
    ("workload", "consumers", 0),
    ("workload", "read_committed_consumers", 0),
    ("workload", "transactional_producers", 0),
    ("workload", "records_per_transaction", 1),
    ("workload", "abort_percent", 0),
    ("workload", "zombie_restarts", 0),
    ("workload", "stall_percent", 0),
    ("group", "members", 1),
    ("group", "stall_percent", 0),
];

fn parse(text: &str) -> DocumentMut {
    text.parse()
        .expect("a candidate is a scenario that already loaded")
}

/// The scenario with `schedule`, the faults one seed drew, as its `[[faults.at]]` timeline, and its random faults
/// drawn but not applied (`apply = false`), so that the seed's later draws, and so its run, stay what they were.
pub fn with_schedule(text: &str, schedule: &[ScheduledFault]) -> String {
    let mut doc = parse(text);
    let entries: DocumentMut = faults_file::to_toml(schedule, "")
        .parse()
        .expect("a schedule file is TOML");
    let mut at = entries
        .get("at")
        .and_then(Item::as_array_of_tables)
        .cloned()
        .unwrap_or_default();
    // Where the old entries began, else after `[faults]`, else before `[expect]`: where a scenario keeps its faults.
    let place = faults(&doc)
        .and_then(|a| a.iter().filter_map(Table::position).min())
        .or_else(|| doc.get("faults")?.as_table()?.position().map(|p| p + 1))
        .or_else(|| doc.get("expect")?.as_table()?.position())
        .unwrap_or(isize::MAX / 2);
    let faults = doc
        .entry("faults")
        .or_insert(Item::Table(Table::new()))
        .as_table_mut()
        .expect("[faults] is a table");
    if let Some(random) = faults.get_mut("random") {
        random["apply"] = toml_edit::value(false);
    }
    faults.remove("at");
    faults.set_implicit(true);
    shift_positions(doc.as_table_mut(), place, at.len() as isize);
    for (i, t) in at.iter_mut().enumerate() {
        t.set_position(Some(place + i as isize));
        t.decor_mut().set_prefix("\n");
        // Targets as `target = { broker = 1 }` beside the fault, not `[faults.at.target]` tables of their own.
        for (_, item) in t.iter_mut() {
            item.make_value();
        }
    }
    if !at.is_empty() {
        doc["faults"]
            .as_table_mut()
            .unwrap()
            .insert("at", Item::ArrayOfTables(at));
    }
    doc.to_string()
}

/// Moves every table at `from` or later `by` places down, making room for new ones.
fn shift_positions(table: &mut Table, from: isize, by: isize) {
    for (_, item) in table.iter_mut() {
        let tables: Vec<&mut Table> = match item {
            Item::Table(t) => vec![t],
            Item::ArrayOfTables(a) => a.iter_mut().collect(),
            _ => vec![],
        };
        for t in tables {
            if let Some(p) = t.position().filter(|&p| p >= from) {
                t.set_position(Some(p + by));
            }
            shift_positions(t, from, by);
        }
    }
}

/// Every smaller scenario one step away, boldest first: drop faults, then shorten them, then shrink the cluster,
/// the run's length and the workload.
pub fn reductions(text: &str) -> Vec<String> {
    let doc = parse(text);
    let mut out = Vec::new();
    let n = faults(&doc).map_or(0, ArrayOfTables::len);
    for range in chunk_removals(n) {
        out.push(edit(&doc, |d| {
            let at = faults_mut(d).expect("counted above");
            for i in range.clone().rev() {
                at.remove(i);
            }
            if at.is_empty() {
                d["faults"].as_table_mut().unwrap().remove("at");
            }
        }));
    }
    // Without the unapplied random faults the file is simpler, though every later draw of the seed moves.
    if doc.get("faults").and_then(|f| f.get("random")).is_some() {
        out.push(edit(&doc, |d| {
            d["faults"].as_table_mut().unwrap().remove("random");
        }));
    }
    out.extend(fewer_brokers(&doc));
    for i in 0..n {
        let duration = int(&faults(&doc).unwrap().get(i).unwrap()["duration_ms"]);
        if duration / 2 >= MIN_WINDOW_MS {
            out.push(edit(&doc, |d| {
                set(
                    &mut faults_mut(d).unwrap().get_mut(i).unwrap()["duration_ms"],
                    duration / 2,
                )
            }));
        }
    }
    out.extend(earlier_faults(&doc));
    out.extend(shorter_run(&doc));
    for (section, key, floor) in KNOBS {
        if let Some(value) = doc.get(section).and_then(|s| s.get(key)).map(int) {
            for smaller in first_and_last(cuts(value, floor)) {
                out.push(edit(&doc, |d| set(&mut d[section][key], smaller)));
            }
        }
    }
    let topics = doc.get("topic").and_then(Item::as_array_of_tables);
    for i in 0..topics.map_or(0, ArrayOfTables::len) {
        let partitions = topics
            .unwrap()
            .get(i)
            .unwrap()
            .get("partitions")
            .map_or(1, int);
        for smaller in first_and_last(cuts(partitions, 1)) {
            out.push(edit(&doc, |d| {
                set(&mut topic_mut(d, i)["partitions"], smaller)
            }));
        }
    }
    out
}

/// One broker fewer: topics replicated no wider than the cluster, and faults naming the removed broker dropped.
fn fewer_brokers(doc: &DocumentMut) -> Option<String> {
    let brokers = doc.get("cluster").and_then(|c| c.get("brokers")).map(int)?;
    if brokers <= 1 {
        return None;
    }
    let fewer = brokers - 1;
    Some(edit(doc, |d| {
        set(&mut d["cluster"]["brokers"], fewer);
        let topics = d
            .get("topic")
            .and_then(Item::as_array_of_tables)
            .map_or(0, ArrayOfTables::len);
        for i in 0..topics {
            let topic = topic_mut(d, i);
            if topic
                .get("replication.factor")
                .map(int)
                .is_some_and(|rf| rf > fewer)
            {
                set(&mut topic["replication.factor"], fewer);
            }
        }
        if let Some(at) = faults_mut(d) {
            at.retain(|f| !names_broker_above(f, fewer));
            if at.is_empty() {
                d["faults"].as_table_mut().unwrap().remove("at");
            }
        }
    }))
}

/// Whether a fault's targets (`target`, `from`, `to`, `bridge`) name a broker with an id above `brokers`.
fn names_broker_above(fault: &Table, brokers: u64) -> bool {
    fault.iter().any(|(_, item)| {
        item.as_inline_table()
            .and_then(|t| t.get("broker"))
            .and_then(Value::as_integer)
            .is_some_and(|id| id as u64 > brokers)
    })
}

/// Every fault moved earlier by half the first one's start, keeping their spacing.
fn earlier_faults(doc: &DocumentMut) -> Option<String> {
    let first = faults(doc)?.iter().map(|f| int(&f["at_ms"])).min()?;
    let shift = first / 2;
    (shift >= MIN_WINDOW_MS).then(|| {
        edit(doc, |d| {
            for f in faults_mut(d).unwrap().iter_mut() {
                let at = int(&f["at_ms"]);
                set(&mut f["at_ms"], at - shift);
            }
        })
    })
}

/// A fault phase cut halfway from its end toward the end of the last fault, and a settle half as long.
fn shorter_run(doc: &DocumentMut) -> Vec<String> {
    let mut out = Vec::new();
    let duration = doc.get("duration_ms").map_or(0, int);
    let last_end = faults(doc).map_or(0, |at| {
        at.iter()
            .map(|f| int(&f["at_ms"]) + int(&f["duration_ms"]))
            .max()
            .unwrap_or(0)
    });
    let shorter = last_end.max(MIN_WINDOW_MS) + duration.saturating_sub(last_end) / 2;
    if shorter + MIN_WINDOW_MS <= duration {
        out.push(edit(doc, |d| set(&mut d["duration_ms"], shorter)));
    }
    if let Some(settle) = doc.get("settle_ms").map(int) {
        if settle / 2 >= MIN_SETTLE_MS {
            out.push(edit(doc, |d| set(&mut d["settle_ms"], settle / 2)));
        }
    }
    out
}

/// The boldest and the gentlest of a list of cuts (halfway to the floor, and one less).
fn first_and_last(cuts: Vec<u64>) -> Vec<u64> {
    match (cuts.first(), cuts.last()) {
        (Some(&a), Some(&b)) if a != b => vec![a, b],
        (Some(&a), _) => vec![a],
        _ => vec![],
    }
}

fn edit(doc: &DocumentMut, change: impl FnOnce(&mut DocumentMut)) -> String {
    let mut d = doc.clone();
    change(&mut d);
    d.to_string()
}

fn faults(doc: &DocumentMut) -> Option<&ArrayOfTables> {
    doc.get("faults")?.get("at")?.as_array_of_tables()
}

fn faults_mut(doc: &mut DocumentMut) -> Option<&mut ArrayOfTables> {
    doc.get_mut("faults")?
        .get_mut("at")?
        .as_array_of_tables_mut()
}

fn topic_mut(doc: &mut DocumentMut, i: usize) -> &mut Table {
    doc["topic"]
        .as_array_of_tables_mut()
        .unwrap()
        .get_mut(i)
        .unwrap()
}

/// An integer the loader accepted (so never negative).
fn int(item: &Item) -> u64 {
    item.as_integer().unwrap_or(0).max(0) as u64
}

/// Sets a number, keeping the comment around the old one.
fn set(item: &mut Item, value: u64) {
    let decor = item.as_value().map(|v| v.decor().clone());
    let mut new = Value::from(value as i64);
    if let Some(decor) = decor {
        *new.decor_mut() = decor;
    }
    *item = Item::Value(new);
}

/// The size of a scenario as a shrink counts it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Size {
    pub faults: u64,
    pub brokers: u64,
    pub partitions: u64,
    /// Producers, consumers and group members.
    pub clients: u64,
    /// Records per second each producer sends.
    pub records_per_second: u64,
    pub duration_ms: u64,
    pub settle_ms: u64,
}

pub fn size(text: &str) -> Size {
    let doc = parse(text);
    let get = |section: &str, key: &str| doc.get(section).and_then(|s| s.get(key)).map_or(0, int);
    let topics = doc.get("topic").and_then(Item::as_array_of_tables);
    Size {
        faults: faults(&doc).map_or(0, |a| a.len() as u64),
        brokers: get("cluster", "brokers"),
        partitions: topics.map_or(0, |t| {
            t.iter().map(|t| t.get("partitions").map_or(1, int)).sum()
        }),
        clients: [
            "producers",
            "consumers",
            "read_committed_consumers",
            "transactional_producers",
        ]
        .iter()
        .map(|k| get("workload", k))
        .sum::<u64>()
            + get("group", "members"),
        records_per_second: get("workload", "records_per_second"),
        duration_ms: doc.get("duration_ms").map_or(0, int),
        settle_ms: doc.get("settle_ms").map_or(30_000, int),
    }
}

/// The shrunk file: named after the file it is written to, described as a shrink, and no longer allowing the
/// violation it reproduces, so `ksim run` fails on it (nor expecting a sweep to find anything).
pub fn finish(text: &str, name: &str, description: &str, kind: &str) -> String {
    let mut doc = parse(text);
    doc["name"] = toml_edit::value(name);
    doc["description"] = toml_edit::value(description);
    let expect = doc
        .entry("expect")
        .or_insert(Item::Table(Table::new()))
        .as_table_mut()
        .expect("[expect] is a table");
    if let Some(allow) = expect.get_mut("allow").and_then(Item::as_array_mut) {
        allow.retain(|v| v.as_str() != Some(kind));
        allow.fmt();
    }
    expect.remove("find");
    doc.to_string()
}
