//! The compare report as one self-contained HTML page: the guarantees, the verdict map, and per profile its
//! table (rows coloured safe / unavailable / lossy) with latency charts. No scripts, no external resources.

use super::cell::{CellResult, Verdict};
use super::charts::{self, colour, esc};
use super::columns;
use super::run::CompareReport;
use ksim_model::config::Acks;
use std::fmt::Write;

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}\
h1{font-size:22px}h2{font-size:18px;margin-top:32px}table{border-collapse:collapse;margin:8px 0}\
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right;white-space:nowrap}th{background:#f4f4f4}\
td.l{text-align:left;white-space:normal}tr.safe td.v{background:#d8f0dc}tr.unavailable td.v{background:#fde9c4}\
tr.lossy td.v{background:#f8d3d2}.agrees{color:#2e7d32;font-weight:bold}.disagrees{color:#c62828;font-weight:bold}\
.chart text.axis{font-size:11px;fill:#333}.chart text.cell{font-size:11px;fill:#fff;font-weight:bold}\
.legend span{display:inline-block;padding:2px 8px;margin-right:8px;color:#fff;border-radius:3px}";

pub fn render(r: &CompareReport) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ksim compare: {}</title><style>{STYLE}</style></head><body>",
        esc(&r.matrix)
    );
    let _ = writeln!(
        h,
        "<h1>ksim compare: {}</h1><p>{}</p><p>Base scenario <code>{}</code>; {} s fault phase, {} s to settle; seeds {}..{} in each of {} cells.</p>",
        esc(&r.matrix),
        esc(&r.description),
        esc(&r.base),
        r.duration_ms / 1000,
        r.settle_ms / 1000,
        r.seeds.0,
        r.seeds.1,
        r.cells.len()
    );
    h.push_str("<p>Rerun any seed of a cell with <code>ksim compare MATRIX --cell N --seed S</code> (N is the # column; add <code>--html run.html</code> to draw it).</p>\n");
    let _ = writeln!(
        h,
        "<p class=\"legend\"><span style=\"background:{}\">safe</span><span style=\"background:{}\">unavailable: a partition took no write for {:.0} s or more (median seed)</span><span style=\"background:{}\">lossy: acknowledged writes lost or replicas diverged</span></p>",
        colour(Verdict::Safe),
        colour(Verdict::Unavailable),
        r.verdict_rules.unavailable_window_ms as f64 / 1000.0,
        colour(Verdict::Lossy)
    );
    claims(&mut h, r);
    let _ = writeln!(
        h,
        "<h2>Verdict and loss rate per configuration</h2>{}",
        charts::verdict_map(r)
    );
    for p in &r.profiles {
        let numbered: Vec<(usize, &CellResult)> = r.numbered_cells_of(&p.name).collect();
        let cells: Vec<&CellResult> = numbered.iter().map(|(_, c)| *c).collect();
        let _ = writeln!(
            h,
            "<h2 id=\"{}\">{}</h2><p>{}</p>",
            esc(&p.name),
            esc(&p.name),
            esc(&p.description)
        );
        table(&mut h, &numbered);
        let _ = writeln!(
            h,
            "<h3>Produce latency: p50 (dot) to p99 (bar), max (tick)</h3>{}",
            charts::latency_ranges(cells.iter().copied())
        );
        let reference = reference_cells(&cells);
        if !reference.is_empty() {
            let _ = writeln!(
                h,
                "<h3>Produce latency distribution (share acknowledged within a time)</h3>{}",
                charts::latency_cdf(&reference)
            );
        }
    }
    h.push_str("</body></html>\n");
    h
}

fn claims(h: &mut String, r: &CompareReport) {
    h.push_str("<h2>Kafka's documented guarantees against the measurements</h2><table><tr><th>guarantee</th><th>source</th><th>cells</th><th>measured</th></tr>\n");
    for c in &r.claims {
        let measured = match c.holds {
            None => "no cell applies".to_string(),
            Some(true) => "<span class=\"agrees\">agrees</span>".to_string(),
            Some(false) => format!(
                "<span class=\"disagrees\">DISAGREES</span> in {}",
                esc(&c.disagreeing.join("; "))
            ),
        };
        let _ = writeln!(
        h,
        "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{measured}</td></tr>",
            esc(&c.statement),
            esc(&c.source),
            c.cells
        );
    }
    h.push_str("</table>\n");
}

fn table(h: &mut String, cells: &[(usize, &CellResult)]) {
    h.push_str("<table><tr>");
    for header in columns::HEADERS {
        let _ = write!(h, "<th>{}</th>", esc(header));
    }
    h.push_str("</tr>\n");
    for (n, c) in cells {
        let _ = write!(h, "<tr class=\"{}\">", c.verdict.name());
        for (i, field) in columns::row(*n, c).iter().enumerate() {
            let class = if i == columns::VERDICT {
                " class=\"v\""
            } else {
                ""
            };
            let _ = write!(h, "<td{class}>{}</td>", esc(field));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

/// The configurations worth drawing side by side: at replication.factor 3 with clean elections, acks 0 and 1,
/// and acks=all (idempotent) at each min.insync.replicas.
fn reference_cells<'a>(cells: &[&'a CellResult]) -> Vec<&'a CellResult> {
    cells
        .iter()
        .copied()
        .filter(|c| {
            let k = &c.config;
            k.replication_factor == 3
                && !k.unclean_leader_election_enable
                && (k.acks != Acks::All || k.enable_idempotence)
        })
        .take(6)
        .collect()
}
