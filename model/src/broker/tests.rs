//! Broker behaviour driven message by message, without a simulator: the answers Kafka gives.

use super::*;
use crate::error::ErrorCode;
use crate::log::Log;
use crate::protocol::*;
use crate::record::{BatchAttributes, BatchProducer, ControlMarker, Record, RecordBatch};

fn tp() -> TopicPartition {
    TopicPartition::new("t", 0)
}

fn topic(min_isr: usize) -> TopicConfig {
    TopicConfig {
        name: "t".into(),
        partitions: 1,
        replication_factor: 3,
        min_insync_replicas: min_isr,
        unclean_leader_election_enable: false,
        log: LogConfig::default(),
    }
}

fn records(values: &[u64]) -> Arc<[Record]> {
    values
        .iter()
        .map(|&value| Record {
            key: None,
            value,
            timestamp_ms: 0,
            internal: None,
        })
        .collect()
}

/// A started broker that registered (broker epoch 7) and got `state` from the controller.
fn broker(id: BrokerId, disk: Disk, min_isr: usize, state: LeaderAndIsrPartitionState) -> Broker {
    started(id, disk, min_isr, state).0
}

/// The same, with what the broker did on receiving `state`.
fn started(
    id: BrokerId,
    disk: Disk,
    min_isr: usize,
    state: LeaderAndIsrPartitionState,
) -> (Broker, Vec<Output>) {
    started_with(BrokerConfig::default(), id, disk, min_isr, state)
}

fn started_with(
    config: BrokerConfig,
    id: BrokerId,
    disk: Disk,
    min_isr: usize,
    state: LeaderAndIsrPartitionState,
) -> (Broker, Vec<Output>) {
    let (mut b, _) = Broker::start(id, config, vec![topic(min_isr)], disk, 1, 0);
    register(&mut b);
    let req = LeaderAndIsrRequest {
        controller_epoch: 1,
        broker_epoch: 7,
        partition_states: vec![state],
    };
    let out = b.handle_message(0, NodeId::Controller, 1, Message::LeaderAndIsrRequest(req));
    (b, out)
}

fn state(leader: BrokerId, leader_epoch: i32, isr: &[BrokerId]) -> LeaderAndIsrPartitionState {
    LeaderAndIsrPartitionState {
        topic_partition: tp(),
        leader,
        leader_epoch,
        isr: isr.to_vec(),
        partition_epoch: leader_epoch,
        replicas: vec![1, 2, 3],
    }
}

fn produce(b: &mut Broker, now: u64, acks: i16, values: &[u64]) -> Vec<Output> {
    let req = ProduceRequest {
        acks,
        timeout_ms: 1000,
        partitions: vec![ProducePartition {
            topic_partition: tp(),
            records: records(values),
            producer: None,
            attributes: BatchAttributes::default(),
        }],
    };
    b.handle_message(now, NodeId::Client(1), 9, Message::ProduceRequest(req))
}

fn follower_fetch(
    b: &mut Broker,
    now: u64,
    follower: BrokerId,
    epoch: i32,
    offset: Offset,
) -> Vec<Output> {
    let req = FetchRequest {
        replica_id: Some(follower),
        max_wait_ms: 0,
        min_records: 1,
        isolation_level: IsolationLevel::ReadUncommitted,
        partitions: vec![FetchPartition {
            topic_partition: tp(),
            current_leader_epoch: Some(epoch),
            fetch_offset: offset,
            max_records: 100,
        }],
    };
    b.handle_message(now, NodeId::Broker(follower), 5, Message::FetchRequest(req))
}

fn produce_errors(out: &[Output]) -> Vec<(ErrorCode, Offset)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send {
                message: Message::ProduceResponse(r),
                ..
            } => Some(
                r.partitions
                    .iter()
                    .map(|p| (p.error, p.base_offset))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect()
}

fn fetch_errors(out: &[Output]) -> Vec<ErrorCode> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send {
                message: Message::FetchResponse(r),
                ..
            } => Some(r.partitions[0].error),
            _ => None,
        })
        .collect()
}

