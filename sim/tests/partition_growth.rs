//! A topic grown during a run: the controller adds the partitions, producers write to them, the final read
//! covers them and the checkers judge them, with nothing lost under a safe configuration.

use ksim::history::Outcome;
use ksim::host::run_seed;
use ksim::report;
use ksim::scenario::load;
use ksim::sweep::{run_all, summarize};
use ksim_model::TopicPartition;
use std::path::Path;

fn scenario_path() -> String {
    format!(
        "{}/../scenarios/partition-growth.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn partitions_added_during_the_run_are_written_read_and_judged_with_no_violation() {
    let path = scenario_path();
    let scenario = load(Path::new(&path)).unwrap();
    let run = run_seed(&scenario, 0);
    assert!(run.violations.is_empty(), "{:?}", run.violations);
    let growth = report::partition_growth(&run);
    let count = growth.last().expect("the topic grew").count;
    assert!(count > 2, "{growth:?}");
    let committed = &run.history.groups.final_committed["ksim-group"];
    assert_eq!(
        committed.len(),
        count as usize,
        "the group reads every partition, the new ones too: {committed:?}"
    );
    let finals = &run.history.final_partitions;
    for partition in 0..count {
        let tp = TopicPartition::new("events", partition);
        let last = &finals
            .get(&tp)
            .unwrap_or_else(|| panic!("{tp} is missing from the final state"));
        assert!(last.leader.is_some(), "{tp} has no leader");
        let acknowledged: Vec<u64> = run
            .history
            .sends
            .iter()
            .filter(|s| s.tp.as_ref() == Some(&tp) && s.outcome == Some(Outcome::Ok))
            .map(|s| s.value)
            .collect();
        assert!(!acknowledged.is_empty(), "nothing was written to {tp}");
        let read: Vec<u64> = last.read.iter().map(|(_, v)| *v).collect();
        assert!(
            acknowledged.iter().all(|v| read.contains(v)),
            "the final read of {tp} misses acknowledged records"
        );
    }
}

#[test]
fn a_growing_topic_loses_nothing_on_the_pinned_seeds() {
    let path = scenario_path();
    let scenario = load(Path::new(&path)).unwrap();
    let reports = run_all(&scenario, &path, (0, 12), 2, &|| {});
    let summary = summarize(&scenario, &reports);
    assert!(summary.failing.is_empty(), "{:?}", summary.failing);
    // The group reading the topic is at-least-once: processing a record twice is allowed, anything else is not.
    let kinds: Vec<_> = summary.seeds_with.keys().copied().collect();
    assert!(
        kinds
            .iter()
            .all(|k| *k == ksim::checkers::ViolationKind::DuplicateConsume),
        "{kinds:?}"
    );
    let grown = reports
        .iter()
        .filter(|r| !r.partition_growth.is_empty())
        .count();
    assert_eq!(grown, reports.len(), "every seed grows the topic");
}
