//! eos-violation: in consume-transform-produce, an input record below the group's committed offset has no
//! committed output, or more than one: exactly-once processing was promised and not kept.

use super::group_support::{self, Skips};
use super::support;
use super::txn_fate::{self, Fate};
use super::{Violation, ViolationKind};
use crate::history::{GroupInfo, GroupOp, History};
use ksim_model::observe::OffsetValue;
use ksim_model::{Offset, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

pub fn check(history: &History) -> Vec<Violation> {
    let committed = group_support::committed_offsets(history);
    let reads = support::final_reads(history);
    let skips = Skips::of(history);
    let aborted = group_support::aborted_offsets(history);
    let mut violations = Vec::new();
    for (group, info) in &history.groups.groups {
        // Without output topics the group only consumes: lost-consume and duplicate-consume judge it.
        let (false, Some(offsets)) = (info.output_topics.is_empty(), committed.get(group.as_str()))
        else {
            continue;
        };
        let judge = Judge {
            group,
            outputs: Outputs::of(history, info),
            attempts: attempts(history, group),
        };
        for (tp, &committed) in offsets {
            let Some(read) = reads.get(tp) else { continue };
            let aborted = aborted.get(tp);
            let inputs = read
                .range(..committed)
                .map(|(&offset, &value)| (offset, value))
                .filter(|&(offset, _)| {
                    !skips.skipped(group, tp, offset)
                        && !aborted.is_some_and(|a| a.contains(&offset))
                });
            violations.extend(judge.partition(tp, committed, inputs));
        }
    }
    support::sort(&mut violations);
    violations
}

/// One output record in the final log of an output topic.
#[derive(Clone, Copy, Debug)]
struct Placement<'a> {
    tp: &'a TopicPartition,
    offset: Offset,
    /// How its transaction ended there; None for a record written outside a transaction, which every consumer
    /// sees all the same.
    fate: Option<Fate>,
}

impl Placement<'_> {
    fn counts(&self) -> bool {
        matches!(self.fate, None | Some(Fate::Committed))
    }
}

/// Where each value sits in the final logs of a group's output topics.
struct Outputs<'a> {
    by_value: BTreeMap<u64, Vec<Placement<'a>>>,
    /// An output partition without a leader has no final read: a missing output cannot be told from one that is
    /// only unreadable (no-convergence reports it), so inputs without one are not judged.
    complete: bool,
}

impl<'a> Outputs<'a> {
    /// Fates come from the final leader's batches and markers, as for the transactional checkers.
    fn of(history: &'a History, info: &GroupInfo) -> Self {
        let mut outputs = Outputs {
            by_value: BTreeMap::new(),
            complete: true,
        };
        let output_partitions = history
            .final_partitions
            .iter()
            .filter(|(tp, _)| info.output_topics.iter().any(|t| **t == *tp.topic));
        for (tp, partition) in output_partitions {
            outputs.complete &= partition.leader.is_some();
            let fates = txn_fate::of(partition);
            for &(offset, value) in &partition.read {
                let fate = fates.get(&offset).map(|r| r.fate);
                let placement = Placement { tp, offset, fate };
                outputs.by_value.entry(value).or_default().push(placement);
            }
        }
        outputs
    }

    fn placements(&self, value: u64) -> &[Placement<'a>] {
        self.by_value.get(&value).map_or(&[], Vec::as_slice)
    }
}

/// One transformation of an input record into an output record.
#[derive(Clone, Copy, Debug)]
struct Attempt {
    output_value: u64,
    txn: usize,
    at_ms: u64,
}

/// Per input value, every transformation the group's members made of it, in history order. Values are unique per
/// run, so the value names the input even if its offset moved (a truncated record a producer wrote again).
fn attempts(history: &History, group: &str) -> BTreeMap<u64, Vec<Attempt>> {
    let mut attempts: BTreeMap<u64, Vec<Attempt>> = BTreeMap::new();
    for op in &history.groups.ops {
        if let GroupOp::Transformed {
            group: g,
            input: (_, value),
            output_value,
            txn,
            at_ms,
            ..
        } = op
        {
            if g == group {
                attempts.entry(*value).or_default().push(Attempt {
                    output_value: *output_value,
                    txn: *txn,
                    at_ms: *at_ms,
                });
            }
        }
    }
    attempts
}

