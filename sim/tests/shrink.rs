//! `ksim shrink`: a failing seed becomes a small scenario file that fails the same way in `ksim run`, the same
//! file whatever the number of threads, and a seed with nothing to shrink is refused.

use ksim::checkers::ViolationKind;
use ksim::scenario::load;
use ksim::shrink::shrink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scenario_path(name: &str) -> String {
    format!("{}/../scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ksim-shrink-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn ksim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ksim"))
        .args(args)
        .output()
        .expect("ksim runs")
}

fn trace_hash(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("trace_hash "))
        .expect("the report names its trace hash")
        .to_string()
}

/// Jepsen's 2013 finding: acks=1 acknowledges from the leader alone, and a leader crash loses what followers had
/// not fetched. The library scenario's three crashes on three brokers over 90 s shrink to at most three faults on
/// at most three brokers, and the written file fails with the lost write in `ksim run`, the same way twice.
#[test]
fn the_jepsen_2013_lost_write_shrinks_to_a_small_file_that_fails_in_ksim_run() {
    let dir = scratch("jepsen");
    let out = dir.join("jepsen-2013-lost-write.toml");
    let shrunk = ksim(&[
        "shrink",
        &scenario_path("acks-1-leader-crash"),
        "--seed",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&shrunk.stdout);
    assert_eq!(
        shrunk.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&shrunk.stderr)
    );
    assert!(
        stdout.contains("lost-write at seed 1: shrunk in"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the minimal fault schedule:\n[[at]]"),
        "{stdout}"
    );
    let s = load(&out).expect("the written file loads as a scenario");
    assert!(s.faults.random.is_none(), "the faults are a timeline");
    assert!(
        (1..=3).contains(&s.faults.timeline.len()),
        "{:?}",
        s.faults.timeline
    );
    assert!(s.brokers <= 3, "{} brokers", s.brokers);
    assert!(
        s.duration_ms < 60_000,
        "a shorter run: {} ms",
        s.duration_ms
    );
    let runs: Vec<Output> = (0..2)
        .map(|_| ksim(&["run", out.to_str().unwrap(), "--seed", "1"]))
        .collect();
    for run in &runs {
        let text = String::from_utf8_lossy(&run.stdout);
        assert_eq!(
            run.status.code(),
            Some(1),
            "the lost write is no longer allowed: {text}"
        );
        assert!(text.contains("VIOLATION lost-write"), "{text}");
        assert!(
            text.contains("result: FAILED, unexpected lost-write"),
            "{text}"
        );
    }
    assert_eq!(
        trace_hash(&String::from_utf8_lossy(&runs[0].stdout)),
        trace_hash(&String::from_utf8_lossy(&runs[1].stdout))
    );
}

/// A seed whose faults are drawn at random (KIP-101's HW truncation put back) shrinks too: its drawn schedule
/// becomes a timeline, most of it is dropped, and one thread or two find the very same file.
#[test]
fn a_random_schedule_shrinks_to_the_same_file_on_one_thread_or_two() {
    let base = std::fs::read_to_string(scenario_path("acks-all-min-insync-2")).unwrap();
    let text = format!("{base}\n[model]\nrevert = [\"KIP-101\"]\n");
    let one = shrink(
        &text,
        "kip-101",
        12,
        Some(ViolationKind::LostWrite),
        1,
        |_| (),
    )
    .unwrap();
    let two = shrink(
        &text,
        "kip-101",
        12,
        Some(ViolationKind::LostWrite),
        2,
        |_| (),
    )
    .unwrap();
    assert_eq!(one.text, two.text);
    assert_eq!(one.kind, ViolationKind::LostWrite);
    assert!(one.before.faults >= 3, "{:?}", one.before);
    assert!(
        one.after.faults < one.before.faults,
        "{:?} -> {:?}",
        one.before,
        one.after
    );
    assert!(one
        .report
        .violations
        .iter()
        .any(|v| v.kind == ViolationKind::LostWrite));
}

#[test]
fn a_seed_without_a_violation_or_an_unknown_kind_is_refused_with_exit_2() {
    let dir = scratch("refused");
    let out = dir.join("nothing.toml");
    let clean = ksim(&[
        "shrink",
        &scenario_path("unclean-election"),
        "--seed",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(clean.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&clean.stderr).contains("shows no violation"));
    assert!(!Path::new(&out).exists(), "nothing written");
    let unknown = ksim(&[
        "shrink",
        &scenario_path("acks-1-leader-crash"),
        "--seed",
        "1",
        "--kind",
        "lost",
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--kind lost is no violation kind"));
    let absent = ksim(&[
        "shrink",
        &scenario_path("acks-1-leader-crash"),
        "--seed",
        "1",
        "--kind",
        "zombie-write",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(absent.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&absent.stderr).contains("shows no zombie-write"));
}
