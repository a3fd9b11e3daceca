//! Faults as data: a run's fault schedule is a plain value that is written as a file and replayed exactly, and an
//! edited schedule is a run of its own, as deterministic as any other.

use ksim::host::{run_seed, run_seed_with, RunOptions};
use ksim::scenario::{faults_file, load, load_faults, parse};
use ksim::shrink::with_schedule;
use std::path::{Path, PathBuf};

fn scenario_path(name: &str) -> String {
    format!("{}/../scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ksim-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Random broker, network and slow-link faults; consumer crashes and pauses with the group coordinator as a
/// target; partition growth.
#[test]
fn a_runs_own_schedule_written_and_replayed_gives_the_same_run() {
    let dir = scratch();
    for (name, seed) in [
        ("acks-all-min-insync-2", 3),
        ("group-rebalance-storm", 0),
        ("partition-growth", 0),
    ] {
        let scenario = load(Path::new(&scenario_path(name))).unwrap();
        let original = run_seed(&scenario, seed);
        assert!(original.schedule.len() >= 2, "{name}: a schedule to replay");
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(&file, faults_file::to_toml(&original.schedule, "test")).unwrap();
        let loaded = load_faults(&file, &scenario).unwrap();
        assert_eq!(
            loaded, original.schedule,
            "{name}: the file holds the schedule"
        );
        let replayed = run_seed_with(
            &scenario,
            seed,
            RunOptions {
                faults: Some(loaded),
                ..RunOptions::default()
            },
        );
        assert_eq!(replayed.trace_hash, original.trace_hash, "{name}");
        assert_eq!(replayed.violations, original.violations, "{name}");
    }
}

/// What `ksim shrink` starts from: the seed's drawn faults as the scenario's own `[[faults.at]]` timeline, with
/// its random faults drawn but not applied (`apply = false`), so the seed's later draws and the run stay the same.
#[test]
fn a_seeds_drawn_faults_written_into_the_scenario_as_a_timeline_replay_its_run() {
    for (name, seed) in [("acks-all-min-insync-2", 3), ("group-rebalance-storm", 0)] {
        let text = std::fs::read_to_string(scenario_path(name)).unwrap();
        let scenario = parse(&text, name).unwrap();
        let original = run_seed(&scenario, seed);
        assert!(original.schedule.len() >= 2, "{name}: faults were drawn");
        let scripted = parse(&with_schedule(&text, &original.schedule), name).unwrap();
        assert!(!scripted.faults.random.as_ref().unwrap().apply);
        assert_eq!(scripted.faults.timeline, original.schedule, "{name}");
        let replayed = run_seed(&scripted, seed);
        assert_eq!(replayed.schedule, original.schedule, "{name}");
        assert_eq!(replayed.trace_hash, original.trace_hash, "{name}");
    }
}

#[test]
fn an_edited_schedule_is_its_own_deterministic_run() {
    let scenario = load(Path::new(&scenario_path("acks-1-leader-crash"))).unwrap();
    let original = run_seed(&scenario, 1);
    let fewer = original.schedule[1..].to_vec();
    let run = || {
        run_seed_with(
            &scenario,
            1,
            RunOptions {
                faults: Some(fewer.clone()),
                ..RunOptions::default()
            },
        )
    };
    let (a, b) = (run(), run());
    assert_eq!(a.schedule, fewer);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_ne!(a.trace_hash, original.trace_hash);
}

#[test]
fn a_schedule_naming_a_broker_the_cluster_lacks_is_refused_with_its_line_and_key() {
    let dir = scratch();
    let scenario = load(Path::new(&scenario_path("acks-1-leader-crash"))).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "[[at]]\nat_ms = 1000\nduration_ms = 500\nkind = \"crash\"\ntarget = \"leader\"\n\n\
         [[at]]\nat_ms = 2000\nduration_ms = 500\nkind = \"crash\"\ntarget = { broker = 9 }\n",
    )
    .unwrap();
    let e = load_faults(&file, &scenario).unwrap_err();
    assert_eq!((e.line, e.key.as_str()), (11, "at[1].target.broker"), "{e}");
    assert!(e.message.contains("1..=3"), "{e}");
}
