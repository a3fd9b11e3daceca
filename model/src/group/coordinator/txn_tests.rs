//! Transactional offset commits in the group coordinator: pending until the producer's marker, UNSTABLE to a fetch
//! that requires stable offsets, committed or dropped by the marker under Kafka's log-order rule, KIP-447's member
//! checks, and the same outcome rebuilt from the log after a fail-over.

use super::tests::*;
use super::*;
use crate::protocol::TxnOffsetCommitRequest;
use crate::record::{BatchAttributes, BatchProducer, ControlMarker, Record, RecordBatch};
use std::sync::Arc;

const PRODUCER: i64 = 7;

fn txn_request(
    member: &str,
    generation_id: i32,
    offsets: &[(i32, Offset)],
) -> TxnOffsetCommitRequest {
    TxnOffsetCommitRequest {
        transactional_id: "tx".into(),
        group_id: GROUP.into(),
        producer_id: PRODUCER,
        producer_epoch: 0,
        generation_id,
        member_id: member.into(),
        group_instance_id: None,
        offsets: offsets.iter().map(|&(p, o)| (tp(p), o)).collect(),
    }
}

fn txn_commit(c: &mut GroupCoordinator, req: TxnOffsetCommitRequest) -> Vec<Effect> {
    c.txn_commit_offsets(client(8), 11, req)
}

/// The errors of the TxnOffsetCommit answer in `effects`, one per partition.
fn txn_errors(effects: &[Effect]) -> Vec<ErrorCode> {
    match &replies(effects)[..] {
        [(_, Message::TxnOffsetCommitResponse(r))] => r.results.iter().map(|(_, e)| *e).collect(),
        other => panic!("{other:?}"),
    }
}

/// What a fetch requiring stable offsets answers for t-0 and t-1.
fn fetched_stable(c: &mut GroupCoordinator) -> Vec<(Offset, ErrorCode)> {
    let req = OffsetFetchRequest {
        group_id: GROUP.into(),
        partitions: Some(vec![tp(0), tp(1)]),
        require_stable: true,
    };
    match &replies(&c.fetch_offsets(client(9), 6, req))[..] {
        [(_, Message::OffsetFetchResponse(r))] => {
            r.offsets.iter().map(|(_, o, e)| (*o, *e)).collect()
        }
        other => panic!("{other:?}"),
    }
}

/// `PRODUCER`'s TxnOffsetCommit of t-0 at `offset` from member `a` of generation 1, stored; returns the token.
fn stored_txn_offset(c: &mut GroupCoordinator, now: u64, a: &str, offset: Offset) -> u64 {
    let out = txn_commit(c, txn_request(a, 1, &[(0, offset)]));
    let token = match &out[..] {
        [Effect::Append {
            token,
            producer: Some(p),
            ..
        }] => {
            assert_eq!((p.producer_id, p.producer_epoch), (PRODUCER, 0));
            *token
        }
        other => panic!("one transactional append: {other:?}"),
    };
    assert_eq!(
        txn_errors(&stored_at_token(c, now, token)),
        vec![ErrorCode::NONE]
    );
    token
}

fn marker(base_offset: Offset, producer_id: i64, committed: bool) -> RecordBatch {
    let control = if committed {
        ControlMarker::Commit {
            coordinator_epoch: 0,
        }
    } else {
        ControlMarker::Abort {
            coordinator_epoch: 0,
        }
    };
    RecordBatch {
        base_offset,
        partition_leader_epoch: 0,
        records: Arc::from([Record {
            key: None,
            value: 0,
            timestamp_ms: 0,
            internal: None,
        }]),
        producer: Some(BatchProducer {
            producer_id,
            producer_epoch: 0,
            base_sequence: -1,
        }),
        attributes: BatchAttributes {
            transactional: true,
            control: Some(control),
        },
        compacted: None,
    }
}

fn offset_record(p: i32, offset: Offset) -> GroupLogRecord {
    GroupLogRecord::Offset {
        group_id: GROUP.into(),
        tp: tp(p),
        offset,
    }
}

