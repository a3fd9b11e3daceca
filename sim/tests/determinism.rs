//! One seed decides everything: the same scenario and seed give the same trace hash and the same report, in one
//! process and across processes; different seeds give different runs.

use ksim::host::run_seed;
use ksim::report;
use ksim::scenario::load;
use std::path::Path;
use std::process::Command;

fn scenario_path(name: &str) -> String {
    format!("{}/../scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

/// Plain producers, transactional ones with their coordinator and zombies, and a consumer group with crashing
/// and stalling members.
#[test]
fn the_same_seed_gives_the_same_trace_and_report() {
    for name in [
        "acks-all-min-insync-2",
        "zombie-fencing",
        "group-rebalance-storm",
    ] {
        let path = scenario_path(name);
        let scenario = load(Path::new(&path)).unwrap();
        let a = run_seed(&scenario, 7);
        let b = run_seed(&scenario, 7);
        assert_eq!(a.trace_hash, b.trace_hash, "{name}");
        assert_eq!(a.events, b.events, "{name}");
        assert!(a.events > 1_000, "a real run traces many events");
        let (ra, rb) = (
            report::build(&scenario, &path, &a),
            report::build(&scenario, &path, &b),
        );
        assert_eq!(
            serde_json::to_string(&ra).unwrap(),
            serde_json::to_string(&rb).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn different_seeds_give_different_traces() {
    let path = scenario_path("acks-all-min-insync-2");
    let scenario = load(Path::new(&path)).unwrap();
    let hashes: Vec<u64> = (0..4).map(|s| run_seed(&scenario, s).trace_hash).collect();
    for i in 0..hashes.len() {
        for j in i + 1..hashes.len() {
            assert_ne!(hashes[i], hashes[j], "seeds {i} and {j}");
        }
    }
}

#[test]
fn two_processes_print_byte_identical_reports_and_traces() {
    let dir = std::env::temp_dir().join(format!("ksim-determinism-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = scenario_path("acks-1-leader-crash");
    let run = |trace: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_ksim"))
            .args(["run", &path, "--seed", "3", "--json", "--trace"])
            .arg(trace)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        (out.stdout, std::fs::read(trace).unwrap())
    };
    let (report_a, trace_a) = run(&dir.join("a.trace"));
    let (report_b, trace_b) = run(&dir.join("b.trace"));
    assert!(!report_a.is_empty() && !trace_a.is_empty());
    assert_eq!(report_a, report_b, "reports differ across processes");
    assert_eq!(trace_a, trace_b, "traces differ across processes");
    let json: serde_json::Value = serde_json::from_slice(&report_a).unwrap();
    for key in ["scenario", "seed", "violations", "stats", "trace_hash"] {
        assert!(json.get(key).is_some(), "--json has no `{key}`");
    }
    assert_eq!(json["violations"][0]["kind"], "lost-write");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `ksim check-determinism`: every seed's two processes trace the same events, and madsim's own check passes.
#[test]
fn check_determinism_finds_each_seed_the_same_in_two_processes_and_under_madsims_check() {
    let out = Command::new(env!("CARGO_BIN_EXE_ksim"))
        .args(["check-determinism", &scenario_path("transactions-crash")])
        .args(["--seeds", "0..2", "--madsim"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("seed 1: the same"), "{text}");
    assert!(text.contains("madsim's check passed"), "{text}");
    assert!(text.contains("result: deterministic"), "{text}");
}

/// The comparison names the first event where two real traces part (here two seeds, which differ on purpose).
#[test]
fn a_divergence_is_named_at_its_first_differing_event() {
    let dir = std::env::temp_dir().join(format!("ksim-divergence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = scenario_path("acks-1-leader-crash");
    let trace = |seed: &str| {
        let file = dir.join(format!("{seed}.trace"));
        Command::new(env!("CARGO_BIN_EXE_ksim"))
            .args(["run", &path, "--seed", seed, "--trace"])
            .arg(&file)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        std::fs::read_to_string(&file).unwrap()
    };
    let (a, b) = (trace("1"), trace("2"));
    let d = ksim::determinism::first_divergence(&a, &b).expect("two seeds diverge");
    let (first, second) = (d.first.unwrap(), d.second.unwrap());
    assert_ne!(first, second);
    assert_eq!(a.lines().nth(d.event - 1), Some(first.as_str()));
    // Everything before it is shared.
    assert!(a
        .lines()
        .zip(b.lines())
        .take(d.event - 1)
        .all(|(x, y)| x == y));
    std::fs::remove_dir_all(&dir).unwrap();
}
