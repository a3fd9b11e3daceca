//! Kafka's documented examples (the assignors' Javadoc) and cases from Kafka's own assignor tests.

use super::*;

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

/// Parses "t0p1 t1p0" into partitions.
fn tps(list: &str) -> Vec<TopicPartition> {
    list.split_whitespace()
        .map(|s| {
            let (topic, partition) = s.split_at(s.find('p').expect("t<topic>p<partition>"));
            tp(topic, partition[1..].parse().unwrap())
        })
        .collect()
}

fn topics(counts: &[(&str, i32)]) -> PartitionsPerTopic {
    counts.iter().map(|(t, c)| (t.to_string(), *c)).collect()
}

fn expect(pairs: &[(&str, &str)]) -> GroupAssignment {
    pairs
        .iter()
        .map(|(m, list)| (m.to_string(), tps(list)))
        .collect()
}

/// The members again, each owning what `assignment` gave it, from `generation_id`.
fn next_generation(
    members: &[Member],
    assignment: &GroupAssignment,
    generation_id: i32,
) -> Vec<Member> {
    let owning = |m: &Member| {
        m.clone()
            .owning(assignment[&m.member_id].clone(), generation_id)
    };
    members.iter().map(owning).collect()
}

#[test]
fn names_are_kafkas_partition_assignment_strategy_values() {
    for assignor in Assignor::ALL {
        assert_eq!(Assignor::from_name(assignor.name()), Some(assignor));
        let json = serde_json::to_string(&assignor).unwrap();
        assert_eq!(json, format!("\"{}\"", assignor.name()));
    }
    assert_eq!(Assignor::from_name("RoundRobin"), None);
    assert_eq!(
        Assignor::CooperativeSticky.supported_protocols(),
        [RebalanceProtocol::Cooperative, RebalanceProtocol::Eager]
    );
    assert_eq!(
        Assignor::Sticky.supported_protocols(),
        [RebalanceProtocol::Eager]
    );
}

#[test]
fn range_javadoc_example_gives_the_first_member_the_extra_partition_of_every_topic() {
    let members = [
        Member::new("C0", ["t0", "t1"]),
        Member::new("C1", ["t0", "t1"]),
    ];
    let assignment = Assignor::Range.assign(&topics(&[("t0", 3), ("t1", 3)]), &members);
    assert_eq!(
        assignment,
        expect(&[("C0", "t0p0 t0p1 t1p0 t1p1"), ("C1", "t0p2 t1p2")])
    );
}

#[test]
fn range_javadoc_static_members_keep_their_ranges_whatever_their_member_ids() {
    // After a rolling bounce C0 came back as C3 and C1 as C2; their group.instance.id decides the order.
    let members = [
        Member::new("C3", ["t0", "t1"]).with_group_instance_id("I0"),
        Member::new("C2", ["t0", "t1"]).with_group_instance_id("I1"),
    ];
    let assignment = Assignor::Range.assign(&topics(&[("t0", 3), ("t1", 3)]), &members);
    assert_eq!(
        assignment,
        expect(&[("C3", "t0p0 t0p1 t1p0 t1p1"), ("C2", "t0p2 t1p2")])
    );
}

#[test]
fn roundrobin_javadoc_example_deals_partitions_alternately() {
    let members = [
        Member::new("C0", ["t0", "t1"]),
        Member::new("C1", ["t0", "t1"]),
    ];
    let assignment = Assignor::RoundRobin.assign(&topics(&[("t0", 3), ("t1", 3)]), &members);
    assert_eq!(
        assignment,
        expect(&[("C0", "t0p0 t0p2 t1p1"), ("C1", "t0p1 t1p0 t1p2")])
    );
}

#[test]
fn roundrobin_javadoc_example_with_unequal_subscriptions_is_unbalanced() {
    let members = [
        Member::new("C0", ["t0"]),
        Member::new("C1", ["t0", "t1"]),
        Member::new("C2", ["t0", "t1", "t2"]),
    ];
    let assignment =
        Assignor::RoundRobin.assign(&topics(&[("t0", 1), ("t1", 2), ("t2", 3)]), &members);
    assert_eq!(
        assignment,
        expect(&[
            ("C0", "t0p0"),
            ("C1", "t1p0"),
            ("C2", "t1p1 t2p0 t2p1 t2p2")
        ])
    );
}

