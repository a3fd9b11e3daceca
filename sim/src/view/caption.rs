//! A story in words, in time order: the sends and their acknowledgements, the faults, the elections, the
//! truncations that removed the named records, and the final log without them.

use super::lanes::describe;
use super::story::{RunView, Story};
use crate::history::Outcome;
use crate::host::samples::WindowKind;

/// The lines of a story's caption as (time ms, sentence), in time order.
pub fn narrate(view: &RunView, story: &Story) -> Vec<(u64, String)> {
    let mut lines: Vec<(u64, u8, String)> = Vec::new();
    // Records beyond the first few are named in the violations list; the caption tells the pattern.
    for r in story.records.iter().take(6) {
        let Some(s) = &r.send else { continue };
        lines.push((
            s.invoke_ms,
            0,
            format!("producer {} sends value {:#x}", s.process, s.value),
        ));
        if let Some(at) = s.complete_ms {
            let leader = r.held.iter().min_by_key(|h| (h.1, h.0)).map(|h| h.0);
            let by = leader.map_or(String::new(), |l| format!(" by broker-{l}"));
            let what = match s.outcome {
                Some(Outcome::Ok) => {
                    format!("acknowledged at offset {}{by} (the producer's ✓)", r.offset)
                }
                Some(Outcome::Fail) => "fails".to_string(),
                _ => "ends unknown".to_string(),
            };
            lines.push((at, 1, format!("value {:#x} {what}", s.value)));
        }
    }
    for w in &view.faults {
        let end = w.end_ms.unwrap_or(view.end_ms);
        if w.start_ms > story.end_ms || end < story.start_ms || matches!(w.kind, WindowKind::Grow) {
            continue;
        }
        lines.push((w.start_ms, 2, format!("fault: {}", describe(w))));
    }
    for e in &view.elections {
        if e.at_ms >= story.start_ms && e.at_ms <= story.end_ms {
            lines.push((
                e.at_ms,
                3,
                format!(
                    "the controller elects broker-{} leader: epoch {}, ISR {:?}{}",
                    e.leader,
                    e.leader_epoch,
                    e.isr,
                    if e.unclean {
                        " (unclean: from outside the ISR)"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    let named: Vec<(i64, u64)> = story.records.iter().map(|r| (r.offset, r.value)).collect();
    for tr in &view.truncations {
        let hits: Vec<String> = tr
            .removed
            .iter()
            .filter(|r| named.contains(r))
            .map(|(o, _)| o.to_string())
            .collect();
        if hits.is_empty() {
            continue;
        }
        lines.push((
            tr.at_ms,
            4,
            format!(
                "broker-{} truncates its log to offset {}: {} records go, among them the named offsets {}",
                tr.broker,
                tr.offset,
                tr.removed.len(),
                hits.join(", ")
            ),
        ));
    }
    lines.sort();
    let mut out: Vec<(u64, String)> = lines.into_iter().map(|(t, _, s)| (t, s)).collect();
    let missing: Vec<String> = story
        .records
        .iter()
        .map(|r| match r.final_value {
            Some(v) if v == r.value => format!("offset {} holds {v:#x}", r.offset),
            Some(v) => format!("offset {} holds {v:#x}, not {:#x}", r.offset, r.value),
            None => format!("offset {} holds nothing, not {:#x}", r.offset, r.value),
        })
        .take(6)
        .collect();
    out.push((
        view.end_ms,
        format!(
            "final log: {}{}",
            missing.join("; "),
            if story.records.len() > 6 { "; …" } else { "" }
        ),
    ));
    out
}
