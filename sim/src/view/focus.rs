//! One story in detail: a broken time axis that keeps only the moments that matter (the send, its
//! acknowledgement, the fault, the election, the truncation), offsets a row each around the named records, who
//! held those records and when they went, and the final log beside it.

use super::axis::{tick_step_ms, OffsetAxis, TimeAxis, BREAK_PX};
use super::lanes::{draw_faults, draw_marks, lane_name, Lanes};
use super::overview::{LEFT, WIDTH};
use super::story::{outcome_of, NamedRecord, RunView, Story};
use super::svg::Svg;
use crate::history::Outcome;
use ksim_model::{BrokerId, NodeId, Offset};

/// Room on the right for the final log.
const FINAL_W: f64 = 250.0;
const TOP: f64 = 40.0;
const CONTROLLER_H: f64 = 22.0;
const GAP: f64 = 8.0;
/// Offsets shown around the named ones.
const CONTEXT: i64 = 4;
/// Milliseconds shown either side of each moment.
const PAD_MS: u64 = 25;

struct Frame {
    axis: TimeAxis,
    offsets_lo: Offset,
    offsets_hi: Offset,
    row_h: f64,
    lanes: Lanes,
    client_rows: f64,
}

impl Frame {
    fn offsets(&self, broker: BrokerId) -> OffsetAxis {
        let (top, bottom) = self.lanes[&NodeId::Broker(broker)];
        OffsetAxis {
            lo: self.offsets_lo,
            hi: self.offsets_hi,
            y_top: top,
            y_bottom: bottom,
        }
    }

    /// The middle of `offset`'s row in a broker's lane.
    fn row_y(&self, broker: BrokerId, offset: Offset) -> f64 {
        let o = self.offsets(broker);
        o.y(offset) - o.row() / 2.0
    }

    fn right(&self) -> f64 {
        WIDTH - FINAL_W
    }
}

pub fn render(view: &RunView, story: &Story) -> String {
    let frame = frame(view, story);
    let height = frame.lanes.values().map(|l| l.1).fold(TOP, f64::max) + 30.0;
    let mut svg = Svg::new(WIDTH, height, "focus");
    for (node, (top, bottom)) in &frame.lanes {
        svg.rect(LEFT, *top, frame.right() - LEFT, bottom - top, "lane", None);
        svg.text(
            8.0,
            (top + bottom) / 2.0 + 4.0,
            "lane-label",
            &lane_name(*node),
        );
    }
    draw_offset_rows(&mut svg, &frame, view, story);
    draw_faults(&mut svg, &frame.axis, &frame.lanes, view, true);
    for (broker, series) in &view.series {
        draw_marks(
            &mut svg,
            &frame.axis,
            &frame.offsets(*broker),
            series,
            &format!("broker-{broker}"),
        );
    }
    draw_holdings(&mut svg, &frame, story);
    // Breaks hide the lines under them, not the labels drawn after.
    draw_breaks_and_ticks(&mut svg, &frame);
    draw_truncations(&mut svg, &frame, view, story);
    draw_elections(&mut svg, &frame, view);
    draw_client(&mut svg, &frame, view, story);
    draw_leo_labels(&mut svg, &frame, view);
    draw_final_log(&mut svg, &frame, view, story);
    svg.finish()
}