#[test]
fn roundrobin_javadoc_static_members_are_dealt_in_instance_id_order() {
    let members = [
        Member::new("C5", ["t0", "t1"]).with_group_instance_id("I0"),
        Member::new("C3", ["t0", "t1"]).with_group_instance_id("I1"),
        Member::new("C4", ["t0", "t1"]).with_group_instance_id("I2"),
    ];
    let assignment = Assignor::RoundRobin.assign(&topics(&[("t0", 3), ("t1", 3)]), &members);
    assert_eq!(
        assignment,
        expect(&[
            ("C5", "t0p0 t1p0"),
            ("C3", "t0p1 t1p1"),
            ("C4", "t0p2 t1p2")
        ])
    );
}

#[test]
fn sticky_javadoc_example_1_keeps_every_partition_when_c1_leaves() {
    let partitions = topics(&[("t0", 2), ("t1", 2), ("t2", 2), ("t3", 2)]);
    let all = ["t0", "t1", "t2", "t3"];
    let members = [
        Member::new("C0", all),
        Member::new("C1", all),
        Member::new("C2", all),
    ];
    let first = Assignor::Sticky.assign(&partitions, &members);
    // The same as roundrobin's, as the Javadoc says.
    assert_eq!(
        first,
        expect(&[
            ("C0", "t0p0 t1p1 t3p0"),
            ("C1", "t0p1 t2p0 t3p1"),
            ("C2", "t1p0 t2p1")
        ])
    );
    assert_eq!(first, Assignor::RoundRobin.assign(&partitions, &members));

    let remaining: Vec<Member> = next_generation(&members, &first, 1)
        .into_iter()
        .filter(|m| m.member_id != "C1")
        .collect();
    let second = Assignor::Sticky.assign(&partitions, &remaining);
    // The Javadoc shows C0 [t0p0, t1p1, t3p0, t2p0] and C2 [t1p0, t2p1, t0p1, t3p1], from the original algorithm;
    // Kafka's quota algorithm (2.8+) deals C1's partitions in topic order instead. Both keep all five.
    assert_eq!(
        second,
        expect(&[("C0", "t0p0 t0p1 t1p1 t3p0"), ("C2", "t1p0 t2p0 t2p1 t3p1")])
    );
    for member in ["C0", "C2"] {
        assert!(first[member].iter().all(|p| second[member].contains(p)));
    }
}

#[test]
fn sticky_javadoc_example_2_balances_unequal_subscriptions_and_keeps_five_when_c0_leaves() {
    let partitions = topics(&[("t0", 1), ("t1", 2), ("t2", 3)]);
    let members = [
        Member::new("C0", ["t0"]),
        Member::new("C1", ["t0", "t1"]),
        Member::new("C2", ["t0", "t1", "t2"]),
    ];
    let first = Assignor::Sticky.assign(&partitions, &members);
    assert_eq!(
        first,
        expect(&[
            ("C0", "t0p0"),
            ("C1", "t1p0 t1p1"),
            ("C2", "t2p0 t2p1 t2p2")
        ])
    );

    let remaining: Vec<Member> = next_generation(&members, &first, 1)
        .into_iter()
        .filter(|m| m.member_id != "C0")
        .collect();
    let second = Assignor::Sticky.assign(&partitions, &remaining);
    assert_eq!(
        second,
        expect(&[("C1", "t0p0 t1p0 t1p1"), ("C2", "t2p0 t2p1 t2p2")])
    );
    // Round robin, for comparison, keeps only three.
    let round_robin = Assignor::RoundRobin.assign(&partitions, &remaining);
    assert_eq!(
        round_robin,
        expect(&[("C1", "t0p0 t1p1"), ("C2", "t1p0 t2p0 t2p1 t2p2")])
    );
}

