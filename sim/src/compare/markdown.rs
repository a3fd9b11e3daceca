//! The compare report as Markdown: readable on a code host, one table per fault profile, the documented
//! guarantees first.

use super::cell::{CellResult, Verdict};
use super::columns;
use super::run::CompareReport;
use std::fmt::Write;

pub fn render(r: &CompareReport) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "# ksim compare: {}\n", r.matrix);
    let _ = writeln!(t, "{}\n", r.description);
    let _ = writeln!(
        t,
        "Rerun any seed of a cell with `ksim compare MATRIX --cell N --seed S` (N is the `#` column; add \
         `--html run.html` to draw it).\n"
    );
    let _ = writeln!(
        t,
        "Base scenario `{}`; each run has a {} s fault phase and {} s to settle; seeds {}..{} in every cell; {} cells.\n",
        r.base,
        r.duration_ms / 1000,
        r.settle_ms / 1000,
        r.seeds.0,
        r.seeds.1,
        r.cells.len()
    );
    let _ = writeln!(
        t,
        "**Verdicts.** {} lossy: some seed lost an acknowledged record or left replicas diverged. {} unavailable: \
         in the median seed some partition went {} s or more without taking a write (longer than a leader \
         fail-over takes). {} safe: neither. **Unavailable** counts produce requests (per partition batch, acks 1 \
         or all) answered NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND or REQUEST_TIMED_OUT, or never \
         answered; the producer retries them, so they cost latency before they cost a failed send. Latencies are \
         from `send` to its acknowledgement (acks=0: to the hand-off), end-to-end to the first consumer poll that \
         returned the record (a read_committed consumer's when the base has one), in simulated time.\n",
        mark(Verdict::Lossy),
        mark(Verdict::Unavailable),
        r.verdict_rules.unavailable_window_ms as f64 / 1000.0,
        mark(Verdict::Safe)
    );
    claims(&mut t, r);
    for p in &r.profiles {
        let _ = writeln!(t, "## {}\n\n{}\n", p.name, p.description);
        table(&mut t, r.numbered_cells_of(&p.name));
    }
    t
}

fn claims(t: &mut String, r: &CompareReport) {
    let _ = writeln!(
        t,
        "## Kafka's documented guarantees against the measurements\n"
    );
    let _ = writeln!(t, "| guarantee | source | cells | measured |");
    let _ = writeln!(t, "|---|---|---|---|");
    for c in &r.claims {
        let measured = match c.holds {
            None => "no cell applies".to_string(),
            Some(true) => "agrees".to_string(),
            Some(false) => format!("**DISAGREES** in {}", c.disagreeing.join("; ")),
        };
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} |",
            c.statement, c.source, c.cells, measured
        );
    }
    t.push('\n');
}

fn table<'a>(t: &mut String, cells: impl Iterator<Item = (usize, &'a CellResult)>) {
    let _ = writeln!(t, "| {} |", columns::HEADERS.join(" | "));
    let _ = writeln!(t, "|{}", "---|".repeat(columns::HEADERS.len()));
    for (n, c) in cells {
        let mut row = columns::row(n, c);
        row[columns::VERDICT] = format!("{} {}", mark(c.verdict), row[columns::VERDICT]);
        let _ = writeln!(t, "| {} |", row.join(" | "));
    }
    t.push('\n');
}

pub fn mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Safe => "🟢",
        Verdict::Unavailable => "🟠",
        Verdict::Lossy => "🔴",
    }
}