fn frame(view: &RunView, story: &Story) -> Frame {
    let axis = TimeAxis::broken(&story.moments, PAD_MS, LEFT, WIDTH - FINAL_W);
    let lo = story.records.iter().map(|r| r.offset).min().unwrap_or(0) - CONTEXT;
    let hi = story.records.iter().map(|r| r.offset).max().unwrap_or(0) + CONTEXT + 1;
    let lo = lo.max(0);
    let rows = (hi - lo) as f64;
    // Rows tall enough to read an offset, lanes no taller than a screen can hold three of.
    let row_h = (180.0 / rows).clamp(2.0, 14.0);
    let mut lanes = Lanes::new();
    let mut y = TOP;
    lanes.insert(NodeId::Controller, (y, y + CONTROLLER_H));
    y += CONTROLLER_H + GAP;
    for b in &view.brokers {
        let h = rows * row_h;
        lanes.insert(NodeId::Broker(*b), (y, y + h));
        y += h + GAP;
    }
    let client_rows = story.records.len().min(12) as f64;
    lanes.insert(NodeId::Client(0), (y, y + 22.0 + client_rows * 16.0));
    Frame {
        axis,
        offsets_lo: lo,
        offsets_hi: hi,
        row_h,
        lanes,
        client_rows,
    }
}

/// Faint rows per offset; the named offsets' rows tinted in the violation's colour in every broker lane.
fn draw_offset_rows(svg: &mut Svg, frame: &Frame, view: &RunView, story: &Story) {
    let named: Vec<Offset> = story.records.iter().map(|r| r.offset).collect();
    let every = ((10.0 / frame.row_h).ceil() as i64).max(1);
    for b in &view.brokers {
        let o = frame.offsets(*b);
        for offset in frame.offsets_lo..frame.offsets_hi {
            let y = o.y(offset + 1);
            if named.contains(&offset) {
                svg.rect(LEFT, y, frame.right() - LEFT, o.row(), "named-row", None);
            }
            if named.contains(&offset) || offset % every == 0 {
                let class = if named.contains(&offset) {
                    "row-label named"
                } else {
                    "row-label"
                };
                svg.text(LEFT - 4.0, y + o.row() - 1.0, class, &offset.to_string());
            }
        }
    }
}

/// Who held each named record and when: red cells from its LEO passing the offset until it was gone.
fn draw_holdings(svg: &mut Svg, frame: &Frame, story: &Story) {
    for r in &story.records {
        for (broker, from, to) in &r.held {
            let o = frame.offsets(*broker);
            let (x0, x1) = (frame.axis.x(*from), frame.axis.x(*to));
            let title = format!(
                "broker-{broker} held offset {} = {:#x} from {from} ms to {to} ms",
                r.offset, r.value
            );
            svg.rect(
                x0,
                o.y(r.offset + 1),
                (x1 - x0).max(2.0),
                o.row(),
                "held",
                Some(&title),
            );
        }
    }
}

