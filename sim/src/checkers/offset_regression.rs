//! offset-regression: a consumer group's committed offset of a partition, as its coordinator acknowledged it
//! (commits answered Ok, offsets members fetched, the final committed offsets), went back without a reset.

use super::group_support::{self, CommitWrite};
use super::support;
use super::{Violation, ViolationKind};
use crate::history::{CommitKind, GroupOp, History};
use ksim_model::observe::OffsetValue;
use ksim_model::{Offset, TopicPartition};
use std::cmp::Reverse;
use std::collections::BTreeMap;

pub fn check(history: &History) -> Vec<Violation> {
    let writes = group_support::commit_writes(history);
    let reads = support::final_reads(history);
    let mut by_partition: BTreeMap<Key, Partition> = BTreeMap::new();
    for write in &writes {
        by_partition
            .entry((write.group, write.tp))
            .or_default()
            .writes
            .push(write);
    }
    add_fetches_and_resets(history, &mut by_partition);
    let mut violations = Vec::new();
    for (key, partition) in &by_partition {
        for observation in observations(history, *key, partition) {
            if let Some(baseline) = regressed(&observation, partition) {
                let read = reads.get(key.1);
                violations.push(regression(*key, &observation, baseline, read));
            }
        }
    }
    support::sort(&mut violations);
    violations
}

/// A group's partition.
type Key<'a> = (&'a str, &'a TopicPartition);

/// What the history says of one group's committed offset of one partition.
#[derive(Default)]
struct Partition<'a> {
    /// Every commit that surely or maybe took effect.
    writes: Vec<&'a CommitWrite<'a>>,
    /// Offsets members fetched: (process, offset, at_ms).
    fetches: Vec<(u32, Option<Offset>, u64)>,
    /// When members reset their position on purpose.
    resets: Vec<u64>,
}

fn add_fetches_and_resets<'a>(
    history: &'a History,
    partitions: &mut BTreeMap<Key<'a>, Partition<'a>>,
) {
    for op in &history.groups.ops {
        match op {
            GroupOp::Fetched {
                group,
                process,
                tp,
                committed,
                at_ms,
            } => {
                let partition = partitions.entry((group, tp)).or_default();
                partition.fetches.push((*process, *committed, *at_ms));
            }
            GroupOp::Reset {
                group, tp, at_ms, ..
            } => {
                partitions
                    .entry((group, tp))
                    .or_default()
                    .resets
                    .push(*at_ms);
            }
            _ => {}
        }
    }
}

/// Where an observation of the committed offset came from.
enum Source<'a> {
    /// An acknowledged commit: what the coordinator took as the new committed offset.
    Commit(&'a CommitWrite<'a>),
    /// An OffsetFetch answer: what it held then.
    Fetch { process: u32 },
    /// The OffsetFetch answered after the run settled.
    Final,
}

/// One moment the coordinator showed the committed offset (None: it had none).
struct Observation<'a> {
    offset: Option<Offset>,
    /// Only acknowledgements that completed before this could the coordinator be held to. A fetch's invocation is
    /// not recorded, so its answer stands for it: the protocol orders assignments (hence fetches) after the
    /// rebalance that follows the previous owner's last commit.
    invoked_ms: u64,
    /// When it was seen; u64::MAX for the final answer.
    seen_ms: u64,
    source: Source<'a>,
}

fn observations<'a>(
    history: &'a History,
    (group, tp): Key,
    partition: &Partition<'a>,
) -> Vec<Observation<'a>> {
    let commits = partition.writes.iter().filter_map(|w| {
        Some(Observation {
            offset: Some(w.offset),
            invoked_ms: w.invoke_ms,
            seen_ms: w.acknowledged_ms?,
            source: Source::Commit(w),
        })
    });
    // A fetch is taken as invoked when answered: members fetch with require_stable, so the coordinator holds back
    // an answer while a commit of the partition is still being stored, and no commit is in flight beside it.
    let fetches = partition
        .fetches
        .iter()
        .map(|&(process, offset, at_ms)| Observation {
            offset,
            invoked_ms: at_ms,
            seen_ms: at_ms,
            source: Source::Fetch { process },
        });
    let last = history
        .groups
        .final_committed
        .get(group)
        .map(|offsets| Observation {
            offset: offsets.get(tp).copied(),
            invoked_ms: u64::MAX,
            seen_ms: u64::MAX,
            source: Source::Final,
        });
    commits.chain(fetches).chain(last).collect()
}

