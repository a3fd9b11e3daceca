//! The Kafka sections, `[broker]`, `[producer]` and `[consumer]`, by Kafka's own names and bounds: every key is
//! optional and defaults to the model's default config, and a value Kafka would reject is rejected here too.

use super::walk::{Res, Table, Value, INT, LONG};
use ksim_model::config::{Acks, BrokerConfig, ConsumerConfig, ProducerConfig};
use ksim_model::group::coordinator::GroupConfig;
use ksim_model::protocol::IsolationLevel;

pub(super) const BROKER_KEYS: [&str; 26] = [
    "min.insync.replicas",
    "unclean.leader.election.enable",
    "replica.lag.time.max.ms",
    "replica.fetch.wait.max.ms",
    "replica.fetch.backoff.ms",
    "replica.socket.timeout.ms",
    "replica.high.watermark.checkpoint.interval.ms",
    "log.flush.interval.messages",
    "log.flush.interval.ms",
    "log.roll.ms",
    "log.cleaner.enable",
    "log.cleaner.backoff.ms",
    "broker.heartbeat.interval.ms",
    "broker.session.timeout.ms",
    "vm.dirty_expire_centisecs",
    "eligible.leader.replicas.version",
    "transaction.state.log.num.partitions",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms",
    "offsets.topic.num.partitions",
    "offsets.topic.replication.factor",
    "group.initial.rebalance.delay.ms",
    "group.min.session.timeout.ms",
    "group.max.session.timeout.ms",
    "offsets.commit.timeout.ms",
];

pub(super) const PRODUCER_KEYS: [&str; 11] = [
    "acks",
    "retries",
    "retry.backoff.ms",
    "request.timeout.ms",
    "delivery.timeout.ms",
    "max.in.flight.requests.per.connection",
    "linger.ms",
    "batch.size",
    "metadata.max.age.ms",
    "enable.idempotence",
    "transaction.timeout.ms",
];

pub(super) const CONSUMER_KEYS: [&str; 6] = [
    "fetch.max.wait.ms",
    "max.poll.records",
    "request.timeout.ms",
    "retry.backoff.ms",
    "metadata.max.age.ms",
    "isolation.level",
];

/// `min.insync.replicas`, at broker or topic level: Kafka's `int`, at least 1.
pub(super) fn min_insync_replicas(v: &Value) -> Res<usize> {
    v.int_in(1, INT)
}