fn draw_truncations(svg: &mut Svg, frame: &Frame, view: &RunView, story: &Story) {
    let named: Vec<(Offset, u64)> = story.records.iter().map(|r| (r.offset, r.value)).collect();
    for tr in &view.truncations {
        if !frame.axis.shows(tr.at_ms) {
            continue;
        }
        let hits: Vec<&(Offset, u64)> = tr.removed.iter().filter(|r| named.contains(r)).collect();
        let o = frame.offsets(tr.broker);
        let x = frame.axis.x(tr.at_ms);
        let class = if hits.is_empty() {
            "trunc-line"
        } else {
            "trunc-line named"
        };
        let title = format!(
            "{} ms: broker-{} truncated to offset {}, removing {}",
            tr.at_ms,
            tr.broker,
            tr.offset,
            tr.removed
                .iter()
                .map(|(o, v)| format!("{o}:{v:#x}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        svg.line(x, o.y_top, x, o.y_bottom, class, Some(&title));
        if !hits.is_empty() {
            // Left of the line, at the lane's top: the right edge belongs to the final log.
            let offsets: Vec<String> = hits.iter().map(|(o, _)| o.to_string()).collect();
            let text = format!(
                "✂ broker-{} truncates to {}: removes {}",
                tr.broker,
                tr.offset,
                offsets.join(", ")
            );
            svg.text(x - 4.0, o.y_top + 10.0, "trunc-label end", &text);
        }
    }
}

fn draw_elections(svg: &mut Svg, frame: &Frame, view: &RunView) {
    let (ctop, cbottom) = frame.lanes[&NodeId::Controller];
    let bottom = frame.lanes.values().map(|l| l.1).fold(0.0, f64::max);
    for e in view.elections.iter().filter(|e| frame.axis.shows(e.at_ms)) {
        let x = frame.axis.x(e.at_ms);
        svg.line(x, cbottom, x, bottom, "election-line strong", None);
        let y = (ctop + cbottom) / 2.0;
        let class = if e.unclean {
            "election unclean"
        } else {
            "election"
        };
        svg.diamond(x, y, 6.0, class, None);
        let text = format!(
            "{} ms: epoch {} → leader broker-{}, ISR {:?}{}",
            e.at_ms,
            e.leader_epoch,
            e.leader,
            e.isr,
            if e.unclean { " (unclean)" } else { "" }
        );
        svg.text(x + 8.0, y + 4.0, "election-label strong", &text);
    }
}

/// Other sends as faint ticks; each named record's send as a line from invoke to its answer, the answer as a
/// tick in its outcome's colour, linked to the leader's row for its offset.
fn draw_client(svg: &mut Svg, frame: &Frame, view: &RunView, story: &Story) {
    let (top, _) = frame.lanes[&NodeId::Client(0)];
    for s in &view.sends {
        let Some(t) = s.complete_ms else { continue };
        if !frame.axis.shows(t) || view.named_values.contains(&s.value) {
            continue;
        }
        let x = frame.axis.x(t);
        let class = match outcome_of(s) {
            Outcome::Ok => "tick-send ok",
            Outcome::Fail => "tick-send fail",
            Outcome::Info => "tick-send info",
        };
        svg.line(x, top + 2.0, x, top + 12.0, class, None);
    }
    for (i, r) in story
        .records
        .iter()
        .take(frame.client_rows as usize)
        .enumerate()
    {
        let y = top + 24.0 + i as f64 * 16.0;
        draw_named_send(svg, frame, r, y);
    }
}

fn draw_named_send(svg: &mut Svg, frame: &Frame, r: &NamedRecord, y: f64) {
    let Some(s) = &r.send else { return };
    let x0 = frame.axis.x(s.invoke_ms);
    let x1 = frame.axis.x(s.complete_ms.unwrap_or(frame.axis.end_ms()));
    svg.line(x0, y, x1, y, "send-span", None);
    svg.circle(
        x0,
        y,
        2.5,
        "send-start",
        Some(&format!(
            "{} ms: producer {} sends {:#x}",
            s.invoke_ms, s.process, s.value
        )),
    );
    let acked = s.outcome == Some(Outcome::Ok);
    let word = if acked { "✓ acked" } else { "answered" };
    let text = format!(
        "{word} offset {} (producer {}, value {:#x})",
        r.offset, s.process, s.value
    );
    svg.text(x1 + 12.0, y + 4.0, "named-text", &text);
    // Link the acknowledgement to the leader that gave it: the replica that held the record first.
    if let Some((leader, from, _)) = r.held.iter().min_by_key(|h| (h.1, h.0)) {
        let ly = frame.row_y(*leader, r.offset);
        let lx = frame.axis.x(*from);
        svg.line(
            lx,
            ly,
            x1,
            y,
            "link",
            Some(&format!(
                "appended at broker-{leader}, which acknowledged it"
            )),
        );
    }
    svg.open_group(
        "ack",
        Some(&format!("{} ms: {text}", s.complete_ms.unwrap_or(0))),
    );
    svg.circle(x1, y, 7.0, if acked { "ack-ok" } else { "ack-other" }, None);
    svg.text(x1 - 4.5, y + 4.0, "ack-mark", if acked { "✓" } else { "?" });
    svg.close_group();
}

/// Breaks as torn white bands with the time they hide; round ticks within each shown stretch.
fn draw_breaks_and_ticks(svg: &mut Svg, frame: &Frame) {
    let top = frame
        .lanes
        .values()
        .map(|l| l.0)
        .fold(f64::INFINITY, f64::min);
    let bottom = frame.lanes.values().map(|l| l.1).fold(0.0, f64::max);
    for (x, hidden_ms) in frame.axis.breaks() {
        svg.rect(
            x + 6.0,
            top - 2.0,
            BREAK_PX - 12.0,
            bottom - top + 4.0,
            "break",
            None,
        );
        let label = if hidden_ms >= 1000 {
            format!("+{:.1} s", hidden_ms as f64 / 1000.0)
        } else {
            format!("+{hidden_ms} ms")
        };
        svg.text(x + BREAK_PX / 2.0, bottom + 14.0, "break-label", &label);
    }
    for (a, b) in frame.axis.stretches() {
        // About one label per 110 px, none on a sliver.
        let width = frame.axis.x(b) - frame.axis.x(a);
        if width < 70.0 {
            continue;
        }
        let step = tick_step_ms(b - a, (width / 110.0).max(1.0) as u64);
        let mut t = a.div_ceil(step) * step;
        while t <= b {
            let x = frame.axis.x(t);
            svg.line(x, top - 4.0, x, top, "tick", None);
            svg.text(x, top - 7.0, "tick-label", &format!("{t} ms"));
            t += step;
        }
    }
}

/// The final log at the shown offsets, beside the final leader's lane: the named records missing from it.
fn draw_final_log(svg: &mut Svg, frame: &Frame, view: &RunView, story: &Story) {
    let x = frame.right() + 16.0;
    let Some(b) = view.final_leader.or(view.brokers.first().copied()) else {
        return;
    };
    let o = frame.offsets(b);
    let leader = view
        .final_leader
        .map_or("no leader".into(), |l| format!("broker-{l}"));
    svg.text(x, o.y_top - 14.0, "final-title", "final log");
    svg.text(
        x + 52.0,
        o.y_top - 14.0,
        "final-sub",
        &format!("({leader}, the final leader)"),
    );
    for offset in frame.offsets_lo..frame.offsets_hi {
        let y = o.y(offset + 1);
        let named = story.records.iter().find(|r| r.offset == offset);
        let holds = view.final_log.get(&offset);
        let kept = named.is_some_and(|r| r.final_value == Some(r.value));
        let class = match (holds, named) {
            (_, Some(_)) if !kept => "final-cell missing",
            (Some(_), _) => "final-cell",
            (None, _) => "final-cell empty",
        };
        let title = match holds {
            Some(v) => format!("final log: offset {offset} holds {v:#x}"),
            None => format!("final log: nothing at offset {offset}"),
        };
        svg.rect(x, y, 14.0, o.row(), class, Some(&title));
        if let Some(r) = named {
            let text = if kept {
                format!("✓ {offset}: {:#x} is there", r.value)
            } else {
                format!("✗ {offset}: {:#x} missing", r.value)
            };
            svg.text(x + 18.0, y + o.row() - 1.0, "final-text", &text);
        }
    }
}

/// Each replica's LEO where the time axis breaks (its last known one if it is down): the numbers that show who
/// had what when the fault struck.
fn draw_leo_labels(svg: &mut Svg, frame: &Frame, view: &RunView) {
    let stretches = frame.axis.stretches();
    for (_, b) in stretches.iter().take(stretches.len().saturating_sub(1)) {
        for (broker, series) in &view.series {
            let Some((_, Some(m))) = series.iter().rev().find(|(t, m)| *t <= *b && m.is_some())
            else {
                continue;
            };
            let o = frame.offsets(*broker);
            let y = o.y(m.log_end_offset).clamp(o.y_top + 9.0, o.y_bottom - 2.0);
            svg.text(
                frame.axis.x(*b) - 3.0,
                y - 2.0,
                "leo-label end",
                &format!("LEO {}", m.log_end_offset),
            );
        }
    }
}
