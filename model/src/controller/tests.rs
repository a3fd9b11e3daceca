//! The controller driven message by message: channel resends and unclean-shutdown detection.

use super::*;
use crate::config::{LogConfig, TopicConfig};

fn topic() -> TopicConfig {
    TopicConfig {
        name: "t".into(),
        partitions: 1,
        replication_factor: 3,
        min_insync_replicas: 2,
        unclean_leader_election_enable: false,
        log: LogConfig::default(),
    }
}

fn tp() -> TopicPartition {
    TopicPartition::new("t", 0)
}

/// A controller over brokers 1..=3, each registered once as process incarnation 1.
fn controller() -> Controller {
    let mut state = ControllerState::create(3, &[topic()]);
    for b in 1..=3 {
        state.register(b, 1);
    }
    Controller::start(state, BrokerConfig::default(), vec![topic()], 0).0
}

fn register(c: &mut Controller, now_ms: u64, broker: BrokerId, incarnation: u64) -> Vec<Output> {
    let req = BrokerRegistrationRequest {
        broker_id: broker,
        incarnation,
    };
    c.handle_message(
        now_ms,
        NodeId::Broker(broker),
        1,
        Message::BrokerRegistrationRequest(req),
    )
}

/// The APIs sent to `broker` in `out`.
fn sent_to(out: &[Output], broker: BrokerId) -> Vec<&'static str> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { to, message, .. } if *to == NodeId::Broker(broker) => {
                Some(message.api_name())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_broken_channel_to_a_live_broker_is_followed_by_its_whole_state() {
    let mut c = controller();
    assert!(c.on_disconnect(1_000, NodeId::Broker(2)).is_empty());
    assert_eq!(c.next_timeout(), Some(1_000 + CONTROLLER_RETRY_BACKOFF_MS));
    let out = c.on_timeout(1_000 + CONTROLLER_RETRY_BACKOFF_MS);
    assert_eq!(sent_to(&out, 2), vec!["LeaderAndIsr", "UpdateMetadata"]);
    assert!(sent_to(&out, 1).is_empty() && sent_to(&out, 3).is_empty());
    // Once resent, nothing more is due but the sessions.
    assert!(c.next_timeout().unwrap() > 1_000 + CONTROLLER_RETRY_BACKOFF_MS);
}

#[test]
fn a_broken_channel_to_a_fenced_broker_is_not_retried() {
    let mut c = controller();
    let deadline = c.next_timeout().unwrap();
    // Every session expires: all three are fenced.
    c.on_timeout(deadline);
    c.on_disconnect(deadline, NodeId::Broker(2));
    assert_eq!(c.next_timeout(), None);
}

#[test]
fn a_restarted_broker_leaves_the_elr_and_a_live_one_stays_eligible() {
    let mut c = controller();
    let p = c.state.partitions.get_mut(&tp()).unwrap();
    p.isr = vec![1];
    p.elr = vec![2, 3];
    // Broker 2 re-registers from the same process (its session lapsed, its log is whole): still eligible.
    register(&mut c, 10, 2, 1);
    assert_eq!(c.state().partitions[&tp()].elr, vec![2, 3]);
    // Broker 3 restarted (a crash or a power loss: an unclean shutdown) and may have lost its tail.
    register(&mut c, 20, 3, 2);
    assert_eq!(c.state().partitions[&tp()].elr, vec![2]);
}
