//! Swarm testing: each seed draws its own fault mix, rates, latency and workload around the base scenario's Kafka
//! configuration, deterministically; a swarm run reproduces byte for byte from its seed, the fixed model stays
//! clean under it, and a catalog bug put back is caught by it.

use ksim::bugs::CATALOG;
use ksim::host::run_seed;
use ksim::report;
use ksim::scenario::{load, Scenario};
use ksim::swarm::swarm;
use ksim::sweep::{run_all_with, summarize};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn scenario_path(name: &str) -> String {
    format!("{}/../scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

fn library(name: &str) -> Scenario {
    load(Path::new(&scenario_path(name))).unwrap()
}

#[test]
fn the_draw_is_a_function_of_the_seed_and_differs_across_seeds() {
    let base = library("group-rebalance-storm");
    let mut mixes = BTreeSet::new();
    let mut rates = BTreeSet::new();
    for seed in 0..50 {
        let (a, draw) = swarm(&base, seed);
        let (b, again) = swarm(&base, seed);
        assert_eq!((&a, &draw), (&b, &again), "seed {seed}");
        mixes.insert(draw.kinds.clone());
        rates.insert((
            draw.interval_ms,
            draw.fault_duration_ms,
            draw.records_per_second,
        ));
    }
    assert!(
        mixes.len() >= 20,
        "only {} fault mixes in 50 seeds",
        mixes.len()
    );
    assert!(
        rates.len() >= 45,
        "only {} rate draws in 50 seeds",
        rates.len()
    );
}

#[test]
fn the_derived_scenario_keeps_the_kafka_configuration_under_test() {
    for name in ["acks-all-min-insync-2", "eos-pipeline", "zombie-fencing"] {
        let mut base = library(name);
        // A model revert is configuration under test too: a bug put back stays put back.
        (CATALOG[0].revert)(&mut base);
        for seed in 0..10 {
            let (s, _) = swarm(&base, seed);
            assert_eq!(s.name, base.name);
            assert_eq!(s.brokers, base.brokers);
            assert_eq!(s.broker, base.broker);
            assert_eq!(s.topics, base.topics);
            assert_eq!(s.producer, base.producer);
            assert_eq!(s.consumer, base.consumer);
            assert_eq!(s.expect, base.expect);
            assert_eq!(
                (s.duration_ms, s.settle_ms),
                (base.duration_ms, base.settle_ms)
            );
            let config = |s: &Scenario| {
                s.group
                    .as_ref()
                    .map(|g| (g.config.clone(), g.commit, g.processing.clone()))
            };
            assert_eq!(config(&s), config(&base), "{name} seed {seed}");
        }
    }
}

fn ksim_run_swarm(name: &str, seed: &str, json: bool) -> String {
    let path = scenario_path(name);
    let mut args = vec!["run", &path, "--seed", seed, "--swarm"];
    if json {
        args.push("--json");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ksim"))
        .args(&args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ksim_run_swarm_reproduces_its_run_and_prints_the_draw() {
    let first = ksim_run_swarm("zombie-fencing", "3", true);
    let second = ksim_run_swarm("zombie-fencing", "3", true);
    assert_eq!(first, second);
    let report: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert!(
        report["swarm"]["kinds"]
            .as_array()
            .is_some_and(|k| !k.is_empty()),
        "{first}"
    );
    assert!(report["reproduce"]
        .as_str()
        .unwrap()
        .ends_with("--seed 3 --swarm"));
    // The same run as the library function derives, and not the plain seed's run.
    let (derived, _) = swarm(&library("zombie-fencing"), 3);
    let hash = format!("{:016x}", run_seed(&derived, 3).trace_hash);
    assert_eq!(report["trace_hash"].as_str(), Some(hash.as_str()));
    let plain = format!(
        "{:016x}",
        run_seed(&library("zombie-fencing"), 3).trace_hash
    );
    assert_ne!(hash, plain);
    let text = ksim_run_swarm("zombie-fencing", "3", false);
    assert!(text.contains("\nswarm: faults "), "{text}");
}

#[test]
fn a_swarm_sweep_of_the_recommended_configuration_is_clean() {
    let path = scenario_path("acks-all-min-insync-2");
    let reports = run_all_with(
        &library("acks-all-min-insync-2"),
        &path,
        (0, 4),
        2,
        true,
        &|| {},
    );
    let summary = summarize(&library("acks-all-min-insync-2"), &reports);
    assert!(summary.swarm);
    assert!(summary.ok, "{}", ksim::sweep::to_text(&summary));
    // Four seeds, four different runs.
    let hashes: BTreeSet<&str> = reports.iter().map(|r| r.trace_hash.as_str()).collect();
    assert_eq!(hashes.len(), 4);
}

/// KIP-98 put back on zombie-fencing: a seed on which its swarm derivation catches the zombie write, and which
/// is clean with the fix in force (found by `ksim bugs --swarm --only KIP-98`).
const KIP_98_SWARM_SEED: u64 = 1;

#[test]
fn swarm_catches_a_catalog_bug_put_back_and_the_fix_keeps_that_seed_clean() {
    let bug = CATALOG.iter().find(|b| b.name == "KIP-98").unwrap();
    let path = scenario_path(bug.scenario);
    let (fixed, draw) = swarm(&library(bug.scenario), KIP_98_SWARM_SEED);
    let mut broken = fixed.clone();
    (bug.revert)(&mut broken);
    let shown = run_seed(&broken, KIP_98_SWARM_SEED)
        .violations
        .iter()
        .any(|v| bug.shows.contains(&v.kind));
    assert!(
        shown,
        "KIP-98 not caught on swarm seed {KIP_98_SWARM_SEED}: {draw:?}"
    );
    let clean = report::build_swarm(&fixed, &path, &run_seed(&fixed, KIP_98_SWARM_SEED), draw);
    assert!(clean.ok, "{:?}", clean.unexpected);
}