#[test]
fn acks_all_is_answered_once_every_isr_member_fetched_past_the_batch() {
    let mut b = broker(1, Disk::default(), 2, state(1, 0, &[1, 2]));
    assert!(
        produce_errors(&produce(&mut b, 1, -1, &[10, 11])).is_empty(),
        "waits for follower 2"
    );
    assert!(
        produce_errors(&follower_fetch(&mut b, 2, 2, 0, 0)).is_empty(),
        "fetch at 0 does not cover the batch"
    );
    let out = follower_fetch(&mut b, 3, 2, 0, 2);
    assert_eq!(produce_errors(&out), vec![(ErrorCode::NONE, 0)]);
    assert_eq!(b.partitions[&tp()].high_watermark, 2);
}

#[test]
fn a_controller_shrinking_the_isr_commits_and_answers_what_waited_on_the_fenced_follower() {
    // min.insync.replicas = 1: the leader waits for follower 2 only because it is in the ISR.
    let mut b = broker(1, Disk::default(), 1, state(1, 0, &[1, 2]));
    assert!(produce_errors(&produce(&mut b, 1, -1, &[10, 11])).is_empty());
    // The controller fences broker 2 and drops it from the ISR (same leader epoch, newer partition epoch), as
    // Kafka's makeLeader does, the HW moves and the waiting produce is answered at once.
    let shrunk = LeaderAndIsrPartitionState {
        partition_epoch: 1,
        ..state(1, 0, &[1])
    };
    let req = LeaderAndIsrRequest {
        controller_epoch: 1,
        broker_epoch: 7,
        partition_states: vec![shrunk],
    };
    let out = b.handle_message(2, NodeId::Controller, 2, Message::LeaderAndIsrRequest(req));
    assert_eq!(produce_errors(&out), vec![(ErrorCode::NONE, 0)]);
    assert_eq!(b.partitions[&tp()].high_watermark, 2);
}

/// A fetch from follower 2 at `offset` that waits up to 500 ms for data.
fn long_poll(offset: Offset) -> Message {
    Message::FetchRequest(FetchRequest {
        replica_id: Some(2),
        max_wait_ms: 500,
        min_records: 1,
        isolation_level: IsolationLevel::ReadUncommitted,
        partitions: vec![FetchPartition {
            topic_partition: tp(),
            current_leader_epoch: Some(0),
            fetch_offset: offset,
            max_records: 100,
        }],
    })
}

#[test]
fn a_broken_connection_to_a_follower_leaves_the_fetch_it_parked_here() {
    let mut b = broker(1, Disk::default(), 1, state(1, 0, &[1, 2]));
    let out = b.handle_message(1, NodeId::Broker(2), 5, long_poll(0));
    assert!(fetch_errors(&out).is_empty(), "nothing to read yet: parked");
    // The connection this broker opened to broker 2 (for its own requests) breaks: broker 2's fetch, which came in
    // on broker 2's connection, still waits for data.
    b.on_disconnect(2, NodeId::Broker(2));
    let out = produce(&mut b, 3, 1, &[10]);
    assert_eq!(fetch_errors(&out), vec![ErrorCode::NONE]);
    // Once the connection it came in on is gone, a parked fetch is forgotten.
    b.handle_message(4, NodeId::Broker(2), 6, long_poll(1));
    b.forget_requests_from(NodeId::Broker(2));
    assert!(fetch_errors(&produce(&mut b, 5, 1, &[11])).is_empty());
}

#[test]
fn acks_all_below_min_insync_is_not_enough_replicas_and_appends_nothing() {
    let mut b = broker(1, Disk::default(), 2, state(1, 0, &[1]));
    assert_eq!(
        produce_errors(&produce(&mut b, 1, -1, &[10])),
        vec![(ErrorCode::NOT_ENOUGH_REPLICAS, -1)]
    );
    assert_eq!(b.partitions[&tp()].log_end_offset(), 0);
    // acks=1 does not look at the ISR.
    assert_eq!(
        produce_errors(&produce(&mut b, 2, 1, &[11])),
        vec![(ErrorCode::NONE, 0)]
    );
}

#[test]
fn the_hw_stays_put_while_the_isr_is_below_min_isr_kafka_15583() {
    let mut b = broker(1, Disk::default(), 2, state(1, 0, &[1]));
    assert_eq!(
        produce_errors(&produce(&mut b, 1, 1, &[10])),
        vec![(ErrorCode::NONE, 0)]
    );
    assert_eq!(
        b.partitions[&tp()].high_watermark,
        0,
        "strict min ISR: not exposed"
    );
}

