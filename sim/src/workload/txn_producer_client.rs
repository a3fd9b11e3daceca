//! A transactional producer client: runs one transaction after another, each sending records to several
//! partitions, commits most and aborts some on purpose, and records every transaction and send in the history.
//!
//! Restarts share a `transactional.id`: a later instance starts at a time drawn from the seed while the earlier
//! one keeps running, as a paused or partitioned process that comes back would. The earlier one is then a zombie
//! that Kafka must fence.

use crate::history::{Outcome, TxnIntent, TxnOp};
use crate::host::process::Process;
use crate::host::recorder::SharedRecorder;
use ksim_model::config::ProducerConfig;
use ksim_model::producer::{Producer, ProducerEvent};
use ksim_model::protocol::Message;
use ksim_model::{BrokerId, ErrorCode, NodeId, Output};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// The `transactional.id` of the workload's `index`-th transactional producer (0-based); its restarts share it.
pub fn transactional_id(index: u32) -> String {
    format!("ksim-txn-{index}")
}

/// How long a producer waits between one transaction's end and the next one's begin.
const GAP_MS: u64 = 20;

/// What a transactional producer is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Before its start time.
    Waiting,
    /// `initTransactions` asked; no answer yet.
    Initializing,
    /// Ready: the next transaction begins at `next_begin_ms`.
    Idle,
    /// Sending records inside transaction `txn` (its index in the history).
    InTransaction { txn: usize, sent: u32 },
    /// Commit or abort asked for transaction `txn`; `recorded` once its outcome is in the history (a commit
    /// of unknown outcome, followed by the abort Kafka requires).
    Ending {
        txn: usize,
        intent: TxnIntent,
        recorded: bool,
    },
    /// Fenced or failed for good: it sends nothing more.
    Dead,
}

/// What the workload asks of a transactional producer.
pub struct TxnWork {
    pub topics: Vec<Arc<str>>,
    pub records_per_second: u32,
    pub records_per_transaction: u32,
    pub abort_percent: u32,
    /// The share of transactions (percent) stalled halfway for `stall_ms`.
    pub stall_percent: u32,
    pub stall_ms: u64,
    pub keys: u32,
    pub start_ms: u64,
    pub stop_ms: u64,
}

pub struct TxnProducerClient {
    id: u32,
    transactional_id: String,
    producer: Producer,
    work: TxnWork,
    interval_ms: u64,
    phase: Phase,
    next_ms: u64,
    /// The producer id and epoch InitProducerId gave.
    producer_id: (i64, i16),
    /// Whether the current transaction is to be aborted on purpose.
    abort_planned: bool,
    /// Whether the current transaction stalls halfway (once).
    stall_planned: bool,
    sequence: u64,
    rng: ChaCha8Rng,
    recorder: SharedRecorder,
}

