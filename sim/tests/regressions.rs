//! Every failure ksim ever found (`scenarios/regressions/seeds.toml`) is replayed and must stay fixed.

use ksim::checkers::ViolationKind;
use ksim::parallel::in_parallel;
use ksim::regressions::{self, Regression};
use std::path::PathBuf;

fn file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/regressions/seeds.toml")
}

#[test]
fn every_regression_seed_stays_fixed() {
    let all = regressions::load(&file()).unwrap();
    assert!(all.len() >= 5, "{} regressions", all.len());
    let failures: Vec<String> = in_parallel(all.len(), all.len(), |i| {
        let r = &all[i];
        regressions::replay(&file(), r).map(|why| format!("{} seed {}: {why}", r.scenario, r.seed))
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The replay fails a seed that shows its violation again, even where the scenario allows that kind.
#[test]
fn a_seed_that_shows_its_violation_again_fails() {
    let lost = Regression {
        scenario: "acks-1-leader-crash".into(),
        seed: 1,
        violation: ViolationKind::LostWrite,
        note:
            "acks=1 loses writes on leader fail-over by design: this regression cannot stay fixed"
                .into(),
    };
    let why = regressions::replay(&file(), &lost).expect("it shows lost-write");
    assert!(why.starts_with("shows lost-write again"), "{why}");
    assert!(why.contains("--seed 1"), "{why}");
}

#[test]
fn a_malformed_regressions_file_names_its_line() {
    let dir = std::env::temp_dir().join(format!("ksim-regressions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("seeds.toml");
    std::fs::write(
        &bad,
        "[[regression]]\nscenario = \"x\"\nseed = 1\nviolation = \"lost-writes\"\nnote = \"\"\n",
    )
    .unwrap();
    let e = regressions::load(&bad).unwrap_err();
    assert!(e.contains("seeds.toml:4:"), "{e}");
}