/// The highest acknowledged commit the observation went back from, if it went back unexcused.
///
/// An acknowledged commit binds the observation when it completed before the observation was invoked, holds a
/// higher offset, and no reset of the partition happened from its invocation to the observation. Two commits in
/// flight at once may be applied in either order, so a read (fetch or final answer) of a lower offset is excused
/// when a commit of exactly that offset, made before the read, was not surely over before the higher one began:
/// it may have been the last one applied. A commit is a write, not a read: a lower one acknowledged after a higher
/// one completed moved the offset back itself.
fn regressed<'a>(
    observation: &Observation,
    partition: &Partition<'a>,
) -> Option<&'a CommitWrite<'a>> {
    let last_reset = partition
        .resets
        .iter()
        .copied()
        .filter(|&r| r <= observation.seen_ms)
        .max();
    let read_may_see_until = match observation.source {
        Source::Commit(_) => None,
        Source::Fetch { .. } | Source::Final => partition
            .writes
            .iter()
            .filter(|w| Some(w.offset) == observation.offset && w.invoke_ms <= observation.seen_ms)
            .map(|w| w.acknowledged_ms.unwrap_or(u64::MAX))
            .max(),
    };
    partition
        .writes
        .iter()
        .copied()
        .filter(|a| {
            a.acknowledged_ms
                .is_some_and(|ack| ack < observation.invoked_ms)
        })
        .filter(|a| Some(a.offset) > observation.offset)
        .filter(|a| last_reset.is_none_or(|r| r < a.invoke_ms))
        .filter(|a| read_may_see_until.is_none_or(|until| until < a.invoke_ms))
        .max_by_key(|a| (a.offset, Reverse(a.acknowledged_ms)))
}

fn regression(
    (group, tp): Key,
    observation: &Observation,
    baseline: &CommitWrite,
    read: Option<&BTreeMap<Offset, u64>>,
) -> Violation {
    let lower = observation
        .offset
        .map_or("none".to_string(), |o| o.to_string());
    let message = format!(
        "group {group}'s committed offset of {tp} went back from {} ({}) to {lower}: {}",
        baseline.offset,
        describe_commit(baseline),
        match &observation.source {
            Source::Commit(w) => describe_commit(w),
            Source::Fetch { process } =>
                format!("member {process} fetched it at {} ms", observation.seen_ms),
            Source::Final => "the final committed offsets".to_string(),
        }
    );
    // The records the group will be handed again.
    let from = observation.offset.unwrap_or(0);
    let records: Vec<OffsetValue> = read
        .map(|r| {
            r.range(from..baseline.offset)
                .map(|(&o, &v)| (o, v))
                .collect()
        })
        .unwrap_or_default();
    let at_ms = (observation.seen_ms != u64::MAX).then_some(observation.seen_ms);
    support::violation(ViolationKind::OffsetRegression, tp, at_ms, records, message)
}

