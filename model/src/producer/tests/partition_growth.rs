//! A topic grows under a running producer: the new partition is used once a metadata refresh names it, and
//! keyed records re-hash over the new count (Kafka's documented behaviour: a key's partition may change).

use super::*;

/// The last metadata request's broker: refreshes rotate over the bootstrap brokers.
fn last_metadata_broker(s: &Script) -> BrokerId {
    s.sent
        .iter()
        .rev()
        .find_map(|(to, _, m)| match (to, m) {
            (NodeId::Broker(b), Message::MetadataRequest(_)) => Some(*b),
            _ => None,
        })
        .expect("a metadata request")
}

/// The partitions each value went to, across every produce request.
fn placed(s: &Script) -> BTreeMap<u64, i32> {
    s.produce_requests()
        .into_iter()
        .flat_map(|(_, batches)| batches)
        .flat_map(|(p, values)| values.into_iter().map(move |v| (v, p)))
        .collect()
}

#[test]
fn a_partition_added_to_the_topic_gets_records_after_the_next_metadata_refresh() {
    let mut s = Script::new(ProducerConfig {
        metadata_max_age_ms: 1_000,
        ..config()
    });
    // A key that lands on the new partition 2 once there are 3, and so elsewhere while there are 2.
    let key = (0..)
        .map(|k| format!("key-{k}"))
        .find(|k| partitioner::partition_for_key(k.as_bytes(), 3) == 2)
        .unwrap();
    let before = partitioner::partition_for_key(key.as_bytes(), 2);
    s.send_keyed(0, &key, 100);
    s.answer(1, 1, metadata(&[(0, 1, 1), (1, 2, 1)]));
    s.wait_until(10);
    let leader_before = before + 1;
    s.answer(11, leader_before, produced(&[(before, ErrorCode::NONE, 0)]));
    // The topic grows to 3 partitions; the producer learns it only at its next refresh (metadata.max.age.ms).
    s.send_keyed(500, &key, 101);
    s.wait_until(510);
    s.answer(
        511,
        leader_before,
        produced(&[(before, ErrorCode::NONE, 1)]),
    );
    s.wait_until(1_001);
    let asked = last_metadata_broker(&s);
    s.answer(1_002, asked, metadata(&[(0, 1, 1), (1, 2, 1), (2, 3, 1)]));
    s.send_keyed(1_100, &key, 102);
    s.send_to(1_100, 2, 103);
    s.wait_until(1_110);
    let placed = placed(&s);
    assert_eq!(placed[&100], before);
    assert_eq!(placed[&101], before, "the old count until the refresh");
    assert_eq!(placed[&102], 2, "the key re-hashed over 3 partitions");
    assert_eq!(placed[&103], 2);
    let to_new_leader = s
        .produce_requests()
        .into_iter()
        .any(|(to, batches)| to == NodeId::Broker(3) && batches.iter().any(|(p, _)| *p == 2));
    assert!(to_new_leader, "{}", s.transcript);
}

#[test]
fn records_without_a_key_reach_the_new_partitions_after_the_refresh() {
    let mut s = Script::new(ProducerConfig {
        metadata_max_age_ms: 1_000,
        max_in_flight_requests_per_connection: 100,
        ..config()
    });
    s.send(0, 0);
    s.answer(1, 1, metadata(&[(0, 1, 1)]));
    s.wait_until(1_001);
    let asked = last_metadata_broker(&s);
    s.answer(1_002, asked, metadata(&[(0, 1, 1), (1, 2, 1), (2, 3, 1)]));
    // 22-byte records and batch.size 100: the sticky partition switches every 10 records.
    for value in 1..60 {
        s.send(1_100 + value, value);
    }
    s.wait_until(1_200);
    let partitions: BTreeSet<i32> = placed(&s).values().copied().collect();
    assert!(
        partitions.iter().any(|p| *p > 0),
        "no record reached a new partition: {partitions:?}"
    );
}
