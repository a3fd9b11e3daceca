//! Tests of `check_all`: every checker runs, and the combined report has one order whatever the input order.

use super::test_support::*;
use super::{check_all, ViolationKind};
use crate::history::{FinalPartition, History, Outcome};
use ksim_model::observe::OffsetValue;
use ksim_model::TopicPartition;

/// An unclean election: leader 1 committed offsets 0..3, power loss took broker 1, and broker 2 (out of sync, with
/// only offset 0) took over and reused offsets 1 and 2. A consumer had read the old records.
fn unclean_election() -> History {
    let p = tp(0);
    let new_log = [(0, 100), (1, 201), (2, 202)];
    let mut history = with_final(&p, converged(&new_log, &[2]));
    history.sends = records(0..3)
        .into_iter()
        .map(|(o, v)| ok_send(v, &p, o))
        .collect();
    history.observations = vec![
        (10, hw(1, &p, 1, true, (0, 3), &records(0..3))),
        (20, hw(2, &p, 2, true, (1, 3), &new_log[1..])),
    ];
    history.consumes = vec![seek(7, &p, 0, 12), poll(7, &p, &records(0..3), 15)];
    history
}

#[test]
fn clean_history_has_no_violations() {
    let p = tp(0);
    let mut history = with_final(&p, converged(&records(0..3), &[1, 2]));
    history.sends = records(0..3)
        .into_iter()
        .map(|(o, v)| ok_send(v, &p, o))
        .collect();
    history.observations = vec![(10, hw(1, &p, 1, true, (0, 3), &records(0..3)))];
    history.consumes = vec![seek(7, &p, 0, 12), poll(7, &p, &records(0..3), 15)];
    assert_eq!(check_all(&history), vec![]);
}

#[test]
fn unclean_election_shows_as_every_kind_of_loss() {
    let kinds: Vec<ViolationKind> = check_all(&unclean_election())
        .iter()
        .map(|v| v.kind)
        .collect();
    use ViolationKind::*;
    assert_eq!(
        kinds,
        vec![
            LostWrite,
            LostWrite,
            Divergence,
            HwRegression,
            CommittedLost
        ]
    );
}

#[test]
fn report_order_does_not_depend_on_partition_or_send_order() {
    let mut history = unclean_election();
    let mut other = history.final_partitions[&tp(0)].clone();
    other.leader = None;
    history.final_partitions.insert(tp(1), other);
    let mut reversed = history.clone();
    reversed.sends.reverse();
    assert_eq!(check_all(&history), check_all(&reversed));
    let first_no_convergence = check_all(&history)
        .into_iter()
        .find(|v| v.kind == ViolationKind::NoConvergence);
    assert_eq!(first_no_convergence.and_then(|v| v.tp), Some(tp(1)));
}

#[test]
fn leaderless_partition_reports_no_convergence_without_false_losses() {
    let p = tp(0);
    let partition = FinalPartition {
        leader: None,
        isr: vec![],
        read: vec![],
        replicas: vec![replica(1, &records(0..2), 2)],
        batches: Vec::new(),
    };
    let mut history = with_final(&p, partition);
    history.sends = records(0..2)
        .into_iter()
        .map(|(o, v)| ok_send(v, &p, o))
        .collect();
    history.observations = vec![(10, hw(1, &p, 1, true, (0, 2), &records(0..2)))];
    history.consumes = vec![poll(7, &p, &records(0..2), 15)];
    let kinds: Vec<ViolationKind> = check_all(&history).iter().map(|v| v.kind).collect();
    assert_eq!(kinds, vec![ViolationKind::NoConvergence]);
}

/// Two transactions of producer id 7 over two partitions, one committed and one aborted, around plain records; a
/// read_committed consumer reads only what is committed, a read_uncommitted one reads everything. Markers leave
/// offset gaps and aborted records stay in the log: neither may look like a violation to any checker.
#[test]
fn clean_transactional_history_has_no_violations() {
    let (p, q) = (tp(0), tp(1));
    let p_log = txn_log()
        .plain(&[1])
        .txn(7, 0, &[10, 11])
        .commit(7, 0)
        .txn(7, 0, &[12])
        .abort(7, 0)
        .plain(&[2]);
    let q_log = txn_log()
        .txn(7, 0, &[13])
        .commit(7, 0)
        .txn(7, 0, &[14])
        .abort(7, 0);
    let (p_records, q_records) = (p_log.records(), q_log.records());
    let mut history = with_final(&p, p_log.converged(&[1, 2]));
    history
        .final_partitions
        .insert(q.clone(), q_log.converged(&[1, 2]));
    let plain = |(o, v): OffsetValue| ok_send(v, &p, o);
    history.sends = vec![
        plain(p_records[0]),
        txn_send(10, &p, 1),
        txn_send(11, &p, 2),
        txn_send(13, &q, 0),
        txn_send(12, &p, 4),
        txn_send(14, &q, 2),
        plain(p_records[4]),
    ];
    history.transactions = vec![committed_txn(7, &[10, 11, 13]), aborted_txn(7, &[12, 14])];
    history.observations = vec![
        (10, hw(1, &p, 1, true, (0, 7), &p_records)),
        (11, hw(1, &q, 1, true, (0, 4), &q_records)),
    ];
    history.read_committed.insert(5);
    history.consumes = vec![
        seek(5, &p, 0, 12),
        poll(5, &p, &[(0, 1), (1, 10), (2, 11), (6, 2)], 15),
        seek(5, &q, 0, 12),
        poll(5, &q, &[(0, 13)], 15),
        seek(6, &p, 0, 12),
        poll(6, &p, &p_records, 16),
        seek(6, &q, 0, 12),
        poll(6, &q, &q_records, 16),
    ];
    assert_eq!(check_all(&history), vec![]);
}

