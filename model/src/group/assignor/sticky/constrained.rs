//! The sticky assignment when every member subscribes to the same topics (Kafka's `ConstrainedAssignmentBuilder`).
//!
//! With `P` partitions over `N` members, each member gets `minQuota = P / N` or `maxQuota = ceil(P / N)`, and
//! exactly `P % N` members get the larger. In three steps:
//! 1. Each member, in Kafka's owned-partitions `HashMap` order, keeps what it owns up to its quota: all of it
//!    below `minQuota`; `maxQuota` while fewer than `P % N` members have reached it; otherwise `minQuota`. What it
//!    owns beyond that may be revoked. Owned partitions are kept in order of partition number, then topic.
//! 2. The partitions nobody kept, sorted by topic then number, are dealt round-robin to the members still under
//!    `minQuota` (sorted by member id), then one more each to members at `minQuota`, until `P % N` are at
//!    `maxQuota`.
//! 3. A partition given to a member other than the present member that owned it, or one that was claimed by
//!    several members, is recorded as transferring ownership: cooperative-sticky must revoke it first.
//!
//! So the result is balanced within one partition and moves the fewest partitions the quotas allow.

use super::super::{Group, MemberIndex};
use super::ownership::Ownership;
use crate::ids::TopicPartition;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

struct Builder<'a> {
    ownership: &'a Ownership,
    min_quota: usize,
    max_quota: usize,
    /// How many members end with `max_quota` (zero when the quotas are equal).
    expected_members_over_min_quota: usize,
    members_over_min_quota: usize,
    assignment: Vec<Vec<TopicPartition>>,
    /// Owned partitions a member had to let go of, by that member: Kafka's `maybeRevokedPartitions`.
    maybe_revoked: BTreeMap<TopicPartition, MemberIndex>,
    under_min_quota: Vec<MemberIndex>,
    exactly_min_quota: VecDeque<MemberIndex>,
    transferring: BTreeMap<TopicPartition, MemberIndex>,
}

/// The assignment and the partitions transferring ownership.
pub(super) fn assign(
    group: &Group,
    ownership: &Ownership,
    owned_partitions_order: &[MemberIndex],
) -> (
    Vec<Vec<TopicPartition>>,
    BTreeMap<TopicPartition, MemberIndex>,
) {
    let members = group.members.len();
    let total = group.total_partitions();
    let mut builder = Builder {
        ownership,
        min_quota: total / members,
        max_quota: total.div_ceil(members),
        expected_members_over_min_quota: total % members,
        members_over_min_quota: 0,
        assignment: vec![Vec::new(); members],
        maybe_revoked: BTreeMap::new(),
        under_min_quota: Vec::new(),
        exactly_min_quota: VecDeque::new(),
        transferring: BTreeMap::new(),
    };
    for &member in owned_partitions_order {
        builder.keep_owned_partitions(member);
    }
    let kept: BTreeSet<&TopicPartition> = builder.assignment.iter().flatten().collect();
    let unassigned: Vec<TopicPartition> = group
        .partitions_per_topic
        .keys()
        .flat_map(|topic| group.partitions_of(topic))
        .filter(|tp| !kept.contains(tp))
        .collect();
    // Member indices are in member id order, so sorting them sorts by member id as Kafka does.
    builder.under_min_quota.sort();
    builder.exactly_min_quota.make_contiguous().sort();
    builder.assign_round_robin(unassigned);
    builder.verify_unfilled_members();
    (builder.assignment, builder.transferring)
}

impl Builder<'_> {
    fn keep_owned_partitions(&mut self, member: MemberIndex) {
        let mut owned = self.ownership.owned[member].clone();
        owned.sort_by(|a, b| {
            a.partition
                .cmp(&b.partition)
                .then_with(|| a.topic.cmp(&b.topic))
        });
        owned.retain(|tp| !self.ownership.multiply_claimed.contains(tp));
        let keep = if owned.len() < self.min_quota {
            self.under_min_quota.push(member);
            owned.len()
        } else if owned.len() >= self.max_quota
            && self.members_over_min_quota < self.expected_members_over_min_quota
        {
            self.members_over_min_quota += 1;
            if self.members_over_min_quota == self.expected_members_over_min_quota {
                self.exactly_min_quota.clear();
            }
            self.max_quota
        } else {
            if self.members_over_min_quota < self.expected_members_over_min_quota {
                self.exactly_min_quota.push_back(member);
            }
            self.min_quota
        };
        for tp in owned.split_off(keep) {
            self.maybe_revoked.insert(tp, member);
        }
        self.assignment[member] = owned;
    }

    /// Deals the unassigned partitions, with Kafka's iterator over the under-quota members: it restarts from the
    /// first when it runs off the end, and a member reaching `min_quota` moves to the back of the at-quota queue.
    fn assign_round_robin(&mut self, unassigned: Vec<TopicPartition>) {
        let mut cursor = 0;
        for tp in unassigned {
            let member = if cursor < self.under_min_quota.len() {
                cursor += 1;
                self.under_min_quota[cursor - 1]
            } else if self.under_min_quota.is_empty() {
                self.exactly_min_quota
                    .pop_front()
                    .expect("No more unfilled consumers to be assigned.")
            } else {
                cursor = 1;
                self.under_min_quota[0]
            };
            let count = self.assign_new_partition(tp, member);
            if count == self.min_quota {
                cursor -= 1;
                self.under_min_quota.remove(cursor);
                self.exactly_min_quota.push_back(member);
            } else if count == self.max_quota {
                self.members_over_min_quota += 1;
            }
        }
    }

    fn assign_new_partition(&mut self, tp: TopicPartition, member: MemberIndex) -> usize {
        let revoked_from_another = self
            .maybe_revoked
            .get(&tp)
            .is_some_and(|owner| *owner != member);
        if revoked_from_another || self.ownership.multiply_claimed.contains(&tp) {
            self.transferring.insert(tp.clone(), member);
        }
        self.assignment[member].push(tp);
        self.assignment[member].len()
    }

    /// Kafka throws IllegalStateException here: members left below their quota mean the algorithm is wrong.
    fn verify_unfilled_members(&self) {
        if self.under_min_quota.is_empty() {
            return;
        }
        assert_eq!(
            self.members_over_min_quota, self.expected_members_over_min_quota,
            "We haven't reached the expected number of members with more than the minQuota partitions, \
             but no more partitions to be assigned"
        );
        for member in &self.under_min_quota {
            assert_eq!(
                self.assignment[*member].len(),
                self.min_quota,
                "Consumer doesn't reach minQuota partitions, and no more partitions to be assigned"
            );
        }
    }
}