pub(super) fn broker(t: &Table) -> Res<BrokerConfig> {
    t.only(&BROKER_KEYS)?;
    let d = BrokerConfig::default();
    let config = BrokerConfig {
        min_insync_replicas: t.or(
            "min.insync.replicas",
            d.min_insync_replicas,
            min_insync_replicas,
        )?,
        unclean_leader_election_enable: t.or(
            "unclean.leader.election.enable",
            d.unclean_leader_election_enable,
            Value::bool,
        )?,
        // Intervals that drive timers must be positive: a zero period would spin the simulation.
        replica_lag_time_max_ms: t.or(
            "replica.lag.time.max.ms",
            d.replica_lag_time_max_ms,
            |v| v.int_in(1, LONG),
        )?,
        replica_fetch_wait_max_ms: t.or(
            "replica.fetch.wait.max.ms",
            d.replica_fetch_wait_max_ms,
            |v| v.int_in(0, INT),
        )?,
        replica_fetch_backoff_ms: t.or(
            "replica.fetch.backoff.ms",
            d.replica_fetch_backoff_ms,
            |v| v.int_in(0, INT),
        )?,
        replica_socket_timeout_ms: t.or(
            "replica.socket.timeout.ms",
            d.replica_socket_timeout_ms,
            |v| v.int_in(1, INT),
        )?,
        replica_high_watermark_checkpoint_interval_ms: t.or(
            "replica.high.watermark.checkpoint.interval.ms",
            d.replica_high_watermark_checkpoint_interval_ms,
            |v| v.int_in(1, LONG),
        )?,
        log_flush_interval_messages: t.or(
            "log.flush.interval.messages",
            d.log_flush_interval_messages,
            log_flush_interval_messages,
        )?,
        log_flush_interval_ms: t
            .opt("log.flush.interval.ms", |v| v.int_in(1, LONG))?
            .or(d.log_flush_interval_ms),
        log_roll_ms: t.or("log.roll.ms", d.log_roll_ms, |v| v.int_in(1, LONG))?,
        log_cleaner_enable: t.or("log.cleaner.enable", d.log_cleaner_enable, Value::bool)?,
        log_cleaner_backoff_ms: t.or("log.cleaner.backoff.ms", d.log_cleaner_backoff_ms, |v| {
            v.int_in(1, LONG)
        })?,
        broker_heartbeat_interval_ms: t.or(
            "broker.heartbeat.interval.ms",
            d.broker_heartbeat_interval_ms,
            |v| v.int_in(1, INT),
        )?,
        broker_session_timeout_ms: t.or(
            "broker.session.timeout.ms",
            d.broker_session_timeout_ms,
            |v| v.int_in(1, INT),
        )?,
        vm_dirty_expire_centisecs: t.or(
            "vm.dirty_expire_centisecs",
            d.vm_dirty_expire_centisecs,
            |v| v.int_in(1, INT),
        )?,
        // A cluster feature level in Kafka (`kafka-features.sh`), set here with the brokers: 0 or 1.
        eligible_leader_replicas_version: t.or(
            "eligible.leader.replicas.version",
            d.eligible_leader_replicas_version,
            |v| v.int_in(0, 1),
        )?,
        transaction_state_log_num_partitions: t.or(
            "transaction.state.log.num.partitions",
            d.transaction_state_log_num_partitions,
            |v| v.int_in(1, INT),
        )?,
        transaction_state_log_replication_factor: t.or(
            "transaction.state.log.replication.factor",
            d.transaction_state_log_replication_factor,
            |v| v.int_in(1, INT),
        )?,
        transaction_state_log_min_isr: t.or(
            "transaction.state.log.min.isr",
            d.transaction_state_log_min_isr,
            |v| v.int_in(1, INT),
        )?,
        transaction_abort_timed_out_transaction_cleanup_interval_ms: t.or(
            "transaction.abort.timed.out.transaction.cleanup.interval.ms",
            d.transaction_abort_timed_out_transaction_cleanup_interval_ms,
            |v| v.int_in(1, INT),
        )?,
        offsets_topic_num_partitions: t.or(
            "offsets.topic.num.partitions",
            d.offsets_topic_num_partitions,
            |v| v.int_in(1, INT),
        )?,
        offsets_topic_replication_factor: t.or(
            "offsets.topic.replication.factor",
            d.offsets_topic_replication_factor,
            |v| v.int_in(1, INT),
        )?,
        group: GroupConfig {
            initial_rebalance_delay_ms: t.or(
                "group.initial.rebalance.delay.ms",
                d.group.initial_rebalance_delay_ms,
                |v| v.int_in(0, INT),
            )?,
            min_session_timeout_ms: t.or(
                "group.min.session.timeout.ms",
                d.group.min_session_timeout_ms,
                |v| v.int_in(1, INT),
            )?,
            max_session_timeout_ms: t.or(
                "group.max.session.timeout.ms",
                d.group.max_session_timeout_ms,
                |v| v.int_in(1, INT),
            )?,
            offsets_commit_timeout_ms: t.or(
                "offsets.commit.timeout.ms",
                d.group.offsets_commit_timeout_ms,
                |v| v.int_in(1, INT),
            )?,
        },
        // Set by the scenario's [model] section.
        fixes: d.fixes,
    };
    check_socket_timeout(t, &config)?;
    Ok(config)
}

