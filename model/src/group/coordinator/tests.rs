//! The group coordinator driven request by request: joins, the initial delay, syncs, heartbeats, expiry, leaves,
//! commits and a reload, with the answers Kafka gives.

use super::*;
use crate::protocol::JoinGroupProtocol;
use crate::record::{BatchAttributes, BatchProducer, InternalValue, Record, RecordBatch};
use std::sync::Arc;

pub(super) const GROUP: &str = "g";
const SESSION_MS: u64 = 10_000;
const REBALANCE_MS: u64 = 20_000;

pub(super) fn client(n: u32) -> NodeId {
    NodeId::Client(n)
}

pub(super) fn tp(p: i32) -> TopicPartition {
    TopicPartition::new("t", p)
}

fn protocols(names: &[&str]) -> Vec<JoinGroupProtocol> {
    names
        .iter()
        .map(|n| JoinGroupProtocol {
            name: n.to_string(),
            metadata: Subscription {
                topics: vec!["t".into()],
                owned_partitions: Vec::new(),
                generation_id: -1,
            },
        })
        .collect()
}

fn join_request(member_id: &str, names: &[&str]) -> JoinGroupRequest {
    JoinGroupRequest {
        group_id: GROUP.into(),
        session_timeout_ms: SESSION_MS,
        rebalance_timeout_ms: REBALANCE_MS,
        member_id: member_id.into(),
        protocol_type: "consumer".into(),
        protocols: protocols(names),
    }
}

/// The replies in `effects`, by client.
pub(super) fn replies(effects: &[Effect]) -> Vec<(NodeId, Message)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Reply { to, message, .. } => Some((*to, message.clone())),
            Effect::Append { .. } => None,
        })
        .collect()
}

pub(super) fn appends(effects: &[Effect]) -> Vec<(u64, Vec<GroupLogRecord>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Append { token, records, .. } => Some((*token, records.clone())),
            Effect::Reply { .. } => None,
        })
        .collect()
}

/// The append `token` is committed, its batch at log offset `token`: tokens count up as the appends do, so the
/// log order is the order they were asked for.
pub(super) fn stored_at_token(c: &mut GroupCoordinator, now: u64, token: u64) -> Vec<Effect> {
    c.appended(now, token, Ok(token as Offset))
}

/// A `__consumer_offsets` batch at `base_offset` holding `records`, written by `producer` (id, epoch) as a
/// transactional batch, or by the coordinator alone.
pub(super) fn batch(
    base_offset: Offset,
    records: Vec<GroupLogRecord>,
    producer: Option<(i64, i16)>,
) -> RecordBatch {
    let records: Vec<Record> = records
        .into_iter()
        .map(|r| Record {
            key: None,
            value: 0,
            timestamp_ms: 0,
            internal: Some(Arc::new(InternalValue::GroupMetadata(r))),
        })
        .collect();
    RecordBatch {
        base_offset,
        partition_leader_epoch: 0,
        records: records.into(),
        producer: producer.map(|(producer_id, producer_epoch)| BatchProducer {
            producer_id,
            producer_epoch,
            base_sequence: 0,
        }),
        attributes: BatchAttributes {
            transactional: producer.is_some(),
            control: None,
        },
        compacted: None,
    }
}

fn join_answer(m: &Message) -> &JoinGroupResponse {
    match m {
        Message::JoinGroupResponse(r) => r,
        other => panic!("{other:?}"),
    }
}

/// A member's first JoinGroup: the id it is told to use, then the join with it (which waits).
pub(super) fn join_new(c: &mut GroupCoordinator, now: u64, n: u32) -> String {
    let out = c.join_group(
        now,
        client(n),
        1,
        join_request(UNKNOWN_MEMBER_ID, &["range"]),
    );
    let r = replies(&out);
    let answer = join_answer(&r[0].1);
    assert_eq!(answer.error, ErrorCode::MEMBER_ID_REQUIRED);
    let id = answer.member_id.clone();
    let out = c.join_group(now, client(n), 2, join_request(&id, &["range"]));
    assert!(replies(&out).is_empty(), "the join waits for the rebalance");
    id
}

