//! The cleaner on one log: what it keeps, what it drops, and where it must stop.

use super::super::{Log, ProducerStateManager};
use crate::config::LogConfig;
use crate::ids::Offset;
use crate::log::producer_state::SequenceCheck;
use crate::record::{BatchAttributes, BatchProducer, ControlMarker, Record, RecordBatch};
use std::sync::Arc;

/// A compacted log whose segment rolls at every append (each append comes 10 ms after the last).
fn log() -> Log {
    Log {
        config: LogConfig {
            segment_ms: 5,
            ..LogConfig::compacted()
        },
        ..Log::default()
    }
}

fn record(key: &str, value: u64) -> Record {
    Record {
        key: Some(Arc::from(key.as_bytes())),
        value,
        timestamp_ms: 0,
        internal: None,
    }
}

/// A batch at the log's end with `keys`, values being their offsets.
fn batch(log: &Log, keys: &[&str], producer: Option<BatchProducer>) -> RecordBatch {
    let base = log.log_end_offset();
    RecordBatch {
        base_offset: base,
        partition_leader_epoch: 0,
        records: keys
            .iter()
            .enumerate()
            .map(|(i, k)| record(k, (base + i as Offset) as u64))
            .collect(),
        producer,
        attributes: BatchAttributes::default(),
        compacted: None,
    }
}

fn append(log: &mut Log, batch: RecordBatch) {
    let now = batch.base_offset as u64 * 10;
    log.append(batch, now);
}

fn append_keys(log: &mut Log, keys: &[&str]) {
    let b = batch(log, keys, None);
    append(log, b);
}

fn producer(id: i64, base_sequence: i32) -> Option<BatchProducer> {
    Some(BatchProducer {
        producer_id: id,
        producer_epoch: 0,
        base_sequence,
    })
}

/// Every record as (offset, key).
fn keyed(log: &Log) -> Vec<(Offset, String)> {
    log.file
        .batches()
        .iter()
        .flat_map(|b| b.entries())
        .map(|(o, r)| {
            (
                o,
                String::from_utf8(r.key.as_deref().unwrap().to_vec()).unwrap(),
            )
        })
        .collect()
}

fn offsets(log: &Log) -> Vec<Offset> {
    keyed(log).into_iter().map(|(o, _)| o).collect()
}

#[test]
fn the_newest_record_per_key_wins_at_its_own_offset() {
    let mut l = log();
    for k in ["a", "b", "a", "c", "b", "z"] {
        append_keys(&mut l, &[k]);
    }
    let leo = l.log_end_offset();
    assert!(l.clean(leo).is_some());
    // "z" sits in the active segment and stays out of the cleaning.
    assert_eq!(
        keyed(&l),
        [(2, "a"), (3, "c"), (4, "b"), (5, "z")].map(|(o, k)| (o, k.to_string()))
    );
    assert_eq!(l.log_end_offset(), leo, "cleaning never moves the log end");
    assert_eq!(l.log_start_offset(), 0, "nor the log start");
    assert_eq!(l.cleaner_checkpoint, 5);
    // Each survivor is still read at its offset, and reads skip the gaps.
    let read = l.file.read(1, leo, 100);
    assert_eq!(read.first().map(|b| b.base_offset), Some(2));
}

#[test]
fn a_partly_cleaned_batch_keeps_its_offsets_and_its_producer_sequence_range() {
    let mut l = log();
    let b = batch(&l, &["a", "b", "a", "c"], producer(7, 0));
    append(&mut l, b);
    let b = batch(&l, &["c"], producer(7, 4));
    append(&mut l, b);
    append_keys(&mut l, &["z"]);
    l.clean(l.log_end_offset());
    let first = &l.file.batches()[0];
    assert_eq!((first.base_offset, first.next_offset()), (0, 4));
    assert_eq!(
        first.entries().map(|(o, _)| o).collect::<Vec<_>>(),
        vec![1, 2],
        "a@0 and c@3 are superseded; the header still spans 0..=3"
    );
    assert_eq!(first.producer, producer(7, 0));
    // The sequence state rebuilt from the cleaned log is the state of the log before.
    let rebuilt = ProducerStateManager::from_batches(l.file.batches());
    assert_eq!(
        rebuilt.check(&producer(7, 5).unwrap(), 1, true),
        Ok(SequenceCheck::Append)
    );
    assert!(matches!(
        rebuilt.check(&producer(7, 0).unwrap(), 4, true),
        Ok(SequenceCheck::Duplicate(_))
    ));
}

