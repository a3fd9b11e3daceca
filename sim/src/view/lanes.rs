//! Drawing shared by the overview and the story panels: fault windows over the lanes they hit, leader bands,
//! and a replica's LEO and HW as step lines.

use super::axis::{OffsetAxis, TimeAxis};
use super::story::{RunView, Series};
use super::svg::Svg;
use crate::host::samples::{FaultWindow, WindowKind};
use ksim_model::NodeId;
use std::collections::BTreeMap;

/// Each lane's node and its vertical extent.
pub type Lanes = BTreeMap<NodeId, (f64, f64)>;

/// A lane's name as the page shows it.
pub fn lane_name(node: NodeId) -> String {
    match node {
        NodeId::Client(_) => "clients".into(),
        other => other.to_string(),
    }
}

fn kind_class(kind: WindowKind) -> &'static str {
    match kind {
        WindowKind::Crash => "f-crash",
        WindowKind::PowerLoss => "f-power",
        WindowKind::Cut => "f-cut",
        WindowKind::OneWay => "f-oneway",
        WindowKind::Slow => "f-slow",
        WindowKind::Grow => "f-grow",
        WindowKind::ConsumerCrash => "f-crash",
        WindowKind::ConsumerPause => "f-pause",
    }
}

/// What a window did, in words, for its label and tooltip.
pub fn describe(w: &FaultWindow) -> String {
    let names = |nodes: &[NodeId]| {
        nodes
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let what = match w.kind {
        WindowKind::Crash => format!("crash {}", names(&w.nodes)),
        WindowKind::PowerLoss => format!("power loss {}", names(&w.nodes)),
        WindowKind::Cut => format!("partition: {} | {}", names(&w.nodes), names(&w.others)),
        WindowKind::OneWay => format!("one-way {} -> {}", names(&w.nodes), names(&w.others)),
        WindowKind::Slow => "slow network".into(),
        WindowKind::Grow => "create-partitions".into(),
        WindowKind::ConsumerCrash => format!("member crash {}", names(&w.nodes)),
        WindowKind::ConsumerPause => format!("member pause {}", names(&w.nodes)),
    };
    match w.end_ms {
        Some(end) => format!("{what}: {} ms to {} ms", w.start_ms, end),
        None => format!("{what}: from {} ms", w.start_ms),
    }
}

/// Which lanes a window shades: the nodes it hit (both sides of a split), or every lane for cluster-wide faults.
fn shaded(w: &FaultWindow, lanes: &Lanes) -> Vec<NodeId> {
    let lane_of = |n: &NodeId| match n {
        NodeId::Client(_) => lanes
            .keys()
            .copied()
            .find(|l| matches!(l, NodeId::Client(_))),
        other => lanes.contains_key(other).then_some(*other),
    };
    let hit: Vec<NodeId> = match w.kind {
        WindowKind::Slow | WindowKind::Grow => return lanes.keys().copied().collect(),
        // An isolated node is one side against everyone: shade the node; a split shades both halves.
        WindowKind::Cut if w.nodes.len() == 1 => w.nodes.clone(),
        WindowKind::Cut => w.nodes.iter().chain(&w.others).copied().collect(),
        _ => w.nodes.clone(),
    };
    let mut out: Vec<NodeId> = hit.iter().filter_map(lane_of).collect();
    out.sort();
    out.dedup();
    out
}

pub fn draw_faults(svg: &mut Svg, axis: &TimeAxis, lanes: &Lanes, view: &RunView, labels: bool) {
    for w in &view.faults {
        let end = w.end_ms.unwrap_or(view.end_ms);
        if end < axis.start_ms() || w.start_ms > axis.end_ms() {
            continue;
        }
        let (x0, x1) = (
            axis.x(w.start_ms),
            axis.x(end).max(axis.x(w.start_ms) + 2.0),
        );
        let title = describe(w);
        let class = kind_class(w.kind);
        for node in shaded(w, lanes) {
            let (top, bottom) = lanes[&node];
            svg.rect(
                x0,
                top,
                x1 - x0,
                bottom - top,
                &format!("fault {class}"),
                Some(&title),
            );
            if labels && !matches!(w.kind, WindowKind::Slow | WindowKind::Grow) {
                let word = match w.kind {
                    WindowKind::Crash | WindowKind::ConsumerCrash => "crashed",
                    WindowKind::PowerLoss => "power lost",
                    WindowKind::Cut => "cut off",
                    WindowKind::OneWay => "one-way",
                    WindowKind::ConsumerPause => "paused",
                    _ => "",
                };
                svg.text(x0 + 3.0, bottom - 4.0, "fault-label", word);
            }
        }
    }
}

/// Bands where the replica led, the area under its LEO, and its LEO and HW as step lines.
pub fn draw_marks(
    svg: &mut Svg,
    axis: &TimeAxis,
    offsets: &OffsetAxis,
    series: &Series,
    title: &str,
) {
    let end_ms = axis.end_ms();
    let visible = |t: u64| t <= end_ms;
    // Leader bands.
    let mut lead_from: Option<u64> = None;
    for (t, m) in series.iter().filter(|(t, _)| visible(*t)) {
        let leads = m.is_some_and(|m| m.is_leader);
        match (lead_from, leads) {
            (None, true) => lead_from = Some(*t),
            (Some(from), false) => {
                band(svg, axis, offsets, from, *t);
                lead_from = None;
            }
            _ => {}
        }
    }
    if let Some(from) = lead_from {
        band(svg, axis, offsets, from, end_ms);
    }
    for (class, pick) in [
        (
            "leo",
            (|m| m.log_end_offset) as fn(&crate::host::samples::Marks) -> i64,
        ),
        ("hw", |m| m.high_watermark),
    ] {
        for run in step_runs(axis, offsets, series, pick) {
            let run = thin(&run);
            if class == "leo" {
                let mut area = run.clone();
                area.push((run[run.len() - 1].0, offsets.y_bottom));
                area.push((run[0].0, offsets.y_bottom));
                svg.area(&area, "log-area");
            }
            svg.polyline(
                &run,
                class,
                Some(&format!("{title} {}", class.to_uppercase())),
            );
        }
    }
}

fn band(svg: &mut Svg, axis: &TimeAxis, offsets: &OffsetAxis, from: u64, to: u64) {
    let (x0, x1) = (axis.x(from), axis.x(to));
    svg.rect(
        x0,
        offsets.y_top,
        x1 - x0,
        offsets.y_bottom - offsets.y_top,
        "leader-band",
        None,
    );
}

/// The step lines of one mark, split where the broker was down.
fn step_runs(
    axis: &TimeAxis,
    offsets: &OffsetAxis,
    series: &Series,
    pick: fn(&crate::host::samples::Marks) -> i64,
) -> Vec<Vec<(f64, f64)>> {
    let (start, end) = (axis.start_ms(), axis.end_ms());
    let mut runs = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    let mut last_before: Option<f64> = None;
    for (t, m) in series {
        if *t < start {
            last_before = m.map(|m| offsets.y(pick(&m)));
            continue;
        }
        if *t > end {
            break;
        }
        if current.is_empty() {
            if let Some(y) = last_before.take() {
                current.push((axis.x(start), y));
            }
        }
        let x = axis.x(*t);
        match m {
            Some(m) => {
                let y = offsets.y(pick(m));
                if let Some(&(_, prev)) = current.last() {
                    current.push((x, prev));
                }
                current.push((x, y));
            }
            None => {
                if let Some(&(_, prev)) = current.last() {
                    current.push((x, prev));
                }
                if current.len() > 1 {
                    runs.push(std::mem::take(&mut current));
                }
                current.clear();
            }
        }
    }
    if current.is_empty() {
        if let Some(y) = last_before {
            current.push((axis.x(start), y));
        }
    }
    if let Some(&(_, prev)) = current.last() {
        current.push((axis.x(end), prev));
    }
    if current.len() > 1 {
        runs.push(current);
    }
    runs
}

/// Keeps at most four points per pixel column (first, lowest, highest, last): a 60k-record run draws as a few
/// thousand points with the same look, deterministically.
pub fn thin(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let column = points[i].0.round();
        let mut j = i;
        while j < points.len() && points[j].0.round() == column {
            j += 1;
        }
        let group = &points[i..j];
        if group.len() <= 4 {
            out.extend_from_slice(group);
        } else {
            let lo = group.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            let hi = group.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
            let (first, last) = (group[0], group[group.len() - 1]);
            let x = first.0;
            out.extend_from_slice(&[first, (x, lo), (x, hi), (last.0, last.1)]);
        }
        i = j;
    }
    out
}
