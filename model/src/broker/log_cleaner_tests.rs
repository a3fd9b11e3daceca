//! The broker's log cleaner: when it wakes, which logs it takes, and a follower replicating a cleaned log over
//! Fetch, gaps and all.

use super::tests::register;
use super::*;
use crate::log::Log;
use crate::protocol::*;
use crate::record::{BatchAttributes, BatchProducer, Record, RecordBatch};

fn compacted() -> TopicPartition {
    TopicPartition::new("compacted", 0)
}

fn plain() -> TopicPartition {
    TopicPartition::new("plain", 0)
}

/// Topics whose segments roll at every append 10 ms apart, one compacted and one with the default policy.
fn topics() -> Vec<TopicConfig> {
    let topic = |name: &str, log: LogConfig| TopicConfig {
        name: name.into(),
        partitions: 1,
        replication_factor: 2,
        min_insync_replicas: 1,
        unclean_leader_election_enable: false,
        log: LogConfig {
            segment_ms: 5,
            ..log
        },
    };
    vec![
        topic("compacted", LogConfig::compacted()),
        topic("plain", LogConfig::default()),
    ]
}

/// A log of one-record batches with these keys, from producer 7 in sequence, its segments rolled as `topics`
/// says.
fn keyed_log(keys: &[&str]) -> Log {
    let mut log = Log {
        config: topics()[0].log,
        ..Log::default()
    };
    for (i, key) in keys.iter().enumerate() {
        let offset = i as Offset;
        log.append(
            RecordBatch {
                base_offset: offset,
                partition_leader_epoch: 0,
                records: [Record {
                    key: Some(Arc::from(key.as_bytes())),
                    value: offset as u64,
                    timestamp_ms: 0,
                    internal: None,
                }]
                .into(),
                producer: Some(BatchProducer {
                    producer_id: 7,
                    producer_epoch: 0,
                    base_sequence: i as i32,
                }),
                attributes: BatchAttributes::default(),
                compacted: None,
            },
            offset as u64 * 10,
        );
    }
    log
}

fn offsets(log: &Log) -> Vec<Offset> {
    log.file
        .batches()
        .iter()
        .flat_map(|b| b.entries().map(|(o, _)| o))
        .collect()
}

const KEYS: [&str; 8] = ["a", "b", "a", "c", "b", "a", "d", "e"];