#[test]
fn min_insync_replicas_is_capped_at_the_replica_count() {
    // A single-replica partition with min.insync.replicas=2 still takes acks=all and commits (Kafka 3.7+).
    let single = LeaderAndIsrPartitionState {
        replicas: vec![1],
        ..state(1, 0, &[1])
    };
    let mut b = broker(1, Disk::default(), 2, single);
    assert_eq!(
        produce_errors(&produce(&mut b, 1, -1, &[10])),
        vec![(ErrorCode::NONE, 0)]
    );
    assert_eq!(b.partitions[&tp()].high_watermark, 1);
}

#[test]
fn acks_all_times_out_when_the_isr_never_catches_up() {
    let mut b = broker(1, Disk::default(), 1, state(1, 0, &[1, 2]));
    produce(&mut b, 0, -1, &[10]);
    let out = b.on_timeout(1000);
    assert_eq!(
        produce_errors(&out),
        vec![(ErrorCode::REQUEST_TIMED_OUT, -1)]
    );
}

#[test]
fn stale_and_future_leader_epochs_are_fenced_kip_320() {
    let mut b = broker(1, Disk::default(), 1, state(1, 3, &[1, 2]));
    assert_eq!(
        fetch_errors(&follower_fetch(&mut b, 1, 2, 2, 0)),
        vec![ErrorCode::FENCED_LEADER_EPOCH]
    );
    assert_eq!(
        fetch_errors(&follower_fetch(&mut b, 1, 2, 4, 0)),
        vec![ErrorCode::UNKNOWN_LEADER_EPOCH]
    );
    assert_eq!(
        fetch_errors(&follower_fetch(&mut b, 1, 2, 3, 0)),
        vec![ErrorCode::NONE]
    );
}

#[test]
fn a_follower_is_not_leader_for_produce() {
    let mut b = broker(2, Disk::default(), 1, state(1, 0, &[1, 2]));
    assert_eq!(
        produce_errors(&produce(&mut b, 1, 1, &[10])),
        vec![(ErrorCode::NOT_LEADER_OR_FOLLOWER, -1)]
    );
}

fn disk_with(batches: &[(Offset, i32, &[u64])], hw: Offset) -> Disk {
    let mut log = Log::default();
    for &(base, epoch, values) in batches {
        log.append(
            RecordBatch {
                base_offset: base,
                partition_leader_epoch: epoch,
                records: records(values),
                producer: None,
                attributes: BatchAttributes::default(),
                compacted: None,
            },
            0,
        );
    }
    Disk {
        logs: [(tp(), log)].into(),
        hw_checkpoint: [(tp(), hw)].into(),
    }
}

/// KIP-279's example: the follower holds epoch 0 at 0..5 and epoch 2 at 5..6; the leader holds epoch 0 at 0..3
/// and epoch 1 at 3..8. The logs agree only below 3, which takes two OffsetsForLeaderEpoch rounds to learn.
#[test]
fn follower_truncates_a_divergent_suffix_over_two_epoch_rounds() {
    let disk = disk_with(&[(0, 0, &[1, 2, 3, 4, 5]), (5, 2, &[6])], 0);
    let (mut b, out) = started(2, disk, 1, state(1, 3, &[1, 2]));
    let answer = |b: &mut Broker, id, leader_epoch, end_offset| {
        answer_epoch_end(b, 1, id, leader_epoch, end_offset)
    };
    let (id, epoch) = epoch_question(&out);
    assert_eq!(epoch, 2);
    // The leader's largest epoch <= 2 is 1, ending at its LEO 8: the follower has no epoch 1, so it cuts to the
    // end of its own epoch below (epoch 0 ends at 5) and asks again.
    let out = answer(&mut b, id, 1, 8);
    assert_eq!(b.partitions[&tp()].log_end_offset(), 5);
    let (id, epoch) = epoch_question(&out);
    assert_eq!(epoch, 0);
    let out = answer(&mut b, id, 0, 3);
    assert_eq!(b.partitions[&tp()].log_end_offset(), 3);
    assert!(out.iter().any(|o| matches!(o, Output::Send { message: Message::FetchRequest(f), .. } if f.partitions[0].fetch_offset == 3)));
}

