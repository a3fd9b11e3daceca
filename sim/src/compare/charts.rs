//! The compare page's charts as inline SVG: the verdict map (loss rate per configuration and profile), latency
//! ranges per configuration, and cumulative latency distributions of a few reference configurations.

use super::cell::{CellResult, Verdict, CDF_POINTS_MS};
use super::run::CompareReport;
use std::fmt::Write;

pub fn colour(v: Verdict) -> &'static str {
    match v {
        Verdict::Safe => "#2e9e44",
        Verdict::Unavailable => "#e69a00",
        Verdict::Lossy => "#d3322f",
    }
}

/// Minimal escaping for text placed in HTML or SVG.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One row per configuration, one column per profile: the cell's verdict as colour, the share of its seeds
/// that lost acknowledged writes as text.
pub fn verdict_map(r: &CompareReport) -> String {
    let labels: Vec<&str> = r
        .cells_of(&r.profiles[0].name)
        .map(|c| c.label.as_str())
        .collect();
    let (left, top, w, h) = (440.0, 40.0, 150.0, 18.0);
    let width = left + w * r.profiles.len() as f64 + 10.0;
    let height = top + h * labels.len() as f64 + 10.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" role="img" aria-label="verdict and loss rate per configuration and profile" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
    );
    for (j, p) in r.profiles.iter().enumerate() {
        let x = left + w * j as f64 + w / 2.0;
        let _ = write!(
            s,
            r#"<text x="{x}" y="{}" text-anchor="middle" class="axis">{}</text>"#,
            top - 10.0,
            esc(&p.name)
        );
    }
    for (i, label) in labels.iter().enumerate() {
        let y = top + h * i as f64;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end" class="axis">{}</text>"#,
            left - 6.0,
            y + h * 0.7,
            esc(label)
        );
        for (j, p) in r.profiles.iter().enumerate() {
            let Some(c) = r.cells_of(&p.name).find(|c| c.label == *label) else {
                continue;
            };
            let x = left + w * j as f64;
            let text = match c.verdict {
                Verdict::Lossy => format!("{}% lossy", c.loss_percent()),
                Verdict::Unavailable => {
                    format!("{:.1} s out", c.longest_outage_median_ms as f64 / 1000.0)
                }
                Verdict::Safe => "safe".to_string(),
            };
            let _ = write!(
                s,
                r#"<rect x="{x}" y="{y}" width="{}" height="{}" fill="{}"><title>{}: {} ({} of {} seeds lost writes, {} records)</title></rect><text x="{}" y="{}" text-anchor="middle" class="cell">{}</text>"#,
                w - 2.0,
                h - 2.0,
                colour(c.verdict),
                esc(&p.name),
                esc(label),
                c.lossy_seeds,
                c.seeds,
                c.lost_records,
                x + w / 2.0,
                y + h * 0.68,
                text
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// x of a latency on a log scale from 1 ms to 30 s.
fn log_x(ms: u64, left: f64, width: f64) -> f64 {
    let lo = 0.0_f64;
    let hi = 30_000_f64.log10();
    let v = (ms.max(1) as f64).log10().clamp(lo, hi);
    left + width * (v - lo) / (hi - lo)
}

fn log_axis(s: &mut String, left: f64, width: f64, y: f64, bottom: f64) {
    for ms in [1, 10, 100, 1_000, 10_000] {
        let x = log_x(ms, left, width);
        let label = if ms >= 1_000 {
            format!("{} s", ms / 1_000)
        } else {
            format!("{ms} ms")
        };
        let _ = write!(
            s,
            r##"<line x1="{x}" y1="{y}" x2="{x}" y2="{bottom}" stroke="#ddd"/><text x="{x}" y="{}" text-anchor="middle" class="axis">{label}</text>"##,
            y - 4.0
        );
    }
}

/// Per configuration of one profile: a bar from p50 to p99 of produce latency, a tick at the maximum.
pub fn latency_ranges<'a>(cells: impl Iterator<Item = &'a CellResult>) -> String {
    let cells: Vec<&CellResult> = cells.collect();
    let (left, top, plot, h) = (440.0, 28.0, 420.0, 14.0);
    let width = left + plot + 20.0;
    let height = top + h * cells.len() as f64 + 8.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" role="img" aria-label="produce latency p50 to p99 and max per configuration" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
    );
    log_axis(&mut s, left, plot, top, height - 4.0);
    for (i, c) in cells.iter().enumerate() {
        let y = top + h * i as f64 + h / 2.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end" class="axis">{}</text>"#,
            left - 6.0,
            y + 4.0,
            esc(&c.label)
        );
        let p = c.latency_ms;
        let (Some(p50), Some(p99), Some(max)) = (p.p50, p.p99, p.max) else {
            continue;
        };
        let (x50, x99, xmax) = (
            log_x(p50, left, plot),
            log_x(p99, left, plot),
            log_x(max, left, plot),
        );
        let fill = colour(c.verdict);
        let _ = write!(
            s,
            r##"<g><title>{}: p50 {p50} ms, p99 {p99} ms, max {max} ms</title><line x1="{x50}" y1="{y}" x2="{x99}" y2="{y}" stroke="{fill}" stroke-width="6"/><circle cx="{x50}" cy="{y}" r="4" fill="#222"/><line x1="{xmax}" y1="{}" x2="{xmax}" y2="{}" stroke="#222" stroke-width="2"/></g>"##,
            esc(&c.label),
            y - 5.0,
            y + 5.0
        );
    }
    s.push_str("</svg>");
    s
}

/// The cumulative distribution of produce latency for each of `cells`, one line each.
pub fn latency_cdf(cells: &[&CellResult]) -> String {
    const LINES: [&str; 6] = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
    ];
    let (left, top, plot_w, plot_h) = (50.0, 24.0, 420.0, 160.0);
    let width = left + plot_w + 440.0;
    let height = top + plot_h + 30.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" role="img" aria-label="cumulative distribution of produce latency" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
    );
    log_axis(&mut s, left, plot_w, top, top + plot_h);
    for q in [0.0, 0.5, 1.0] {
        let y = top + plot_h * (1.0 - q);
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end" class="axis">{}%</text>"##,
            left + plot_w,
            left - 4.0,
            y + 4.0,
            (q * 100.0) as u32
        );
    }
    for (i, c) in cells.iter().enumerate() {
        let stroke = LINES[i % LINES.len()];
        let points: Vec<String> = CDF_POINTS_MS
            .iter()
            .zip(&c.latency_cdf)
            .map(|(&ms, &q)| {
                format!(
                    "{:.1},{:.1}",
                    log_x(ms, left, plot_w),
                    top + plot_h * (1.0 - q)
                )
            })
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{stroke}" stroke-width="2" points="{}"/><rect x="{}" y="{}" width="12" height="4" fill="{stroke}"/><text x="{}" y="{}" class="axis">{}</text>"#,
            points.join(" "),
            left + plot_w + 12.0,
            top + 16.0 * i as f64 + 4.0,
            left + plot_w + 28.0,
            top + 16.0 * i as f64 + 10.0,
            esc(&c.label)
        );
    }
    s.push_str("</svg>");
    s
}
