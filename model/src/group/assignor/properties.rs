//! Properties of the assignors for random groups: validity, the balance each assignor promises, and the
//! stickiness of sticky and cooperative-sticky as members come and go.
//!
//! What Kafka guarantees, and so what is checked:
//! - Every assignor: each partition of a subscribed topic goes to exactly one member, subscribed to its topic.
//!   Cooperative-sticky gives each at most once in a rebalance, never to a new owner in the same rebalance that
//!   takes it from the old one, and exactly once after the follow-up rebalance.
//! - range balances each topic on its own (its subscribers' counts within one), not the group: with equal
//!   subscriptions a member can have up to one extra partition per topic.
//! - roundrobin balances the group within one partition when subscriptions are equal, and promises nothing
//!   about balance when they differ.
//! - sticky and cooperative-sticky: counts within one, or no member with two fewer than another subscribes to
//!   a topic of that member's partitions. With equal subscriptions, after a member joins or leaves, the
//!   partitions that change owner are exactly the fewest the new quotas force off their present owners.
//!
//! Subscriptions here are never empty: Kafka's equal-subscription check skips empty ones (see the tests).

use super::*;
use proptest::prelude::*;

/// A random group: partition counts for topics t0.., and members in JoinGroup order with non-empty
/// subscriptions, equal for all when `equal`.
#[derive(Clone, Debug)]
struct Scenario {
    partitions: PartitionsPerTopic,
    members: Vec<Member>,
}

fn topic_name(index: usize) -> String {
    format!("t{index}")
}

fn subscription(topic_count: usize, mask: u8) -> Vec<String> {
    let mask = usize::from(mask) % ((1 << topic_count) - 1) + 1;
    (0..topic_count)
        .filter(|t| mask & (1 << t) != 0)
        .map(topic_name)
        .collect()
}

fn scenario(equal: bool) -> impl Strategy<Value = Scenario> {
    let counts = prop::collection::vec(1..=8i32, 1..=4);
    let ids = prop::collection::btree_set("[a-z]{1,4}", 1..=6);
    let masks = prop::collection::vec(any::<u8>(), 7);
    let join_keys = prop::collection::vec(any::<u32>(), 7);
    (counts, ids, masks, join_keys).prop_map(move |(counts, ids, masks, join_keys)| {
        let partitions: PartitionsPerTopic = counts
            .iter()
            .enumerate()
            .map(|(t, c)| (topic_name(t), *c))
            .collect();
        let mut ids: Vec<(u32, String)> = ids
            .into_iter()
            .enumerate()
            .map(|(i, id)| (join_keys[i], id))
            .collect();
        ids.sort();
        let members = ids
            .into_iter()
            .enumerate()
            .map(|(i, (_, id))| {
                Member::new(
                    id,
                    subscription(counts.len(), masks[if equal { 0 } else { i }]),
                )
            })
            .collect();
        Scenario {
            partitions,
            members,
        }
    })
}

fn subscribed_partitions(scenario: &Scenario) -> BTreeSet<TopicPartition> {
    let subscribed: BTreeSet<&String> = scenario.members.iter().flat_map(|m| &m.topics).collect();
    let topics = scenario
        .partitions
        .iter()
        .filter(|(t, _)| subscribed.contains(t));
    topics
        .flat_map(|(t, c)| (0..*c).map(move |p| TopicPartition::new(t.as_str(), p)))
        .collect()
}

/// Each partition at most once (exactly once when `complete`), only to a member subscribed to its topic.
fn check_valid(
    scenario: &Scenario,
    assignment: &GroupAssignment,
    complete: bool,
) -> Result<(), TestCaseError> {
    let ids: BTreeSet<&String> = scenario.members.iter().map(|m| &m.member_id).collect();
    prop_assert_eq!(assignment.keys().collect::<BTreeSet<_>>(), ids);
    let mut seen = BTreeSet::new();
    for member in &scenario.members {
        for tp in &assignment[&member.member_id] {
            prop_assert!(
                member.topics.contains(&*tp.topic),
                "{} got {} unsubscribed",
                member.member_id,
                tp
            );
            prop_assert!(seen.insert(tp.clone()), "{} assigned twice", tp);
        }
    }
    let all = subscribed_partitions(scenario);
    prop_assert!(seen.is_subset(&all));
    if complete {
        prop_assert_eq!(seen, all);
    }
    Ok(())
}

fn counts(assignment: &GroupAssignment) -> Vec<usize> {
    assignment.values().map(Vec::len).collect()
}

fn spread(counts: &[usize]) -> usize {
    counts.iter().max().unwrap_or(&0) - counts.iter().min().unwrap_or(&0)
}

