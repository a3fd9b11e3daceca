//! double-owner: two members of one consumer group owned the same partition: (a) both were assigned it in one
//! generation, (b) their ownerships overlapped in time, or (c) a member processed it while it did not own it and
//! another member did (a revoked member that keeps processing).
//!
//! A member that lost its partitions (`onPartitionsLost`: its poll interval or session ran out, its generation was
//! fenced) may still be finishing the batch it polled while it owned them: Kafka's classic protocol lets such a
//! zombie run on and fences its commits by generation instead, so (c) excuses that batch. A member that gave a
//! partition up itself (`onPartitionsRevoked`) has promised to be done with it: processing after that is judged.
//!
//! Kafka promises exclusive ownership only among the members of a generation: one partition to one member per
//! generation, and (cooperative) a partition revoked by its owner before a later generation hands it on. A member
//! the coordinator dropped (it did not rejoin within the rebalance timeout, its session ran out) is outside that
//! promise until it hears so, at its next heartbeat or poll; (b) excuses it whether it then learns (a loss), gives
//! its partitions up late (an eager member that heard of the rebalance but was busy past the rebalance timeout) or
//! crashes first.

use super::support;
use super::{Violation, ViolationKind};
use crate::history::{GroupOp, History};
use ksim_model::observe::OffsetValue;
use ksim_model::TopicPartition;
use std::collections::{BTreeMap, BTreeSet};

pub fn check(history: &History) -> Vec<Violation> {
    let ops = &history.groups.ops;
    let spans = ownership(ops);
    let mut violations = same_generation(ops);
    violations.extend(overlaps(ops, &spans));
    violations.extend(processed_unowned(ops, &spans));
    support::sort(&mut violations);
    violations
}

/// A group's partition.
type Key<'a> = (&'a str, &'a TopicPartition);

/// One member's unbroken ownership of one partition.
///
/// Time is measured in positions of the group ops, not in milliseconds: the ops are recorded in the order they
/// happened, and many happen within one simulated millisecond, so positions tell "revoked, then assigned to
/// another" from "assigned to another, then revoked" where equal times cannot. The member owns the partition
/// from just after op `from` (its `Assigned`) up to and including the moment just before op `to` (the op that
/// ended it, or the number of ops when nothing did).
#[derive(Clone, Debug)]
struct Span<'a> {
    process: u32,
    member_id: &'a str,
    /// Every generation whose assignment to the member included the partition while it owned it.
    generations: BTreeSet<i32>,
    from: usize,
    to: usize,
    from_ms: u64,
    /// None when the member still owned the partition when the run ended.
    to_ms: Option<u64>,
    /// Ended by `onPartitionsLost`: the member learnt it was no longer in the group, so until then it was a zombie
    /// the coordinator had already removed (the classic protocol lets one run on until it next hears from the
    /// coordinator, and fences its commits by generation).
    lost: bool,
    /// Ended by an assignment the member took up that no longer held the partition: it was in that generation.
    reassigned: bool,
}

impl Span<'_> {
    /// The moments the member owned the partition, where moment `k` is the instant just before op `k`.
    fn moments(&self) -> (usize, usize) {
        (self.from + 1, self.to + 1)
    }

    fn describe(&self) -> String {
        let until = match (self.to_ms, self.lost) {
            (Some(ms), false) => format!("to {ms} ms"),
            (Some(ms), true) => format!("to {ms} ms, when it learnt it had lost it"),
            (None, _) => "to the end".to_string(),
        };
        let generations: Vec<i32> = self.generations.iter().copied().collect();
        let plural = if generations.len() > 1 { "s" } else { "" };
        format!(
            "member {} ({}, generation{plural} {}, from {} ms {until})",
            self.process,
            self.member_id,
            support::listed(&generations),
            self.from_ms
        )
    }
}

