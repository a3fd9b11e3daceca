//! The HTML page: a header (scenario, seed, trace hash, verdict), the legend, the overview, one panel per story
//! with its caption, and every violation. Self-contained: inline SVG, CSS and a little script, nothing fetched.

use super::caption::narrate;
use super::story::{extract, RunView, MAX_STORIES};
use super::svg::escape;
use super::{focus, overview};
use crate::host::RunOutput;
use crate::report::RunReport;
use std::collections::BTreeMap;
use std::fmt::Write;

/// At most this many violations are listed one by one; the rest are counted.
const MAX_LISTED: usize = 200;

/// The page for one run. `report` is the run's report (for its verdict and reproduce command).
pub fn render(report: &RunReport, run: &RunOutput) -> String {
    let view = extract(run);
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        h,
        "<title>ksim {} seed {}</title>",
        escape(&report.scenario),
        report.seed
    );
    let _ = writeln!(h, "<style>\n{CSS}</style>\n</head>\n<body>");
    h.push_str(PATTERNS);
    header(&mut h, report, &view);
    legend(&mut h);
    h.push_str("<h2>The run</h2>\n");
    let _ = writeln!(
        h,
        r#"<div class="overview-wrap" data-t1="{}" data-x0="{}" data-x1="{}" data-width="{}">"#,
        view.end_ms,
        overview::LEFT,
        overview::WIDTH - 24.0,
        overview::WIDTH
    );
    h.push_str(&overview::render(&view));
    h.push_str("</div>\n");
    stories(&mut h, &view);
    violations(&mut h, report, &view);
    h.push_str(
        "<div id=\"view-ready\" data-ready=\"no\" hidden></div>\n<div id=\"cursor\"></div>\n",
    );
    let _ = writeln!(h, "<script>\n{SCRIPT}</script>\n</body>\n</html>");
    h
}