/// Kafka's sticky balance: no member could take a partition from one with two more.
fn check_sticky_balance(
    scenario: &Scenario,
    assignment: &GroupAssignment,
) -> Result<(), TestCaseError> {
    for less in &scenario.members {
        for more in &scenario.members {
            let (few, many) = (&assignment[&less.member_id], &assignment[&more.member_id]);
            if few.len() + 1 < many.len() {
                let movable = many.iter().find(|tp| less.topics.contains(&*tp.topic));
                prop_assert!(
                    movable.is_none(),
                    "{:?} could move from {} to {}",
                    movable,
                    more.member_id,
                    less.member_id
                );
            }
        }
    }
    Ok(())
}

/// The members again, each owning its part of `assignment` from `generation_id`.
fn owning(members: &[Member], assignment: &GroupAssignment, generation_id: i32) -> Vec<Member> {
    let owning = |m: &Member| {
        m.clone()
            .owning(assignment[&m.member_id].clone(), generation_id)
    };
    members.iter().map(owning).collect()
}

/// Partitions that a present member owned and another member now has.
fn moved(members: &[Member], assignment: &GroupAssignment) -> usize {
    let owners: BTreeMap<&TopicPartition, &String> = members
        .iter()
        .flat_map(|m| m.owned_partitions.iter().map(move |tp| (tp, &m.member_id)))
        .collect();
    let moved = |(member, partitions): (&String, &Vec<TopicPartition>)| {
        partitions
            .iter()
            .filter(|tp| owners.get(tp).is_some_and(|owner| *owner != member))
            .count()
    };
    assignment.iter().map(moved).sum()
}

/// The fewest partitions that must leave their present owners for the quotas: the `P % N` members owning the
/// most may keep `P / N + 1`, the others `P / N`.
fn fewest_moves(members: &[Member], total: usize) -> usize {
    let quota = total / members.len();
    let mut owned: Vec<usize> = members.iter().map(|m| m.owned_partitions.len()).collect();
    owned.sort_unstable_by(|a, b| b.cmp(a));
    let extra = total % members.len();
    let allowed = |i: usize| quota + usize::from(i < extra);
    owned
        .iter()
        .enumerate()
        .map(|(i, o)| o.saturating_sub(allowed(i)))
        .sum()
}

/// One rebalance of cooperative-sticky: at most once, and nothing given away while its owner still has it.
fn check_cooperative_round(
    members: &[Member],
    scenario: &Scenario,
    assignment: &GroupAssignment,
) -> Result<bool, TestCaseError> {
    check_valid(scenario, assignment, false)?;
    let mut added = BTreeSet::new();
    let mut revoked = BTreeSet::new();
    for member in members {
        let assigned = &assignment[&member.member_id];
        added.extend(
            assigned
                .iter()
                .filter(|tp| !member.owned_partitions.contains(tp)),
        );
        revoked.extend(
            member
                .owned_partitions
                .iter()
                .filter(|tp| !assigned.contains(tp)),
        );
    }
    prop_assert!(
        added.is_disjoint(&revoked),
        "given and revoked in one rebalance: {:?}",
        added.intersection(&revoked)
    );
    Ok(!revoked.is_empty())
}

/// Cooperative-sticky from `members` until a rebalance revokes nothing; the final assignment and its rounds.
fn cooperative_until_stable(
    scenario: &Scenario,
    members: Vec<Member>,
    generation_id: i32,
) -> Result<(GroupAssignment, usize), TestCaseError> {
    let mut members = members;
    for round in 1..=5 {
        let assignment = Assignor::CooperativeSticky.assign(&scenario.partitions, &members);
        let revoked = check_cooperative_round(&members, scenario, &assignment)?;
        if !revoked {
            return Ok((assignment, round));
        }
        members = owning(&members, &assignment, generation_id + round as i32);
    }
    Err(TestCaseError::fail(
        "cooperative-sticky still revoking after 5 rebalances",
    ))
}