pub(super) fn state(c: &GroupCoordinator) -> (GroupState, i32) {
    let g = c.group(GROUP).unwrap();
    (g.state, g.generation_id)
}

/// Two members in a Stable generation 1 with `a` leading; returns their ids and the time.
pub(super) fn stable_pair(c: &mut GroupCoordinator) -> (String, String, u64) {
    let a = join_new(c, 0, 1);
    let b = join_new(c, 1_000, 2);
    assert!(
        replies(&c.on_timeout(3_000)).is_empty(),
        "a member arrived during the delay: wait again"
    );
    let out = c.on_timeout(6_000);
    let answers = replies(&out);
    assert_eq!(answers.len(), 2);
    let leader = join_answer(&answers[0].1).leader.clone();
    assert_eq!(leader, a, "the first member by id leads");
    sync(c, 6_001, &a, &b);
    (a, b, 6_001)
}

/// The leader syncs first with `a` getting t-0 and `b` getting t-1; the store commits and both learn theirs.
fn sync(c: &mut GroupCoordinator, now: u64, a: &str, b: &str) {
    let generation_id = c.group(GROUP).unwrap().generation_id;
    let assignments = vec![
        (
            a.to_string(),
            Assignment {
                partitions: vec![tp(0)],
            },
        ),
        (
            b.to_string(),
            Assignment {
                partitions: vec![tp(1)],
            },
        ),
    ];
    let out = c.sync_group(
        now,
        client(1),
        3,
        SyncGroupRequest {
            group_id: GROUP.into(),
            generation_id,
            member_id: a.into(),
            assignments,
        },
    );
    let stored = appends(&out);
    assert_eq!(
        stored.len(),
        1,
        "the assignment is written before anyone learns it"
    );
    let out = c.sync_group(
        now,
        client(2),
        3,
        SyncGroupRequest {
            group_id: GROUP.into(),
            generation_id,
            member_id: b.into(),
            assignments: Vec::new(),
        },
    );
    assert!(
        out.is_empty(),
        "the follower waits for the leader's assignment"
    );
    let out = stored_at_token(c, now, stored[0].0);
    let answers = replies(&out);
    assert_eq!(answers.len(), 2);
    assert_eq!(state(c), (GroupState::Stable, generation_id));
}

fn heartbeat(c: &mut GroupCoordinator, now: u64, member: &str, generation_id: i32) -> ErrorCode {
    let req = HeartbeatRequest {
        group_id: GROUP.into(),
        generation_id,
        member_id: member.into(),
    };
    match &replies(&c.heartbeat(now, client(9), 4, req))[0].1 {
        Message::HeartbeatResponse(r) => r.error,
        other => panic!("{other:?}"),
    }
}

pub(super) fn commit(
    c: &mut GroupCoordinator,
    now: u64,
    member: &str,
    generation_id: i32,
    offset: Offset,
) -> Vec<Effect> {
    c.commit_offsets(
        now,
        client(9),
        5,
        OffsetCommitRequest {
            group_id: GROUP.into(),
            generation_id,
            member_id: member.into(),
            offsets: vec![(tp(0), offset)],
        },
    )
}

pub(super) fn commit_error(effects: &[Effect]) -> ErrorCode {
    match &replies(effects)[0].1 {
        Message::OffsetCommitResponse(r) => r.results[0].1,
        other => panic!("{other:?}"),
    }
}

