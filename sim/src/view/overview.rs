//! The whole run at a glance: time across, a lane per broker with its replica's LEO and HW, leader bands and
//! elections, ISR changes, truncations, fault windows, the clients' sends by outcome, and boxes around the
//! stories told in detail below.

use super::axis::{tick_step_ms, OffsetAxis, TimeAxis};
use super::lanes::{draw_faults, draw_marks, lane_name, Lanes};
use super::story::{outcome_of, RunView};
use super::svg::Svg;
use crate::history::Outcome;
use ksim_model::NodeId;

pub const WIDTH: f64 = 1280.0;
pub const LEFT: f64 = 118.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 34.0;
const CONTROLLER_H: f64 = 22.0;
const BROKER_H: f64 = 70.0;
const CLIENT_H: f64 = 60.0;
const GAP: f64 = 6.0;
/// Width of a bucket of the client lane, px: sends are counted per bucket, never drawn one by one.
const BUCKET_PX: f64 = 2.0;

pub fn render(view: &RunView) -> String {
    let axis = TimeAxis::linear(0, view.end_ms, LEFT, WIDTH - RIGHT);
    let lanes = lanes(view);
    let height = lanes.values().map(|l| l.1).fold(TOP, f64::max) + 26.0;
    let mut svg = Svg::new(WIDTH, height, "overview");
    draw_lane_backgrounds(&mut svg, &lanes, view);
    draw_ticks(&mut svg, &axis, height);
    draw_faults(&mut svg, &axis, &lanes, view, true);
    let top_offset = view
        .series
        .values()
        .flat_map(|s| s.iter().filter_map(|(_, m)| m.map(|m| m.log_end_offset)))
        .max()
        .unwrap_or(0)
        .max(1);
    for (broker, series) in &view.series {
        let (top, bottom) = lanes[&NodeId::Broker(*broker)];
        let offsets = OffsetAxis {
            lo: 0,
            hi: top_offset,
            y_top: top + 4.0,
            y_bottom: bottom,
        };
        draw_marks(
            &mut svg,
            &axis,
            &offsets,
            series,
            &format!("broker-{broker}"),
        );
        svg.text(
            LEFT - 6.0,
            top + 12.0,
            "axis-label end",
            &format!("{top_offset}"),
        );
    }
    draw_truncations(&mut svg, &axis, &lanes, view);
    draw_isr_changes(&mut svg, &axis, &lanes, view);
    draw_elections(&mut svg, &axis, &lanes, view);
    draw_client_lane(&mut svg, &axis, &lanes, view);
    draw_story_boxes(&mut svg, &axis, &lanes, view);
    svg.finish()
}

/// Controller on top, then the brokers, then the clients.
fn lanes(view: &RunView) -> Lanes {
    let mut lanes = Lanes::new();
    let mut y = TOP;
    lanes.insert(NodeId::Controller, (y, y + CONTROLLER_H));
    y += CONTROLLER_H + GAP;
    for b in &view.brokers {
        lanes.insert(NodeId::Broker(*b), (y, y + BROKER_H));
        y += BROKER_H + GAP;
    }
    lanes.insert(NodeId::Client(0), (y, y + CLIENT_H));
    lanes
}

pub fn draw_lane_backgrounds(svg: &mut Svg, lanes: &Lanes, view: &RunView) {
    for (node, (top, bottom)) in lanes {
        let x1 = WIDTH - RIGHT;
        svg.rect(LEFT, *top, x1 - LEFT, bottom - top, "lane", None);
        svg.text(
            8.0,
            (top + bottom) / 2.0 + 4.0,
            "lane-label",
            &lane_name(*node),
        );
        if let (NodeId::Broker(_), Some(tp)) = (node, &view.tp) {
            svg.text(
                8.0,
                (top + bottom) / 2.0 + 17.0,
                "lane-sub",
                &tp.to_string(),
            );
        }
    }
}

fn draw_ticks(svg: &mut Svg, axis: &TimeAxis, height: f64) {
    let span = axis.end_ms() - axis.start_ms();
    let step = tick_step_ms(span, 12);
    let mut t = axis.start_ms().div_ceil(step) * step;
    while t <= axis.end_ms() {
        let x = axis.x(t);
        svg.line(x, TOP - 4.0, x, height - 22.0, "tick", None);
        svg.text(
            x,
            height - 8.0,
            "tick-label",
            &format!("{} s", t as f64 / 1000.0),
        );
        t += step;
    }
}

fn draw_truncations(svg: &mut Svg, axis: &TimeAxis, lanes: &Lanes, view: &RunView) {
    for tr in &view.truncations {
        let Some((top, _)) = lanes.get(&NodeId::Broker(tr.broker)) else {
            continue;
        };
        let named = tr
            .removed
            .iter()
            .any(|(_, v)| view.named_values.contains(v));
        let x = axis.x(tr.at_ms);
        let class = if named { "trunc named" } else { "trunc" };
        let title = format!(
            "{} ms: broker-{} truncated its log to offset {} ({} records removed)",
            tr.at_ms,
            tr.broker,
            tr.offset,
            tr.removed.len()
        );
        svg.polyline(
            &[
                (x - 5.0, top + 1.0),
                (x + 5.0, top + 1.0),
                (x, top + 10.0),
                (x - 5.0, top + 1.0),
            ],
            class,
            Some(&title),
        );
    }
}