#[test]
fn restart_after_power_loss_clamps_the_checkpointed_hw_to_what_survived() {
    let mut disk = disk_with(&[(0, 0, &[1, 2]), (2, 0, &[3, 4])], 4);
    // The first batch was flushed; of the unflushed rest, the draw keeps nothing.
    let log = disk.logs.get_mut(&tp()).unwrap();
    log.file = {
        let mut f = crate::log::LogFile::default();
        f.append(log.file.batches()[0].clone(), 0);
        f.flush();
        f.append(log.file.batches()[1].clone(), 10);
        f
    };
    let lost = disk.lose_power(|| 0);
    assert_eq!(lost[&tp()], vec![(2, 3), (3, 4)]);
    let (b, _) = Broker::start(1, BrokerConfig::default(), vec![topic(1)], disk, 1, 0);
    assert_eq!(
        (
            b.partitions[&tp()].log_end_offset(),
            b.partitions[&tp()].high_watermark
        ),
        (2, 2)
    );
}

#[test]
#[should_panic(expected = "HW above LEO")]
fn a_high_watermark_above_the_log_end_fails_the_online_invariant() {
    let mut b = broker(1, Disk::default(), 1, state(1, 0, &[1]));
    b.partitions.get_mut(&tp()).unwrap().high_watermark = 5;
    b.assert_invariants();
}

#[test]
#[should_panic(expected = "leader outside its ISR")]
fn a_leader_outside_its_isr_fails_the_online_invariant() {
    let mut b = broker(1, Disk::default(), 1, state(1, 0, &[1, 2]));
    b.partitions.get_mut(&tp()).unwrap().isr = vec![2];
    b.assert_invariants();
}

fn idempotent_produce(
    b: &mut Broker,
    now: u64,
    values: &[u64],
    epoch: i16,
    seq: i32,
) -> Vec<Output> {
    let req = ProduceRequest {
        acks: 1,
        timeout_ms: 1000,
        partitions: vec![ProducePartition {
            topic_partition: tp(),
            records: records(values),
            producer: Some(BatchProducer {
                producer_id: 42,
                producer_epoch: epoch,
                base_sequence: seq,
            }),
            attributes: BatchAttributes::default(),
        }],
    };
    b.handle_message(now, NodeId::Client(1), 9, Message::ProduceRequest(req))
}

#[test]
fn an_idempotent_retry_gets_the_original_offset_and_appends_nothing() {
    let mut b = broker(1, Disk::default(), 1, state(1, 0, &[1]));
    let first = idempotent_produce(&mut b, 1, &[10, 11], 0, 0);
    assert_eq!(produce_errors(&first), vec![(ErrorCode::NONE, 0)]);
    produce(&mut b, 2, 1, &[99]);
    let retry = idempotent_produce(&mut b, 3, &[10, 11], 0, 0);
    assert_eq!(produce_errors(&retry), vec![(ErrorCode::NONE, 0)]);
    assert_eq!(b.partitions[&tp()].log_end_offset(), 3, "no second copy");
    let next = idempotent_produce(&mut b, 4, &[12], 0, 2);
    assert_eq!(produce_errors(&next), vec![(ErrorCode::NONE, 3)]);
}

#[test]
fn an_idempotent_gap_or_stale_epoch_is_refused() {
    let mut b = broker(1, Disk::default(), 1, state(1, 0, &[1]));
    idempotent_produce(&mut b, 1, &[10], 3, 0);
    assert_eq!(
        produce_errors(&idempotent_produce(&mut b, 2, &[12], 3, 2)),
        vec![(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER, -1)]
    );
    assert_eq!(
        produce_errors(&idempotent_produce(&mut b, 3, &[11], 2, 1)),
        vec![(ErrorCode::INVALID_PRODUCER_EPOCH, -1)]
    );
    assert_eq!(b.partitions[&tp()].log_end_offset(), 1);
}

#[test]
fn producer_state_follows_the_data_to_a_follower_that_becomes_leader() {
    // The follower's log holds the producer's batch as replicated from the old leader (every append, leader's or
    // follower's, goes through `Log::append`, which keeps the producer state).
    let mut log = Log::default();
    log.append(
        RecordBatch {
            base_offset: 0,
            partition_leader_epoch: 0,
            records: records(&[10, 11]),
            producer: Some(BatchProducer {
                producer_id: 42,
                producer_epoch: 0,
                base_sequence: 0,
            }),
            attributes: BatchAttributes::default(),
            compacted: None,
        },
        0,
    );
    let disk = Disk {
        logs: [(tp(), log)].into(),
        hw_checkpoint: [(tp(), 2)].into(),
    };
    // It restarts (recovery rebuilds the state from the log), leads epoch 1, and sees the retry for what it is.
    let mut b = broker(2, disk, 1, state(2, 1, &[2]));
    assert_eq!(
        produce_errors(&idempotent_produce(&mut b, 1, &[10, 11], 0, 0)),
        vec![(ErrorCode::NONE, 0)]
    );
    assert_eq!(b.partitions[&tp()].log_end_offset(), 2);
    // Once truncation removes the batch, the broker forgets the producer and takes what comes (Kafka 2.8+).
    b.partitions.get_mut(&tp()).unwrap().truncate_to(2, 0);
    assert_eq!(
        produce_errors(&idempotent_produce(&mut b, 2, &[12], 0, 2)),
        vec![(ErrorCode::NONE, 0)]
    );
}