/// Every member's ownership spans, per group and partition, in the order they began.
///
/// A member owns a partition from an `Assigned` that contains it until the first of: a `Revoked` that contains
/// it, its `Stopped`, or a later `Assigned` that does not contain it (an eager member is handed its whole
/// assignment anew each generation, so a partition missing from it is gone even if no revocation was recorded).
fn ownership(ops: &[GroupOp]) -> BTreeMap<Key<'_>, Vec<Span<'_>>> {
    let mut open: BTreeMap<(&str, u32), BTreeMap<&TopicPartition, Span>> = BTreeMap::new();
    let mut spans: BTreeMap<Key, Vec<Span>> = BTreeMap::new();
    for (index, op) in ops.iter().enumerate() {
        match op {
            GroupOp::Assigned {
                group,
                process,
                member_id,
                generation,
                partitions,
                at_ms,
            } => {
                let owned = open.entry((group, *process)).or_default();
                let dropped: Vec<&TopicPartition> = owned
                    .keys()
                    .copied()
                    .filter(|tp| !partitions.contains(tp))
                    .collect();
                for tp in dropped {
                    let mut span = owned.remove(tp).expect("listed above");
                    span.reassigned = true;
                    close(&mut spans, (group, tp), span, (index, *at_ms));
                }
                for tp in partitions {
                    let span = owned.entry(tp).or_insert_with(|| Span {
                        process: *process,
                        member_id,
                        generations: BTreeSet::new(),
                        from: index,
                        to: ops.len(),
                        from_ms: *at_ms,
                        to_ms: None,
                        lost: false,
                        reassigned: false,
                    });
                    span.generations.insert(*generation);
                    span.member_id = member_id;
                }
            }
            GroupOp::Revoked {
                group,
                process,
                partitions,
                lost,
                at_ms,
            } => {
                let owned = open.entry((group, *process)).or_default();
                for tp in partitions {
                    if let Some(mut span) = owned.remove(tp) {
                        span.lost = *lost;
                        close(&mut spans, (group, tp), span, (index, *at_ms));
                    }
                }
            }
            GroupOp::Stopped {
                group,
                process,
                at_ms,
            } => {
                for (tp, span) in open.remove(&(group.as_str(), *process)).unwrap_or_default() {
                    close(&mut spans, (group, tp), span, (index, *at_ms));
                }
            }
            _ => {}
        }
    }
    for ((group, _), owned) in open {
        for (tp, span) in owned {
            spans.entry((group, tp)).or_default().push(span);
        }
    }
    for list in spans.values_mut() {
        list.sort_by_key(|s| (s.from, s.process));
    }
    spans
}

/// Ends `span` at op `to`, which happened at `at_ms`.
fn close<'a>(
    spans: &mut BTreeMap<Key<'a>, Vec<Span<'a>>>,
    key: Key<'a>,
    mut span: Span<'a>,
    (to, at_ms): (usize, u64),
) {
    span.to = to;
    span.to_ms = Some(at_ms);
    spans.entry(key).or_default().push(span);
}

/// Records of the partition that `processes` processed in ops `from..to`, each once, in offset order.
fn processed_between(
    ops: &[GroupOp],
    (group, tp): Key,
    processes: &[u32],
    (from, to): (usize, usize),
) -> Vec<OffsetValue> {
    let records: BTreeSet<OffsetValue> = ops[from.min(ops.len())..to.min(ops.len())]
        .iter()
        .filter_map(|op| match op {
            GroupOp::Processed {
                group: g,
                process,
                tp: t,
                records,
                ..
            } if g == group && t == tp && processes.contains(process) => Some(records),
            _ => None,
        })
        .flatten()
        .copied()
        .collect();
    records.into_iter().collect()
}

/// Per group, generation and partition: each member given it, with its member id and when.
type Given<'a> = BTreeMap<u32, (&'a str, u64)>;