fn header(h: &mut String, report: &RunReport, view: &RunView) {
    let verdict = if report.ok {
        r#"<span class="verdict ok">as expected</span>"#
    } else {
        r#"<span class="verdict bad">unexpected violations</span>"#
    };
    let _ = writeln!(
        h,
        "<h1>{} <small>seed {}</small></h1>",
        escape(&report.scenario),
        report.seed
    );
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for v in &report.violations {
        *kinds.entry(v.kind.name()).or_default() += 1;
    }
    let kinds: Vec<String> = kinds
        .iter()
        .map(|(k, n)| format!(r#"<span class="kind">{} ×{n}</span>"#, escape(k)))
        .collect();
    let shown = view
        .tp
        .as_ref()
        .map_or("none".to_string(), |tp| tp.to_string());
    let _ = writeln!(
        h,
        "<p class=\"meta\">trace_hash <code id=\"trace-hash\">{}</code> · simulated {:.1} s · {} · violations: {} · partition shown: <b>{}</b></p>",
        escape(&report.trace_hash),
        view.end_ms as f64 / 1000.0,
        verdict,
        if kinds.is_empty() { "none".to_string() } else { kinds.join(" ") },
        escape(&shown)
    );
    let _ = writeln!(
        h,
        "<p class=\"meta\">reproduce: <code>{}</code></p>",
        escape(&report.reproduce)
    );
}

fn legend(h: &mut String) {
    let item = |swatch: &str, text: &str| {
        format!(
            r#"<span class="item"><svg width="26" height="14">{swatch}</svg>{}</span>"#,
            escape(text)
        )
    };
    let items = [
        item(
            r#"<line class="leo" x1="1" y1="10" x2="25" y2="4"/>"#,
            "LEO (log end offset)",
        ),
        item(
            r#"<line class="hw" x1="1" y1="11" x2="25" y2="7"/>"#,
            "HW (high watermark)",
        ),
        item(
            r#"<rect class="leader-band" width="26" height="14"/>"#,
            "replica is leader",
        ),
        item(
            r#"<path class="election" d="M13 1L19 7L13 13L7 7Z"/>"#,
            "election (epoch bump)",
        ),
        item(
            r#"<circle class="isr" cx="13" cy="7" r="4"/>"#,
            "ISR change",
        ),
        item(
            r#"<rect class="fault f-crash" width="26" height="14"/>"#,
            "crash",
        ),
        item(
            r#"<rect class="fault f-power" width="26" height="14"/>"#,
            "power loss",
        ),
        item(
            r#"<rect class="fault f-cut" width="26" height="14"/>"#,
            "network partition",
        ),
        item(
            r#"<rect class="fault f-slow" width="26" height="14"/>"#,
            "slow network",
        ),
        item(
            r#"<rect class="send ok" width="26" height="14"/>"#,
            "send ok",
        ),
        item(
            r#"<rect class="send fail" width="26" height="14"/>"#,
            "send failed",
        ),
        item(
            r#"<rect class="send info" width="26" height="14"/>"#,
            "send unknown (info)",
        ),
        item(
            r#"<rect class="held" width="26" height="14"/>"#,
            "replica holds a record a violation names",
        ),
        item(
            r#"<path class="trunc named" d="M6 2H20L13 12Z"/>"#,
            "truncation removing it",
        ),
    ];
    let _ = writeln!(h, "<div class=\"legend\">{}</div>", items.join(""));
}

fn stories(h: &mut String, view: &RunView) {
    if view.stories.is_empty() {
        h.push_str("<p class=\"note\">No violation names records of this partition.</p>\n");
        return;
    }
    for s in &view.stories {
        let kinds: Vec<&str> = {
            let mut k: Vec<&str> = s.violations.iter().map(|v| v.kind.name()).collect();
            k.dedup();
            k
        };
        let mut offsets: Vec<String> = s
            .records
            .iter()
            .take(8)
            .map(|r| r.offset.to_string())
            .collect();
        if s.records.len() > 8 {
            offsets.push(format!("… ({} records)", s.records.len()));
        }
        let _ = writeln!(
            h,
            "<section class=\"story\" id=\"story-{}\">\n<h2><span class=\"badge\">{}</span> {} ×{} on {}: offsets {}</h2>",
            s.label,
            s.label,
            escape(&kinds.join(", ")),
            s.violations.len(),
            escape(&view.tp.as_ref().map_or(String::new(), |t| t.to_string())),
            escape(&offsets.join(", "))
        );
        h.push_str(&focus::render(view, s));
        h.push_str("<ol class=\"caption\">\n");
        for (t, line) in narrate(view, s) {
            let _ = writeln!(h, "<li><b>{t} ms</b> {}</li>", escape(&line));
        }
        h.push_str("</ol>\n</section>\n");
    }
}

fn violations(h: &mut String, report: &RunReport, view: &RunView) {
    let _ = writeln!(h, "<h2>Violations ({})</h2>", report.violations.len());
    if report.violations.is_empty() {
        h.push_str("<p class=\"note\">None.</p>\n");
        return;
    }
    h.push_str("<ul class=\"violations\">\n");
    for v in report.violations.iter().take(MAX_LISTED) {
        let story = view.stories.iter().find(|s| s.violations.contains(v));
        let link = story.map_or(String::new(), |s| {
            format!(r##" <a class="badge" href="#story-{0}">{0}</a>"##, s.label)
        });
        let records: Vec<String> = v
            .records
            .iter()
            .take(12)
            .map(|(o, val)| format!("{o}:{val:#x}"))
            .collect();
        let _ = writeln!(
            h,
            "<li><span class=\"kind\">{}</span>{} {} <span class=\"records\">{}</span></li>",
            escape(v.kind.name()),
            link,
            escape(&v.message),
            escape(&records.join(" "))
        );
    }
    if report.violations.len() > MAX_LISTED {
        let _ = writeln!(
            h,
            "<li>… and {} more (see <code>ksim run --json</code>)</li>",
            report.violations.len() - MAX_LISTED
        );
    }
    let untold = view.stories.len() == MAX_STORIES;
    if untold {
        let _ = writeln!(
            h,
            "<li class=\"note\">Only the first {MAX_STORIES} stories of the shown partition are drawn.</li>"
        );
    }
    h.push_str("</ul>\n");
}

/// Hatches for the fault windows, defined once for every SVG on the page.
const PATTERNS: &str = r##"<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>
<pattern id="hatch-crash" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#d9d9d9"/><line x1="0" y1="0" x2="0" y2="8" stroke="#8a8a8a" stroke-width="3"/></pattern>
<pattern id="hatch-power" width="7" height="7" patternUnits="userSpaceOnUse"><rect width="7" height="7" fill="#d8c3b4"/><path d="M0 0L7 7M7 0L0 7" stroke="#6b3b1f" stroke-width="1.2"/></pattern>
<pattern id="hatch-cut" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><rect width="8" height="8" fill="#fde9b0"/><line x1="0" y1="0" x2="0" y2="8" stroke="#e0a100" stroke-width="2"/></pattern>
</defs></svg>
"##;

const CSS: &str = r#"body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 16px 20px; color: #222; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h1 small { color: #666; font-weight: normal; }
h2 { font-size: 15px; margin: 18px 0 6px; }
code { font: 12px ui-monospace, monospace; background: #f3f3f3; padding: 0 3px; }
.meta { margin: 2px 0; color: #444; }
.verdict { padding: 1px 6px; border-radius: 3px; color: #fff; }
.verdict.ok { background: #2e7d32; } .verdict.bad { background: #c62828; }
.kind { display: inline-block; padding: 0 5px; margin-right: 4px; border-radius: 3px; background: #fde0e0; color: #b71c1c; font-weight: 600; }
.badge { display: inline-block; min-width: 16px; text-align: center; border-radius: 8px; background: #d62728; color: #fff; font-weight: 700; padding: 0 5px; text-decoration: none; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 8px 0; }
.legend .item { display: inline-flex; align-items: center; gap: 4px; }
.story { border-top: 1px solid #eee; margin-top: 12px; }
.story:target, .story.hot { background: #fff6f6; }
.caption { margin: 6px 0 0; padding-left: 22px; } .caption li { margin: 1px 0; }
.violations { padding-left: 18px; } .violations li { margin: 2px 0; } .records { font: 11px ui-monospace, monospace; color: #b71c1c; }
.note { color: #666; }
#cursor { position: fixed; right: 10px; bottom: 10px; background: #222; color: #fff; padding: 2px 6px; border-radius: 3px; font: 12px ui-monospace, monospace; display: none; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
.lane { fill: #fafafa; stroke: #e3e3e3; }
.lane-label { font-weight: 600; font-size: 12px; } .lane-sub { fill: #888; font-size: 10px; }
.axis-label { fill: #999; font-size: 9px; } .end { text-anchor: end; }
.tick { stroke: #ececec; } .tick-label { fill: #888; font-size: 10px; text-anchor: middle; }
.fault { opacity: 0.75; } .f-crash { fill: url(#hatch-crash); } .f-power { fill: url(#hatch-power); }
.f-cut { fill: url(#hatch-cut); } .f-oneway { fill: url(#hatch-cut); opacity: 0.45; }
.f-slow { fill: #c9b8e8; opacity: 0.25; } .f-grow { fill: #9ecae1; opacity: 0.3; } .f-pause { fill: #fde9b0; }
.fault-label { font-size: 10px; fill: #555; font-style: italic; }
.leader-band { fill: #fff1c7; }
.log-area { fill: #cfe0fb; opacity: 0.55; stroke: none; }
.leo { fill: none; stroke: #1f5fd1; stroke-width: 1.6; }
.hw { fill: none; stroke: #7b3fb3; stroke-width: 1.4; stroke-dasharray: 4 2; }
.election { fill: #f0a000; stroke: #8a5a00; } .election.unclean { fill: #d62728; }
.election-line { stroke: #f0a000; stroke-dasharray: 2 3; } .election-line.strong { stroke-width: 1.5; }
.election-label { font-size: 10px; fill: #7a4d00; } .election-label.strong { font-size: 11px; font-weight: 600; }
.isr { fill: #fff; stroke: #555; } .isr-label { font-size: 9px; fill: #555; }
.trunc { fill: #999; } .trunc.named { fill: #d62728; stroke: #7f0000; }
.send.ok { fill: #2ca02c; } .send.fail { fill: #8c8c8c; } .send.info { fill: #ff9f1c; }
.named-send { fill: #d62728; stroke: #7f0000; }
.story-rect { fill: none; stroke: #d62728; stroke-width: 1.5; stroke-dasharray: 5 3; }
.story-label { fill: #d62728; font-weight: 700; font-size: 12px; }
.named-row { fill: #d62728; opacity: 0.08; }
.row-label { font-size: 9px; fill: #999; text-anchor: end; } .row-label.named { fill: #d62728; font-weight: 700; }
.held { fill: #d62728; opacity: 0.85; }
.trunc-line { stroke: #999; stroke-width: 1.5; } .trunc-line.named { stroke: #d62728; stroke-width: 3; }
.trunc-label { fill: #b71c1c; font-weight: 700; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
.tick-send.ok { stroke: #2ca02c; } .tick-send.fail { stroke: #8c8c8c; } .tick-send.info { stroke: #ff9f1c; }
.send-span { stroke: #555; stroke-width: 1.2; } .send-start { fill: #555; }
.named-text { fill: #b71c1c; font-weight: 600; }
.link { stroke: #d62728; stroke-width: 1.2; stroke-dasharray: 3 2; }
.ack-ok { fill: #2ca02c; stroke: #d62728; stroke-width: 2.5; } .ack-other { fill: #ff9f1c; stroke: #d62728; stroke-width: 2.5; }
.ack-mark { fill: #fff; font-weight: 700; font-size: 11px; }
.break { fill: #fff; stroke: #bbb; stroke-dasharray: 2 2; } .break-label { fill: #666; font-size: 10px; text-anchor: middle; }
.leo-label { fill: #1f5fd1; font-size: 10px; font-weight: 600; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
.final-title { font-weight: 700; } .final-sub { fill: #666; font-size: 10px; }
.final-cell { fill: #cfe0fb; stroke: #fff; } .final-cell.empty { fill: #f3f3f3; } .final-cell.missing { fill: #fff; stroke: #d62728; stroke-width: 1.5; }
.final-text { fill: #b71c1c; font-weight: 600; font-size: 10px; }
"#;

/// A time readout under the pointer on the overview, and the marker the headless check looks for.
const SCRIPT: &str = r#"(function () {
  "use strict";
  var cursor = document.getElementById("cursor");
  var wrap = document.querySelector(".overview-wrap");
  if (wrap && cursor) {
    var svg = wrap.querySelector("svg");
    var t1 = Number(wrap.dataset.t1), x0 = Number(wrap.dataset.x0), x1 = Number(wrap.dataset.x1);
    var width = Number(wrap.dataset.width);
    svg.addEventListener("mousemove", function (e) {
      var box = svg.getBoundingClientRect();
      var x = (e.clientX - box.left) * width / box.width;
      if (x < x0 || x > x1) { cursor.style.display = "none"; return; }
      cursor.textContent = Math.round((x - x0) / (x1 - x0) * t1) + " ms";
      cursor.style.display = "block";
    });
    svg.addEventListener("mouseleave", function () { cursor.style.display = "none"; });
  }
  document.querySelectorAll(".violations a.badge").forEach(function (a) {
    var story = document.getElementById(a.getAttribute("href").slice(1));
    if (!story) { return; }
    a.parentNode.addEventListener("mouseenter", function () { story.classList.add("hot"); });
    a.parentNode.addEventListener("mouseleave", function () { story.classList.remove("hot"); });
  });
  var ready = document.getElementById("view-ready");
  ready.dataset.ready = "yes";
  ready.textContent = document.querySelectorAll("svg").length + " svg";
})();
"#;