fn draw_isr_changes(svg: &mut Svg, axis: &TimeAxis, lanes: &Lanes, view: &RunView) {
    let label = view.isr_changes.len() <= 40;
    for (at, leader, isr) in &view.isr_changes {
        let Some((_, bottom)) = lanes.get(&NodeId::Broker(*leader)) else {
            continue;
        };
        let x = axis.x(*at);
        let text = format!("ISR {isr:?}");
        svg.circle(
            x,
            bottom - 6.0,
            3.5,
            "isr",
            Some(&format!("{at} ms: {text} (leader broker-{leader})")),
        );
        if label {
            svg.text(x + 5.0, bottom - 3.0, "isr-label", &text);
        }
    }
}

fn draw_elections(svg: &mut Svg, axis: &TimeAxis, lanes: &Lanes, view: &RunView) {
    let (ctop, cbottom) = lanes[&NodeId::Controller];
    let bottom = lanes.values().map(|l| l.1).fold(0.0, f64::max);
    let label = view.elections.len() <= 40;
    for e in &view.elections {
        let x = axis.x(e.at_ms);
        let class = if e.unclean {
            "election unclean"
        } else {
            "election"
        };
        let title = format!(
            "{} ms: the controller elected broker-{} leader in epoch {} (ISR {:?}){}",
            e.at_ms,
            e.leader,
            e.leader_epoch,
            e.isr,
            if e.unclean { ", unclean" } else { "" }
        );
        svg.line(x, cbottom, x, bottom, "election-line", None);
        let y = (ctop + cbottom) / 2.0;
        svg.diamond(x, y, 6.0, class, Some(&title));
        if label {
            svg.text(
                x + 8.0,
                y + 4.0,
                "election-label",
                &format!("epoch {} → broker-{}", e.leader_epoch, e.leader),
            );
        }
    }
}

/// Sends counted per bucket by outcome at their completion, drawn as stacked bars (square-root heights, so a
/// lone failure still shows next to hundreds of acknowledgements); the named records as red marks.
fn draw_client_lane(svg: &mut Svg, axis: &TimeAxis, lanes: &Lanes, view: &RunView) {
    let (top, bottom) = lanes[&NodeId::Client(0)];
    let buckets = ((WIDTH - RIGHT - LEFT) / BUCKET_PX).ceil() as usize + 1;
    let mut counts = vec![[0u32; 3]; buckets];
    for s in &view.sends {
        let t = s.complete_ms.unwrap_or(view.end_ms);
        let b = (((axis.x(t) - LEFT) / BUCKET_PX) as usize).min(buckets - 1);
        let k = match outcome_of(s) {
            Outcome::Ok => 0,
            Outcome::Fail => 1,
            Outcome::Info => 2,
        };
        counts[b][k] += 1;
    }
    let most = counts
        .iter()
        .map(|c| c.iter().sum::<u32>())
        .max()
        .unwrap_or(0)
        .max(1);
    let unit = (bottom - top - 14.0) / (most as f64).sqrt();
    for (i, c) in counts.iter().enumerate() {
        let total: u32 = c.iter().sum();
        if total == 0 {
            continue;
        }
        let x = LEFT + i as f64 * BUCKET_PX;
        let full = (total as f64).sqrt() * unit;
        let mut y = bottom;
        for (k, class) in ["ok", "fail", "info"].iter().enumerate() {
            let h = full * c[k] as f64 / total as f64;
            if h > 0.0 {
                svg.rect(x, y - h, BUCKET_PX, h, &format!("send {class}"), None);
                y -= h;
            }
        }
    }
    for s in view
        .sends
        .iter()
        .filter(|s| view.named_values.contains(&s.value))
    {
        let x = axis.x(s.complete_ms.unwrap_or(view.end_ms));
        let title = format!(
            "producer {} value {:#x}: acknowledged at offset {} ({} ms), later lost",
            s.process,
            s.value,
            s.offset.map_or("?".into(), |o| o.to_string()),
            s.complete_ms.unwrap_or(0)
        );
        svg.polyline(
            &[
                (x - 5.0, top + 1.0),
                (x + 5.0, top + 1.0),
                (x, top + 10.0),
                (x - 5.0, top + 1.0),
            ],
            "named-send",
            Some(&title),
        );
    }
}

fn draw_story_boxes(svg: &mut Svg, axis: &TimeAxis, lanes: &Lanes, view: &RunView) {
    let top = lanes.values().map(|l| l.0).fold(f64::INFINITY, f64::min);
    let bottom = lanes.values().map(|l| l.1).fold(0.0, f64::max);
    for s in &view.stories {
        let (x0, x1) = (axis.x(s.start_ms) - 3.0, axis.x(s.end_ms) + 3.0);
        svg.open_group(
            "story-box",
            Some(&format!("story {}: see its panel below", s.label)),
        );
        svg.raw(&format!(r##"<a href="#story-{}">"##, s.label));
        svg.rect(
            x0,
            top - 2.0,
            x1 - x0,
            bottom - top + 4.0,
            "story-rect",
            None,
        );
        svg.text(x0 + 2.0, top - 6.0, "story-label", &format!("{}", s.label));
        svg.raw("</a>\n");
        svg.close_group();
    }
}