/// Part (a): the leader's assignment gives each partition to one member per generation.
fn same_generation(ops: &[GroupOp]) -> Vec<Violation> {
    let mut given: BTreeMap<(&str, i32, &TopicPartition), Given> = BTreeMap::new();
    for op in ops {
        if let GroupOp::Assigned {
            group,
            process,
            member_id,
            generation,
            partitions,
            at_ms,
        } = op
        {
            for tp in partitions {
                given
                    .entry((group, *generation, tp))
                    .or_default()
                    .entry(*process)
                    .or_insert((member_id, *at_ms));
            }
        }
    }
    given
        .into_iter()
        .filter(|(_, members)| members.len() > 1)
        .map(|((group, generation, tp), members)| {
            let named: Vec<String> = members
                .iter()
                .map(|(process, (member_id, at_ms))| {
                    format!("{process} ({member_id}, at {at_ms} ms)")
                })
                .collect();
            let processes: Vec<u32> = members.keys().copied().collect();
            let records = generation_records(ops, (group, tp), &processes, generation);
            let at_ms = members.values().map(|(_, at)| *at).max();
            let message = format!(
                "members {} of group {group} were all assigned {tp} in generation {generation}",
                support::listed(&named)
            );
            support::violation(ViolationKind::DoubleOwner, tp, at_ms, records, message)
        })
        .collect()
}

/// Records of the partition that `processes` processed believing they were in `generation`.
fn generation_records(
    ops: &[GroupOp],
    (group, tp): Key,
    processes: &[u32],
    generation: i32,
) -> Vec<OffsetValue> {
    let records: BTreeSet<OffsetValue> = ops
        .iter()
        .filter_map(|op| match op {
            GroupOp::Processed {
                group: g,
                process,
                generation: gen,
                tp: t,
                records,
                ..
            } if g == group && t == tp && *gen == generation && processes.contains(process) => {
                Some(records)
            }
            _ => None,
        })
        .flatten()
        .copied()
        .collect();
    records.into_iter().collect()
}

/// Part (b): two members' spans of one partition overlap. Spans that share a generation are left to part (a),
/// which already names that generation's double assignment. An older span that ended in `onPartitionsLost` is a
/// member the coordinator had already removed (its session or rebalance timeout ran out) that had not heard so
/// yet: the classic protocol allows that zombie and fences its commits by generation, so it is not judged here.
/// Nor is one that gave the partition up or crashed without ever taking up a generation as new as `b`'s (see
/// [`dropped_before`]).
fn overlaps(ops: &[GroupOp], spans: &BTreeMap<Key, Vec<Span>>) -> Vec<Violation> {
    let mut violations = Vec::new();
    for (&key, list) in spans {
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                let overlapping = a.from < b.to && b.from < a.to;
                // `a` began first: if it ended in a loss, it was the removed member.
                let zombie = a.lost || dropped_before(a, b);
                if a.process == b.process
                    || !overlapping
                    || zombie
                    || !a.generations.is_disjoint(&b.generations)
                {
                    continue;
                }
                violations.push(overlap(ops, key, a, b));
            }
        }
    }
    violations
}

/// Whether `a`, which began first, was a member the coordinator had dropped before `b`'s generation formed.
///
/// Every assignment a member takes up while it owns a partition either keeps it (its generation joins the span)
/// or ends the span (`reassigned`), so a span whose newest generation is older than `b`'s oldest, and that ended
/// otherwise (a revocation, a crash) or not at all, belongs to a member that never took part in `b`'s generation.
/// A classic generation is formed from the members that rejoined: a member of the generation before that did not
/// is dropped when the rebalance timeout runs out (`max.poll.interval.ms`; its session may run out first). It
/// learns at its next heartbeat (UNKNOWN_MEMBER_ID) or poll: an eager member that heard of the rebalance but was
/// busy (a transaction commit, a slow batch) revokes late and is then refused; others record the loss; one that
/// crashes first records nothing. All are the same zombie, outside what Kafka promises (its commits are fenced by
/// generation).
///
/// A member that did rejoin `b`'s generation and ended before its SyncGroup answer looks the same. Then the
/// assignor saw it claim the partition (cooperative) or it had revoked it before rejoining (eager), so `b` got it
/// only if that generation's assignment was wrong: a blind spot as wide as the milliseconds between a JoinGroup
/// answer and a SyncGroup answer. A member that takes its assignment up is judged: the assignment either keeps the
/// partition (two owners in one generation, part (a)) or ends the span after `b` began (not excused).
fn dropped_before(a: &Span, b: &Span) -> bool {
    !a.reassigned && a.generations.last() < b.generations.first()
}