/// A consumer group over t-0 with an eager rebalance: member 1 starts from no committed offset (reset to the
/// earliest), processes and commits half, gives the partition up; member 2 fetches the commit and does the rest.
/// Every group checker must stay quiet, and so must the others.
#[test]
fn clean_group_history_has_no_violations() {
    let p = tp(0);
    let log = records(0..4);
    let ops = vec![
        assigned(1, 1, &[&p], 10),
        fetched(1, &p, None, 11),
        reset(1, &p, None, 0, 11),
        processed(1, 1, &p, &log[..2], 20, 21),
        commit(1, 1, &[(p.clone(), 2)], Outcome::Ok, (22, 23)),
        revoked(1, &[&p], 30),
        assigned(1, 2, &[], 40),
        assigned(2, 2, &[&p], 40),
        fetched(2, &p, Some(2), 41),
        processed(2, 2, &p, &log[2..], 42, 43),
        commit(2, 2, &[(p.clone(), 4)], Outcome::Ok, (44, 45)),
        stopped(1, 50),
    ];
    let mut history = group_history(ops, Some(&[(p.clone(), 4)]));
    history
        .final_partitions
        .insert(p.clone(), converged(&log, &[1, 2]));
    history.sends = log.iter().map(|&(o, v)| ok_send(v, &p, o)).collect();
    history.observations = vec![(5, hw(1, &p, 1, true, (0, 4), &log))];
    assert_eq!(check_all(&history), vec![]);
}

/// Consume-transform-produce: member 1 turns t-0's two records into two outputs on out-0 and commits its offsets
/// in the same transaction; an earlier attempt was aborted and its output stays in the log, aborted.
#[test]
fn clean_consume_transform_produce_history_has_no_violations() {
    let (p, out) = (tp(0), TopicPartition::new("out", 0));
    let input = records(0..2);
    let output = txn_log()
        .txn(7, 0, &[990])
        .abort(7, 0)
        .txn(7, 0, &[1000, 1001])
        .commit(7, 0);
    let ops = vec![
        assigned(1, 1, &[&p], 10),
        fetched(1, &p, None, 11),
        reset(1, &p, None, 0, 11),
        in_txn(processed(1, 1, &p, &input[..1], 20, 21), 0),
        transformed(1, &p, input[0], 990, 0, 21),
        in_txn(processed(1, 1, &p, &input, 30, 31), 1),
        transformed(1, &p, input[0], 1000, 1, 31),
        transformed(1, &p, input[1], 1001, 1, 31),
        txn_commit(1, &[(p.clone(), 2)], 1, (32, 33)),
    ];
    let mut history = group_history(ops, Some(&[(p.clone(), 2)]));
    history
        .groups
        .groups
        .get_mut(GROUP)
        .expect("group_history declares g")
        .output_topics = vec!["out".to_string()];
    history.transactions = vec![aborted_txn(7, &[990]), committed_txn(7, &[1000, 1001])];
    history.sends = vec![
        ok_send(100, &p, 0),
        ok_send(101, &p, 1),
        txn_send(990, &out, 0),
        txn_send(1000, &out, 2),
        txn_send(1001, &out, 3),
    ];
    history
        .final_partitions
        .insert(p.clone(), converged(&input, &[1, 2]));
    history
        .final_partitions
        .insert(out.clone(), output.converged(&[1, 2]));
    assert_eq!(check_all(&history), vec![]);
}

#[test]
fn every_kind_serializes_as_its_name() {
    for kind in ViolationKind::ALL {
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(json, format!("\"{}\"", kind.name()));
        assert_eq!(ViolationKind::from_name(kind.name()), Some(kind));
    }
}