/// "member 1's manual commit invoked at 100 ms, acknowledged at 110 ms".
fn describe_commit(w: &CommitWrite) -> String {
    let kind = match w.kind {
        CommitKind::Manual => "manual".to_string(),
        CommitKind::Auto => "auto".to_string(),
        CommitKind::Revoke => "revocation".to_string(),
        CommitKind::Transactional { txn } => format!("transaction {txn}'s"),
    };
    let acknowledged = match w.acknowledged_ms {
        Some(ms) => format!("acknowledged at {ms} ms"),
        None => "of unknown outcome".to_string(),
    };
    format!(
        "member {}'s {kind} commit invoked at {} ms, {acknowledged}",
        w.process, w.invoke_ms
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;
    use crate::history::Outcome;

    #[test]
    fn commits_that_only_move_forward_are_clean() {
        let p = tp(0);
        let ops = vec![
            commit(1, 1, &[(p.clone(), 2)], Outcome::Ok, (10, 20)),
            fetched(2, &p, Some(2), 30),
            commit(2, 2, &[(p.clone(), 5)], Outcome::Ok, (40, 50)),
            // A failed commit of a lower offset never took effect.
            commit(1, 1, &[(p.clone(), 3)], Outcome::Fail, (55, 56)),
        ];
        assert_eq!(check(&group_history(ops, Some(&[(p, 5)]))), vec![]);
    }

    #[test]
    fn a_fetch_below_an_acknowledged_commit_is_an_offset_regression() {
        let p = tp(0);
        let ops = vec![
            commit(1, 1, &[(p.clone(), 2)], Outcome::Ok, (10, 20)),
            commit(1, 1, &[(p.clone(), 5)], Outcome::Ok, (30, 40)),
            // The coordinator failed over and lost the second commit.
            fetched(2, &p, Some(2), 60),
        ];
        let mut history = group_history(ops, Some(&[(p.clone(), 5)]));
        history
            .final_partitions
            .insert(p.clone(), converged(&records(0..6), &[1]));
        let violations = check(&history);
        assert_eq!(violations.len(), 1, "{violations:#?}");
        let v = &violations[0];
        assert_eq!(
            (v.kind, v.tp.clone(), v.at_ms),
            (ViolationKind::OffsetRegression, Some(p), Some(60))
        );
        assert_eq!(v.records, records(2..5));
        assert_eq!(
            v.message,
            "group g's committed offset of t-0 went back from 5 (member 1's manual commit invoked at 30 ms, \
             acknowledged at 40 ms) to 2: member 2 fetched it at 60 ms"
        );
    }

    #[test]
    fn a_lower_commit_or_a_final_offset_missing_after_an_acknowledged_one_is_an_offset_regression()
    {
        let p = tp(0);
        let ops = vec![
            commit(1, 1, &[(p.clone(), 5)], Outcome::Ok, (10, 20)),
            commit(2, 2, &[(p.clone(), 3)], Outcome::Ok, (30, 40)),
        ];
        let violations = check(&group_history(ops, Some(&[])));
        let found: Vec<(Option<u64>, &str)> = violations
            .iter()
            .map(|v| (v.at_ms, v.message.rsplit(": ").next().unwrap()))
            .collect();
        assert_eq!(
            found,
            vec![
                (None, "the final committed offsets"),
                (
                    Some(40),
                    "member 2's manual commit invoked at 30 ms, acknowledged at 40 ms"
                ),
            ]
        );
        assert!(violations[0].message.contains("went back from 5"));
        assert!(violations[0].message.contains("to none"));
    }

    #[test]
    fn two_commits_in_flight_answered_out_of_order_are_not_an_offset_regression() {
        let p = tp(0);
        let ops = vec![
            // Commit of 5 invoked first, commit of 3 while it was in flight: the coordinator may apply 5 then 3.
            commit(1, 1, &[(p.clone(), 5)], Outcome::Ok, (10, 40)),
            commit(1, 1, &[(p.clone(), 3)], Outcome::Ok, (20, 30)),
            fetched(2, &p, Some(3), 50),
        ];
        assert_eq!(check(&group_history(ops, Some(&[(p, 3)]))), vec![]);
    }

    #[test]
    fn a_read_of_a_commit_surely_overwritten_is_an_offset_regression() {
        let p = tp(0);
        let ops = vec![
            commit(1, 1, &[(p.clone(), 3)], Outcome::Ok, (10, 20)),
            commit(1, 1, &[(p.clone(), 5)], Outcome::Ok, (30, 40)),
        ];
        let violations = check(&group_history(ops, Some(&[(p, 3)])));
        assert_eq!(violations.len(), 1, "{violations:#?}");
        assert!(violations[0]
            .message
            .ends_with("to 3: the final committed offsets"));
    }

    #[test]
    fn a_commit_of_unknown_outcome_may_explain_a_lower_read() {
        let p = tp(0);
        let ops = vec![
            commit(1, 1, &[(p.clone(), 5)], Outcome::Ok, (10, 20)),
            // A zombie's commit of 3 timed out: it may have reached the coordinator at any time after.
            commit(2, 1, &[(p.clone(), 3)], Outcome::Info, (15, 100)),
            fetched(3, &p, Some(3), 200),
        ];
        assert_eq!(check(&group_history(ops, Some(&[(p, 3)]))), vec![]);
    }

    #[test]
    fn a_reset_between_excuses_going_back() {
        let p = tp(0);
        let ops = vec![
            commit(1, 1, &[(p.clone(), 5)], Outcome::Ok, (10, 20)),
            // KIP-320 found the log truncated below 5: the member moved back to 2 on purpose.
            reset(1, &p, Some(5), 2, 30),
            commit(1, 1, &[(p.clone(), 3)], Outcome::Ok, (40, 50)),
            fetched(2, &p, Some(3), 60),
        ];
        assert_eq!(check(&group_history(ops, Some(&[(p, 3)]))), vec![]);
    }

    #[test]
    fn a_transactional_commit_counts_once_its_transaction_committed() {
        let p = tp(0);
        let ops = vec![
            txn_commit(1, &[(p.clone(), 5)], 0, (10, 20)),
            // Transaction 1 aborted: its offsets never became the group's, and the fetch of 5 is right.
            txn_commit(1, &[(p.clone(), 8)], 1, (30, 40)),
            fetched(2, &p, Some(5), 600),
        ];
        let mut history = group_history(ops, Some(&[(p.clone(), 5)]));
        history.transactions = vec![committed_txn(7, &[900]), aborted_txn(7, &[901])];
        // Transaction 0 ended before transaction 1 began: its commit is surely the older one.
        history.transactions[0].complete_ms = Some(25);
        assert_eq!(check(&history), vec![]);
        // Had it committed (acknowledged at 500 ms), the fetch and the final offset went back.
        history.transactions[1] = committed_txn(7, &[901]);
        let violations = check(&history);
        assert_eq!(violations.len(), 2, "{violations:#?}");
        assert!(violations[1].message.contains(
            "from 8 (member 1's transaction 1's commit invoked at 30 ms, acknowledged at 500 ms) to 5"
        ));
    }
}
