//! The coordinator's transitions, driven request by request with every record committed as it is appended.

use super::*;

fn tp(partition: i32) -> TopicPartition {
    TopicPartition::new("t", partition)
}

/// Commits what a plan asks to append and returns the answer the client gets.
fn commit(c: &mut TransactionCoordinator, plan: Plan) -> ErrorCode {
    match plan {
        Plan::Reply(error) => error,
        Plan::Persist { record, reply } => {
            c.complete(&record);
            reply
        }
    }
}

/// A coordinator where "app" holds producer id 7 at epoch 0, in state Empty.
fn initialized() -> TransactionCoordinator {
    let mut c = TransactionCoordinator::default();
    let plan = c.init_producer_id(0, "app", 60_000, || 7);
    assert_eq!(commit(&mut c, plan), ErrorCode::NONE);
    c
}

fn state(c: &TransactionCoordinator) -> (i16, TxnState, Vec<TopicPartition>) {
    let m = c.get("app").unwrap();
    (
        m.current.producer_epoch,
        m.current.state,
        m.current.partitions.iter().cloned().collect(),
    )
}

#[test]
fn a_new_transactional_id_gets_epoch_0_once_its_record_commits() {
    let mut c = TransactionCoordinator::default();
    let plan = c.init_producer_id(0, "app", 60_000, || 7);
    let Plan::Persist { record, reply } = plan else {
        panic!("the id's first record is written")
    };
    assert_eq!(
        (record.producer_id, record.producer_epoch, reply),
        (7, 0, ErrorCode::NONE)
    );
    assert_eq!(
        c.init_producer_id(1, "app", 60_000, || 8),
        Plan::Reply(ErrorCode::CONCURRENT_TRANSACTIONS),
        "nothing changes while a record is pending"
    );
    c.complete(&record);
    assert_eq!(state(&c), (0, TxnState::Empty, vec![]));
}

#[test]
fn a_transaction_runs_from_empty_through_ongoing_to_complete_commit() {
    let mut c = initialized();
    let plan = c.add_partitions(10, "app", 7, 0, &[tp(0), tp(1)]);
    assert_eq!(commit(&mut c, plan), ErrorCode::NONE);
    assert_eq!(state(&c), (0, TxnState::Ongoing, vec![tp(0), tp(1)]));
    assert_eq!(
        c.add_partitions(11, "app", 7, 0, &[tp(1)]),
        Plan::Reply(ErrorCode::NONE),
        "already in the transaction: nothing to write"
    );
    let plan = c.end_transaction(12, "app", 7, 0, TxnResult::Commit);
    assert_eq!(commit(&mut c, plan), ErrorCode::NONE);
    assert_eq!(state(&c).1, TxnState::PrepareCommit);
    let due = c.markers_due();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].3, due[0].4.len()), (TxnResult::Commit, 2));
    let plan = c.markers_written(13, "app");
    assert_eq!(commit(&mut c, plan), ErrorCode::NONE);
    assert_eq!(state(&c), (0, TxnState::CompleteCommit, vec![]));
    assert!(c.markers_due().is_empty());
    // A retried commit is answered as done; an abort of it is refused.
    assert_eq!(
        c.end_transaction(14, "app", 7, 0, TxnResult::Commit),
        Plan::Reply(ErrorCode::NONE)
    );
    assert_eq!(
        c.end_transaction(14, "app", 7, 0, TxnResult::Abort),
        Plan::Reply(ErrorCode::INVALID_TXN_STATE)
    );
}

#[test]
fn a_restarted_producer_fences_the_old_epoch() {
    let mut c = initialized();
    let plan = c.init_producer_id(5, "app", 60_000, || {
        unreachable!("the id keeps its producer id")
    });
    assert_eq!(commit(&mut c, plan), ErrorCode::NONE);
    assert_eq!(state(&c).0, 1);
    assert_eq!(
        c.add_partitions(6, "app", 7, 0, &[tp(0)]),
        Plan::Reply(ErrorCode::PRODUCER_FENCED)
    );
    assert_eq!(
        c.add_partitions(6, "app", 8, 1, &[tp(0)]),
        Plan::Reply(ErrorCode::INVALID_PRODUCER_ID_MAPPING)
    );
}

