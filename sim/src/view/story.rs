//! What the view draws, pulled out of a run: the partition to show, each replica's marks over time, leaders,
//! ISR changes, truncations, fault windows, the client's sends, and for each cluster of violations the records
//! named and the events that led to them.

use crate::checkers::Violation;
use crate::history::{Outcome, SendOp};
use crate::host::samples::{FaultWindow, Marks, WindowKind};
use crate::host::RunOutput;
use ksim_model::observe::{Observation, OffsetValue};
use ksim_model::{BrokerId, LeaderEpoch, NodeId, Offset, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

/// Violations of one partition this close together (ms) are one story.
const STORY_GAP_MS: u64 = 3_000;
/// At most this many stories get a panel of their own; the rest are listed.
pub const MAX_STORIES: usize = 4;

/// A replica's marks from a time on; None while its broker is down (its memory is gone).
pub type Series = Vec<(u64, Option<Marks>)>;

/// The controller elected a leader.
#[derive(Clone, Debug)]
pub struct Election {
    pub at_ms: u64,
    pub leader: BrokerId,
    pub leader_epoch: LeaderEpoch,
    pub isr: Vec<BrokerId>,
    pub unclean: bool,
}

/// A replica removed the records at and above `offset`.
#[derive(Clone, Debug)]
pub struct Truncation {
    pub at_ms: u64,
    pub broker: BrokerId,
    pub offset: Offset,
    pub removed: Vec<OffsetValue>,
}

/// A record a violation names, with what happened to it.
#[derive(Clone, Debug)]
pub struct NamedRecord {
    pub offset: Offset,
    pub value: u64,
    pub send: Option<SendOp>,
    /// Per broker, when it held this record: from its LEO passing the offset to a truncation or a lower LEO.
    pub held: Vec<(BrokerId, u64, u64)>,
    /// What the final log holds at this offset instead (None: nothing).
    pub final_value: Option<u64>,
}

/// A cluster of violations of the shown partition, close in time.
#[derive(Clone, Debug)]
pub struct Story {
    pub label: char,
    pub violations: Vec<Violation>,
    pub records: Vec<NamedRecord>,
    /// The moments the story's panel must show.
    pub moments: Vec<u64>,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// Everything the view draws for one run.
pub struct RunView {
    pub tp: Option<TopicPartition>,
    pub brokers: Vec<BrokerId>,
    pub end_ms: u64,
    pub series: BTreeMap<BrokerId, Series>,
    pub elections: Vec<Election>,
    /// (time, leader, ISR) as the leader learnt it.
    pub isr_changes: Vec<(u64, BrokerId, Vec<BrokerId>)>,
    pub offline: Vec<u64>,
    pub truncations: Vec<Truncation>,
    pub faults: Vec<FaultWindow>,
    /// Sends to the shown partition (or not yet placed), in invoke order.
    pub sends: Vec<SendOp>,
    pub stories: Vec<Story>,
    /// Values the stories name, to highlight them wherever they appear.
    pub named_values: BTreeSet<u64>,
    /// The final leader and its log, for the final-log column.
    pub final_leader: Option<BrokerId>,
    pub final_log: BTreeMap<Offset, u64>,
}

/// The partition to show: the one with the most violations, else the scenario's first one.
pub fn choose_partition(run: &RunOutput) -> Option<TopicPartition> {
    let mut counts: BTreeMap<&TopicPartition, usize> = BTreeMap::new();
    for v in &run.violations {
        if let Some(tp) = &v.tp {
            *counts.entry(tp).or_default() += 1;
        }
    }
    let best = counts
        .iter()
        .filter(|(tp, _)| !tp.topic.starts_with("__"))
        // Most violations; ties go to the first partition in order.
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(tp, _)| (*tp).clone());
    best.or_else(|| {
        run.history
            .final_partitions
            .keys()
            .find(|tp| !tp.topic.starts_with("__"))
            .cloned()
    })
}

pub fn extract(run: &RunOutput) -> RunView {
    let tp = choose_partition(run);
    let faults = run
        .samples
        .as_ref()
        .map(|s| s.faults.clone())
        .unwrap_or_default();
    let mut brokers: BTreeSet<BrokerId> = BTreeSet::new();
    let mut series: BTreeMap<BrokerId, Series> = BTreeMap::new();
    if let (Some(tp), Some(samples)) = (&tp, &run.samples) {
        for s in samples.marks.iter().filter(|s| &s.tp == tp) {
            brokers.insert(s.broker);
            series
                .entry(s.broker)
                .or_default()
                .push((s.at_ms, Some(s.marks)));
        }
    }
    for fp in run.history.final_partitions.values() {
        brokers.extend(fp.replicas.iter().map(|r| r.broker));
    }
    for w in &faults {
        if matches!(w.kind, WindowKind::Crash | WindowKind::PowerLoss) {
            for n in &w.nodes {
                if let NodeId::Broker(b) = n {
                    if let Some(s) = series.get_mut(b) {
                        s.push((w.start_ms, None));
                    }
                }
            }
        }
    }
    for s in series.values_mut() {
        // Stable: a restart's first sample at the crash's own millisecond stays after the gap it ends.
        s.sort_by_key(|(t, m)| (*t, m.is_some()));
    }
    let mut view = RunView {
        tp: tp.clone(),
        brokers: brokers.into_iter().collect(),
        end_ms: run.simulated_ms.max(1),
        series,
        elections: Vec::new(),
        isr_changes: Vec::new(),
        offline: Vec::new(),
        truncations: Vec::new(),
        faults,
        sends: Vec::new(),
        stories: Vec::new(),
        named_values: BTreeSet::new(),
        final_leader: None,
        final_log: BTreeMap::new(),
    };
    let Some(tp) = tp else { return view };
    read_observations(run, &tp, &mut view);
    view.sends = run
        .history
        .sends
        .iter()
        .filter(|s| s.tp.as_ref() == Some(&tp))
        .cloned()
        .collect();
    if let Some(fp) = run.history.final_partitions.get(&tp) {
        view.final_leader = fp.leader;
        view.final_log = fp.read.iter().copied().collect();
    }
    view.stories = stories(run, &tp, &view);
    view.named_values = view
        .stories
        .iter()
        .flat_map(|s| s.records.iter().map(|r| r.value))
        .collect();
    view
}

fn read_observations(run: &RunOutput, tp: &TopicPartition, view: &mut RunView) {
    for (at_ms, o) in &run.history.observations {
        match o {
            Observation::LeaderElected {
                tp: t,
                leader,
                leader_epoch,
                isr,
                unclean,
            } if t == tp => view.elections.push(Election {
                at_ms: *at_ms,
                leader: *leader,
                leader_epoch: *leader_epoch,
                isr: isr.clone(),
                unclean: *unclean,
            }),
            // The first leader is chosen when the topic is created: no LeaderElected, but its broker says so.
            Observation::BecameLeader {
                tp: t,
                broker,
                leader_epoch: 0,
                isr,
                ..
            } if t == tp && view.elections.is_empty() => view.elections.push(Election {
                at_ms: *at_ms,
                leader: *broker,
                leader_epoch: 0,
                isr: isr.clone(),
                unclean: false,
            }),
            Observation::IsrChanged {
                tp: t, broker, isr, ..
            } if t == tp => view.isr_changes.push((*at_ms, *broker, isr.clone())),
            Observation::PartitionOffline { tp: t, .. } if t == tp => view.offline.push(*at_ms),
            Observation::Truncated {
                tp: t,
                broker,
                offset,
                removed,
            } if t == tp => view.truncations.push(Truncation {
                at_ms: *at_ms,
                broker: *broker,
                offset: *offset,
                removed: removed.clone(),
            }),
            _ => {}
        }
    }
}

/// Groups the shown partition's violations that name records into stories, in time order.
fn stories(run: &RunOutput, tp: &TopicPartition, view: &RunView) -> Vec<Story> {
    let mut named: Vec<&Violation> = run
        .violations
        .iter()
        .filter(|v| v.tp.as_ref() == Some(tp) && !v.records.is_empty())
        .collect();
    named.sort_by_key(|v| (v.at_ms.unwrap_or(0), v.records.clone()));
    let mut groups: Vec<Vec<&Violation>> = Vec::new();
    for v in named {
        let at = v.at_ms.unwrap_or(0);
        match groups.last_mut() {
            Some(g) if at <= g.last().and_then(|l| l.at_ms).unwrap_or(0) + STORY_GAP_MS => {
                g.push(v)
            }
            _ => groups.push(vec![v]),
        }
    }
    let sends: BTreeMap<u64, &SendOp> = run.history.sends.iter().map(|s| (s.value, s)).collect();
    groups
        .into_iter()
        .take(MAX_STORIES)
        .enumerate()
        .map(|(i, g)| story((b'A' + i as u8) as char, &g, &sends, view))
        .collect()
}

fn story(
    label: char,
    violations: &[&Violation],
    sends: &BTreeMap<u64, &SendOp>,
    view: &RunView,
) -> Story {
    let mut records: BTreeSet<OffsetValue> = BTreeSet::new();
    for v in violations {
        records.extend(v.records.iter().copied());
    }
    let records: Vec<NamedRecord> = records
        .into_iter()
        .map(|(offset, value)| {
            let send = sends.get(&value).map(|s| (*s).clone());
            let since = send.as_ref().map_or(0, |s| s.invoke_ms);
            NamedRecord {
                offset,
                value,
                held: holdings(view, offset, value, since),
                final_value: view.final_log.get(&offset).copied(),
                send,
            }
        })
        .collect();
    let mut moments: Vec<u64> = violations.iter().filter_map(|v| v.at_ms).collect();
    for r in &records {
        if let Some(s) = &r.send {
            moments.push(s.invoke_ms);
            moments.extend(s.complete_ms);
        }
        for (_, from, to) in &r.held {
            moments.push(*from);
            if *to < view.end_ms {
                moments.push(*to);
            }
        }
    }
    let (first, last) = (
        moments.iter().copied().min().unwrap_or(0),
        moments.iter().copied().max().unwrap_or(0),
    );
    // What led there: faults that hit during the story, and the elections they caused.
    for w in &view.faults {
        let end = w.end_ms.unwrap_or(view.end_ms);
        if w.start_ms <= last && end >= first && !matches!(w.kind, WindowKind::Grow) {
            moments.push(w.start_ms.max(first.saturating_sub(1_000)));
            if end <= last + 1_000 {
                moments.push(end);
            }
        }
    }
    for e in &view.elections {
        if e.at_ms >= first && e.at_ms <= last {
            moments.push(e.at_ms);
        }
    }
    moments.sort_unstable();
    moments.dedup();
    Story {
        label,
        violations: violations.iter().map(|v| (*v).clone()).collect(),
        records,
        start_ms: moments.first().copied().unwrap_or(0),
        end_ms: moments.last().copied().unwrap_or(0),
        moments,
    }
}

/// When each replica held the record `(offset, value)`: from its LEO passing `offset` in the leader epoch the leader
/// appended it in (a later epoch's record at that offset is another one) until a truncation removed the value or
/// its LEO fell back to `offset` or below (a power loss).
fn holdings(
    view: &RunView,
    offset: Offset,
    value: u64,
    since_ms: u64,
) -> Vec<(BrokerId, u64, u64)> {
    let passed = |m: &Option<Marks>| m.is_some_and(|m| m.log_end_offset > offset);
    // The epoch of the first leader whose log passed the offset after the send began.
    let append_epoch = view
        .series
        .values()
        .flat_map(|s| s.iter())
        .filter(|(t, m)| *t >= since_ms && passed(m) && m.is_some_and(|m| m.is_leader))
        .min_by_key(|(t, _)| *t)
        .and_then(|(_, m)| m.map(|m| m.leader_epoch));
    let Some(epoch) = append_epoch else {
        return Vec::new();
    };
    let mut held = Vec::new();
    for (broker, series) in &view.series {
        let mut samples = series.iter().filter(|(t, _)| *t >= since_ms);
        let Some(&(start, _)) = samples
            .by_ref()
            .find(|(_, m)| passed(m) && m.is_some_and(|m| m.leader_epoch == epoch))
        else {
            continue;
        };
        let fell = samples
            .find(|(_, m)| m.is_some() && !passed(m))
            .map_or(view.end_ms, |(t, _)| *t);
        let truncated = view
            .truncations
            .iter()
            .find(|tr| {
                tr.broker == *broker && tr.at_ms >= start && tr.removed.contains(&(offset, value))
            })
            .map_or(view.end_ms, |tr| tr.at_ms);
        held.push((*broker, start, fell.min(truncated)));
    }
    held
}

/// Sends by outcome, for the client lane: ok, fail, info (pending counts as info).
pub fn outcome_of(send: &SendOp) -> Outcome {
    send.outcome.unwrap_or(Outcome::Info)
}