struct Judge<'a> {
    group: &'a str,
    outputs: Outputs<'a>,
    attempts: BTreeMap<u64, Vec<Attempt>>,
}

/// An output that counts: the attempt that made it and where it sits.
type Counted<'a> = (Attempt, Placement<'a>);

impl<'a> Judge<'a> {
    /// One violation for the inputs of `tp` without an output, and one per input with several.
    fn partition(
        &self,
        tp: &TopicPartition,
        committed: Offset,
        inputs: impl Iterator<Item = OffsetValue>,
    ) -> Vec<Violation> {
        let mut violations = Vec::new();
        let mut without: Vec<OffsetValue> = Vec::new();
        for input in inputs {
            match self.counted(input.1).as_slice() {
                [] if self.outputs.complete => without.push(input),
                [] | [_] => {}
                many => violations.push(self.many(tp, input, many)),
            }
        }
        if !without.is_empty() {
            violations.push(self.none(tp, committed, &without));
        }
        violations
    }

    /// The committed outputs of an input value. Attempts that wrote the same output value are one output (it is
    /// one record); that record sitting committed at two places is two.
    fn counted(&self, input: u64) -> Vec<Counted<'a>> {
        let mut seen: BTreeSet<u64> = BTreeSet::new();
        let attempts = self.attempts.get(&input).map_or(&[][..], Vec::as_slice);
        attempts
            .iter()
            .filter(|a| seen.insert(a.output_value))
            .flat_map(|a| {
                let placements = self.outputs.placements(a.output_value).iter();
                placements.filter(|p| p.counts()).map(move |p| (*a, *p))
            })
            .collect()
    }

    fn many(
        &self,
        tp: &TopicPartition,
        (offset, value): OffsetValue,
        many: &[Counted],
    ) -> Violation {
        let named: Vec<String> = many
            .iter()
            .map(|(a, p)| {
                format!(
                    "{} at offset {} of {} (transaction {})",
                    a.output_value, p.offset, p.tp, a.txn
                )
            })
            .collect();
        let message = format!(
            "group {}'s input record value {value} at offset {offset} of {tp} has {} committed outputs: {}",
            self.group,
            many.len(),
            named.join(", ")
        );
        let at_ms = many.iter().map(|(a, _)| a.at_ms).max();
        support::violation(
            ViolationKind::EosViolation,
            tp,
            at_ms,
            vec![(offset, value)],
            message,
        )
    }

    fn none(&self, tp: &TopicPartition, committed: Offset, without: &[OffsetValue]) -> Violation {
        let (offset, value) = without[0];
        let message = format!(
            "group {} committed {tp} up to offset {committed} but {} input record(s) below it have no committed \
             output (first: value {value} at offset {offset}, {})",
            self.group,
            without.len(),
            self.why_none(value)
        );
        support::violation(
            ViolationKind::EosViolation,
            tp,
            None,
            without.to_vec(),
            message,
        )
    }

    /// What became of an input's transformations, in words.
    fn why_none(&self, input: u64) -> String {
        let Some(attempts) = self.attempts.get(&input) else {
            return "never transformed".to_string();
        };
        let fates: Vec<String> = attempts
            .iter()
            .map(|a| {
                let placements = self.outputs.placements(a.output_value);
                let fate = match placements.first() {
                    None => "which no output log holds".to_string(),
                    Some(p) => format!(
                        "which {} holds {}",
                        p.tp,
                        p.fate.unwrap_or(Fate::Committed).describe()
                    ),
                };
                format!(
                    "transformed into {} in transaction {}, {fate}",
                    a.output_value, a.txn
                )
            })
            .collect();
        fates.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;
    use crate::history::FinalPartition;

    fn out(partition: i32) -> TopicPartition {
        TopicPartition::new("out", partition)
    }

    /// Group `g` read records 0..3 of t-0 and committed offset 3, writing outputs to topic `out`, whose final
    /// partition 0 is `output`; `ops` are its transformations.
    fn ctp(ops: Vec<GroupOp>, output: FinalPartition) -> History {
        let p = tp(0);
        let mut history = group_history(ops, Some(&[(p.clone(), 3)]));
        history
            .groups
            .groups
            .get_mut(GROUP)
            .expect("group_history declares g")
            .output_topics = vec!["out".to_string()];
        history
            .final_partitions
            .insert(p, converged(&records(0..3), &[1]));
        history.final_partitions.insert(out(0), output);
        history
    }

    #[test]
    fn each_input_with_exactly_one_committed_output_is_clean() {
        let p = tp(0);
        let ops = vec![
            transformed(1, &p, (0, 100), 1000, 0, 20),
            transformed(1, &p, (1, 101), 1001, 0, 20),
            // Transaction 1 aborted; member 1 transformed 102 again in transaction 2.
            transformed(1, &p, (2, 102), 1002, 1, 30),
            transformed(1, &p, (2, 102), 1012, 2, 40),
        ];
        let output = txn_log()
            .txn(7, 0, &[1000, 1001])
            .commit(7, 0)
            .txn(7, 0, &[1002])
            .abort(7, 0)
            .txn(7, 0, &[1012])
            .commit(7, 0)
            .converged(&[1]);
        assert_eq!(check(&ctp(ops, output)), vec![]);
    }

    #[test]
    fn an_input_with_two_committed_outputs_is_an_eos_violation() {
        let p = tp(0);
        let ops = vec![
            transformed(1, &p, (0, 100), 1000, 0, 20),
            transformed(1, &p, (1, 101), 1001, 0, 20),
            transformed(1, &p, (2, 102), 1002, 0, 20),
            // A zombie's transaction that was not fenced: 101 was transformed and committed again.
            transformed(2, &p, (1, 101), 1011, 1, 30),
        ];
        let output = txn_log()
            .txn(7, 0, &[1000, 1001, 1002])
            .commit(7, 0)
            .txn(8, 0, &[1011])
            .commit(8, 0)
            .converged(&[1]);
        let violations = check(&ctp(ops, output));
        assert_eq!(violations.len(), 1, "{violations:#?}");
        let v = &violations[0];
        assert_eq!(
            (v.kind, v.tp.clone(), v.at_ms),
            (ViolationKind::EosViolation, Some(p), Some(30))
        );
        assert_eq!(v.records, vec![(1, 101)]);
        assert_eq!(
            v.message,
            "group g's input record value 101 at offset 1 of t-0 has 2 committed outputs: 1001 at offset 1 of \
             out-0 (transaction 0), 1011 at offset 4 of out-0 (transaction 1)"
        );
    }

    #[test]
    fn an_input_whose_only_output_aborted_is_an_eos_violation() {
        let p = tp(0);
        let ops = vec![
            transformed(1, &p, (0, 100), 1000, 0, 20),
            transformed(1, &p, (1, 101), 1001, 1, 30),
        ];
        let output = txn_log()
            .txn(7, 0, &[1000])
            .commit(7, 0)
            .txn(7, 0, &[1001])
            .abort(7, 0)
            .converged(&[1]);
        let violations = check(&ctp(ops, output));
        assert_eq!(violations.len(), 1, "{violations:#?}");
        let v = &violations[0];
        assert_eq!(v.records, vec![(1, 101), (2, 102)]);
        assert_eq!(
            v.message,
            "group g committed t-0 up to offset 3 but 2 input record(s) below it have no committed output (first: \
             value 101 at offset 1, transformed into 1001 in transaction 1, which out-0 holds aborted)"
        );
    }

    #[test]
    fn a_leaderless_output_partition_hides_missing_outputs_but_not_extra_ones() {
        let p = tp(0);
        // Inputs 101 and 102 have no output anywhere readable; 100 has two.
        let ops = vec![
            transformed(1, &p, (0, 100), 1000, 0, 20),
            transformed(1, &p, (0, 100), 1010, 1, 30),
        ];
        let output = txn_log()
            .txn(7, 0, &[1000])
            .commit(7, 0)
            .txn(7, 0, &[1010])
            .commit(7, 0)
            .converged(&[1]);
        let mut history = ctp(ops, output);
        history.final_partitions.insert(
            out(1),
            FinalPartition {
                leader: None,
                isr: vec![],
                read: vec![],
                replicas: vec![],
                batches: vec![],
            },
        );
        let violations = check(&history);
        assert_eq!(violations.len(), 1, "{violations:#?}");
        assert_eq!(violations[0].records, vec![(0, 100)]);
    }

    #[test]
    fn a_group_without_output_topics_is_not_judged() {
        let p = tp(0);
        let mut history = group_history(Vec::new(), Some(&[(p.clone(), 3)]));
        history
            .final_partitions
            .insert(p, converged(&records(0..3), &[1]));
        assert_eq!(check(&history), vec![]);
    }
}