#[test]
fn a_producer_restarting_mid_transaction_aborts_it_and_fences_the_zombie() {
    let mut c = initialized();
    let plan = c.add_partitions(10, "app", 7, 0, &[tp(0)]);
    commit(&mut c, plan);
    // The successor's InitProducerId aborts the open transaction under a bumped epoch and asks it to retry.
    let plan = c.init_producer_id(20, "app", 60_000, || unreachable!());
    assert_eq!(commit(&mut c, plan), ErrorCode::CONCURRENT_TRANSACTIONS);
    assert_eq!(state(&c), (1, TxnState::PrepareAbort, vec![tp(0)]));
    // The zombie cannot commit what it started.
    assert_eq!(
        c.end_transaction(21, "app", 7, 0, TxnResult::Commit),
        Plan::Reply(ErrorCode::PRODUCER_FENCED)
    );
    assert_eq!(c.markers_due()[0].2, 1, "markers carry the bumped epoch");
    let plan = c.markers_written(22, "app");
    commit(&mut c, plan);
    let plan = c.init_producer_id(23, "app", 60_000, || unreachable!());
    assert_eq!(commit(&mut c, plan), ErrorCode::NONE);
    assert_eq!(state(&c), (2, TxnState::Empty, vec![]));
}

#[test]
fn an_open_transaction_past_its_timeout_is_aborted_under_a_new_epoch() {
    let mut c = initialized();
    let plan = c.add_partitions(1_000, "app", 7, 0, &[tp(0)]);
    commit(&mut c, plan);
    assert!(c.abort_timed_out(61_000).is_empty());
    let records = c.abort_timed_out(61_001);
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].state, records[0].producer_epoch),
        (TxnState::PrepareAbort, 1)
    );
    c.complete(&records[0]);
    assert_eq!(
        c.add_partitions(61_002, "app", 7, 0, &[tp(1)]),
        Plan::Reply(ErrorCode::PRODUCER_FENCED),
        "the producer that let it time out is fenced"
    );
}

#[test]
fn a_new_coordinator_loads_the_last_record_of_each_id_and_a_lost_append_changes_nothing() {
    let mut c = initialized();
    let empty = c.get("app").unwrap().record_for(0, |_| {});
    let Plan::Persist { record: start, .. } = c.add_partitions(10, "app", 7, 0, &[tp(0)]) else {
        panic!("a record to write")
    };
    // The append never committed (the coordinator moved): the transaction may change again.
    c.abandon(&start);
    assert_eq!(state(&c).1, TxnState::Empty);
    let Plan::Persist { record: again, .. } = c.add_partitions(11, "app", 7, 0, &[tp(0)]) else {
        panic!("a record to write")
    };
    c.complete(&again);
    let loaded = TransactionCoordinator::load([&empty, &again]);
    assert_eq!(state(&loaded), (0, TxnState::Ongoing, vec![tp(0)]));
    let stale = TransactionCoordinator::load([&again, &empty]);
    assert_eq!(state(&stale).1, TxnState::Empty, "the last record wins");
}

#[test]
fn a_timeout_above_the_broker_maximum_is_refused() {
    let mut c = TransactionCoordinator::default();
    assert_eq!(
        c.init_producer_id(0, "app", TRANSACTION_MAX_TIMEOUT_MS + 1, || 7),
        Plan::Reply(ErrorCode::INVALID_TRANSACTION_TIMEOUT)
    );
}

#[test]
fn a_retried_epoch_bump_is_answered_and_an_older_epoch_is_fenced() {
    let mut c = initialized();
    let plan = c.init_producer_id(1, "app", 60_000, || unreachable!());
    assert_eq!(commit(&mut c, plan), ErrorCode::NONE);
    assert_eq!(state(&c).0, 1, "bumped to 1");
    assert_eq!(
        c.check_expected("app", 7, 1),
        Ok(None),
        "the current epoch bumps"
    );
    assert_eq!(
        c.check_expected("app", 7, 0),
        Ok(Some((7, 1))),
        "a retry of the bump from epoch 0 gets epoch 1 as it is"
    );
    let plan = c.init_producer_id(2, "app", 60_000, || unreachable!());
    assert_eq!(commit(&mut c, plan), ErrorCode::NONE);
    assert_eq!(
        c.check_expected("app", 7, 0),
        Err(ErrorCode::PRODUCER_FENCED),
        "two bumps ago"
    );
    assert_eq!(
        c.check_expected("app", 8, 2),
        Err(ErrorCode::PRODUCER_FENCED),
        "another id"
    );
}