pub(super) fn fetched(c: &mut GroupCoordinator) -> Vec<(TopicPartition, Offset)> {
    let req = OffsetFetchRequest {
        group_id: GROUP.into(),
        partitions: Some(vec![tp(0), tp(1)]),
        require_stable: false,
    };
    match &replies(&c.fetch_offsets(client(9), 6, req))[0].1 {
        Message::OffsetFetchResponse(r) => r
            .offsets
            .iter()
            .map(|(tp, o, _)| (tp.clone(), *o))
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_first_rebalance_waits_for_late_joiners_then_the_leader_gets_every_subscription() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let (a, b, _) = stable_pair(&mut c);
    let g = c.group(GROUP).unwrap();
    assert_eq!(g.protocol.as_deref(), Some("range"));
    assert_eq!(g.members[&a].assignment.partitions, vec![tp(0)]);
    assert_eq!(g.members[&b].assignment.partitions, vec![tp(1)]);
}

#[test]
fn heartbeats_are_checked_against_the_member_and_its_generation() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let (a, _, now) = stable_pair(&mut c);
    assert_eq!(heartbeat(&mut c, now, &a, 1), ErrorCode::NONE);
    assert_eq!(heartbeat(&mut c, now, &a, 0), ErrorCode::ILLEGAL_GENERATION);
    assert_eq!(
        heartbeat(&mut c, now, "stranger", 1),
        ErrorCode::UNKNOWN_MEMBER_ID
    );
}

#[test]
fn a_member_whose_session_expires_is_removed_and_the_group_rebalances_without_it() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let (a, b, now) = stable_pair(&mut c);
    // a keeps heartbeating, b falls silent.
    assert_eq!(heartbeat(&mut c, now + 9_000, &a, 1), ErrorCode::NONE);
    c.on_timeout(now + SESSION_MS);
    assert!(!c.group(GROUP).unwrap().members.contains_key(&b));
    assert_eq!(state(&c), (GroupState::PreparingRebalance, 1));
    assert_eq!(
        heartbeat(&mut c, now + 10_500, &a, 1),
        ErrorCode::REBALANCE_IN_PROGRESS
    );
    // a rejoins: every member has, so the rebalance completes at once.
    let out = c.join_group(now + 10_600, client(1), 7, join_request(&a, &["range"]));
    let answer = join_answer(&replies(&out)[0].1).clone();
    assert_eq!(
        (answer.error, answer.generation_id, answer.leader.clone()),
        (ErrorCode::NONE, 2, a.clone())
    );
    assert_eq!(answer.members.len(), 1);
    assert_eq!(state(&c), (GroupState::CompletingRebalance, 2));
}

#[test]
fn a_member_that_does_not_rejoin_within_the_rebalance_timeout_is_dropped() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let (a, b, now) = stable_pair(&mut c);
    // a leaves: b must rejoin within the rebalance timeout; it never does.
    let out = c.leave_group(
        now,
        client(1),
        8,
        LeaveGroupRequest {
            group_id: GROUP.into(),
            members: vec![a.clone()],
        },
    );
    assert!(
        matches!(&replies(&out)[0].1, Message::LeaveGroupResponse(r) if r.members == vec![(a.clone(), ErrorCode::NONE)])
    );
    assert_eq!(state(&c), (GroupState::PreparingRebalance, 1));
    // b's heartbeats say so, and keep it alive until the deadline.
    assert_eq!(
        heartbeat(&mut c, now + 5_000, &b, 1),
        ErrorCode::REBALANCE_IN_PROGRESS
    );
    c.on_timeout(now + REBALANCE_MS);
    assert_eq!(
        state(&c),
        (GroupState::Empty, 2),
        "nobody rejoined: the group is empty"
    );
    assert!(c.group(GROUP).unwrap().members.is_empty());
}

#[test]
fn offsets_commit_only_from_the_current_generation_and_only_once_stored() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let (a, _, now) = stable_pair(&mut c);
    assert_eq!(
        commit_error(&commit(&mut c, now, &a, 0, 5)),
        ErrorCode::ILLEGAL_GENERATION
    );
    assert_eq!(
        commit_error(&commit(&mut c, now, "stranger", 1, 5)),
        ErrorCode::UNKNOWN_MEMBER_ID
    );
    let out = commit(&mut c, now, &a, 1, 5);
    let stored = appends(&out);
    assert_eq!(
        stored[0].1,
        vec![GroupLogRecord::Offset {
            group_id: GROUP.into(),
            tp: tp(0),
            offset: 5
        }]
    );
    assert_eq!(
        fetched(&mut c),
        vec![(tp(0), -1), (tp(1), -1)],
        "not before it is stored"
    );
    assert_eq!(
        commit_error(&stored_at_token(&mut c, now, stored[0].0)),
        ErrorCode::NONE
    );
    assert_eq!(fetched(&mut c)[0], (tp(0), 5));
    // A commit the log could not take is refused as COORDINATOR_NOT_AVAILABLE and changes nothing.
    let stored = appends(&commit(&mut c, now, &a, 1, 9));
    let out = c.appended(now, stored[0].0, Err(ErrorCode::NOT_ENOUGH_REPLICAS));
    assert_eq!(commit_error(&out), ErrorCode::COORDINATOR_NOT_AVAILABLE);
    assert_eq!(fetched(&mut c)[0], (tp(0), 5));
}