impl TxnProducerClient {
    pub fn new(
        id: u32,
        transactional_id: String,
        config: ProducerConfig,
        bootstrap: Vec<BrokerId>,
        work: TxnWork,
        seed: u64,
        recorder: SharedRecorder,
    ) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let config = ProducerConfig {
            transactional_id: Some(transactional_id.clone()),
            ..config
        };
        let producer = Producer::new(id, config, bootstrap, rng.next_u64());
        let interval_ms = (1000 / work.records_per_second.max(1) as u64).max(1);
        TxnProducerClient {
            id,
            transactional_id,
            producer,
            next_ms: work.start_ms,
            work,
            interval_ms,
            phase: Phase::Waiting,
            producer_id: (-1, -1),
            abort_planned: false,
            stall_planned: false,
            sequence: 0,
            rng,
            recorder,
        }
    }

    /// Drives the transaction loop as far as the time allows.
    fn step(&mut self, now_ms: u64) -> Vec<Output> {
        if now_ms < self.next_ms {
            return Vec::new();
        }
        match self.phase {
            Phase::Waiting => {
                self.phase = Phase::Initializing;
                self.producer.init_transactions(now_ms)
            }
            // Judged by the scheduled time, as `next_timeout` is, so a late wake cannot leave it due forever.
            Phase::Idle if self.next_ms < self.work.stop_ms => self.begin(now_ms),
            Phase::InTransaction { sent, .. }
                if self.stall_planned && sent == self.work.records_per_transaction / 2 =>
            {
                // The process hangs: nothing happens until the stall is over.
                self.stall_planned = false;
                self.next_ms = now_ms + self.work.stall_ms;
                self.recorder
                    .lock()
                    .unwrap()
                    .trace_event(now_ms, &("stall", self.id, self.work.stall_ms));
                Vec::new()
            }
            Phase::InTransaction { txn, sent } if sent < self.work.records_per_transaction => {
                self.next_ms = now_ms + self.interval_ms;
                self.phase = Phase::InTransaction {
                    txn,
                    sent: sent + 1,
                };
                self.send_one(now_ms, txn)
            }
            Phase::InTransaction { txn, .. } => {
                let intent = if self.abort_planned {
                    TxnIntent::Abort
                } else {
                    TxnIntent::Commit
                };
                self.end(now_ms, txn, intent)
            }
            _ => Vec::new(),
        }
    }

    fn begin(&mut self, now_ms: u64) -> Vec<Output> {
        self.producer.begin_transaction();
        // An abort may have bumped the epoch since InitProducerId answered.
        if let Some(current) = self.producer.producer_id_and_epoch() {
            self.producer_id = current;
        }
        let txn = self.recorder.lock().unwrap().begin_txn(TxnOp {
            process: self.id,
            transactional_id: self.transactional_id.clone(),
            producer_id: self.producer_id.0,
            producer_epoch: self.producer_id.1,
            values: Vec::new(),
            intent: None,
            invoke_ms: now_ms,
            complete_ms: None,
            outcome: None,
            error: None,
        });
        self.abort_planned = self.rng.next_u64() % 100 < self.work.abort_percent as u64;
        self.stall_planned = self.work.stall_percent > 0
            && self.rng.next_u64() % 100 < self.work.stall_percent as u64;
        self.phase = Phase::InTransaction { txn, sent: 0 };
        self.next_ms = now_ms;
        self.step(now_ms)
    }

    fn send_one(&mut self, now_ms: u64, txn: usize) -> Vec<Output> {
        self.sequence += 1;
        let value = ((self.id as u64) << 32) | self.sequence;
        let topic =
            self.work.topics[(self.sequence % self.work.topics.len() as u64) as usize].clone();
        let key = (self.work.keys > 0).then(|| {
            let k = self.rng.next_u64() % self.work.keys as u64;
            Arc::from(format!("key-{k}").into_bytes().into_boxed_slice())
        });
        self.recorder
            .lock()
            .unwrap()
            .send_in_txn(now_ms, self.id, txn, value);
        self.producer.send(now_ms, &topic, key, value, None)
    }

    fn end(&mut self, now_ms: u64, txn: usize, intent: TxnIntent) -> Vec<Output> {
        self.recorder.lock().unwrap().end_txn(now_ms, txn, intent);
        self.phase = Phase::Ending {
            txn,
            intent,
            recorded: false,
        };
        match intent {
            TxnIntent::Commit => self.producer.commit_transaction(now_ms),
            TxnIntent::Abort => self.producer.abort_transaction(now_ms),
        }
    }

    /// Hands the producer's completions and transaction outcomes to the history, and moves the loop on.
    fn handle_events(&mut self, now_ms: u64) -> Vec<Output> {
        let mut out = Vec::new();
        for event in self.producer.drain_events() {
            out.extend(self.handle_event(now_ms, event));
        }
        out
    }

    fn handle_event(&mut self, now_ms: u64, event: ProducerEvent) -> Vec<Output> {
        match event {
            ProducerEvent::Completed { value, tp, result } => {
                self.recorder
                    .lock()
                    .unwrap()
                    .send_result(now_ms, value, tp, result);
                Vec::new()
            }
            ProducerEvent::TransactionsInitialized {
                producer_id,
                producer_epoch,
            } => {
                self.producer_id = (producer_id, producer_epoch);
                if self.phase == Phase::Initializing {
                    self.phase = Phase::Idle;
                    self.next_ms = now_ms;
                }
                Vec::new()
            }
            ProducerEvent::TransactionCommitted | ProducerEvent::TransactionAborted => {
                if let Phase::Ending { txn, recorded, .. } = self.phase {
                    if !recorded {
                        self.recorder
                            .lock()
                            .unwrap()
                            .complete_txn(now_ms, txn, Outcome::Ok, None);
                    }
                    self.phase = Phase::Idle;
                    self.next_ms = now_ms + GAP_MS;
                }
                Vec::new()
            }
            ProducerEvent::TransactionFailed {
                error,
                fatal,
                outcome_unknown,
                ..
            } => self.failed(now_ms, error, fatal, outcome_unknown),
            ProducerEvent::OffsetsSentToTransaction { .. } => Vec::new(),
        }
    }

    /// A transaction went wrong. Fatal (fenced): this producer is done. Otherwise Kafka requires an abort, and
    /// the abort bumps the epoch; a commit whose EndTxn went unanswered may have happened all the same.
    fn failed(
        &mut self,
        now_ms: u64,
        error: ErrorCode,
        fatal: bool,
        outcome_unknown: bool,
    ) -> Vec<Output> {
        let (txn, commit_asked, recorded) = match self.phase {
            Phase::InTransaction { txn, .. } => (txn, false, false),
            Phase::Ending {
                txn,
                intent,
                recorded,
            } => (txn, intent == TxnIntent::Commit, recorded),
            // initTransactions failed: like an application that cannot start, this producer gives up.
            Phase::Initializing => {
                self.phase = Phase::Dead;
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        // A commit asked for whose outcome is unknown may have been carried out; otherwise it surely was not.
        let outcome = if commit_asked && outcome_unknown {
            Outcome::Info
        } else {
            Outcome::Fail
        };
        if fatal {
            if !recorded {
                self.recorder
                    .lock()
                    .unwrap()
                    .complete_txn(now_ms, txn, outcome, Some(error));
            }
            self.phase = Phase::Dead;
            return Vec::new();
        }
        if recorded || outcome == Outcome::Info {
            // The history keeps the commit of unknown outcome; the abort only clears the producer's state.
            if !recorded {
                self.recorder
                    .lock()
                    .unwrap()
                    .complete_txn(now_ms, txn, outcome, Some(error));
            }
            let out = self.producer.abort_transaction(now_ms);
            self.phase = Phase::Ending {
                txn,
                intent: TxnIntent::Abort,
                recorded: true,
            };
            return out;
        }
        self.end(now_ms, txn, TxnIntent::Abort)
    }

    fn after(&mut self, now_ms: u64, mut out: Vec<Output>) -> Vec<Output> {
        out.extend(self.handle_events(now_ms));
        out.extend(self.step(now_ms));
        out.extend(self.handle_events(now_ms));
        out
    }
}

impl Process for TxnProducerClient {
    fn start(&mut self, _now_ms: u64) -> Vec<Output> {
        Vec::new()
    }

    fn handle_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        message: Message,
    ) -> Vec<Output> {
        let out = self
            .producer
            .handle_message(now_ms, from, correlation_id, message);
        self.after(now_ms, out)
    }

    fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) -> Vec<Output> {
        let out = self.producer.on_disconnect(now_ms, peer);
        self.after(now_ms, out)
    }

    fn on_timeout(&mut self, now_ms: u64) -> Vec<Output> {
        let mut out = Vec::new();
        if self.producer.next_timeout().is_some_and(|at| at <= now_ms) {
            out.extend(self.producer.on_timeout(now_ms));
        }
        self.after(now_ms, out)
    }

    fn next_timeout(&self) -> Option<u64> {
        let own = match self.phase {
            Phase::Waiting | Phase::InTransaction { .. } => Some(self.next_ms),
            Phase::Idle if self.next_ms < self.work.stop_ms => Some(self.next_ms),
            _ => None,
        };
        match (own, self.producer.next_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::recorder::Recorder;
    use ksim_model::protocol::{FindCoordinatorResponse, InitProducerIdResponse};
    use std::sync::Mutex;

    /// Answers the request `out` sent with `answer` from broker 1.
    fn answer(
        client: &mut TxnProducerClient,
        now_ms: u64,
        out: Vec<Output>,
        answer: Message,
    ) -> Vec<Output> {
        let correlation_id = out
            .iter()
            .find_map(|o| match o {
                Output::Send { correlation_id, .. } => Some(*correlation_id),
                _ => None,
            })
            .expect("a request went out");
        client.handle_message(now_ms, NodeId::Broker(1), correlation_id, answer)
    }

    #[test]
    fn a_transaction_due_before_the_stop_begins_when_the_wake_comes_after_it() {
        let work = TxnWork {
            topics: vec![Arc::from("events")],
            records_per_second: 100,
            records_per_transaction: 4,
            abort_percent: 0,
            stall_percent: 0,
            stall_ms: 0,
            keys: 4,
            start_ms: 0,
            stop_ms: 300,
        };
        let recorder = Arc::new(Mutex::new(Recorder::default()));
        let mut client = TxnProducerClient::new(
            0,
            transactional_id(0),
            ProducerConfig::default(),
            vec![1],
            work,
            7,
            recorder,
        );
        let out = client.on_timeout(0);
        let found = Message::FindCoordinatorResponse(FindCoordinatorResponse {
            error: ErrorCode::NONE,
            node_id: 1,
        });
        answer(&mut client, 1, out, found);
        let due = client
            .next_timeout()
            .expect("InitProducerId after the backoff");
        let out = client.on_timeout(due);
        let initialized = Message::InitProducerIdResponse(InitProducerIdResponse {
            error: ErrorCode::NONE,
            producer_id: 77,
            producer_epoch: 0,
        });
        // Initialized at the stop: no transaction begins. Say the next one had been due at 295 (a transaction's
        // end schedules it so) and the node wakes for it only at 301, past the stop.
        answer(&mut client, 300, out, initialized);
        assert_eq!(client.phase, Phase::Idle);
        client.next_ms = 295;
        assert_eq!(client.next_timeout(), Some(295));
        client.on_timeout(301);
        assert!(
            matches!(client.phase, Phase::InTransaction { .. }),
            "{:?}",
            client.phase
        );
        assert!(
            client.next_timeout().is_none_or(|at| at > 301),
            "still due: {:?}",
            client.next_timeout()
        );
    }
}