#[test]
fn cooperative_sticky_withholds_moving_partitions_until_the_follow_up_rebalance() {
    // The Javadoc's example 1, then C3 joins: C0 and C1 each give up one partition for it.
    let partitions = topics(&[("t0", 2), ("t1", 2), ("t2", 2), ("t3", 2)]);
    let all = ["t0", "t1", "t2", "t3"];
    let members = [
        Member::new("C0", all).owning(tps("t0p0 t1p1 t3p0"), 1),
        Member::new("C1", all).owning(tps("t0p1 t2p0 t3p1"), 1),
        Member::new("C2", all).owning(tps("t1p0 t2p1"), 1),
        Member::new("C3", all),
    ];
    let first = Assignor::CooperativeSticky.assign(&partitions, &members);
    assert_eq!(
        first,
        expect(&[
            ("C0", "t0p0 t3p0"),
            ("C1", "t0p1 t2p0"),
            ("C2", "t1p0 t2p1"),
            ("C3", "")
        ])
    );
    // C0 and C1 revoke t1p1 and t3p1 and rejoin; now nobody owns them and C3 gets them.
    let second =
        Assignor::CooperativeSticky.assign(&partitions, &next_generation(&members, &first, 2));
    assert_eq!(
        second,
        expect(&[
            ("C0", "t0p0 t3p0"),
            ("C1", "t0p1 t2p0"),
            ("C2", "t1p0 t2p1"),
            ("C3", "t1p1 t3p1")
        ])
    );
    // Eager sticky reaches the same assignment in one rebalance, with everything revoked in between.
    assert_eq!(Assignor::Sticky.assign(&partitions, &members), second);
}

#[test]
fn cooperative_sticky_hands_over_a_departed_members_partitions_at_once() {
    let partitions = topics(&[("t", 3)]);
    let members = [
        Member::new("consumer1", ["t"]).owning(tps("tp0 tp1"), 2),
        Member::new("consumer2", ["t"]),
    ];
    // tp2's owner left the group: nobody has to revoke it first.
    let assignment = Assignor::CooperativeSticky.assign(&partitions, &members);
    assert_eq!(
        assignment,
        expect(&[("consumer1", "tp0 tp1"), ("consumer2", "tp2")])
    );
}

#[test]
fn cooperative_sticky_kafka_test_partition_claimed_twice_in_one_generation_is_withheld() {
    // Kafka's testAllConsumersHaveOwnedPartitionInvalidatedWhenClaimedByMultipleConsumersInSameGeneration.
    for (count, expected) in [
        (
            3,
            [
                ("consumer1", "tp1"),
                ("consumer2", "tp2"),
                ("consumer3", ""),
            ],
        ),
        (
            4,
            [
                ("consumer1", "tp1 tp3"),
                ("consumer2", "tp2"),
                ("consumer3", ""),
            ],
        ),
    ] {
        let members = [
            Member::new("consumer1", ["t"]).owning(tps("tp0 tp1"), 1),
            Member::new("consumer2", ["t"]).owning(tps("tp0 tp2"), 1),
            Member::new("consumer3", ["t"]).owning([], 1),
        ];
        let assignment = Assignor::CooperativeSticky.assign(&topics(&[("t", count)]), &members);
        assert_eq!(assignment, expect(&expected));
        // Eager sticky gives tp0 to consumer3 straight away.
        let eager = Assignor::Sticky.assign(&topics(&[("t", count)]), &members);
        assert_eq!(eager["consumer3"], tps("tp0"));
    }
}

#[test]
fn sticky_kafka_test_extra_partition_goes_to_the_first_member_in_kafkas_hash_map_order() {
    // Kafka's testMaxQuotaConsumerMoreThanNumExpectedMaxCapacityMembers: consumer1 and consumer2 both own two of
    // four partitions but only one may keep two. Java's HashMap iterates consumer2 before consumer1, so consumer2
    // keeps both and consumer1 gives up topic2-0 (a member id order would have picked consumer1).
    let subscribed = ["topic1", "topic2"];
    let members = [
        Member::new("consumer1", subscribed).owning([tp("topic1", 0), tp("topic2", 0)], 1),
        Member::new("consumer2", subscribed).owning([tp("topic1", 1), tp("topic2", 1)], 1),
        Member::new("consumer3", subscribed).owning([], 1),
    ];
    let partitions = topics(&[("topic1", 2), ("topic2", 2)]);
    let eager = Assignor::Sticky.assign(&partitions, &members);
    let expected = [
        ("consumer1", vec![tp("topic1", 0)]),
        ("consumer2", vec![tp("topic1", 1), tp("topic2", 1)]),
        ("consumer3", vec![tp("topic2", 0)]),
    ];
    assert_eq!(
        eager,
        expected
            .iter()
            .map(|(m, p)| (m.to_string(), p.clone()))
            .collect()
    );
    let cooperative = Assignor::CooperativeSticky.assign(&partitions, &members);
    assert!(cooperative["consumer3"].is_empty());
}