#[test]
fn commits_are_refused_while_the_assignment_is_pending_or_from_outside_a_managed_group() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let a = join_new(&mut c, 0, 1);
    c.on_timeout(3_000);
    assert_eq!(state(&c), (GroupState::CompletingRebalance, 1));
    assert_eq!(
        commit_error(&commit(&mut c, 3_001, &a, 1, 1)),
        ErrorCode::REBALANCE_IN_PROGRESS
    );
    // A standalone commit (no generation, no member) is refused for a group under management...
    let out = c.commit_offsets(
        3_002,
        client(9),
        5,
        OffsetCommitRequest {
            group_id: GROUP.into(),
            generation_id: -1,
            member_id: UNKNOWN_MEMBER_ID.into(),
            offsets: vec![(tp(0), 1)],
        },
    );
    assert_eq!(commit_error(&out), ErrorCode::UNKNOWN_MEMBER_ID);
}

#[test]
fn a_member_may_commit_while_the_group_prepares_a_rebalance() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let (a, b, now) = stable_pair(&mut c);
    // b rejoins with changed strategies: a rebalance begins, and a commits as it gives up its partitions.
    c.join_group(
        now,
        client(2),
        9,
        join_request(&b, &["range", "roundrobin"]),
    );
    assert_eq!(state(&c).0, GroupState::PreparingRebalance);
    assert_eq!(appends(&commit(&mut c, now, &a, 1, 3)).len(), 1);
}

#[test]
fn a_new_coordinator_loads_the_last_group_record_and_offsets() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let (a, b, now) = stable_pair(&mut c);
    let stored = appends(&commit(&mut c, now, &a, 1, 7));
    stored_at_token(&mut c, now, stored[0].0);
    // The log as it would be: an older generation's record, the latest one, and the offsets.
    let g = c.group(GROUP).unwrap();
    let latest = group_record(g);
    let older = GroupLogRecord::Offset {
        group_id: GROUP.into(),
        tp: tp(0),
        offset: 2,
    };
    let log = [older, latest, stored[0].1[0].clone()]
        .into_iter()
        .enumerate()
        .map(|(at, record)| batch(at as Offset, vec![record], None))
        .collect::<Vec<_>>();
    let mut loaded = GroupCoordinator::load(GroupConfig::default(), "b2", 50_000, &log);
    let g = loaded.group(GROUP).unwrap();
    assert_eq!(
        (g.state, g.generation_id, g.leader.clone()),
        (GroupState::Stable, 1, Some(a.clone()))
    );
    assert_eq!(g.members[&b].assignment.partitions, vec![tp(1)]);
    assert_eq!(
        fetched(&mut loaded)[0],
        (tp(0), 7),
        "the last offset record wins"
    );
    // Members get a full session on the new coordinator.
    assert_eq!(heartbeat(&mut loaded, 59_000, &b, 1), ErrorCode::NONE);
}

#[test]
fn joins_with_a_bad_session_timeout_or_an_unshared_strategy_are_refused() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let mut req = join_request(UNKNOWN_MEMBER_ID, &["range"]);
    req.session_timeout_ms = 1_000;
    let out = c.join_group(0, client(1), 1, req);
    assert_eq!(
        join_answer(&replies(&out)[0].1).error,
        ErrorCode::INVALID_SESSION_TIMEOUT
    );
    join_new(&mut c, 0, 1);
    let out = c.join_group(
        1,
        client(2),
        1,
        join_request(UNKNOWN_MEMBER_ID, &["roundrobin"]),
    );
    assert_eq!(
        join_answer(&replies(&out)[0].1).error,
        ErrorCode::INCONSISTENT_GROUP_PROTOCOL
    );
    let out = c.join_group(1, client(2), 1, join_request("made-up", &["range"]));
    assert_eq!(
        join_answer(&replies(&out)[0].1).error,
        ErrorCode::UNKNOWN_MEMBER_ID
    );
}