#[test]
fn a_producers_last_batch_stays_as_an_empty_header() {
    let mut l = log();
    let b = batch(&l, &["a"], producer(7, 0));
    append(&mut l, b);
    append_keys(&mut l, &["a", "z"]);
    append_keys(&mut l, &["y"]);
    l.clean(l.log_end_offset());
    let header = &l.file.batches()[0];
    assert!(header.records.is_empty());
    assert_eq!((header.base_offset, header.next_offset()), (0, 1));
    assert_eq!(offsets(&l), vec![1, 2, 3]);
    let rebuilt = ProducerStateManager::from_batches(l.file.batches());
    assert_eq!(
        rebuilt.check(&producer(7, 1).unwrap(), 1, true),
        Ok(SequenceCheck::Append),
        "the producer goes on where it was"
    );
}

fn txn_batch(log: &Log, keys: &[&str], id: i64, sequence: i32) -> RecordBatch {
    let mut b = batch(log, keys, producer(id, sequence));
    b.attributes.transactional = true;
    b
}

fn marker(log: &Log, id: i64, marker: ControlMarker) -> RecordBatch {
    let mut b = batch(log, &["marker"], producer(id, -1));
    b.attributes.transactional = true;
    b.attributes.control = Some(marker);
    b
}

#[test]
fn aborted_records_are_dropped_and_never_shadow_older_ones() {
    let mut l = log();
    append_keys(&mut l, &["x"]);
    let b = txn_batch(&l, &["x", "y"], 7, 0);
    append(&mut l, b);
    let b = txn_batch(&l, &["q"], 7, 2);
    append(&mut l, b);
    let m = marker(
        &l,
        7,
        ControlMarker::Abort {
            coordinator_epoch: 0,
        },
    );
    append(&mut l, m);
    let b = txn_batch(&l, &["y"], 8, 0);
    append(&mut l, b);
    let m = marker(
        &l,
        8,
        ControlMarker::Commit {
            coordinator_epoch: 0,
        },
    );
    append(&mut l, m);
    append_keys(&mut l, &["z"]);
    l.clean(l.log_end_offset());
    assert_eq!(
        keyed(&l),
        [(0, "x"), (5, "y"), (7, "z")].map(|(o, k)| (o, k.to_string())),
        "x@0 survives the aborted x@1; the committed y@5 stays"
    );
    let markers: Vec<Offset> = l
        .file
        .batches()
        .iter()
        .filter(|b| b.is_control())
        .map(|b| b.base_offset)
        .collect();
    assert_eq!(markers, vec![4, 6], "markers stay");
    // Producer 7's first aborted batch is gone; its last stays as an empty header for its sequence.
    let headers: Vec<(Offset, usize)> = l
        .file
        .batches()
        .iter()
        .filter(|b| b.producer.is_some_and(|p| p.producer_id == 7) && !b.is_control())
        .map(|b| (b.base_offset, b.records.len()))
        .collect();
    assert_eq!(headers, vec![(3, 0)]);
}

/// Keys "a" at offsets 0..4, one segment each, so any bound shows in what survives.
fn four_a() -> Log {
    let mut l = log();
    for _ in 0..4 {
        append_keys(&mut l, &["a"]);
    }
    l
}

#[test]
fn nothing_at_or_above_the_high_watermark_is_cleaned() {
    let mut l = four_a();
    l.clean(2);
    assert_eq!(offsets(&l), vec![1, 2, 3], "a@1 is the newest below the HW");
}

#[test]
fn nothing_in_the_active_segment_is_cleaned() {
    let mut l = four_a();
    assert_eq!(l.segments.active_base_offset(4), 3);
    l.clean(4);
    assert_eq!(offsets(&l), vec![2, 3]);
}

#[test]
fn nothing_at_or_above_the_last_stable_offset_is_cleaned() {
    let mut l = log();
    append_keys(&mut l, &["a"]);
    append_keys(&mut l, &["a"]);
    let open = txn_batch(&l, &["t"], 9, 0);
    append(&mut l, open);
    append_keys(&mut l, &["a"]);
    append_keys(&mut l, &["z"]);
    let range = l.cleanable_range(l.log_end_offset());
    assert_eq!(range.first_uncleanable_offset, 2, "the open transaction");
    l.clean(l.log_end_offset());
    assert_eq!(
        offsets(&l),
        vec![1, 2, 3, 4],
        "a@1 stays: a@3 is not cleanable"
    );
}