/// Kafka's default is Long.MAX_VALUE ("never; leave it to the OS"); the model spells never as u64::MAX, so the
/// value Kafka's docs print loads as the model's default.
fn log_flush_interval_messages(v: &Value) -> Res<u64> {
    let n: u64 = v.int_in(1, LONG)?;
    Ok(if n == i64::MAX as u64 { u64::MAX } else { n })
}

/// Kafka refuses to start when `replica.socket.timeout.ms` < `replica.fetch.wait.max.ms`: every idle fetch would
/// time out.
fn check_socket_timeout(t: &Table, c: &BrokerConfig) -> Res<()> {
    if c.replica_socket_timeout_ms >= c.replica_fetch_wait_max_ms {
        return Ok(());
    }
    let message = format!(
        "broker.\"replica.socket.timeout.ms\" ({}) must be at least broker.\"replica.fetch.wait.max.ms\" ({}), \
         as Kafka requires",
        c.replica_socket_timeout_ms, c.replica_fetch_wait_max_ms
    );
    Err(t.blame(
        &["replica.socket.timeout.ms", "replica.fetch.wait.max.ms"],
        message,
    ))
}

pub(super) fn producer(t: &Table) -> Res<ProducerConfig> {
    t.only(&PRODUCER_KEYS)?;
    let d = ProducerConfig::default();
    let mut config = ProducerConfig {
        acks: t.or("acks", d.acks, acks)?,
        retries: t.or("retries", d.retries, |v| v.int_in(0, INT))?,
        retry_backoff_ms: t.or("retry.backoff.ms", d.retry_backoff_ms, |v| {
            v.int_in(0, LONG)
        })?,
        request_timeout_ms: t.or("request.timeout.ms", d.request_timeout_ms, |v| {
            v.int_in(0, INT)
        })?,
        delivery_timeout_ms: t.or("delivery.timeout.ms", d.delivery_timeout_ms, |v| {
            v.int_in(0, INT)
        })?,
        max_in_flight_requests_per_connection: t.or(
            "max.in.flight.requests.per.connection",
            d.max_in_flight_requests_per_connection,
            |v| v.int_in(1, INT),
        )?,
        linger_ms: t.or("linger.ms", d.linger_ms, |v| v.int_in(0, LONG))?,
        batch_size: t.or("batch.size", d.batch_size, |v| v.int_in(0, INT))?,
        metadata_max_age_ms: t.or("metadata.max.age.ms", d.metadata_max_age_ms, |v| {
            v.int_in(0, LONG)
        })?,
        // Resolved below, once the settings it depends on are known.
        enable_idempotence: d.enable_idempotence,
        // Each transactional producer of the workload gets its own (see [workload]).
        transactional_id: None,
        // Kafka's producer accepts any positive int; the coordinator refuses more than
        // transaction.max.timeout.ms (15 minutes) with INVALID_TRANSACTION_TIMEOUT.
        transaction_timeout_ms: t.or("transaction.timeout.ms", d.transaction_timeout_ms, |v| {
            v.int_in(1, INT)
        })?,
    };
    config.delivery_timeout_ms = delivery_timeout(t, &config)?;
    config.enable_idempotence = idempotence(t, &config)?;
    Ok(config)
}

/// Kafka's rule (3.2+): idempotence needs acks=all, retries > 0 and max.in.flight.requests.per.connection <= 5.
/// Asked for explicitly with a conflicting setting, the producer refuses to start; left at its default, it quietly
/// turns off.
fn idempotence(t: &Table, c: &ProducerConfig) -> Res<bool> {
    let conflict = if c.acks != Acks::All {
        Some(("acks", "must be \"all\""))
    } else if c.retries == 0 {
        Some(("retries", "must be greater than 0"))
    } else if c.max_in_flight_requests_per_connection > 5 {
        Some(("max.in.flight.requests.per.connection", "must be at most 5"))
    } else {
        None
    };
    let Some(v) = t.get("enable.idempotence") else {
        return Ok(conflict.is_none());
    };
    if !v.bool()? {
        return Ok(false);
    }
    match conflict {
        None => Ok(true),
        Some((key, rule)) => {
            let message = format!(
                "producer.\"{key}\" {rule} when producer.\"enable.idempotence\" is true, as Kafka requires"
            );
            Err(t.blame(&[key, "enable.idempotence"], message))
        }
    }
}

