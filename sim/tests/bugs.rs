//! The catalog of historic Kafka bugs: each bug, put back, is caught on a seed known to expose it, and the same
//! seed is clean with the fix in force.

use ksim::bugs::CATALOG;
use ksim::host::run_seed;
use ksim::report;
use ksim::scenario::load;
use std::path::Path;

fn scenario_path(name: &str) -> String {
    format!("{}/../scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

/// A seed that exposes each bug (found by `ksim bugs`).
const KNOWN: [(&str, u64); 8] = [
    ("KIP-101", 12),
    ("KIP-279", 288),
    ("KAFKA-7128", 2),
    ("KIP-320", 0),
    ("KIP-98", 0),
    ("KIP-966", 0),
    ("KIP-429", 0),
    ("KAFKA-15583", 9),
];

#[test]
fn each_catalog_bug_is_caught_on_its_seed_and_the_fix_keeps_that_seed_clean() {
    std::thread::scope(|scope| {
        for (name, seed) in KNOWN {
            scope.spawn(move || {
                let bug = CATALOG.iter().find(|b| b.name == name).expect(name);
                let path = scenario_path(bug.scenario);
                let fixed = load(Path::new(&path)).unwrap();
                let mut broken = fixed.clone();
                (bug.revert)(&mut broken);
                let shown: Vec<_> = run_seed(&broken, seed)
                    .violations
                    .iter()
                    .map(|v| v.kind)
                    .filter(|k| bug.shows.contains(k))
                    .collect();
                assert!(!shown.is_empty(), "{name} not caught on seed {seed}");
                let clean = report::build(&fixed, &path, &run_seed(&fixed, seed));
                assert!(
                    clean.ok,
                    "{name}: seed {seed} fails with the fix: {:?}",
                    clean.unexpected
                );
            });
        }
    });
}

#[test]
fn every_catalog_bug_names_a_library_scenario_and_the_violations_that_show_it() {
    for bug in &CATALOG {
        assert!(
            load(Path::new(&scenario_path(bug.scenario))).is_ok(),
            "{}",
            bug.name
        );
        assert!(!bug.shows.is_empty(), "{}", bug.name);
    }
}