#[test]
fn nothing_that_only_the_page_cache_holds_is_cleaned() {
    // Segments that rolled without the flush Kafka schedules at a roll (as if it had not run yet).
    let mut l = log();
    for i in 0..4 {
        let b = batch(&l, &["a"], None);
        l.segments
            .maybe_roll(b.base_offset, i * 10, l.config.segment_ms);
        l.file.append(b, i * 10);
    }
    assert_eq!(l.clean(4), None, "nothing flushed, nothing cleaned");
    l.file.write_back(15);
    assert_eq!(l.file.flushed_offset(), 2);
    l.clean(4);
    assert_eq!(offsets(&l), vec![1, 2, 3]);
}

#[test]
fn cleaning_again_changes_nothing() {
    let mut l = log();
    for k in ["a", "b", "a", "c", "b", "a", "z"] {
        append_keys(&mut l, &[k]);
    }
    l.clean(l.log_end_offset());
    let once = l.clone();
    assert_eq!(l.clean(l.log_end_offset()), None, "nothing is dirty");
    assert_eq!(l, once);
    // Even a full re-clean from the log start leaves the same batches.
    let again = super::clean_batches(l.file.batches(), 0, &l.producers);
    assert_eq!(again, l.file.batches());
}

#[test]
fn the_dirty_ratio_counts_the_dirty_share_below_the_uncleanable_offset() {
    let mut l = four_a();
    let range = l.cleanable_range(4);
    assert_eq!(l.dirty_ratio(range), 1.0, "nothing cleaned yet");
    l.clean(4);
    for _ in 0..2 {
        append_keys(&mut l, &["a"]);
    }
    let range = l.cleanable_range(6);
    assert_eq!(
        (range.first_dirty_offset, range.first_uncleanable_offset),
        (3, 5)
    );
    // Clean: a@2 (one record); dirty: a@3, a@4.
    assert!((l.dirty_ratio(range) - 2.0 / 3.0).abs() < 1e-9);
}

#[test]
fn power_loss_after_cleaning_keeps_the_cleaned_log() {
    let mut l = log();
    for k in ["a", "b", "a", "b", "c"] {
        append_keys(&mut l, &[k]);
    }
    l.clean(l.log_end_offset());
    let checkpoint = l.cleaner_checkpoint;
    assert_eq!(checkpoint, 4);
    let cleaned: Vec<_> = keyed(&l)
        .into_iter()
        .filter(|(o, _)| *o < checkpoint)
        .collect();
    assert_eq!(
        cleaned,
        [(2, "a"), (3, "b")].map(|(o, k)| (o, k.to_string()))
    );
    // Two more appends that roll no segment: with "c", the active segment, they sit in the page cache only.
    l.config.segment_ms = u64::MAX;
    append_keys(&mut l, &["d"]);
    append_keys(&mut l, &["e"]);
    assert_eq!(l.file.flushed_offset(), checkpoint);
    let lost = l.file.lose_unflushed(0);
    l.recover();
    assert_eq!(lost.len(), 3);
    assert_eq!(keyed(&l), cleaned, "the cleaned part was on disk");
    assert_eq!(l.log_end_offset(), 4);
    assert!(l.cleaner_checkpoint <= l.log_end_offset());
}

#[test]
fn truncation_into_a_gap_ends_the_log_at_the_cut() {
    let mut l = log();
    for k in ["a", "a", "a", "b", "z"] {
        append_keys(&mut l, &[k]);
    }
    l.clean(l.log_end_offset());
    assert_eq!(offsets(&l), vec![2, 3, 4]);
    let removed = l.truncate_to(2);
    assert_eq!(removed.len(), 3);
    assert_eq!(
        l.log_end_offset(),
        2,
        "Kafka's LEO is the truncation offset"
    );
    assert!(l.cleaner_checkpoint <= 2);
    assert!(l.file.batches().is_empty());
    append_keys(&mut l, &["n"]);
    assert_eq!(offsets(&l), vec![2]);
}