/// Applies `change` number `step` (a new member joins, or the `n`th member leaves) to members owning `assignment`.
fn change_membership(
    scenario: &Scenario,
    assignment: &GroupAssignment,
    step: usize,
    change: (bool, usize),
) -> Scenario {
    let mut members = owning(&scenario.members, assignment, 1);
    let (join, n) = change;
    if join {
        let topics = members[0].topics.clone();
        members.insert(
            n % (members.len() + 1),
            Member::new(format!("joiner-{step}"), topics).owning([], 1),
        );
    } else if members.len() > 1 {
        members.remove(n % members.len());
    }
    Scenario {
        partitions: scenario.partitions.clone(),
        members,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_assignor_assigns_each_subscribed_partition_once_to_a_subscriber(s in prop_oneof![scenario(true), scenario(false)]) {
        for assignor in Assignor::ALL {
            let assignment = assignor.assign(&s.partitions, &s.members);
            check_valid(&s, &assignment, true)?;
        }
    }

    #[test]
    fn range_balances_each_topic_but_not_the_group(s in prop_oneof![scenario(true), scenario(false)]) {
        let assignment = Assignor::Range.assign(&s.partitions, &s.members);
        for topic in s.partitions.keys() {
            let subscribers = s.members.iter().filter(|m| m.topics.contains(topic));
            let per_topic: Vec<usize> = subscribers
                .map(|m| assignment[&m.member_id].iter().filter(|tp| &*tp.topic == topic).count())
                .collect();
            prop_assert!(spread(&per_topic) <= 1, "{} split {:?}", topic, per_topic);
        }
        // With equal subscriptions each topic's extra partition lands on the same first members.
        if s.members.iter().all(|m| m.topics == s.members[0].topics) {
            prop_assert!(spread(&counts(&assignment)) <= s.members[0].topics.len());
        }
    }

    #[test]
    fn roundrobin_balances_equal_subscriptions_within_one(s in scenario(true)) {
        let assignment = Assignor::RoundRobin.assign(&s.partitions, &s.members);
        prop_assert!(spread(&counts(&assignment)) <= 1);
    }

    #[test]
    fn sticky_is_as_balanced_as_subscriptions_allow(s in prop_oneof![scenario(true), scenario(false)]) {
        let assignment = Assignor::Sticky.assign(&s.partitions, &s.members);
        check_sticky_balance(&s, &assignment)?;
        let (cooperative, rounds) = cooperative_until_stable(&s, s.members.clone(), 1)?;
        prop_assert_eq!(rounds, 1, "nothing is owned yet, so nothing waits for a revocation");
        check_valid(&s, &cooperative, true)?;
        check_sticky_balance(&s, &cooperative)?;
    }

    #[test]
    fn sticky_moves_the_fewest_partitions_when_members_come_and_go(
        s in scenario(true),
        changes in prop::collection::vec((any::<bool>(), any::<usize>()), 1..5),
    ) {
        let mut s = s;
        let mut assignment = Assignor::Sticky.assign(&s.partitions, &s.members);
        for (step, change) in changes.into_iter().enumerate() {
            s = change_membership(&s, &assignment, step, change);
            assignment = Assignor::Sticky.assign(&s.partitions, &s.members);
            check_valid(&s, &assignment, true)?;
            prop_assert!(spread(&counts(&assignment)) <= 1);
            let total = subscribed_partitions(&s).len();
            prop_assert_eq!(moved(&s.members, &assignment), fewest_moves(&s.members, total));
        }
    }

    #[test]
    fn cooperative_sticky_moves_the_fewest_partitions_in_two_rebalances(
        s in scenario(true),
        changes in prop::collection::vec((any::<bool>(), any::<usize>()), 1..5),
    ) {
        let mut s = s;
        let (mut assignment, _) = cooperative_until_stable(&s, s.members.clone(), 1)?;
        for (step, change) in changes.into_iter().enumerate() {
            s = change_membership(&s, &assignment, step, change);
            let (stable, rounds) = cooperative_until_stable(&s, s.members.clone(), 1)?;
            prop_assert!(rounds <= 2, "one follow-up rebalance hands over every withheld partition");
            check_valid(&s, &stable, true)?;
            prop_assert!(spread(&counts(&stable)) <= 1);
            let total = subscribed_partitions(&s).len();
            prop_assert_eq!(moved(&s.members, &stable), fewest_moves(&s.members, total));
            // One member joining or leaving at a time, the end state is the one eager sticky reaches at once.
            prop_assert_eq!(&stable, &Assignor::Sticky.assign(&s.partitions, &s.members));
            assignment = stable;
        }
    }

    #[test]
    fn sticky_stays_valid_and_balanced_as_members_of_unequal_subscriptions_come_and_go(
        s in scenario(false),
        changes in prop::collection::vec((any::<bool>(), any::<usize>()), 1..5),
    ) {
        let mut eager = s.clone();
        let mut assignment = Assignor::Sticky.assign(&eager.partitions, &eager.members);
        let mut cooperative = s;
        let (mut cooperative_assignment, _) = cooperative_until_stable(&cooperative, cooperative.members.clone(), 1)?;
        for (step, change) in changes.into_iter().enumerate() {
            eager = change_membership(&eager, &assignment, step, change);
            assignment = Assignor::Sticky.assign(&eager.partitions, &eager.members);
            check_valid(&eager, &assignment, true)?;
            check_sticky_balance(&eager, &assignment)?;

            cooperative = change_membership(&cooperative, &cooperative_assignment, step, change);
            let (stable, _) = cooperative_until_stable(&cooperative, cooperative.members.clone(), 1)?;
            check_valid(&cooperative, &stable, true)?;
            check_sticky_balance(&cooperative, &stable)?;
            cooperative_assignment = stable;
        }
    }
}
