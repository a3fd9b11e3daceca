//! The broker's side of its controller session: registration, heartbeats, AlterPartition bookkeeping, and
//! turning away controller requests sent to it.

use super::Broker;
use crate::error::ErrorCode;
use crate::ids::{NodeId, TopicPartition};
use crate::protocol::{
    BrokerHeartbeatRequest, BrokerHeartbeatResponse, BrokerRegistrationRequest,
    BrokerRegistrationResponse, CreatePartitionsRequest, CreatePartitionsResponse,
    CreatePartitionsTopicResult, LeaderAndIsrRequest, Message,
};
use std::collections::{BTreeMap, BTreeSet};

pub struct ControllerLink {
    incarnation: u64,
    broker_epoch: Option<i64>,
    /// The registration or heartbeat in flight, and when it is given up.
    in_flight: Option<(u64, u64)>,
    next_send_ms: u64,
    alters: BTreeMap<u64, TopicPartition>,
    /// Partitions whose AlterPartition answer a broken connection lost: resent with the next heartbeat.
    lost_alters: BTreeSet<TopicPartition>,
    /// LeaderAndIsr requests for a broker epoch this broker has not learned yet.
    deferred: Vec<(NodeId, u64, LeaderAndIsrRequest)>,
}

impl ControllerLink {
    pub fn new(incarnation: u64) -> Self {
        ControllerLink {
            incarnation,
            broker_epoch: None,
            in_flight: None,
            next_send_ms: 0,
            alters: BTreeMap::new(),
            lost_alters: BTreeSet::new(),
            deferred: Vec::new(),
        }
    }

    pub fn broker_epoch(&self) -> Option<i64> {
        self.broker_epoch
    }

    pub fn next_timeout(&self) -> u64 {
        match self.in_flight {
            Some((_, deadline)) => deadline,
            None => self.next_send_ms,
        }
    }

    pub fn alter_sent(&mut self, correlation_id: u64, tp: TopicPartition) {
        self.alters.insert(correlation_id, tp);
    }

    pub fn defer(&mut self, from: NodeId, correlation_id: u64, request: LeaderAndIsrRequest) {
        self.deferred.push((from, correlation_id, request));
    }

    pub fn alter_answered(&mut self, correlation_id: u64) -> bool {
        self.alters.remove(&correlation_id).is_some()
    }

    pub fn take_lost_alters(&mut self) -> BTreeSet<TopicPartition> {
        std::mem::take(&mut self.lost_alters)
    }
}

impl Broker {
    pub(super) fn register(&mut self, now_ms: u64) {
        let request = BrokerRegistrationRequest {
            broker_id: self.id,
            incarnation: self.controller.incarnation,
        };
        let id = self.request(
            NodeId::Controller,
            Message::BrokerRegistrationRequest(request),
        );
        self.controller.in_flight = Some((id, now_ms + self.config.broker_session_timeout_ms));
    }

    fn heartbeat(&mut self, now_ms: u64, broker_epoch: i64) {
        let request = BrokerHeartbeatRequest {
            broker_id: self.id,
            broker_epoch,
        };
        let id = self.request(NodeId::Controller, Message::BrokerHeartbeatRequest(request));
        self.controller.in_flight = Some((id, now_ms + self.config.broker_session_timeout_ms));
    }

    pub(super) fn controller_tick(&mut self, now_ms: u64) {
        if let Some((_, deadline)) = self.controller.in_flight {
            if now_ms >= deadline {
                // No answer within a session: reconnect and start again.
                self.out
                    .push(crate::output::Output::Disconnect(NodeId::Controller));
                self.controller_disconnected(now_ms);
            }
            return;
        }
        if now_ms < self.controller.next_send_ms {
            return;
        }
        match self.controller.broker_epoch {
            None => self.register(now_ms),
            Some(epoch) => {
                self.heartbeat(now_ms, epoch);
                self.resend_pending_isr();
            }
        }
    }

    pub(super) fn handle_registration_response(
        &mut self,
        now_ms: u64,
        correlation_id: u64,
        resp: BrokerRegistrationResponse,
    ) {
        if self.controller.in_flight.map(|(id, _)| id) != Some(correlation_id) {
            return;
        }
        self.controller.in_flight = None;
        self.controller.next_send_ms = now_ms + self.config.broker_heartbeat_interval_ms;
        if resp.error == ErrorCode::NONE {
            self.controller.broker_epoch = Some(resp.broker_epoch);
            // A new broker epoch is a fresh range of producer ids.
            self.next_producer_id = 0;
            // Replay what was sent to this registration before we knew it; older ones get STALE_BROKER_EPOCH.
            for (from, correlation_id, request) in std::mem::take(&mut self.controller.deferred) {
                self.handle_leader_and_isr(now_ms, from, correlation_id, request);
            }
        }
    }

    pub(super) fn handle_heartbeat_response(
        &mut self,
        now_ms: u64,
        correlation_id: u64,
        resp: BrokerHeartbeatResponse,
    ) {
        if self.controller.in_flight.map(|(id, _)| id) != Some(correlation_id) {
            return;
        }
        self.controller.in_flight = None;
        if resp.error == ErrorCode::STALE_BROKER_EPOCH {
            // The controller fenced this session (it missed our heartbeats): register again, as a new session.
            self.controller.broker_epoch = None;
            self.register(now_ms);
        } else {
            self.controller.next_send_ms = now_ms + self.config.broker_heartbeat_interval_ms;
        }
    }

    /// An admin request only the controller serves reached a broker: NOT_CONTROLLER for every topic, as a
    /// ZooKeeper-mode Kafka broker that is not the controller answers, so the admin client retries at the controller.
    pub(super) fn handle_create_partitions(
        &mut self,
        from: NodeId,
        correlation_id: u64,
        req: CreatePartitionsRequest,
    ) {
        let results = req
            .topics
            .into_iter()
            .map(|t| CreatePartitionsTopicResult {
                name: t.name,
                error: ErrorCode::NOT_CONTROLLER,
                error_message: None,
            })
            .collect();
        let response = CreatePartitionsResponse { results };
        self.send(
            from,
            correlation_id,
            Message::CreatePartitionsResponse(response),
        );
    }

    pub(super) fn controller_disconnected(&mut self, now_ms: u64) {
        self.controller.in_flight = None;
        let lost = std::mem::take(&mut self.controller.alters);
        self.controller.lost_alters.extend(lost.into_values());
        self.controller.next_send_ms = now_ms + self.config.broker_heartbeat_interval_ms;
    }
}