/// The AlterPartition requests in `out`, as (correlation id, proposed ISR).
fn alter_requests(out: &[Output]) -> Vec<(u64, Vec<BrokerId>)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send {
                correlation_id,
                message: Message::AlterPartitionRequest(r),
                ..
            } => Some((*correlation_id, r.new_isr.clone())),
            _ => None,
        })
        .collect()
}

/// The ISRs the AlterPartition requests in `out` propose.
fn proposals(out: &[Output]) -> Vec<Vec<BrokerId>> {
    alter_requests(out)
        .into_iter()
        .map(|(_, isr)| isr)
        .collect()
}

#[test]
fn a_pending_isr_expansion_survives_a_broken_controller_link() {
    let mut b = broker(1, Disk::default(), 1, state(1, 0, &[1, 2]));
    produce(&mut b, 1, 1, &[10, 11]);
    follower_fetch(&mut b, 2, 2, 0, 2);
    let out = follower_fetch(&mut b, 3, 3, 0, 2);
    assert_eq!(proposals(&out), vec![vec![1, 2, 3]], "3 caught up");
    // The answer is lost with the connection; the controller may well have applied it, so 3 still counts.
    b.on_disconnect(4, NodeId::Controller);
    produce(&mut b, 5, 1, &[12]);
    follower_fetch(&mut b, 6, 2, 0, 3);
    assert_eq!(
        b.partitions[&tp()].high_watermark,
        2,
        "the HW waits for 3, which the controller may have admitted"
    );
    // The proposal goes again with the next heartbeat; the controller answers with the state it applied.
    let out = b.on_timeout(10_000);
    assert_eq!(proposals(&out), vec![vec![1, 2, 3]]);
    let id = alter_requests(&out)[0].0;
    let answer = AlterPartitionResponse {
        topic_partition: tp(),
        error: ErrorCode::INVALID_UPDATE_VERSION,
        leader: 1,
        leader_epoch: 0,
        isr: vec![1, 2, 3],
        partition_epoch: 1,
    };
    b.handle_message(
        10_001,
        NodeId::Controller,
        id,
        Message::AlterPartitionResponse(answer),
    );
    assert_eq!(b.partitions[&tp()].isr, vec![1, 2, 3]);
}

#[test]
fn read_committed_fetches_stop_at_the_last_stable_offset_and_name_aborted_transactions() {
    let txn = |base: Offset, pid: i64, control: Option<ControlMarker>| RecordBatch {
        base_offset: base,
        partition_leader_epoch: 0,
        records: records(&[base as u64]),
        producer: Some(BatchProducer {
            producer_id: pid,
            producer_epoch: 0,
            base_sequence: if control.is_some() { -1 } else { 0 },
        }),
        attributes: BatchAttributes {
            transactional: true,
            control,
        },
        compacted: None,
    };
    let mut log = Log::default();
    log.append(
        RecordBatch {
            base_offset: 0,
            partition_leader_epoch: 0,
            records: records(&[0]),
            producer: None,
            attributes: BatchAttributes::default(),
            compacted: None,
        },
        0,
    );
    log.append(txn(1, 7, None), 0);
    let abort = ControlMarker::Abort {
        coordinator_epoch: 0,
    };
    log.append(txn(2, 7, Some(abort)), 0);
    log.append(txn(3, 8, None), 0);
    let disk = Disk {
        logs: [(tp(), log)].into(),
        hw_checkpoint: [(tp(), 4)].into(),
    };
    let mut b = broker(1, disk, 1, state(1, 0, &[1]));
    let fetch = |b: &mut Broker, isolation_level| {
        let req = FetchRequest {
            replica_id: None,
            max_wait_ms: 0,
            min_records: 1,
            isolation_level,
            partitions: vec![FetchPartition {
                topic_partition: tp(),
                current_leader_epoch: Some(0),
                fetch_offset: 0,
                max_records: 100,
            }],
        };
        let out = b.handle_message(1, NodeId::Client(9), 3, Message::FetchRequest(req));
        out.into_iter()
            .find_map(|o| match o {
                Output::Send {
                    message: Message::FetchResponse(r),
                    ..
                } => Some(r.partitions[0].clone()),
                _ => None,
            })
            .unwrap()
    };
    let committed = fetch(&mut b, IsolationLevel::ReadCommitted);
    assert_eq!(
        committed.last_stable_offset, 3,
        "producer 8's transaction is open"
    );
    assert_eq!(committed.batches.last().unwrap().next_offset(), 3);
    assert_eq!(
        committed.aborted_transactions,
        vec![AbortedTransaction {
            producer_id: 7,
            first_offset: 1
        }]
    );
    let uncommitted = fetch(&mut b, IsolationLevel::ReadUncommitted);
    assert_eq!(uncommitted.batches.last().unwrap().next_offset(), 4);
    assert!(uncommitted.aborted_transactions.is_empty());
}

