//! An admin client that grows topics: it describes a topic's partition count (Metadata), then asks the controller
//! for that many more (CreatePartitions), retrying each step as Kafka's `KafkaAdminClient` retries a call.
//!
//! Like `kafka-topics.sh --alter --partitions`, growing is a describe followed by `NewPartitions.increaseTo`: the
//! request names the new total, so a retry after an answer was lost finds the topic already grown and gets
//! INVALID_PARTITIONS, as it does with Kafka. Every call has a deadline (the call's `timeoutMs`, sent as the
//! request's `timeout_ms`); until it passes, a lost connection, a request past `request.timeout.ms`, an empty
//! describe or NOT_CONTROLLER are retried after `retry.backoff.ms`; any other answer ends the call.

#[cfg(test)]
mod tests;

use crate::error::ErrorCode;
use crate::ids::{BrokerId, NodeId};
use crate::output::Output;
use crate::protocol::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreatePartitionsTopic, Message,
    MetadataRequest, MetadataResponse,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The admin client's `request.timeout.ms` (Kafka's default): an unanswered request is abandoned after this.
pub const REQUEST_TIMEOUT_MS: u64 = 30_000;
/// The admin client's `retry.backoff.ms` (Kafka's default). Kafka 3.7+ (KIP-580) grows it exponentially with
/// jitter up to `retry.backoff.max.ms`; a fixed backoff keeps this client free of randomness.
pub const RETRY_BACKOFF_MS: u64 = 100;

/// How a grow call ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GrowOutcome {
    /// The controller created the partitions: the topic went from `previous_count` to `count`.
    Created { previous_count: i32, count: i32 },
    /// The controller refused (`count` is what was asked for) or the describe failed for good.
    Failed {
        count: Option<i32>,
        error: ErrorCode,
        message: Option<String>,
    },
    /// The deadline passed before an answer; the partitions may or may not have been created.
    TimedOut { count: Option<i32> },
}

/// Where a call stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Learning the current partition count from a broker.
    Describe,
    /// Asking the controller for `count` partitions in all, grown from `previous_count`.
    Create { previous_count: i32, count: i32 },
}

#[derive(Clone, Debug)]
struct Call {
    topic: String,
    increase_by: i32,
    deadline_ms: u64,
    step: Step,
    /// The request in flight: its peer, correlation id and when it is abandoned.
    in_flight: Option<(NodeId, u64, u64)>,
    /// When to send the next attempt (after a backoff), when none is in flight.
    next_attempt_ms: u64,
}

/// The admin client. Calls are independent and may run at once, each identified by the id `grow_topic` returns.
#[derive(Debug)]
pub struct AdminClient {
    bootstrap: Vec<BrokerId>,
    /// The bootstrap broker the next describe goes to (round-robin, so a dead broker is not asked twice in a row).
    next_broker: usize,
    calls: BTreeMap<u64, Call>,
    outcomes: BTreeMap<u64, GrowOutcome>,
    next_call_id: u64,
    next_correlation_id: u64,
    out: Vec<Output>,
}

impl AdminClient {
    pub fn new(bootstrap: Vec<BrokerId>) -> Self {
        assert!(
            !bootstrap.is_empty(),
            "an admin client needs a bootstrap broker"
        );
        AdminClient {
            bootstrap,
            next_broker: 0,
            calls: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            next_call_id: 0,
            next_correlation_id: 0,
            out: Vec::new(),
        }
    }

    /// Starts growing `topic` by `increase_by` partitions, giving up after `timeout_ms`; returns the call's id.
    pub fn grow_topic(
        &mut self,
        now_ms: u64,
        topic: &str,
        increase_by: i32,
        timeout_ms: u64,
    ) -> (u64, Vec<Output>) {
        assert!(increase_by > 0, "partitions only grow");
        self.next_call_id += 1;
        let id = self.next_call_id;
        self.calls.insert(
            id,
            Call {
                topic: topic.to_string(),
                increase_by,
                deadline_ms: now_ms + timeout_ms,
                step: Step::Describe,
                in_flight: None,
                next_attempt_ms: now_ms,
            },
        );
        self.step(now_ms);
        (id, std::mem::take(&mut self.out))
    }

    /// How call `id` ended, once it has.
    pub fn outcome(&self, id: u64) -> Option<&GrowOutcome> {
        self.outcomes.get(&id)
    }