/// `acks`: Kafka's strings "all", "-1", "1", "0", or the same as TOML integers.
pub(super) fn acks(v: &Value) -> Res<Acks> {
    const VALID: &str = "\"all\", \"-1\", \"1\" or \"0\" (or the integers -1, 1, 0)";
    let (text, shown) = match (v.raw().as_str(), v.as_integer()) {
        (Some(s), _) => (s.to_owned(), format!("{s:?}")),
        (None, Some(n)) => (n.to_string(), n.to_string()),
        _ => return Err(v.wrong_type(VALID)),
    };
    match text.as_str() {
        "all" | "-1" => Ok(Acks::All),
        "1" => Ok(Acks::Leader),
        "0" => Ok(Acks::None),
        _ => Err(v.bad(format_args!("must be {VALID}, got {shown}"))),
    }
}

/// Kafka's producer: `delivery.timeout.ms` must cover `linger.ms` + `request.timeout.ms`. Set explicitly below
/// that, it is an error; left at its default, Kafka raises it to the sum (with a warning), and so do we.
fn delivery_timeout(t: &Table, c: &ProducerConfig) -> Res<u64> {
    let floor = c.linger_ms.saturating_add(c.request_timeout_ms);
    if c.delivery_timeout_ms >= floor {
        return Ok(c.delivery_timeout_ms);
    }
    match t.get("delivery.timeout.ms") {
        None => Ok(floor),
        Some(v) => Err(v.bad(format_args!(
            "({}) must be at least \"linger.ms\" + \"request.timeout.ms\" ({} + {} = {floor}), as Kafka requires",
            c.delivery_timeout_ms, c.linger_ms, c.request_timeout_ms
        ))),
    }
}

pub(super) fn consumer(t: &Table) -> Res<ConsumerConfig> {
    t.only(&CONSUMER_KEYS)?;
    let d = ConsumerConfig::default();
    Ok(ConsumerConfig {
        fetch_max_wait_ms: t.or("fetch.max.wait.ms", d.fetch_max_wait_ms, |v| {
            v.int_in(0, INT)
        })?,
        max_poll_records: t.or("max.poll.records", d.max_poll_records, |v| v.int_in(1, INT))?,
        request_timeout_ms: t.or("request.timeout.ms", d.request_timeout_ms, |v| {
            v.int_in(0, INT)
        })?,
        retry_backoff_ms: t.or("retry.backoff.ms", d.retry_backoff_ms, |v| {
            v.int_in(0, LONG)
        })?,
        metadata_max_age_ms: t.or("metadata.max.age.ms", d.metadata_max_age_ms, |v| {
            v.int_in(0, LONG)
        })?,
        isolation_level: t.or("isolation.level", d.isolation_level, isolation_level)?,
        // `[model] revert` reaches the workload's consumers when a run starts.
        fixes: d.fixes,
    })
}

/// `isolation.level`: Kafka's "read_uncommitted" or "read_committed".
fn isolation_level(v: &Value) -> Res<IsolationLevel> {
    const VALID: &str = "\"read_uncommitted\" or \"read_committed\"";
    match v.raw().as_str() {
        Some("read_uncommitted") => Ok(IsolationLevel::ReadUncommitted),
        Some("read_committed") => Ok(IsolationLevel::ReadCommitted),
        Some(other) => Err(v.bad(format_args!("must be {VALID}, got {other:?}"))),
        None => Err(v.wrong_type(VALID)),
    }
}