#[test]
fn the_cleaner_wakes_after_its_backoff_and_cleans_only_compacted_logs() {
    let log = keyed_log(&KEYS);
    let leo = log.log_end_offset();
    let disk = Disk {
        logs: [(compacted(), log.clone()), (plain(), log)].into(),
        hw_checkpoint: [(compacted(), leo), (plain(), leo)].into(),
    };
    let (mut b, _) = Broker::start(1, BrokerConfig::default(), topics(), disk, 1, 0);
    assert!(
        b.next_timeout().is_some_and(|t| t <= 15_000),
        "a compacted log asks for the cleaner's wake-up"
    );
    b.on_timeout(14_999);
    assert_eq!(
        offsets(&b.partitions[&compacted()].log).len(),
        8,
        "still asleep"
    );
    let out = b.on_timeout(15_000);
    let cleaned: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Observe(Observation::LogCleaned {
                tp,
                first_uncleanable_offset,
                records_before,
                records_after,
                ..
            }) => Some((
                tp.clone(),
                *first_uncleanable_offset,
                *records_before,
                *records_after,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        cleaned,
        vec![(compacted(), 7, 7, 4)],
        "observed, for the trace"
    );
    assert_eq!(
        offsets(&b.partitions[&compacted()].log),
        vec![3, 4, 5, 6, 7],
        "the newest a, b, c and d; e is the active segment"
    );
    assert_eq!(
        offsets(&b.partitions[&plain()].log),
        (0..8).collect::<Vec<_>>()
    );
}

#[test]
fn the_cleaner_waits_until_the_dirty_share_exceeds_min_cleanable_dirty_ratio() {
    let mut log = keyed_log(&KEYS);
    let leo = log.log_end_offset();
    log.clean(leo);
    let disk = Disk {
        logs: [(compacted(), log)].into(),
        hw_checkpoint: [(compacted(), leo)].into(),
    };
    let (mut b, _) = Broker::start(1, BrokerConfig::default(), topics(), disk, 1, 0);
    let p = b.partitions.get_mut(&compacted()).unwrap();
    // One more record rolls "e" out of the active segment: 1 dirty of 5 records is not enough.
    let more = |base: Offset| RecordBatch {
        base_offset: base,
        partition_leader_epoch: 0,
        records: [Record {
            key: Some(Arc::from(&b"a"[..])),
            value: base as u64,
            timestamp_ms: 0,
            internal: None,
        }]
        .into(),
        producer: None,
        attributes: BatchAttributes::default(),
        compacted: None,
    };
    p.log.append(more(8), 1_000);
    p.high_watermark = p.log_end_offset();
    b.on_timeout(15_000);
    let p = &b.partitions[&compacted()];
    assert_eq!(
        offsets(&p.log),
        vec![3, 4, 5, 6, 7, 8],
        "ratio 1/6 <= 0.5: nothing"
    );
    // Five more dirty records (four rolled out) tip it over.
    let p = b.partitions.get_mut(&compacted()).unwrap();
    for i in 0..5 {
        p.log.append(more(9 + i), 2_000 + i as u64 * 10);
    }
    p.high_watermark = p.log_end_offset();
    b.on_timeout(30_000);
    assert_eq!(
        offsets(&b.partitions[&compacted()].log),
        vec![3, 4, 6, 7, 12, 13],
        "c, b, d, e and the newest cleanable a; a@13 is the active segment"
    );
}

/// Delivers the brokers' messages to each other until nothing is left to deliver (or `rounds` runs out).
fn pump(brokers: &mut [Broker; 2], mut queue: Vec<(BrokerId, Output)>, now: u64) {
    for _ in 0..1_000 {
        let Some((from, output)) = queue.pop() else {
            return;
        };
        let Output::Send {
            to: NodeId::Broker(to),
            correlation_id,
            message,
        } = output
        else {
            continue;
        };
        let target = brokers.iter_mut().find(|b| b.id == to).unwrap();
        let out = target.handle_message(now, NodeId::Broker(from), correlation_id, message);
        queue.extend(out.into_iter().map(|o| (to, o)));
        // The follower's next fetch is parked until data arrives; stop once it has it all.
        if brokers[1].partitions[&compacted()].log_end_offset()
            == brokers[0].partitions[&compacted()].log_end_offset()
        {
            return;
        }
    }
    panic!("replication did not settle");
}

#[test]
fn a_follower_copies_a_cleaned_log_over_fetch_with_its_gaps() {
    let mut log = keyed_log(&KEYS);
    let leo = log.log_end_offset();
    log.clean(leo);
    let leader_disk = Disk {
        logs: [(compacted(), log)].into(),
        hw_checkpoint: [(compacted(), leo)].into(),
    };
    let state = |leader| LeaderAndIsrPartitionState {
        topic_partition: compacted(),
        leader,
        leader_epoch: 1,
        isr: vec![1],
        partition_epoch: 1,
        replicas: vec![1, 2],
    };
    let mut brokers = [1, 2].map(|id| {
        let disk = if id == 1 {
            leader_disk.clone()
        } else {
            Disk::default()
        };
        let (mut b, _) = Broker::start(id, BrokerConfig::default(), topics(), disk, 1, 0);
        register(&mut b);
        b
    });
    let mut queue = Vec::new();
    for b in &mut brokers {
        let req = LeaderAndIsrRequest {
            controller_epoch: 1,
            broker_epoch: 7,
            partition_states: vec![state(1)],
        };
        let out = b.handle_message(0, NodeId::Controller, 1, Message::LeaderAndIsrRequest(req));
        queue.extend(out.into_iter().map(|o| (b.id, o)));
    }
    pump(&mut brokers, queue, 1);
    let [leader, follower] = &brokers;
    let (l, f) = (
        &leader.partitions[&compacted()].log,
        &follower.partitions[&compacted()].log,
    );
    assert_eq!(offsets(f), vec![3, 4, 5, 6, 7]);
    assert_eq!(
        f.file.batches(),
        l.file.batches(),
        "the same batches at the same offsets"
    );
    assert_eq!(f.log_end_offset(), l.log_end_offset());
    assert_eq!(
        f.producers.check(
            &BatchProducer {
                producer_id: 7,
                producer_epoch: 0,
                base_sequence: 8
            },
            1,
            true
        ),
        Ok(crate::log::producer_state::SequenceCheck::Append),
        "the producer's sequence carries over"
    );
}