    pub fn handle_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        message: Message,
    ) -> Vec<Output> {
        let call = self.calls.iter().find_map(|(id, c)| {
            c.in_flight
                .filter(|(peer, cid, _)| *peer == from && *cid == correlation_id)
                .map(|_| *id)
        });
        if let Some(id) = call {
            self.calls.get_mut(&id).expect("in flight").in_flight = None;
            match message {
                Message::MetadataResponse(resp) => self.described(now_ms, id, &resp),
                Message::CreatePartitionsResponse(resp) => self.created(now_ms, id, resp),
                other => panic!("admin client cannot handle {}", other.api_name()),
            }
        }
        self.step(now_ms);
        std::mem::take(&mut self.out)
    }

    /// The connection to `peer` broke: what was in flight on it is retried after the backoff.
    pub fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) -> Vec<Output> {
        for call in self.calls.values_mut() {
            if call.in_flight.is_some_and(|(p, _, _)| p == peer) {
                call.in_flight = None;
                call.next_attempt_ms = now_ms + RETRY_BACKOFF_MS;
            }
        }
        self.step(now_ms);
        std::mem::take(&mut self.out)
    }

    pub fn on_timeout(&mut self, now_ms: u64) -> Vec<Output> {
        self.step(now_ms);
        std::mem::take(&mut self.out)
    }

    pub fn next_timeout(&self) -> Option<u64> {
        self.calls
            .values()
            .map(|c| match c.in_flight {
                Some((_, _, timeout_at_ms)) => timeout_at_ms.min(c.deadline_ms),
                None => c.next_attempt_ms.min(c.deadline_ms),
            })
            .min()
    }

    /// Ends calls past their deadline, abandons requests past `request.timeout.ms`, and sends what is due.
    fn step(&mut self, now_ms: u64) {
        let ids: Vec<u64> = self.calls.keys().copied().collect();
        for id in ids {
            let call = &self.calls[&id];
            if now_ms >= call.deadline_ms {
                let count = match call.step {
                    Step::Describe => None,
                    Step::Create { count, .. } => Some(count),
                };
                self.finish(id, GrowOutcome::TimedOut { count });
                continue;
            }
            match call.in_flight {
                Some((peer, _, timeout_at_ms)) if now_ms >= timeout_at_ms => {
                    // Kafka's admin client closes the connection of a request it stops waiting for.
                    self.out.push(Output::Disconnect(peer));
                    let call = self.calls.get_mut(&id).expect("present");
                    call.in_flight = None;
                    call.next_attempt_ms = now_ms + RETRY_BACKOFF_MS;
                }
                None if now_ms >= call.next_attempt_ms => self.send_attempt(now_ms, id),
                _ => {}
            }
        }
    }

    fn send_attempt(&mut self, now_ms: u64, id: u64) {
        let call = &self.calls[&id];
        let (to, message) = match call.step {
            Step::Describe => {
                let broker = self.bootstrap[self.next_broker % self.bootstrap.len()];
                self.next_broker = (self.next_broker + 1) % self.bootstrap.len();
                let request = MetadataRequest {
                    topics: Some(vec![call.topic.clone()]),
                };
                (NodeId::Broker(broker), Message::MetadataRequest(request))
            }
            Step::Create { count, .. } => {
                let request = CreatePartitionsRequest {
                    topics: vec![CreatePartitionsTopic {
                        name: call.topic.clone(),
                        count,
                        assignments: None,
                    }],
                    timeout_ms: call.deadline_ms - now_ms,
                    validate_only: false,
                };
                (
                    NodeId::Controller,
                    Message::CreatePartitionsRequest(request),
                )
            }
        };
        self.next_correlation_id += 1;
        let correlation_id = self.next_correlation_id;
        let timeout_at_ms = now_ms + REQUEST_TIMEOUT_MS;
        self.calls.get_mut(&id).expect("present").in_flight =
            Some((to, correlation_id, timeout_at_ms));
        self.out.push(Output::Send {
            to,
            correlation_id,
            message,
        });
    }

    /// The describe answered: the count is how many partitions of the topic the broker knows.
    fn described(&mut self, now_ms: u64, id: u64, resp: &MetadataResponse) {
        let call = self.calls.get_mut(&id).expect("present");
        let current = resp
            .partitions
            .iter()
            .filter(|p| *p.topic_partition.topic == *call.topic)
            .count() as i32;
        if current == 0 {
            // The broker has no metadata for the topic yet (UNKNOWN_TOPIC_OR_PARTITION, retriable): ask again.
            call.next_attempt_ms = now_ms + RETRY_BACKOFF_MS;
            return;
        }
        call.step = Step::Create {
            previous_count: current,
            count: current + call.increase_by,
        };
        call.next_attempt_ms = now_ms;
    }

    fn created(&mut self, now_ms: u64, id: u64, resp: CreatePartitionsResponse) {
        let call = self.calls.get_mut(&id).expect("present");
        let Step::Create {
            previous_count,
            count,
        } = call.step
        else {
            panic!("a CreatePartitions answer to a call still describing");
        };
        let result = resp
            .results
            .into_iter()
            .find(|r| r.name == call.topic)
            .expect("the answer names the topic asked about");
        let outcome = match result.error {
            ErrorCode::NONE => GrowOutcome::Created {
                previous_count,
                count,
            },
            ErrorCode::NOT_CONTROLLER => {
                // Kafka's admin client looks for the controller again and retries the call.
                call.next_attempt_ms = now_ms + RETRY_BACKOFF_MS;
                return;
            }
            error => GrowOutcome::Failed {
                count: Some(count),
                error,
                message: result.error_message,
            },
        };
        self.finish(id, outcome);
    }

    fn finish(&mut self, id: u64, outcome: GrowOutcome) {
        self.calls.remove(&id);
        self.outcomes.insert(id, outcome);
    }
}