#[test]
fn transactional_offsets_are_unstable_until_the_commit_marker_then_committed() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let (a, _, now) = stable_pair(&mut c);
    let out = txn_commit(&mut c, txn_request(&a, 1, &[(0, 10)]));
    assert!(replies(&out).is_empty(), "answered once stored");
    assert_eq!(
        fetched_stable(&mut c)[0],
        (-1, ErrorCode::UNSTABLE_OFFSET_COMMIT)
    );
    let token = appends(&out)[0].0;
    assert_eq!(
        txn_errors(&stored_at_token(&mut c, now, token)),
        vec![ErrorCode::NONE]
    );
    // Stored, but the transaction is open: invisible, and unstable to a fetch that requires stable offsets.
    assert_eq!(fetched(&mut c)[0], (tp(0), -1));
    assert_eq!(
        fetched_stable(&mut c),
        vec![
            (-1, ErrorCode::UNSTABLE_OFFSET_COMMIT),
            (-1, ErrorCode::NONE)
        ]
    );
    c.complete_txn(PRODUCER, true);
    assert_eq!(fetched(&mut c)[0], (tp(0), 10));
    assert_eq!(fetched_stable(&mut c)[0], (10, ErrorCode::NONE));
}

#[test]
fn an_aborted_transactions_offsets_are_dropped() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let (a, _, now) = stable_pair(&mut c);
    let stored = appends(&commit(&mut c, now, &a, 1, 4));
    stored_at_token(&mut c, now, stored[0].0);
    stored_txn_offset(&mut c, now, &a, 10);
    c.complete_txn(PRODUCER, false);
    assert_eq!(fetched_stable(&mut c)[0], (4, ErrorCode::NONE));
    // Another producer's marker touches nothing of this one's.
    stored_txn_offset(&mut c, now, &a, 11);
    c.complete_txn(PRODUCER + 1, true);
    assert_eq!(
        fetched_stable(&mut c)[0],
        (-1, ErrorCode::UNSTABLE_OFFSET_COMMIT)
    );
}

#[test]
fn a_commit_stored_after_the_transactions_offsets_outlives_its_marker() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let (a, _, now) = stable_pair(&mut c);
    stored_txn_offset(&mut c, now, &a, 10);
    // A plain commit whose record comes after the transaction's, before its marker.
    let stored = appends(&commit(&mut c, now, &a, 1, 20));
    stored_at_token(&mut c, now, stored[0].0);
    c.complete_txn(PRODUCER, true);
    assert_eq!(fetched(&mut c)[0], (tp(0), 20), "the later record wins");
    // The other way round, the transaction's offset is the later record and replaces the plain one.
    stored_txn_offset(&mut c, now, &a, 30);
    c.complete_txn(PRODUCER, true);
    assert_eq!(fetched(&mut c)[0], (tp(0), 30));
}

#[test]
fn kip_447_checks_the_member_and_generation_of_a_txn_offset_commit() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let (a, _, _) = stable_pair(&mut c);
    let error = |c: &mut GroupCoordinator, req| txn_errors(&txn_commit(c, req));
    assert_eq!(
        error(&mut c, txn_request(&a, 0, &[(0, 1), (1, 1)])),
        vec![ErrorCode::ILLEGAL_GENERATION; 2]
    );
    assert_eq!(
        error(&mut c, txn_request("stranger", 1, &[(0, 1)])),
        vec![ErrorCode::UNKNOWN_MEMBER_ID]
    );
    // Static membership is not modelled: no member holds a group.instance.id, which Kafka answers so.
    let mut with_instance = txn_request(&a, 1, &[(0, 1)]);
    with_instance.group_instance_id = Some("instance-1".into());
    assert_eq!(
        error(&mut c, with_instance),
        vec![ErrorCode::UNKNOWN_MEMBER_ID]
    );
    let mut no_group = txn_request(&a, 1, &[(0, 1)]);
    no_group.group_id = String::new();
    assert_eq!(error(&mut c, no_group), vec![ErrorCode::INVALID_GROUP_ID]);
    assert!(
        !c.group(GROUP).unwrap().has_pending_txn_offset(&tp(0)),
        "refused commits leave nothing pending"
    );
    // Without member fields (a pre-KIP-447 producer) the commit is taken even by a group under management.
    let out = txn_commit(&mut c, txn_request(UNKNOWN_MEMBER_ID, -1, &[(0, 1)]));
    assert_eq!(appends(&out).len(), 1);
    // An unknown group is created Empty, and takes a commit without a generation.
    let mut other = txn_request(UNKNOWN_MEMBER_ID, -1, &[(0, 1)]);
    other.group_id = "other".into();
    assert_eq!(appends(&txn_commit(&mut c, other)).len(), 1);
    assert_eq!(c.group("other").unwrap().state, GroupState::Empty);
}

