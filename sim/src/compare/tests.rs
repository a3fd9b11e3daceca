//! The matrix file, the cells it makes, the scenarios they run, and the guarantees that judge them.

use super::cell::{CellResult, Verdict};
use super::claims;
use super::matrix::{Config, Matrix};
use super::measure::SeedMeasure;
use crate::nemesis::fault::{Fault, Target};
use crate::scenario::{load_matrix, ScenarioError};
use ksim_model::config::Acks;
use std::path::PathBuf;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn default_matrix() -> Matrix {
    load_matrix(&repo("scenarios/compare/default.toml")).expect("the default matrix loads")
}

/// Loads `text` as a matrix named `bad` whose base is the library's acks-all-min-insync-2.
fn load_text(test: &str, text: &str) -> Result<Matrix, ScenarioError> {
    let dir = std::env::temp_dir().join(format!("ksim-matrix-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    let base = repo("scenarios/acks-all-min-insync-2.toml");
    let text = text.replace("BASE", &base.display().to_string());
    std::fs::write(&path, text).unwrap();
    load_matrix(&path)
}

const GOOD: &str = r#"name = "bad"
description = "a small matrix"
base = "BASE"
duration_ms = 20000

[axes]
acks = ["1", "all"]
"min.insync.replicas" = [1, 2]
"replication.factor" = [3]
"unclean.leader.election.enable" = [false]
"enable.idempotence" = [true]

[[profile]]
name = "leader-crash"
description = "kill the leader"
leader_failover = true
majority_disks_intact = true
replica_leaves_isr = true
[[profile.faults.at]]
at_ms = 5000
duration_ms = 10000
kind = "crash"
target = "leader"
"#;

#[test]
fn the_default_matrix_has_every_combination_kafka_runs_differently() {
    let m = default_matrix();
    assert_eq!(m.seeds, 50);
    assert_eq!(m.profiles.len(), 5);
    // acks 0 and 1: rf 1 (clean only) + rf 2, 3, 5 with both unclean settings = 7 each; acks=all: the
    // (rf, min.insync <= rf) pairs 1+2+3+3 = 9, unclean varied except at rf 1 (17), times idempotence (34).
    assert_eq!(m.configs().len(), 7 + 7 + 34);
    assert_eq!(m.cells().len(), 48 * 5);
}

#[test]
fn configs_skip_what_kafka_ignores_or_refuses() {
    let configs = default_matrix().configs();
    for c in &configs {
        if c.acks != Acks::All {
            assert_eq!(
                c.min_insync_replicas, None,
                "min.insync only binds acks=all"
            );
            assert!(
                !c.enable_idempotence,
                "Kafka refuses idempotence without acks=all"
            );
        } else {
            assert!(c.min_insync_replicas.unwrap() as i32 <= c.replication_factor);
        }
        if c.replication_factor == 1 {
            assert!(!c.unclean_leader_election_enable);
        }
    }
    let recommended = Config {
        acks: Acks::All,
        min_insync_replicas: Some(2),
        replication_factor: 3,
        unclean_leader_election_enable: false,
        enable_idempotence: true,
    };
    assert!(configs.contains(&recommended));
}

#[test]
fn a_cell_runs_the_base_with_its_settings_on_a_cluster_as_large_as_its_replication_factor() {
    let m = default_matrix();
    let cells = m.cells();
    let cell = cells
        .iter()
        .find(|c| c.profile.name == "rolling-restart" && c.config.replication_factor == 5)
        .unwrap();
    let s = m.scenario(cell);
    assert_eq!(s.brokers, 5);
    assert_eq!(s.duration_ms, 30_000);
    assert!(s.topics.iter().all(|t| t.replication_factor == 5));
    assert_eq!(s.producer.acks, cell.config.acks);
    // The rolling restart hits every broker of this cluster in turn.
    let hit: Vec<(u64, Target)> = s
        .faults
        .timeline
        .iter()
        .map(|f| match f.fault {
            Fault::Crash { target } => (f.at_ms, target),
            ref other => panic!("unexpected {other:?}"),
        })
        .collect();
    let expected: Vec<(u64, Target)> = (1..=5)
        .map(|b| (2_000 + 6_500 * (b as u64 - 1), Target::Broker(b)))
        .collect();
    assert_eq!(hit, expected);
    assert!(s.faults.random.is_none());
    // A comparison measures: nothing it finds fails the run.
    assert_eq!(
        s.expect.allow.len(),
        crate::checkers::ViolationKind::ALL.len()
    );
}

#[test]
fn a_small_matrix_loads_and_overrides_the_fault_phase() {
    let m = load_text("good", GOOD).unwrap();
    assert_eq!(m.base.duration_ms, 20_000);
    assert_eq!(
        m.configs().len(),
        3,
        "acks=1, and acks=all at min.insync 1 and 2"
    );
}

fn error(test: &str, edit: (&str, &str)) -> ScenarioError {
    assert!(GOOD.contains(edit.0), "{}", edit.0);
    load_text(test, &GOOD.replace(edit.0, edit.1)).unwrap_err()
}

#[test]
fn matrix_errors_name_the_file_line_and_key() {
    let e = error(
        "axis",
        (
            "\"enable.idempotence\" = [true]",
            "\"enable.idempotence\" = [true]\nbatch = [1]",
        ),
    );
    assert_eq!((e.line, e.key.as_str()), (12, "axes.batch"));
    assert!(e.file.ends_with("bad.toml"), "{e}");

    let e = error("acks", ("acks = [\"1\", \"all\"]", "acks = [\"1\", \"2\"]"));
    assert_eq!((e.line, e.key.as_str()), (7, "axes.acks[1]"));
    assert!(e.message.contains("\"2\""), "{e}");

    let e = error(
        "repeat",
        (
            "\"replication.factor\" = [3]",
            "\"replication.factor\" = [3, 3]",
        ),
    );
    assert!(e.message.contains("repeats"), "{e}");

    let e = error("kind", ("kind = \"crash\"", "kind = \"meteor\""));
    assert_eq!(e.key, "profile[0].faults.at[0].kind");
    assert_eq!(e.line, 22);

    let e = error("flag", ("replica_leaves_isr = true\n", ""));
    assert!(
        e.message
            .contains("missing required key profile[0].replica_leaves_isr"),
        "{e}"
    );

    let e = error(
        "stagger",
        (
            "[[profile.faults.at]]",
            "[[profile.every_broker]]\nkind = \"crash\"\nat_ms = 1000\nduration_ms = 1000\nstagger_ms = 12000\n[[profile.faults.at]]",
        ),
    );
    assert!(e.message.contains("after the fault phase"), "{e}");
    assert_eq!(e.key, "profile[0].every_broker[0].stagger_ms");

    let e = error(
        "empty",
        (
            "acks = [\"1\", \"all\"]\n\"min.insync.replicas\" = [1, 2]",
            "acks = [\"all\"]\n\"min.insync.replicas\" = [4]",
        ),
    );
    assert!(e.message.contains("no configuration is left"), "{e}");

    // A base that does not load reports the base file's own error.
    let e = error("base", ("base = \"BASE\"", "base = \"BASE.missing\""));
    assert!(e.file.ends_with(".missing"), "{e}");
}

fn recommended(profile: &str, lost: u64) -> CellResult {
    let config = Config {
        acks: Acks::All,
        min_insync_replicas: Some(2),
        replication_factor: 3,
        unclean_leader_election_enable: false,
        enable_idempotence: true,
    };
    let seeds: Vec<SeedMeasure> = (0..4)
        .map(|seed| SeedMeasure {
            seed,
            lost_records: if seed == 2 { lost } else { 0 },
            ..SeedMeasure::default()
        })
        .collect();
    CellResult::of(profile, config, 3, &seeds, &Default::default())
}

#[test]
fn the_no_loss_guarantee_fires_on_a_lossy_cell_and_ignores_correlated_power_loss() {
    let m = default_matrix();
    let lossy = recommended("leader-crash", 7);
    assert_eq!(lossy.verdict, Verdict::Lossy);
    assert_eq!((lossy.lossy_seeds, lossy.first_lossy_seed), (1, Some(2)));
    let claims = claims::check(&[lossy], &m.profiles);
    let no_loss = &claims[0];
    assert_eq!(no_loss.id, "no-loss-configuration");
    assert_eq!(no_loss.holds, Some(false));
    assert_eq!(no_loss.disagreeing.len(), 1);

    let clean = claims::check(&[recommended("leader-crash", 0)], &m.profiles);
    assert_eq!(clean[0].holds, Some(true));
    // Whole-rack power loss takes the disks of every replica: the guarantee does not speak of it.
    let rack = claims::check(&[recommended("rack-power-loss", 7)], &m.profiles);
    assert_eq!(rack[0].holds, None);
}