#[test]
fn the_strategy_most_members_prefer_among_those_all_support_is_chosen() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    for (n, names) in [
        (1, &["sticky", "range"][..]),
        (2, &["range", "sticky"][..]),
        (3, &["sticky", "range"][..]),
    ] {
        let out = c.join_group(0, client(n), 1, join_request(UNKNOWN_MEMBER_ID, names));
        let id = join_answer(&replies(&out)[0].1).member_id.clone();
        c.join_group(0, client(n), 2, join_request(&id, names));
    }
    c.on_timeout(3_000);
    c.on_timeout(6_000);
    assert_eq!(c.group(GROUP).unwrap().protocol.as_deref(), Some("sticky"));
}

#[test]
fn a_fetch_that_requires_stable_offsets_waits_out_a_commit_being_stored() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let (a, _, now) = stable_pair(&mut c);
    let stored = appends(&commit(&mut c, now, &a, 1, 100));
    let fetch = |c: &mut GroupCoordinator| {
        let req = OffsetFetchRequest {
            group_id: GROUP.into(),
            partitions: Some(vec![tp(0)]),
            require_stable: true,
        };
        match &replies(&c.fetch_offsets(client(9), 6, req))[0].1 {
            Message::OffsetFetchResponse(r) => r.offsets[0].clone(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        fetch(&mut c),
        (tp(0), -1, ErrorCode::UNSTABLE_OFFSET_COMMIT)
    );
    stored_at_token(&mut c, now, stored[0].0);
    assert_eq!(fetch(&mut c), (tp(0), 100, ErrorCode::NONE));
}

#[test]
fn a_leader_that_never_sends_its_assignment_is_removed_after_the_rebalance_timeout() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    let a = join_new(&mut c, 0, 1);
    let b = join_new(&mut c, 1_000, 2);
    c.on_timeout(3_000);
    c.on_timeout(6_000);
    assert_eq!(
        c.group(GROUP).unwrap().leader.as_deref(),
        Some(a.as_str()),
        "the first to join leads"
    );
    // The follower syncs and waits; the leader heartbeats but never syncs.
    let req = SyncGroupRequest {
        group_id: GROUP.into(),
        generation_id: 1,
        member_id: b.clone(),
        assignments: Vec::new(),
    };
    assert!(c.sync_group(6_001, client(2), 3, req).is_empty());
    assert_eq!(heartbeat(&mut c, 15_000, &a, 1), ErrorCode::NONE);
    let out = c.on_timeout(6_000 + REBALANCE_MS);
    assert!(
        !c.group(GROUP).unwrap().members.contains_key(&a),
        "the silent leader is gone"
    );
    assert_eq!(state(&c).0, GroupState::PreparingRebalance);
    // The follower's waiting SyncGroup is told to rejoin.
    let answers = replies(&out);
    assert!(
        answers.iter().any(|(to, m)| *to == client(2)
            && matches!(m, Message::SyncGroupResponse(r) if r.error == ErrorCode::REBALANCE_IN_PROGRESS)),
        "{answers:?}"
    );
}

#[test]
fn the_first_member_to_join_leads_whatever_its_id() {
    let mut c = GroupCoordinator::new(GroupConfig::default(), "b1");
    // Client 10's id sorts before client 2's, but client 2 joins first.
    let first = join_new(&mut c, 0, 2);
    let second = join_new(&mut c, 0, 10);
    assert!(second < first, "ids sort the other way: {second} < {first}");
    c.on_timeout(3_000);
    c.on_timeout(6_000);
    assert_eq!(
        c.group(GROUP).unwrap().leader.as_deref(),
        Some(first.as_str())
    );
}