/// `a` began no later than `b`, so the overlap begins when `b` does.
fn overlap(ops: &[GroupOp], key: Key, a: &Span, b: &Span) -> Violation {
    let (group, tp) = key;
    let records = processed_between(ops, key, &[a.process, b.process], (b.from, a.to.min(b.to)));
    let message = format!(
        "{} and {} of group {group} owned {tp} at once from {} ms",
        a.describe(),
        b.describe(),
        b.from_ms
    );
    support::violation(
        ViolationKind::DoubleOwner,
        tp,
        Some(b.from_ms),
        records,
        message,
    )
}

/// Part (c): a member processed records of a partition at a moment, between its poll and the end of its
/// processing, when it did not own the partition and another member did.
fn processed_unowned(ops: &[GroupOp], spans: &BTreeMap<Key, Vec<Span>>) -> Vec<Violation> {
    let mut violations = Vec::new();
    for (index, op) in ops.iter().enumerate() {
        let GroupOp::Processed {
            group,
            process,
            generation,
            tp,
            records,
            polled_ms,
            at_ms,
            ..
        } = op
        else {
            continue;
        };
        let Some(list) = spans.get(&(group.as_str(), tp)) else {
            continue;
        };
        // The poll happened after every op with an earlier time; of the ops at its very millisecond, taking it
        // to come after them all narrows the window, so an order we cannot know never raises an alarm.
        let start = ops[..index].partition_point(|o| o.at_ms() <= *polled_ms);
        let window = (start, index + 1);
        // A lost ownership runs on, for this batch, to the end of its processing (see the module comment).
        let zombie: Vec<Span> = list
            .iter()
            .filter(|s| s.process == *process)
            .map(|s| {
                let mut s = s.clone();
                if s.lost {
                    s.to = s.to.max(index);
                }
                s
            })
            .collect();
        let own: Vec<&Span> = zombie.iter().collect();
        let Some(other) = list
            .iter()
            .filter(|s| s.process != *process)
            .find(|s| unowned_moment(window, s, &own).is_some())
        else {
            continue;
        };
        let message = format!(
            "member {process} of group {group} processed {} record(s) of {tp} (polled at {polled_ms} ms in \
             generation {generation}, done at {at_ms} ms) while it did not own {tp} and {} did",
            records.len(),
            other.describe()
        );
        violations.push(support::violation(
            ViolationKind::DoubleOwner,
            tp,
            Some(*at_ms),
            records.clone(),
            message,
        ));
    }
    violations
}

