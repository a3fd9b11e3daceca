//! The scenario library holds its promises on a pinned set of seeds: safe configurations show no violation, and
//! the lossy ones show the loss they are known for. The 200+-seed sweeps behind these promises are run by hand
//! (`ksim sweep`); these seeds are the part small enough for CI.

use ksim::checkers::ViolationKind;
use ksim::host::run_seed;
use ksim::scenario::load;
use ksim::sweep::{run_all, summarize};
use std::path::Path;

const PINNED_SEEDS: (u64, u64) = (0, 12);

/// Runs the pinned seeds of `name` and returns which violation kinds appeared in how many seeds, after checking
/// that every seed stayed within what the scenario allows and that every kind it promises to find was found.
fn holds(name: &str) -> Vec<(ViolationKind, u64)> {
    holds_counting(name).0
}

/// The same, with the duplicates and reorders that were only counted (producers without idempotence).
#[allow(clippy::type_complexity)]
fn holds_counting(name: &str) -> (Vec<(ViolationKind, u64)>, Vec<(ViolationKind, u64)>) {
    let path = format!("{}/../scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let scenario = load(Path::new(&path)).expect("scenario loads");
    let reports = run_all(&scenario, &path, PINNED_SEEDS, 2, &|| {});
    let summary = summarize(&scenario, &reports);
    assert!(
        summary.failing.is_empty(),
        "{name}: seeds with violations the scenario does not allow: {:?}",
        summary.failing
    );
    assert!(
        summary.not_found.is_empty(),
        "{name}: promised kinds never found: {:?}",
        summary.not_found
    );
    (
        summary.seeds_with.into_iter().collect(),
        summary.seeds_counting.into_iter().collect(),
    )
}

#[test]
fn acks_all_min_insync_2_loses_nothing() {
    assert_eq!(holds("acks-all-min-insync-2"), vec![]);
}

#[test]
fn unclean_election_disabled_loses_nothing() {
    assert_eq!(holds("unclean-election-disabled"), vec![]);
}

#[test]
fn an_idempotent_producer_neither_duplicates_nor_reorders() {
    assert_eq!(
        holds_counting("idempotent-leader-failover"),
        (vec![], vec![])
    );
}

#[test]
fn without_idempotence_retries_duplicate_and_reorder() {
    let (flagged, counted) = holds_counting("non-idempotent-retries");
    assert_eq!(flagged, vec![], "counted, not flagged");
    assert_eq!(
        counted,
        vec![(ViolationKind::Duplicate, 12), (ViolationKind::Reorder, 12)]
    );
}

#[test]
fn acks_1_leader_crash_loses_acknowledged_writes() {
    let found = holds("acks-1-leader-crash");
    assert!(found.contains(&(ViolationKind::LostWrite, 12)), "{found:?}");
}

#[test]
fn jepsen_2013_isr_shrink_loses_acknowledged_writes() {
    let found = holds("acks-all-min-insync-1-isr-shrink");
    assert!(found.contains(&(ViolationKind::LostWrite, 12)), "{found:?}");
}

#[test]
fn unclean_election_loses_writes_and_diverges() {
    let found = holds("unclean-election");
    let kinds: Vec<ViolationKind> = found.iter().map(|(k, _)| *k).collect();
    assert!(kinds.contains(&ViolationKind::LostWrite), "{found:?}");
    assert!(kinds.contains(&ViolationKind::Divergence), "{found:?}");
}

#[test]
fn a_consumer_stalled_across_an_unclean_election_reads_what_the_new_leader_wrote() {
    let found = holds("unclean-election-paused-consumer");
    assert!(found.contains(&(ViolationKind::LostWrite, 12)), "{found:?}");
    let kinds: Vec<ViolationKind> = found.iter().map(|(k, _)| *k).collect();
    assert!(!kinds.contains(&ViolationKind::LostConsume), "{found:?}");
}

#[test]
fn transactions_hold_through_coordinator_and_leader_failures() {
    assert_eq!(holds("transactions-crash"), vec![]);
}

#[test]
fn transactions_hold_while_the_transaction_log_is_compacted() {
    assert_eq!(holds("transactions-compacted-log"), vec![]);
}

#[test]
fn every_zombie_is_fenced() {
    assert_eq!(holds("zombie-fencing"), vec![]);
}

/// The transactional scenarios exercise what they claim: commits, aborts, read_committed reads, and zombies
/// that get fenced.
#[test]
fn transactional_runs_commit_abort_and_fence() {
    let path = format!(
        "{}/../scenarios/zombie-fencing.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let scenario = load(Path::new(&path)).unwrap();
    let run = run_seed(&scenario, 0);
    let h = &run.history;
    let committed = h.transactions.iter().filter(|t| t.committed()).count();
    let aborted = h.transactions.iter().filter(|t| t.aborted()).count();
    let fenced = h
        .transactions
        .iter()
        .filter(|t| t.error == Some(ksim_model::ErrorCode::PRODUCER_FENCED))
        .count();
    assert!(
        committed > 50 && aborted > 5,
        "{committed} committed, {aborted} aborted"
    );
    assert!(fenced >= 1, "restarts fence their predecessors");
    assert!(h
        .consumes
        .iter()
        .any(|c| matches!(c, ksim::history::ConsumeOp::Poll { process, .. } if h.read_committed.contains(process))));
}

/// Without KIP-98's producer-epoch check on the broker, a zombie's batches land after its successor's abort
/// marker: the checkers must catch it, on the very seeds that are clean with the check.
#[test]
fn without_producer_epoch_fencing_zombies_write() {
    let path = format!(
        "{}/../scenarios/zombie-fencing.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut scenario = load(Path::new(&path)).unwrap();
    assert_eq!(run_seed(&scenario, 0).violations, vec![], "KIP-98 in force");
    scenario
        .broker
        .fixes
        .reverted
        .insert(ksim_model::config::Fix::Kip98ProducerEpochFencing);
    let kinds: Vec<ViolationKind> = run_seed(&scenario, 0)
        .violations
        .iter()
        .map(|v| v.kind)
        .collect();
    assert!(kinds.contains(&ViolationKind::ZombieWrite), "{kinds:?}");
}

#[test]
fn without_eligible_leader_replicas_the_last_replica_standing_loses_acknowledged_writes() {
    let path = format!(
        "{}/../scenarios/acks-all-min-insync-2.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut scenario = load(Path::new(&path)).unwrap();
    assert!(run_seed(&scenario, 0).violations.is_empty(), "KIP-966 on");
    scenario.broker.eligible_leader_replicas_version = 0;
    let kinds: Vec<ViolationKind> = run_seed(&scenario, 0)
        .violations
        .iter()
        .map(|v| v.kind)
        .collect();
    assert!(kinds.contains(&ViolationKind::LostWrite), "{kinds:?}");
}

/// ksim's finding, kept as a test: Kafka's idempotent producer can duplicate across a leader change when a
/// partition has more unacknowledged batches than the broker's five-batch window (see the scenario's notes).
#[test]
fn an_idempotent_producer_duplicates_across_the_leader_change_gap() {
    let path = format!(
        "{}/../scenarios/idempotent-leader-failover.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let scenario = load(Path::new(&path)).unwrap();
    let kinds: Vec<ViolationKind> = run_seed(&scenario, 76)
        .violations
        .iter()
        .map(|v| v.kind)
        .collect();
    assert!(kinds.contains(&ViolationKind::Duplicate), "{kinds:?}");
    assert!(!kinds.contains(&ViolationKind::Reorder), "{kinds:?}");
}

#[test]
fn consume_transform_produce_is_exactly_once() {
    assert_eq!(holds("eos-pipeline"), vec![]);
}