#[test]
fn a_txn_offset_commit_is_taken_while_the_assignment_is_pending_unlike_offset_commit() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let a = join_new(&mut c, 0, 1);
    c.on_timeout(3_000);
    assert_eq!(state(&c), (GroupState::CompletingRebalance, 1));
    assert_eq!(
        commit_error(&commit(&mut c, 3_001, &a, 1, 1)),
        ErrorCode::REBALANCE_IN_PROGRESS
    );
    assert_eq!(
        appends(&txn_commit(&mut c, txn_request(&a, 1, &[(0, 1)]))).len(),
        1
    );
}

#[test]
fn a_failed_append_drops_the_pending_offsets_and_tells_the_producer_why() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let (a, _, now) = stable_pair(&mut c);
    for (store_error, told) in [
        (
            ErrorCode::NOT_LEADER_OR_FOLLOWER,
            ErrorCode::NOT_COORDINATOR,
        ),
        (
            ErrorCode::NOT_ENOUGH_REPLICAS,
            ErrorCode::COORDINATOR_NOT_AVAILABLE,
        ),
        (
            ErrorCode::INVALID_PRODUCER_EPOCH,
            ErrorCode::INVALID_PRODUCER_EPOCH,
        ),
        (ErrorCode::REQUEST_TIMED_OUT, ErrorCode::REQUEST_TIMED_OUT),
    ] {
        let token = appends(&txn_commit(&mut c, txn_request(&a, 1, &[(0, 10)])))[0].0;
        assert_eq!(
            txn_errors(&c.appended(now, token, Err(store_error))),
            vec![told]
        );
        assert_eq!(fetched_stable(&mut c)[0], (-1, ErrorCode::NONE));
    }
    // A marker after a failed store commits nothing.
    c.complete_txn(PRODUCER, true);
    assert_eq!(fetched(&mut c)[0], (tp(0), -1));
}

#[test]
fn unloading_tells_a_waiting_txn_offset_commit_not_coordinator() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let (a, _, _) = stable_pair(&mut c);
    txn_commit(&mut c, txn_request(&a, 1, &[(0, 10), (1, 11)]));
    assert_eq!(txn_errors(&c.unload()), vec![ErrorCode::NOT_COORDINATOR; 2]);
}

#[test]
fn loading_commits_marked_transactions_drops_aborted_ones_and_keeps_open_ones_pending() {
    let producer = |pid: i64| Some((pid, 0));
    let log = vec![
        batch(0, vec![offset_record(0, 5)], producer(1)),
        batch(1, vec![offset_record(1, 6)], producer(2)),
        batch(2, vec![offset_record(0, 3)], None),
        // Producer 1's offset for t-0 comes before the plain commit at 2: the commit outlives the marker.
        marker(3, 1, true),
        marker(4, 2, false),
        batch(5, vec![offset_record(1, 9)], producer(3)),
    ];
    let mut c = GroupCoordinator::load(GroupConfig::default(), "b2", 0, &log);
    assert_eq!(
        fetched_stable(&mut c),
        vec![
            (3, ErrorCode::NONE),
            (-1, ErrorCode::UNSTABLE_OFFSET_COMMIT)
        ],
        "producer 2's abort dropped its offset, producer 3's transaction is open"
    );
    // The open transaction's marker reaches the new coordinator: its offset, loaded with its place, commits.
    c.complete_txn(3, true);
    assert_eq!(fetched_stable(&mut c)[1], (9, ErrorCode::NONE));
    // Committed, a transaction's offset written after the plain commit replaces it.
    let log = vec![
        batch(0, vec![offset_record(0, 3)], None),
        batch(
            1,
            vec![offset_record(0, 8), offset_record(1, 2)],
            producer(1),
        ),
        marker(2, 1, true),
    ];
    let mut c = GroupCoordinator::load(GroupConfig::default(), "b3", 0, &log);
    assert_eq!(
        fetched_stable(&mut c),
        vec![(8, ErrorCode::NONE), (2, ErrorCode::NONE)]
    );
}