/// A moment in `window` (half-open, in moments) when `other` owned the partition and none of `own` did.
fn unowned_moment((start, end): (usize, usize), other: &Span, own: &[&Span]) -> Option<usize> {
    let (other_from, other_to) = other.moments();
    let (mut cursor, end) = (start.max(other_from), end.min(other_to));
    // `own` is sorted by start and never overlaps itself: walk its gaps.
    for span in own {
        let (from, to) = span.moments();
        if cursor >= end {
            return None;
        }
        if cursor < from {
            return Some(cursor);
        }
        cursor = cursor.max(to);
    }
    (cursor < end).then_some(cursor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;

    #[test]
    fn handing_a_partition_from_one_member_to_another_is_clean() {
        let (p, q) = (tp(0), tp(1));
        let ops = vec![
            assigned(1, 1, &[&p, &q], 10),
            processed(1, 1, &p, &records(0..2), 20, 25),
            // Eager rebalance: member 1 gives everything up before rejoining, then is handed p back.
            revoked(1, &[&p, &q], 30),
            assigned(1, 2, &[&p], 40),
            assigned(2, 2, &[&q], 40),
            processed(2, 2, &q, &records(0..1), 45, 46),
            // Member 2 crashes; member 1 takes q over in the next generation, keeping p.
            stopped(2, 50),
            assigned(1, 3, &[&p, &q], 60),
            processed(1, 3, &q, &records(1..2), 61, 62),
        ];
        assert_eq!(check(&group_history(ops, None)), vec![]);
    }

    #[test]
    fn a_cooperative_revocation_before_the_new_owners_assignment_is_clean() {
        let (p, q) = (tp(0), tp(1));
        let ops = vec![
            assigned(1, 1, &[&p, &q], 10),
            // Member 1 polled q at 30 while it owned it and finished just before giving it up.
            processed(1, 1, &q, &records(0..1), 30, 40),
            // Cooperative: member 1 revokes q and keeps p, and member 2 is given q, all within one millisecond:
            // the op order places the revocation first.
            revoked(1, &[&q], 40),
            assigned(1, 2, &[&p], 40),
            assigned(2, 3, &[&q], 40),
            processed(1, 2, &p, &records(0..2), 40, 41),
            processed(2, 3, &q, &records(1..2), 41, 42),
        ];
        assert_eq!(check(&group_history(ops, None)), vec![]);
    }

    #[test]
    fn two_members_assigned_a_partition_in_one_generation_is_a_double_owner() {
        let p = tp(0);
        let ops = vec![
            assigned(1, 4, &[&p], 10),
            assigned(2, 4, &[&p, &tp(1)], 12),
            processed(1, 4, &p, &records(0..2), 20, 21),
            processed(2, 4, &p, &records(1..3), 20, 22),
        ];
        let violations = check(&group_history(ops, None));
        assert_eq!(violations.len(), 1, "{violations:#?}");
        let v = &violations[0];
        assert_eq!(
            (v.kind, v.tp.clone(), v.at_ms),
            (ViolationKind::DoubleOwner, Some(p), Some(12))
        );
        assert_eq!(v.records, records(0..3));
        assert_eq!(
            v.message,
            "members 1 (m1, at 10 ms) and 2 (m2, at 12 ms) of group g were all assigned t-0 in generation 4"
        );
    }

    #[test]
    fn two_members_owning_a_partition_at_once_is_a_double_owner() {
        let p = tp(0);
        let ops = vec![
            assigned(1, 1, &[&p], 10),
            // Member 2 is given p in generation 2 while member 1, also in generation 2, still holds it: member 1
            // gives it up only when it takes up its own generation-2 assignment.
            assigned(2, 2, &[&p], 30),
            processed(2, 2, &p, &records(0..1), 31, 32),
            assigned(1, 2, &[], 50),
        ];
        let violations = check(&group_history(ops, None));
        assert_eq!(violations.len(), 1, "{violations:#?}");
        let v = &violations[0];
        assert_eq!((v.tp.clone(), v.at_ms), (Some(p), Some(30)));
        assert_eq!(v.records, records(0..1));
        assert_eq!(
            v.message,
            "member 1 (m1, generation 1, from 10 ms to 50 ms) and member 2 (m2, generation 2, from 30 ms to the \
             end) of group g owned t-0 at once from 30 ms"
        );
    }

    #[test]
    fn a_dropped_eager_member_that_revokes_late_is_not_a_double_owner() {
        let p = tp(0);
        let ops = vec![
            assigned(1, 1, &[&p], 10),
            // Member 1 heard of the rebalance but was busy past the rebalance timeout: generation 2 formed without
            // it. It revokes (eager, before rejoining) only at 50, and its JoinGroup is then refused.
            assigned(2, 2, &[&p], 30),
            processed(2, 2, &p, &records(0..1), 31, 32),
            revoked(1, &[&p], 50),
        ];
        assert_eq!(check(&group_history(ops, None)), vec![]);
    }

    #[test]
    fn an_assignment_that_leaves_a_partition_out_ends_its_ownership() {
        let p = tp(0);
        let ops = vec![
            assigned(1, 1, &[&p], 10),
            // No revocation was recorded, but generation 2's assignment no longer holds p.
            assigned(1, 2, &[&tp(1)], 30),
            assigned(2, 2, &[&p], 30),
        ];
        assert_eq!(check(&group_history(ops, None)), vec![]);
    }

    #[test]
    fn a_revoked_member_that_keeps_processing_is_a_double_owner() {
        let p = tp(0);
        let ops = vec![
            assigned(1, 1, &[&p], 10),
            revoked(1, &[&p], 30),
            assigned(2, 2, &[&p], 40),
            // Member 1 polled at 20 while it owned p, but finished processing after member 2 took it over.
            processed(1, 1, &p, &records(3..5), 20, 45),
        ];
        let violations = check(&group_history(ops, None));
        assert_eq!(violations.len(), 1, "{violations:#?}");
        let v = &violations[0];
        assert_eq!((v.tp.clone(), v.at_ms), (Some(p), Some(45)));
        assert_eq!(v.records, records(3..5));
        assert!(
            v.message.starts_with(
                "member 1 of group g processed 2 record(s) of t-0 (polled at 20 ms in generation 1, done at 45 ms) \
                 while it did not own t-0 and member 2 (m2, generation 2, from 40 ms to the end) did"
            ),
            "{}",
            v.message
        );
    }

    #[test]
    fn processing_after_a_revocation_while_nobody_owns_the_partition_is_not_a_double_owner() {
        let p = tp(0);
        let ops = vec![
            assigned(1, 1, &[&p], 10),
            revoked(1, &[&p], 30),
            processed(1, 1, &p, &records(3..5), 20, 35),
            assigned(2, 2, &[&p], 40),
        ];
        assert_eq!(check(&group_history(ops, None)), vec![]);
    }

    #[test]
    fn a_member_that_lost_its_partitions_finishing_its_batch_is_not_a_double_owner() {
        let p = tp(0);
        let lost = GroupOp::Revoked {
            group: "g".to_string(),
            process: 1,
            partitions: vec![p.clone()],
            lost: true,
            at_ms: 30,
        };
        let ops = vec![
            assigned(1, 1, &[&p], 10),
            lost,
            assigned(2, 2, &[&p], 40),
            // Polled at 20 while it owned p; its poll interval ran out at 30 and it finished at 45.
            processed(1, 1, &p, &records(3..5), 20, 45),
        ];
        assert_eq!(check(&group_history(ops, None)), vec![]);
    }

    #[test]
    fn a_removed_member_that_has_not_heard_yet_is_not_a_double_owner() {
        let p = tp(0);
        let ops = vec![
            assigned(1, 1, &[&p], 10),
            // The coordinator removed member 1 (its rebalance timeout ran out) and gave p to member 2; member 1
            // learns it at its next heartbeat.
            assigned(2, 2, &[&p], 30),
            GroupOp::Revoked {
                group: GROUP.to_string(),
                process: 1,
                partitions: vec![p.clone()],
                lost: true,
                at_ms: 35,
            },
        ];
        assert_eq!(check(&group_history(ops, None)), vec![]);
    }

    #[test]
    fn a_dropped_member_that_crashes_before_it_hears_is_not_a_double_owner() {
        // Seed 448 of group-rebalance-storm in small: member 1 stalls in generation 9, the coordinator drops it when
        // the rebalance timeout runs out and forms generation 10 without it, giving p to member 2; member 1 crashes
        // before its next heartbeat would have told it (UNKNOWN_MEMBER_ID), so no loss is ever recorded.
        let p = tp(0);
        let ops = vec![
            assigned(1, 9, &[&p], 10),
            processed(1, 9, &p, &records(0..2), 20, 25),
            assigned(2, 10, &[&p], 5_000),
            processed(2, 10, &p, &records(2..3), 5_001, 5_002),
            stopped(1, 5_050),
        ];
        assert_eq!(check(&group_history(ops, None)), vec![]);
    }

    #[test]
    fn a_member_that_crashes_owning_a_partition_of_its_own_newer_generation_is_still_judged() {
        // Member 1 took p up in generation 11 while member 2, whose generation-10 assignment arrived late, still held
        // it: member 1 was no dropped zombie, so its crash does not excuse the overlap.
        let p = tp(0);
        let ops = vec![
            assigned(1, 11, &[&p], 10),
            assigned(2, 10, &[&p], 12),
            processed(2, 10, &p, &records(0..1), 13, 14),
            stopped(1, 20),
        ];
        let violations = check(&group_history(ops, None));
        assert_eq!(violations.len(), 1, "{violations:#?}");
        assert_eq!(
            violations[0].message,
            "member 1 (m1, generation 11, from 10 ms to 20 ms) and member 2 (m2, generation 10, from 12 ms to the \
             end) of group g owned t-0 at once from 12 ms"
        );
    }
}
