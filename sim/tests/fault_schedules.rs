//! Property tests over fault schedules, with proptest's strategies and shrinking: any schedule survives being
//! written and read back, and the recommended configuration loses no acknowledged write under any schedule of
//! crashes and partitions (a failing schedule would be shrunk by proptest to a minimal one before it is reported).

use ksim::checkers::ViolationKind;
use ksim::host::{run_seed_with, RunOptions};
use ksim::nemesis::fault::{Fault, Target};
use ksim::report;
use ksim::scenario::{faults_file, load, load_faults, Scenario, ScheduledFault};
use proptest::prelude::*;
use std::path::Path;

fn scenario(name: &str) -> Scenario {
    load(Path::new(&format!(
        "{}/../scenarios/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    )))
    .unwrap()
}

fn target(brokers: i32) -> impl Strategy<Value = Target> {
    prop_oneof![
        Just(Target::Leader),
        Just(Target::Controller),
        (1..=brokers).prop_map(Target::Broker),
    ]
}

/// Faults that the recommended configuration promises to survive: a process crash (the page cache survives),
/// a node cut off, the Jepsen 2013 partition, a split cluster, a one-way link and slow lossy links. Power loss
/// of several replicas is excluded: Kafka acknowledges from the page cache.
fn survivable(brokers: i32) -> impl Strategy<Value = Fault> {
    prop_oneof![
        target(brokers).prop_map(|target| Fault::Crash { target }),
        target(brokers).prop_map(|target| Fault::Isolate { target }),
        (1..=brokers).prop_map(|b| Fault::CutOffFromCluster {
            target: Target::Broker(b)
        }),
        Just(Fault::SplitHalves),
        (target(brokers), target(brokers))
            .prop_filter("a link between two nodes", |(from, to)| from != to)
            .prop_map(|(from, to)| Fault::OneWay { from, to }),
        (1..20u64, 20..100u64, 0..30u32).prop_map(|(min_ms, max_ms, loss)| Fault::Slow {
            min_ms,
            max_ms,
            loss_rate: f64::from(loss) / 100.0,
        }),
    ]
}

/// Up to `most` faults starting inside `duration_ms`, each 100 ms to 10 s long, in order of their start.
fn schedule(
    brokers: i32,
    duration_ms: u64,
    most: usize,
) -> impl Strategy<Value = Vec<ScheduledFault>> {
    prop::collection::vec(
        (0..duration_ms, 100..10_000u64, survivable(brokers)).prop_map(move |(at_ms, d, fault)| {
            ScheduledFault {
                at_ms,
                duration_ms: d.min(duration_ms - at_ms),
                fault,
            }
        }),
        0..=most,
    )
    .prop_map(|mut s| {
        s.sort_by_key(|f| f.at_ms);
        s
    })
}

/// `cases` cases drawn from a fixed seed: CI runs the same schedules every time, as every ksim run is
/// deterministic. Change the seed here to explore other schedules.
fn fixed(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(2026),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(fixed(64))]

    #[test]
    fn any_schedule_reads_back_from_its_file_as_written(faults in schedule(3, 60_000, 8)) {
        let s = scenario("acks-all-min-insync-2");
        let file = std::env::temp_dir().join(format!("ksim-schedule-{}.toml", std::process::id()));
        std::fs::write(&file, faults_file::to_toml(&faults, "a property test")).unwrap();
        prop_assert_eq!(load_faults(&file, &s).unwrap(), faults);
    }
}

proptest! {
    // Each case is a whole run of a 3-broker cluster; a dozen keep the suite fast.
    #![proptest_config(fixed(12))]

    #[test]
    fn acks_all_with_min_insync_2_loses_nothing_under_any_schedule_of_crashes_and_partitions(
        faults in schedule(3, 20_000, 4),
        seed in 0..1_000u64,
    ) {
        let mut s = scenario("acks-all-min-insync-2");
        s.duration_ms = 20_000;
        let options = RunOptions { faults: Some(faults), ..RunOptions::default() };
        let r = report::build(&s, "property", &run_seed_with(&s, seed, options));
        // Durability is the claim here. Duplicates of the idempotent producer under overlapping faults (a split
        // while the leader is isolated) are a separate open question: see the issue notes.
        let lost: Vec<_> = r
            .violations
            .iter()
            .filter(|v| matches!(v.kind, ViolationKind::LostWrite | ViolationKind::CommittedLost | ViolationKind::Divergence))
            .map(|v| v.message.as_str())
            .collect();
        prop_assert!(lost.is_empty(), "seed {}: {:?}", seed, lost.first());
    }
}