/// Both logs hold epoch 0 but the follower ended it sooner (then led epoch 1 itself, as a leader that was
/// replaced): it must cut where its own epoch 0 ends, not where the leader's does.
#[test]
fn follower_truncates_to_the_shorter_end_of_a_shared_epoch() {
    let disk = disk_with(&[(0, 0, &[1, 2, 3]), (3, 1, &[4, 5])], 0);
    let (mut b, out) = started(3, disk, 1, state(1, 2, &[1, 3]));
    let id = out
        .iter()
        .find_map(|o| match o {
            Output::Send {
                correlation_id,
                message: Message::OffsetsForLeaderEpochRequest(r),
                ..
            } => Some((*correlation_id, r.partitions[0].leader_epoch)),
            _ => None,
        })
        .expect("an OffsetsForLeaderEpoch request");
    assert_eq!(id.1, 1);
    // The leader never had epoch 1: its epoch 0 runs to 6 (records it took from the old epoch-0 leader).
    let resp = OffsetsForLeaderEpochResponse {
        partitions: vec![EpochEndOffset {
            topic_partition: tp(),
            error: ErrorCode::NONE,
            leader_epoch: 0,
            end_offset: 6,
        }],
    };
    b.handle_message(
        1,
        NodeId::Broker(1),
        id.0,
        Message::OffsetsForLeaderEpochResponse(resp),
    );
    assert_eq!(
        b.partitions[&tp()].log_end_offset(),
        3,
        "epoch 1's records go"
    );
}

/// Eos-pipeline seed 171: a replica led epoch 5 and appended nothing in it, then follows a leader that never had
/// epoch 5 and answers with an empty epoch 4 of its own ending where both logs end. The cut removes no record, but
/// as in Kafka's `UnifiedLog.truncateTo` it drops the empty epoch 5, so the next round asks about epoch 0 and
/// settles; keeping epoch 5 asked the same question forever and the partition never fetched again.
#[test]
fn a_follower_drops_an_epoch_it_led_without_appending_and_settles() {
    let disk = disk_with(&[(0, 0, &[1, 2, 3])], 3);
    let (mut b, _) = started(2, disk, 1, state(2, 5, &[2]));
    assert_eq!(b.partitions[&tp()].log.epochs.latest_epoch(), Some(5));
    let req = LeaderAndIsrRequest {
        controller_epoch: 1,
        broker_epoch: 7,
        partition_states: vec![state(1, 6, &[1, 2])],
    };
    let out = b.handle_message(1, NodeId::Controller, 2, Message::LeaderAndIsrRequest(req));
    let answer = |b: &mut Broker, id, leader_epoch, end_offset| {
        answer_epoch_end(b, 2, id, leader_epoch, end_offset)
    };
    let (id, epoch) = epoch_question(&out);
    assert_eq!(epoch, 5);
    let out = answer(&mut b, id, 4, 3);
    assert_eq!(b.partitions[&tp()].log_end_offset(), 3, "no record goes");
    let (id, epoch) = epoch_question(&out);
    assert_eq!(
        epoch, 0,
        "the empty epoch 5 is gone, so the follower asks about the epoch below it"
    );
    let out = answer(&mut b, id, 0, 3);
    assert!(out.iter().any(|o| matches!(o, Output::Send { message: Message::FetchRequest(f), .. } if f.partitions[0].fetch_offset == 3)));
}

