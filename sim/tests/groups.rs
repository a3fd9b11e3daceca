//! Consumer groups keep their promises on pinned seeds: no partition owned twice and nothing below a committed
//! offset left unprocessed when the application commits after processing, the losses auto-commit with a worker
//! thread is known for, and the double owner that reverting KIP-429's cooperative revocation brings back.

use ksim::checkers::ViolationKind;
use ksim::history::{CommitKind, GroupOp, Outcome};
use ksim::host::run_seed;
use ksim::scenario::{load, Scenario};
use ksim::sweep::{run_all, summarize};
use ksim_model::config::Fix;
use std::collections::BTreeSet;
use std::path::Path;

const PINNED_SEEDS: (u64, u64) = (0, 12);

fn scenario(name: &str) -> (String, Scenario) {
    let path = format!("{}/../scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let scenario = load(Path::new(&path)).expect("scenario loads");
    (path, scenario)
}

/// The kinds of violation seen over the pinned seeds, after checking every seed stayed within what the scenario
/// allows and found what it promises.
fn kinds_over_pinned_seeds(path: &str, scenario: &Scenario) -> BTreeSet<ViolationKind> {
    let reports = run_all(scenario, path, PINNED_SEEDS, 2, &|| {});
    let summary = summarize(scenario, &reports);
    assert!(summary.failing.is_empty(), "{:?}", summary.failing);
    assert!(summary.not_found.is_empty(), "{:?}", summary.not_found);
    summary.seeds_with.keys().copied().collect()
}

#[test]
fn a_rebalance_storm_neither_owns_a_partition_twice_nor_loses_a_consume() {
    let (path, s) = scenario("group-rebalance-storm");
    let kinds = kinds_over_pinned_seeds(&path, &s);
    assert!(
        kinds.is_subset(&BTreeSet::from([ViolationKind::DuplicateConsume])),
        "{kinds:?}"
    );
}

/// The storm is a storm: members come and go, generations pile up, partitions are revoked and lost, commits
/// succeed and fail, and in the end the group has processed and committed everything.
#[test]
fn a_rebalance_storm_rebalances_crashes_stalls_and_still_commits_everything() {
    let (_, s) = scenario("group-rebalance-storm");
    let run = run_seed(&s, 0);
    let ops = &run.history.groups.ops;
    let generations: BTreeSet<i32> = ops
        .iter()
        .filter_map(|op| match op {
            GroupOp::Assigned { generation, .. } => Some(*generation),
            _ => None,
        })
        .collect();
    assert!(generations.len() >= 5, "generations {generations:?}");
    let count = |pred: &dyn Fn(&GroupOp) -> bool| ops.iter().filter(|op| pred(op)).count();
    assert!(count(&|op| matches!(op, GroupOp::Revoked { lost: false, .. })) > 0);
    assert!(count(&|op| matches!(op, GroupOp::Revoked { lost: true, .. })) > 0);
    let commits = |outcome: Outcome| {
        count(
            &|op| matches!(op, GroupOp::Commit { kind: CommitKind::Manual, outcome: o, .. } if *o == outcome),
        )
    };
    assert!(
        commits(Outcome::Ok) > 100,
        "{} commits",
        commits(Outcome::Ok)
    );
    assert!(commits(Outcome::Fail) > 0, "some commits meet a rebalance");
    // Every record written was processed. (Not every one committed: a cooperative member's commits fail while a
    // rebalance runs, and one that processed the last records then has nothing new to commit with.)
    let processed: BTreeSet<u64> = ops
        .iter()
        .flat_map(|op| match op {
            GroupOp::Processed { records, .. } => records.iter().map(|(_, v)| *v).collect(),
            _ => Vec::new(),
        })
        .collect();
    for (tp, partition) in &run.history.final_partitions {
        let missed: Vec<u64> = partition
            .read
            .iter()
            .map(|(_, v)| *v)
            .filter(|v| !processed.contains(v))
            .collect();
        assert!(missed.is_empty(), "{tp}: never processed {missed:?}");
    }
    let committed = &run.history.groups.final_committed["ksim-group"];
    assert_eq!(committed.len(), run.history.final_partitions.len());
}

#[test]
fn auto_commit_with_a_worker_thread_loses_and_duplicates_consumes() {
    let (path, s) = scenario("auto-commit-loss");
    let kinds = kinds_over_pinned_seeds(&path, &s);
    assert!(kinds.contains(&ViolationKind::LostConsume), "{kinds:?}");
}

/// With KIP-429's revocation reverted, a cooperative member runs `onPartitionsRevoked` but keeps reading the
/// partition, and processes it while its next owner does: double-owner, on seeds that are clean with the fix
/// (`a_rebalance_storm_neither_owns_a_partition_twice_nor_loses_a_consume`). A 200-seed sweep finds it in about
/// half the seeds; the first six pinned seeds must show it at least once.
#[test]
fn without_cooperative_revocation_a_revoked_member_keeps_processing() {
    let (_, mut s) = scenario("group-rebalance-storm");
    s.broker
        .fixes
        .reverted
        .insert(Fix::Kip429CooperativeRevocation);
    let double_owned = (0..6)
        .filter(|&seed| {
            run_seed(&s, seed)
                .violations
                .iter()
                .any(|v| v.kind == ViolationKind::DoubleOwner)
        })
        .count();
    assert!(
        double_owned > 0,
        "KIP-429 reverted: no double-owner in seeds 0..6"
    );
}

/// The pipeline is exercised: transactions commit and abort, every committed output names its input, processors
/// crash and come back, and KIP-447 refuses a zombie member's offsets at least once on the pinned seeds.
#[test]
fn consume_transform_produce_commits_aborts_and_fences_zombie_members() {
    let (_, s) = scenario("eos-pipeline");
    let (mut fenced, mut aborted_total) = (0, 0);
    for seed in PINNED_SEEDS.0..PINNED_SEEDS.1 {
        let run = run_seed(&s, seed);
        let h = &run.history;
        let committed = h.transactions.iter().filter(|t| t.committed()).count();
        let aborted = h.transactions.iter().filter(|t| t.aborted()).count();
        assert!(committed > 50, "seed {seed}: {committed} committed");
        let transformed = h
            .groups
            .ops
            .iter()
            .filter(|op| matches!(op, GroupOp::Transformed { .. }))
            .count();
        assert!(transformed > 500, "seed {seed}: {transformed} outputs");
        // TxnOffsetCommit's only abortable errors are the KIP-447 fences (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID).
        fenced += h
            .groups
            .ops
            .iter()
            .filter(|op| {
                matches!(
                    op,
                    GroupOp::Commit {
                        kind: CommitKind::Transactional { .. },
                        outcome: Outcome::Fail,
                        ..
                    }
                )
            })
            .count();
        aborted_total += aborted;
    }
    assert!(
        aborted_total > 0,
        "no transaction aborted on the pinned seeds"
    );
    assert!(
        fenced > 0,
        "no zombie member was fenced on the pinned seeds"
    );
}
