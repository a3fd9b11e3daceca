//! `ksim compare`: the committed report is what the code produces for its pinned seeds, a matrix's result does
//! not depend on how many threads ran it, and the guarantees the report checks agree with Kafka's docs.

use ksim::compare::claims;
use ksim::compare::run::{run_cells, run_matrix, CompareReport};
use ksim::compare::{html, markdown};
use ksim::scenario::load_matrix;
use std::path::PathBuf;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const REGENERATE: &str = "regenerate with `just compare` (cargo run --release -p ksim -- compare \
                          scenarios/compare/NAME.toml --out reports, for each matrix)";

/// Every `step`th cell of the committed report `name` (spread over every profile and setting) is run again
/// over the report's seeds and must match the committed figures exactly; the rest of the report must follow
/// from the committed cells.
fn committed_report_is_what_the_code_produces(name: &str, step: usize) -> CompareReport {
    let committed: CompareReport =
        serde_json::from_str(&read(&format!("reports/compare-{name}.json")))
            .expect("report parses");
    let matrix = load_matrix(&repo(&format!("scenarios/compare/{name}.toml"))).unwrap();
    assert_eq!(committed.seeds, (0, matrix.seeds), "{REGENERATE}");
    assert_eq!(committed.cells.len(), matrix.cells().len(), "{REGENERATE}");
    assert_eq!(committed.profiles, matrix.profiles, "{REGENERATE}");
    assert_eq!(committed.description, matrix.description, "{REGENERATE}");
    assert_eq!(
        markdown::render(&committed),
        read(&format!("reports/compare-{name}.md")),
        "{REGENERATE}"
    );
    assert_eq!(
        html::render(&committed),
        read(&format!("reports/compare-{name}.html")),
        "{REGENERATE}"
    );
    assert_eq!(
        claims::check(&committed.cells, &matrix.profiles),
        committed.claims,
        "{REGENERATE}"
    );
    let sample: Vec<usize> = (0..committed.cells.len()).step_by(step).collect();
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let rerun = run_cells(&matrix, &sample, committed.seeds, jobs, &|| {});
    for (i, cell) in sample.iter().zip(&rerun) {
        assert_eq!(
            cell, &committed.cells[*i],
            "cell {i} ({} under {}) changed: {REGENERATE}",
            cell.label, cell.profile
        );
    }
    committed
}

#[test]
fn the_committed_default_report_is_what_the_code_produces_for_its_seeds() {
    committed_report_is_what_the_code_produces("default", 6);
}

/// Transactions: the end-to-end latency is to the read_committed consumer, so it includes waiting for the
/// commit marker.
#[test]
fn the_committed_transactions_report_is_what_the_code_produces_for_its_seeds() {
    let r = committed_report_is_what_the_code_produces("transactions", 3);
    for c in &r.cells {
        let (latency, e2e) = (c.latency_ms.p50.unwrap(), c.end_to_end_ms.p50.unwrap());
        assert!(e2e > latency, "{}: {e2e} <= {latency}", c.label);
    }
}

/// The acceptance of the comparison: what the committed report measured agrees with every guarantee Kafka
/// documents that its cells speak of.
#[test]
fn the_committed_report_agrees_with_kafkas_documented_guarantees() {
    let committed: CompareReport =
        serde_json::from_str(&read("reports/compare-default.json")).expect("report parses");
    for claim in &committed.claims {
        assert!(claim.cells > 0, "{} applies to no cell", claim.id);
        assert_eq!(
            claim.holds,
            Some(true),
            "{}: {} disagrees in {:?}",
            claim.id,
            claim.statement,
            claim.disagreeing
        );
    }
}

#[test]
fn a_matrix_gives_the_same_report_on_one_thread_or_two() {
    let matrix = load_matrix(&repo("sim/tests/data/tiny-matrix.toml")).unwrap();
    let one = run_matrix(&matrix, (0, matrix.seeds), 1, &|| {});
    let two = run_matrix(&matrix, (0, matrix.seeds), 2, &|| {});
    assert_eq!(
        serde_json::to_string(&one).unwrap(),
        serde_json::to_string(&two).unwrap()
    );
    // acks=1 loses acknowledged writes when its leader fails over; acks=all with min.insync.replicas=2 does not.
    let [acks1, all] = &one.cells[..] else {
        panic!("two cells expected")
    };
    assert!(acks1.lost_records > 0, "{acks1:?}");
    assert_eq!(all.lost_records, 0, "{all:?}");
    assert!(all.latency_ms.p99 > acks1.latency_ms.p50);
    insta::assert_snapshot!(markdown::render(&one));
}