#[test]
fn a_proposal_the_controller_refuses_returns_to_the_committed_isr() {
    let mut b = broker(1, Disk::default(), 1, state(1, 0, &[1, 2]));
    produce(&mut b, 1, 1, &[10, 11]);
    follower_fetch(&mut b, 2, 2, 0, 2);
    let out = follower_fetch(&mut b, 3, 3, 0, 2);
    let id = alter_requests(&out)
        .first()
        .expect("3 caught up: a proposal")
        .0;
    // 3 was fenced meanwhile: the controller refuses, and the leader stops waiting for 3.
    let answer = AlterPartitionResponse {
        topic_partition: tp(),
        error: ErrorCode::INELIGIBLE_REPLICA,
        leader: 1,
        leader_epoch: 0,
        isr: vec![1, 2],
        partition_epoch: 0,
    };
    b.handle_message(
        4,
        NodeId::Controller,
        id,
        Message::AlterPartitionResponse(answer),
    );
    produce(&mut b, 5, 1, &[12]);
    follower_fetch(&mut b, 6, 2, 0, 3);
    assert_eq!(b.partitions[&tp()].high_watermark, 3);
    assert_eq!(b.partitions[&tp()].maximal_isr(), vec![1, 2]);
}

/// The controller's answer to the broker's registration: broker epoch 7.
pub(super) fn register(b: &mut Broker) {
    let reg = BrokerRegistrationResponse {
        error: ErrorCode::NONE,
        broker_epoch: 7,
    };
    b.handle_message(
        0,
        NodeId::Controller,
        1,
        Message::BrokerRegistrationResponse(reg),
    );
}

/// The OffsetsForLeaderEpoch request a follower sent among `out`: its correlation id and the epoch it asks about.
fn epoch_question(out: &[Output]) -> (u64, i32) {
    out.iter()
        .find_map(|o| match o {
            Output::Send {
                correlation_id,
                message: Message::OffsetsForLeaderEpochRequest(r),
                ..
            } => Some((*correlation_id, r.partitions[0].leader_epoch)),
            _ => None,
        })
        .expect("an OffsetsForLeaderEpoch request")
}

/// Broker 1 (the leader) answers request `id`: its largest epoch at most the one asked ends at `end_offset`.
fn answer_epoch_end(
    b: &mut Broker,
    now_ms: u64,
    id: u64,
    leader_epoch: i32,
    end_offset: Offset,
) -> Vec<Output> {
    let resp = OffsetsForLeaderEpochResponse {
        partitions: vec![EpochEndOffset {
            topic_partition: tp(),
            error: ErrorCode::NONE,
            leader_epoch,
            end_offset,
        }],
    };
    b.handle_message(
        now_ms,
        NodeId::Broker(1),
        id,
        Message::OffsetsForLeaderEpochResponse(resp),
    )
}

/// A broker config with `fix` reverted: a historic Kafka bug put back.
fn reverted(fix: crate::config::Fix) -> BrokerConfig {
    let mut config = BrokerConfig::default();
    config.fixes.reverted.insert(fix);
    config
}

/// The fetch offset of the FetchRequest among `out`, if one was sent.
fn fetch_offset(out: &[Output]) -> Option<Offset> {
    out.iter().find_map(|o| match o {
        Output::Send {
            message: Message::FetchRequest(f),
            ..
        } => Some(f.partitions[0].fetch_offset),
        _ => None,
    })
}

/// Before KIP-101 a new follower truncated to its own HW and fetched from there, asking the leader nothing: the
/// records above a lagging HW were thrown away even where the leader has them.
#[test]
fn with_kip_101_reverted_a_new_follower_truncates_to_its_hw_without_asking() {
    let disk = disk_with(&[(0, 0, &[1, 2, 3, 4, 5])], 2);
    let (b, out) = started(2, disk.clone(), 1, state(1, 1, &[1, 2]));
    assert_eq!(
        b.partitions[&tp()].log_end_offset(),
        5,
        "KIP-101: ask first"
    );
    assert_eq!(epoch_question(&out).1, 0);

    let config = reverted(crate::config::Fix::Kip101LeaderEpochTruncation);
    let (b, out) = started_with(config, 2, disk, 1, state(1, 1, &[1, 2]));
    assert_eq!(b.partitions[&tp()].log_end_offset(), 2);
    assert_eq!(fetch_offset(&out), Some(2));
    assert!(!out.iter().any(|o| matches!(
        o,
        Output::Send {
            message: Message::OffsetsForLeaderEpochRequest(_),
            ..
        }
    )));
}

