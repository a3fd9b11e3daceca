//! A group coordinator loads the same groups and offsets from a cleaned `__consumer_offsets` log as from the log
//! before cleaning: for any sequence of group and offset records, batched any way, cleaned up to any high
//! watermark, load(clean(log)) == load(log).

use super::group_coordinator::offsets_log_record;
use crate::config::LogConfig;
use crate::group::coordinator::{GroupConfig, GroupCoordinator, GroupLogRecord, StoredMember};
use crate::ids::{Offset, TopicPartition};
use crate::log::Log;
use crate::protocol::{Assignment, Subscription};
use crate::record::{BatchAttributes, RecordBatch};
use proptest::prelude::*;
use std::collections::BTreeSet;

const GROUPS: u8 = 3;

/// One coordinator write: a group's new generation with `members` members, or a committed offset.
#[derive(Clone, Debug)]
enum Write {
    Group {
        group: u8,
        generation: i32,
        members: u8,
    },
    Offset {
        group: u8,
        partition: u8,
        offset: Offset,
    },
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        (0..GROUPS, 0..50i32, 0..3u8).prop_map(|(group, generation, members)| Write::Group {
            group,
            generation,
            members
        }),
        (0..GROUPS, 0..4u8, 0..1_000i64).prop_map(|(group, partition, offset)| Write::Offset {
            group,
            partition,
            offset
        }),
    ]
}

fn group_id(group: u8) -> String {
    format!("g{group}")
}

fn record(w: &Write) -> GroupLogRecord {
    match *w {
        Write::Group {
            group,
            generation,
            members,
        } => GroupLogRecord::Group {
            group_id: group_id(group),
            generation_id: generation,
            protocol_type: Some("consumer".into()),
            protocol: (members > 0).then(|| "range".into()),
            leader: (members > 0).then(|| format!("m{generation}-0")),
            members: (0..members)
                .map(|m| StoredMember {
                    member_id: format!("m{generation}-{m}"),
                    session_timeout_ms: 10_000,
                    rebalance_timeout_ms: 30_000,
                    protocol_name: "range".into(),
                    subscription: Subscription::default(),
                    assignment: Assignment {
                        partitions: vec![TopicPartition::new("t", i32::from(m))],
                    },
                })
                .collect(),
        },
        Write::Offset {
            group,
            partition,
            offset,
        } => GroupLogRecord::Offset {
            group_id: group_id(group),
            tp: TopicPartition::new("t", i32::from(partition)),
            offset,
        },
    }
}

/// The writes as a compacted `__consumer_offsets` log, `sizes` records per append (cycled), each append 10 ms
/// after the last so that every append rolls a segment.
fn offsets_log(writes: &[Write], sizes: &[usize]) -> Log {
    let mut log = Log {
        config: LogConfig {
            segment_ms: 5,
            ..LogConfig::compacted()
        },
        ..Log::default()
    };
    let mut rest = writes;
    let mut now = 0;
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (append, tail) = rest.split_at((*size).min(rest.len()));
        rest = tail;
        now += 10;
        let batch = RecordBatch {
            base_offset: log.log_end_offset(),
            partition_leader_epoch: 0,
            records: append
                .iter()
                .map(|w| offsets_log_record(record(w), now))
                .collect(),
            producer: None,
            attributes: BatchAttributes::default(),
            compacted: None,
        };
        log.append(batch, now);
    }
    log
}

fn load(log: &Log) -> GroupCoordinator {
    GroupCoordinator::load(GroupConfig::default(), "p", 0, log.file.batches())
}

fn assert_same_groups(a: &GroupCoordinator, b: &GroupCoordinator) {
    for group in 0..GROUPS {
        let id = group_id(group);
        assert_eq!(a.group(&id), b.group(&id), "group {id}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_cleaned_offsets_log_loads_the_same_groups_and_offsets(
        writes in prop::collection::vec(write(), 1..60),
        sizes in prop::collection::vec(1..4usize, 1..5),
        hw_share in 0..=100i64,
    ) {
        let log = offsets_log(&writes, &sizes);
        let hw = log.log_end_offset() * hw_share / 100;
        let mut cleaned = log.clone();
        cleaned.clean(hw);
        assert_same_groups(&load(&cleaned), &load(&log));

        // Below the checkpoint, one record per key is left; offsets are those they had.
        let before: Vec<_> = log.file.batches().iter().flat_map(|b| b.entries()).map(|(o, r)| (o, r.clone())).collect();
        let after: Vec<_> = cleaned.file.batches().iter().flat_map(|b| b.entries()).map(|(o, r)| (o, r.clone())).collect();
        prop_assert!(after.iter().all(|kept| before.contains(kept)));
        let mut keys = BTreeSet::new();
        for (offset, r) in after.iter().filter(|(o, _)| *o < cleaned.cleaner_checkpoint) {
            prop_assert!(keys.insert(r.key.clone()), "key repeated at {}", offset);
        }
        prop_assert!(cleaned.cleaner_checkpoint <= hw.max(0));

        // Cleaning the cleaned log again at a higher HW loads the same too.
        let leo = cleaned.log_end_offset();
        cleaned.clean(leo);
        assert_same_groups(&load(&cleaned), &load(&log));
    }
}