#[test]
fn sticky_kafka_test_mixed_subscriptions_use_the_general_algorithm() {
    // Kafka's testMultipleConsumersMixedTopicSubscriptions.
    let members = [
        Member::new("consumer1", ["topic1"]),
        Member::new("consumer2", ["topic1", "topic2"]),
        Member::new("consumer3", ["topic1"]),
    ];
    let assignment = Assignor::Sticky.assign(&topics(&[("topic1", 3), ("topic2", 2)]), &members);
    let expected: GroupAssignment = [
        ("consumer1", vec![tp("topic1", 0), tp("topic1", 2)]),
        ("consumer2", vec![tp("topic2", 0), tp("topic2", 1)]),
        ("consumer3", vec![tp("topic1", 1)]),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_string(), p))
    .collect();
    assert_eq!(assignment, expected);
}

#[test]
fn sticky_kafka_test_stale_generation_loses_its_claim() {
    // Kafka's testOwnedPartitionsAreInvalidatedForConsumerWithStaleGeneration.
    let claimed = [tp("topic", 0), tp("topic", 2), tp("topic2", 1)];
    let members = [
        Member::new("consumer1", ["topic", "topic2"]).owning(claimed.clone(), 10),
        Member::new("consumer2", ["topic", "topic2"]).owning(claimed.clone(), 9),
    ];
    let assignment = Assignor::Sticky.assign(&topics(&[("topic", 3), ("topic2", 3)]), &members);
    assert_eq!(assignment["consumer1"], claimed);
    assert_eq!(
        assignment["consumer2"],
        [tp("topic", 1), tp("topic2", 0), tp("topic2", 2)]
    );
}

#[test]
fn kafka_quirk_a_member_subscribed_to_nothing_ahead_in_hash_order_gets_partitions() {
    // Kafka compares subscriptions against the first non-empty one, so A's empty subscription goes unnoticed
    // and the equal-subscription algorithm deals A two partitions of a topic it never subscribed to.
    let members = [
        Member::new("B", ["t0"]),
        Member::new("A", Vec::<String>::new()),
    ];
    let assignment = Assignor::Sticky.assign(&topics(&[("t0", 3)]), &members);
    assert_eq!(assignment, expect(&[("A", "t0p0 t0p2"), ("B", "t0p1")]));
}

#[test]
fn kafka_quirk_a_partition_goes_back_to_an_older_owner_that_no_longer_subscribes() {
    // A owned t0p0 in generation 4 and now subscribes only to t1; B took t0p0 over in generation 5. Balancing
    // moves t0p0 back to its previous owner A without checking A's subscription, as Kafka does.
    let members = [
        Member::new("A", ["t1"]).owning(tps("t0p0"), 4),
        Member::new("B", ["t0"]).owning(tps("t0p0 t0p1 t0p2 t0p3"), 5),
        Member::new("C", ["t0", "t1"]).owning([], 5),
    ];
    let partitions = topics(&[("t0", 4), ("t1", 2)]);
    let assignment = Assignor::Sticky.assign(&partitions, &members);
    assert_eq!(
        assignment,
        expect(&[("A", "t0p0 t1p0"), ("B", "t0p2 t0p3"), ("C", "t0p1 t1p1")])
    );
    let cooperative = Assignor::CooperativeSticky.assign(&partitions, &members);
    assert_eq!(
        cooperative,
        expect(&[("A", "t0p0 t1p0"), ("B", "t0p2 t0p3"), ("C", "t1p1")])
    );
}

#[test]
fn topics_without_partitions_or_subscribers_are_left_out() {
    let members = [
        Member::new("C0", ["t0", "missing"]),
        Member::new("C1", ["t0", "empty"]),
    ];
    let partitions = topics(&[("t0", 2), ("empty", 0), ("unsubscribed", 5)]);
    for assignor in Assignor::ALL {
        let assignment = assignor.assign(&partitions, &members);
        let assigned: Vec<&TopicPartition> = assignment.values().flatten().collect();
        assert_eq!(assigned.len(), 2, "{assignor}");
        assert!(assigned.iter().all(|tp| &*tp.topic == "t0"), "{assignor}");
    }
}

#[test]
fn an_empty_group_gets_an_empty_assignment() {
    for assignor in Assignor::ALL {
        assert!(assignor.assign(&topics(&[("t0", 3)]), &[]).is_empty());
    }
}