/// KIP-279's example with the fix reverted: the leader's end offset for its epoch 1 (8) is taken as it comes, so
/// the follower keeps its epoch-0 records 3 and 4 and its epoch-2 record 5, none of which the leader has: the
/// replicas diverge.
#[test]
fn with_kip_279_reverted_a_follower_keeps_records_the_leader_never_had() {
    let disk = disk_with(&[(0, 0, &[1, 2, 3, 4, 5]), (5, 2, &[6])], 0);
    let config = reverted(crate::config::Fix::Kip279EpochChainTruncation);
    let (mut b, out) = started_with(config, 2, disk, 1, state(1, 3, &[1, 2]));
    let (id, epoch) = epoch_question(&out);
    assert_eq!(epoch, 2);
    let out = answer_epoch_end(&mut b, 1, id, 1, 8);
    assert_eq!(b.partitions[&tp()].log_end_offset(), 6, "nothing truncated");
    assert_eq!(fetch_offset(&out), Some(6), "fetching past the divergence");
}

/// KAFKA-7128: a new leader's HW lags (2) behind what the old leader committed; a follower at 3 has reached that
/// HW but not the start of the new epoch (5). With the fix it stays out of the ISR; reverted, the leader proposes
/// it, though it lacks records 3 and 4 that may have been acknowledged.
#[test]
fn with_kafka_7128_reverted_a_follower_below_the_epoch_start_joins_the_isr() {
    let proposals = |config: BrokerConfig| {
        let disk = disk_with(&[(0, 0, &[1, 2, 3, 4, 5])], 2);
        let (mut b, _) = started_with(config, 1, disk, 1, state(1, 1, &[1, 2]));
        assert_eq!(b.partitions[&tp()].high_watermark, 2);
        let out = follower_fetch(&mut b, 10, 3, 1, 3);
        out.iter()
            .filter_map(|o| match o {
                Output::Send {
                    message: Message::AlterPartitionRequest(r),
                    ..
                } => Some(r.new_isr.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(proposals(BrokerConfig::default()), Vec::<Vec<i32>>::new());
    let reverted = proposals(reverted(crate::config::Fix::Kafka7128IsrEpochStart));
    assert_eq!(reverted, vec![vec![1, 2, 3]]);
}

/// KAFKA-15583: leader 1's ISR is itself alone with min.insync.replicas=2, and it holds records 0..3 its followers
/// lack. With the strict rule its HW stays at 0 (the eligible leaders hold it); reverted, the HW runs to 3 and
/// exposes records no eligible leader has.
#[test]
fn with_kafka_15583_reverted_a_lone_leader_advances_its_hw_below_min_isr() {
    let hw = |config: BrokerConfig| {
        let disk = disk_with(&[(0, 0, &[1, 2, 3])], 0);
        let (b, _) = started_with(config, 1, disk, 2, state(1, 1, &[1]));
        b.partitions[&tp()].high_watermark
    };
    assert_eq!(hw(BrokerConfig::default()), 0);
    assert_eq!(
        hw(reverted(crate::config::Fix::Kafka15583StrictMinIsrHw)),
        3
    );
}

/// KIP-320: leader 1 in epoch 3 fences a fetcher that names epoch 2 or 4. Reverted, it serves both, as brokers
/// did before fetches carried the leader epoch.
#[test]
fn with_kip_320_reverted_a_stale_or_future_leader_epoch_is_served() {
    let config = reverted(crate::config::Fix::Kip320FetchLeaderEpoch);
    let (mut b, _) = started_with(config, 1, Disk::default(), 1, state(1, 3, &[1, 2]));
    assert_eq!(
        fetch_errors(&follower_fetch(&mut b, 1, 2, 2, 0)),
        vec![ErrorCode::NONE]
    );
    assert_eq!(
        fetch_errors(&follower_fetch(&mut b, 1, 2, 4, 0)),
        vec![ErrorCode::NONE]
    );
}
