//! The `[group]` table: a consumer group's members, their Kafka settings by Kafka's names, and what the
//! application does with what it polls.

use super::walk::{Res, Table, Value, INT, LONG};
use crate::scenario::{GroupProcessing, GroupSpec};
use crate::workload::group_member_client::CommitMode;
use ksim_model::config::GroupMemberConfig;
use ksim_model::consumer::StartPosition;
use ksim_model::group::assignor::Assignor;

const GROUP_KEYS: [&str; 19] = [
    "group.id",
    "members",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "max.poll.interval.ms",
    "enable.auto.commit",
    "auto.commit.interval.ms",
    "auto.offset.reset",
    "partition.assignment.strategy",
    "default.api.timeout.ms",
    "commit",
    "commit_on_revoke",
    "processing_ms",
    "stall_percent",
    "stall_ms",
    "topics",
    "async_processing",
    "processing",
    "output_topic",
];

pub(super) fn group(t: &Table) -> Res<GroupSpec> {
    t.only(&GROUP_KEYS)?;
    let d = GroupMemberConfig::new("ksim-group");
    let config = GroupMemberConfig {
        group_id: t.or("group.id", d.group_id.clone(), |v| {
            v.str().map(str::to_owned)
        })?,
        session_timeout_ms: t.or("session.timeout.ms", d.session_timeout_ms, |v| {
            v.int_in(1, INT)
        })?,
        heartbeat_interval_ms: t.or("heartbeat.interval.ms", d.heartbeat_interval_ms, |v| {
            v.int_in(1, INT)
        })?,
        max_poll_interval_ms: t.or("max.poll.interval.ms", d.max_poll_interval_ms, |v| {
            v.int_in(1, INT)
        })?,
        enable_auto_commit: t.or("enable.auto.commit", d.enable_auto_commit, Value::bool)?,
        auto_commit_interval_ms: t.or(
            "auto.commit.interval.ms",
            d.auto_commit_interval_ms,
            |v| v.int_in(0, INT),
        )?,
        auto_offset_reset: t.or("auto.offset.reset", d.auto_offset_reset, auto_offset_reset)?,
        partition_assignment_strategy: t.or(
            "partition.assignment.strategy",
            d.partition_assignment_strategy.clone(),
            strategy,
        )?,
        default_api_timeout_ms: t.or("default.api.timeout.ms", d.default_api_timeout_ms, |v| {
            v.int_in(1, INT)
        })?,
        commit_on_revoke: t.or("commit_on_revoke", false, Value::bool)?,
    };
    if config.heartbeat_interval_ms >= config.session_timeout_ms {
        return Err(t.blame(
            &["heartbeat.interval.ms"],
            format!(
                "group.\"heartbeat.interval.ms\" ({}) must be lower than \"session.timeout.ms\" ({}), as Kafka requires",
                config.heartbeat_interval_ms, config.session_timeout_ms
            ),
        ));
    }
    let max_poll_interval_ms = config.max_poll_interval_ms;
    let commit = t.or("commit", CommitMode::Sync, commit_mode)?;
    let async_processing = t.or("async_processing", false, Value::bool)?;
    if async_processing && commit != CommitMode::None {
        return Err(t.blame(
            &["commit", "async_processing"],
            "group.commit: with async_processing the worker, not the polling thread, knows what is processed; \
             set commit = \"none\" (and enable.auto.commit to commit at all)"
                .to_string(),
        ));
    }
    Ok(GroupSpec {
        config,
        members: t.or("members", 3, |v| v.int_in(1, 20))?,
        topics: t.opt("topics", |v| {
            v.array()?
                .iter()
                .map(|s| s.str().map(str::to_owned))
                .collect::<Res<Vec<_>>>()
        })?,
        commit,
        async_processing,
        processing_ms: t.or("processing_ms", (1, 5), |v| v.range(0))?,
        stall_percent: t.or("stall_percent", 0, |v| v.int_in(0, 100))?,
        stall_ms: t.or("stall_ms", max_poll_interval_ms + 5_000, |v| {
            v.int_in(0, LONG)
        })?,
        processing: processing(t)?,
    })
}

/// `processing`: "plain" (the default: process, then commit as `commit` says) or "transactional"
/// (consume-transform-produce into `output_topic`, which only transactional processing has).
fn processing(t: &Table) -> Res<GroupProcessing> {
    let transactional = t.or("processing", false, |v| match v.str()? {
        "plain" => Ok(false),
        "transactional" => Ok(true),
        other => Err(v.bad(format_args!(
            "(\"{other}\") must be \"plain\" or \"transactional\""
        ))),
    })?;
    let output_topic = t.opt("output_topic", |v| v.str().map(str::to_owned))?;
    let Some(output_topic) = output_topic.filter(|_| transactional) else {
        return match (transactional, t.get("output_topic")) {
            (false, None) => Ok(GroupProcessing::Plain),
            (false, Some(v)) => Err(v.bad(
                "names an output topic, which only processing = \"transactional\" writes",
            )),
            (true, _) => Err(t.blame(
                &["processing"],
                "group.processing = \"transactional\" needs output_topic: the topic each input record is \
                 transformed into"
                    .to_string(),
            )),
        };
    };
    // A transactional processor commits its input offsets only inside its transactions: any other commit
    // would move the group past records whose output may yet abort.
    let enable_auto_commit = t
        .get("enable.auto.commit")
        .filter(|v| v.bool().unwrap_or(false));
    let conflicting = [
        t.get("commit"),
        t.get("commit_on_revoke"),
        enable_auto_commit,
    ];
    if let Some(v) = conflicting.into_iter().flatten().next() {
        return Err(v.bad(
            "cannot be set with processing = \"transactional\": offsets are committed only by \
             sendOffsetsToTransaction (enable.auto.commit is off)",
        ));
    }
    Ok(GroupProcessing::Transactional { output_topic })
}

/// `auto.offset.reset`: Kafka's "earliest" or "latest" ("none" is not modelled).
fn auto_offset_reset(v: &Value) -> Res<StartPosition> {
    match v.str()? {
        "earliest" => Ok(StartPosition::Earliest),
        "latest" => Ok(StartPosition::Latest),
        other => Err(v.bad(format_args!(
            "(\"{other}\") must be \"earliest\" or \"latest\""
        ))),
    }
}

/// `partition.assignment.strategy`: one assignor name or a list, in order of preference.
fn strategy(v: &Value) -> Res<Vec<Assignor>> {
    let names: Vec<Value> = match v.as_integer() {
        Some(_) => return Err(v.wrong_type("an assignor name or a list of them")),
        None if v.str().is_ok() => vec![v.clone()],
        None => v.array()?,
    };
    let mut assignors = Vec::new();
    for name in &names {
        let s = name.str()?;
        let a = Assignor::from_name(s).ok_or_else(|| {
            name.bad(format_args!(
                "(\"{s}\") is not an assignor: \"range\", \"roundrobin\", \"sticky\" or \"cooperative-sticky\""
            ))
        })?;
        assignors.push(a);
    }
    if assignors.is_empty() {
        return Err(v.bad("must name at least one assignor"));
    }
    Ok(assignors)
}

/// How the application commits: "sync" (`commitSync` after processing), "async" (`commitAsync`), "none".
fn commit_mode(v: &Value) -> Res<CommitMode> {
    match v.str()? {
        "sync" => Ok(CommitMode::Sync),
        "async" => Ok(CommitMode::Async),
        "none" => Ok(CommitMode::None),
        other => Err(v.bad(format_args!(
            "(\"{other}\") must be \"sync\", \"async\" or \"none\""
        ))),
    }
}
