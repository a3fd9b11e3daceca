//! A consume-transform-produce processor (Kafka's exactly-once loop, KIP-447): a group consumer reading
//! read_committed without auto-commit, and a transactional producer of its own. Each poll's records are processed
//! in one transaction: one output record per input record, the input offsets sent to the transaction with the
//! consumer's group metadata, then commit. An abortable error aborts and rewinds the consumer to the committed
//! offsets; a fatal one (fenced) closes both clients and starts over; a revocation mid-transaction aborts it.

use super::group_app::GroupApp;
use super::group_events::membership_op;
use super::group_member_client::processing_time;
use super::shared_connections::{tag, untag, Side};
use crate::history::{CommitKind, GroupOp, Outcome, TxnIntent, TxnOp};
use crate::host::process::Process;
use crate::host::recorder::SharedRecorder;
use ksim_model::config::{ConsumerConfig, Fixes, GroupMemberConfig, ProducerConfig};
use ksim_model::consumer::group::{GroupConsumer, GroupEvent, Polled};
use ksim_model::consumer::ConsumerGroupMetadata;
use ksim_model::producer::{Producer, ProducerEvent, TransactionOperation};
use ksim_model::protocol::{IsolationLevel, Message};
use ksim_model::{BrokerId, ErrorCode, NodeId, Offset, Output, TopicPartition};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// The `transactional.id` of the group's `index`-th processor (0-based); a restart of it keeps it, so the new
/// instance fences the old one.
pub fn transactional_id(index: u32) -> String {
    format!("ksim-eos-{index}")
}

/// What the application does, beside the clients' settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EosWork {
    pub output_topic: Arc<str>,
    /// Processing time per record, drawn uniformly from this range.
    pub processing_ms: (u64, u64),
    /// Share of batches that stall for `stall_ms` on top (a slow call downstream), until `stall_until_ms`.
    pub stall_percent: u32,
    pub stall_ms: u64,
    /// Stalls are part of the fault phase: after it the processors must drain their input and end every
    /// transaction before the run ends, or a transaction open at the end would look like one that hangs.
    pub stall_until_ms: u64,
    /// The processor starts at this time.
    pub start_ms: u64,
}

/// Everything the clients are built from, kept to build them afresh after a fatal error or a restart.
pub struct EosClients {
    pub consumer: ConsumerConfig,
    pub group: GroupMemberConfig,
    pub producer: ProducerConfig,
    pub bootstrap: Vec<BrokerId>,
    pub input_topics: Vec<String>,
    pub fixes: Fixes,
}

/// One poll's records, processed in one transaction.
#[derive(Clone, Debug)]
struct Batch {
    /// The transaction's index in the history.
    txn: usize,
    polled: Polled,
    polled_ms: u64,
    /// The positions after what the poll returned, for the partitions it returned records of: the offsets the
    /// transaction commits for the group.
    offsets: BTreeMap<TopicPartition, Offset>,
    /// The consumer's group metadata when it polled. Kafka's `groupMetadata()` changes only when a rebalance
    /// completes inside `poll`, so it is the same when the application later hands it to the producer.
    group: ConsumerGroupMetadata,
    /// When `send_offsets_to_transaction` was called, if it was.
    offsets_invoked_ms: Option<u64>,
    /// The group coordinator took the offsets into the transaction.
    offsets_sent: bool,
    /// `send_offsets_to_transaction` failed: the offsets surely were not taken.
    offsets_failed: bool,
    /// `commit_transaction` was called.
    commit_asked: bool,
    /// The transaction's outcome is in the history (a commit of unknown outcome, before the abort Kafka requires).
    recorded: bool,
}

/// Where the application is in its loop.
#[derive(Clone, Debug)]
enum App {
    /// Waiting to start (first start, or a restart of the process).
    NotStarted { start_ms: u64 },
    /// `initTransactions` asked; the consumer starts once it ends.
    Initializing,
    /// Between transactions: it polls at every wake-up.
    Idle,
    /// Transaction open, processing the batch until `done_ms`.
    Processing { batch: Box<Batch>, done_ms: u64 },
    /// Outputs sent; `sendOffsetsToTransaction` asked.
    SendingOffsets { batch: Box<Batch> },
    /// `commitTransaction` asked.
    Committing { batch: Box<Batch> },
    /// `abortTransaction` asked; the consumer is rewound once it ends.
    Aborting { batch: Box<Batch> },
    /// The process was stopped: nothing runs until `Process::start`.
    Down,
}

/// The two clients of one incarnation of the application.
struct Clients {
    consumer: GroupConsumer,
    producer: Producer,
    /// Tags the correlation ids of this incarnation's requests.
    incarnation: u8,
}

pub struct EosProcessorClient {
    id: u32,
    transactional_id: String,
    settings: EosClients,
    work: EosWork,
    clients: Option<Clients>,
    incarnations: u8,
    app: App,
    /// The application thread stalls until then (`GroupApp::pause_until`).
    paused_until_ms: u64,
    /// A partition was revoked or lost while a transaction was open: the application aborts it when it runs.
    revoked_in_transaction: bool,
    /// Transaction outcomes and call results the application has not acted on yet (it may be paused).
    producer_events: VecDeque<ProducerEvent>,
    /// Numbers output values; never reset, so values stay unique across incarnations.
    sequence: u64,
    rng: ChaCha8Rng,
    recorder: SharedRecorder,
}

impl EosProcessorClient {
    pub fn new(
        id: u32,
        transactional_id: String,
        settings: EosClients,
        work: EosWork,
        seed: u64,
        recorder: SharedRecorder,
    ) -> Self {
        EosProcessorClient {
            id,
            transactional_id,
            settings,
            app: App::NotStarted {
                start_ms: work.start_ms,
            },
            work,
            clients: None,
            incarnations: 0,
            paused_until_ms: 0,
            revoked_in_transaction: false,
            producer_events: VecDeque::new(),
            sequence: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            recorder,
        }
    }

    fn group(&self) -> String {
        self.settings.group.group_id.clone()
    }

    fn record(&self, op: GroupOp) {
        self.recorder.lock().unwrap().group(op);
    }

    fn clients(&mut self) -> &mut Clients {
        self.clients.as_mut().expect("the application runs")
    }

    /// A fresh consumer (read_committed, no auto-commit: offsets are committed only through transactions) and a
    /// fresh producer with the processor's `transactional.id`, whose `initTransactions` is asked at once.
    fn open_clients(&mut self, now_ms: u64) -> Vec<Output> {
        let consumer_config = ConsumerConfig {
            isolation_level: IsolationLevel::ReadCommitted,
            ..self.settings.consumer.clone()
        };
        let group_config = GroupMemberConfig {
            enable_auto_commit: false,
            commit_on_revoke: false,
            ..self.settings.group.clone()
        };
        let producer_config = ProducerConfig {
            transactional_id: Some(self.transactional_id.clone()),
            ..self.settings.producer.clone()
        };
        self.incarnations = self.incarnations.wrapping_add(1);
        let mut producer = Producer::new(
            self.id,
            producer_config,
            self.settings.bootstrap.clone(),
            self.rng.next_u64(),
        );
        let out = producer.init_transactions(now_ms);
        self.clients = Some(Clients {
            consumer: GroupConsumer::new(
                self.id,
                consumer_config,
                group_config,
                self.settings.bootstrap.clone(),
                self.settings.input_topics.clone(),
                self.settings.fixes.clone(),
            ),
            producer,
            incarnation: self.incarnations,
        });
        self.app = App::Initializing;
        tag(out, Side::Producer, self.incarnations)
    }

    /// Runs the application as far as it can go now. The clients' own threads (heartbeats, the producer's
    /// sender) run whatever the application does; what they report is recorded as it happens.
    fn drive(&mut self, now_ms: u64, mut out: Vec<Output>) -> Vec<Output> {
        loop {
            self.take_events(now_ms);
            if now_ms < self.paused_until_ms {
                return out;
            }
            self.paused_until_ms = 0;
            if let Some(event) = self.producer_events.pop_front() {
                out.extend(self.on_producer_event(now_ms, event));
                continue;
            }
            match std::mem::replace(&mut self.app, App::Down) {
                App::NotStarted { start_ms } if start_ms <= now_ms => {
                    out.extend(self.open_clients(now_ms));
                }
                App::Idle => {
                    let (polled, more) = self.clients().consumer.poll(now_ms);
                    out.extend(self.consumer_out(now_ms, more));
                    if polled.records.is_empty() {
                        self.app = App::Idle;
                        self.take_events(now_ms);
                        return out;
                    }
                    self.begin(now_ms, polled);
                }
                // The application thread is busy processing until `done_ms`; then it sees what its rebalance
                // listener noted meanwhile, and aborts instead of writing outputs for partitions it lost.
                App::Processing { batch, done_ms } if done_ms <= now_ms => {
                    if self.revoked_in_transaction {
                        out.extend(self.abort(now_ms, batch));
                    } else {
                        out.extend(self.transform(now_ms, batch));
                    }
                }
                other => {
                    self.app = other;
                    return out;
                }
            }
        }
    }

    /// Records what the consumer and producer reported: the group's events at once, send completions at once,
    /// and keeps the transactional results for the application.
    fn take_events(&mut self, now_ms: u64) {
        let Some(clients) = self.clients.as_mut() else {
            return;
        };
        let group_events = clients.consumer.drain_events();
        let producer_events = clients.producer.drain_events();
        for event in group_events {
            self.record_group_event(now_ms, event);
        }
        for event in producer_events {
            match event {
                ProducerEvent::Completed { value, tp, result } => {
                    self.recorder
                        .lock()
                        .unwrap()
                        .send_result(now_ms, value, tp, result);
                }
                other => self.producer_events.push_back(other),
            }
        }
    }

    fn record_group_event(&mut self, now_ms: u64, event: GroupEvent) {
        // Kafka's advice: a listener that sees partitions go mid-transaction aborts it.
        let revoked = matches!(event, GroupEvent::Revoked { .. });
        if revoked
            && matches!(
                self.app,
                App::Processing { .. } | App::SendingOffsets { .. }
            )
        {
            self.revoked_in_transaction = true;
        }
        // The processor never commits through the consumer, so there is no commit's end to record.
        if let Some(op) = membership_op(&self.group(), self.id, now_ms, event) {
            self.record(op);
        }
    }

    /// `beginTransaction` for what one poll returned, and the processing time it takes.
    fn begin(&mut self, now_ms: u64, polled: Polled) {
        let clients = self.clients();
        clients.producer.begin_transaction();
        let (producer_id, producer_epoch) =
            clients.producer.producer_id_and_epoch().unwrap_or((-1, -1));
        let tps = polled.records.iter().map(|(tp, _)| tp.clone()).collect();
        let offsets = clients
            .consumer
            .consumed_positions(&tps)
            .into_iter()
            .collect();
        let group = clients.consumer.group_metadata();
        let txn = self.recorder.lock().unwrap().begin_txn(TxnOp {
            process: self.id,
            transactional_id: self.transactional_id.clone(),
            producer_id,
            producer_epoch,
            values: Vec::new(),
            intent: None,
            invoke_ms: now_ms,
            complete_ms: None,
            outcome: None,
            error: None,
        });
        let records = polled.records.iter().map(|(_, r)| r.len()).sum();
        let w = &self.work;
        let stall_percent = if now_ms < w.stall_until_ms {
            w.stall_percent
        } else {
            0
        };
        let (range, stall) = (w.processing_ms, (stall_percent, w.stall_ms));
        let done_ms = now_ms + processing_time(&mut self.rng, records, range, stall);
        self.revoked_in_transaction = false;
        self.app = App::Processing {
            batch: Box::new(Batch {
                txn,
                polled,
                polled_ms: now_ms,
                offsets,
                group,
                offsets_invoked_ms: None,
                offsets_sent: false,
                offsets_failed: false,
                commit_asked: false,
                recorded: false,
            }),
            done_ms,
        };
    }

    /// Processing is done: one output record per input record, then the input offsets into the transaction.
    fn transform(&mut self, now_ms: u64, mut batch: Box<Batch>) -> Vec<Output> {
        let (group, process) = (self.group(), self.id);
        for (tp, records) in &batch.polled.records {
            self.record(GroupOp::Processed {
                group: group.clone(),
                process,
                generation: batch.polled.generation,
                tp: tp.clone(),
                records: records.clone(),
                polled_ms: batch.polled_ms,
                at_ms: now_ms,
                txn: Some(batch.txn),
            });
        }
        let mut out = Vec::new();
        for (tp, records) in &batch.polled.records {
            for &input in records {
                out.extend(self.send_output(now_ms, batch.txn, tp, input));
            }
        }
        batch.offsets_invoked_ms = Some(now_ms);
        let (offsets, metadata) = (batch.offsets.clone(), batch.group.clone());
        let more = self
            .clients()
            .producer
            .send_offsets_to_transaction(now_ms, offsets, metadata);
        out.extend(self.producer_out(now_ms, more));
        self.app = App::SendingOffsets { batch };
        out
    }

    /// Sends the output of one input record, keyed by its input partition, with a value unique in the run.
    fn send_output(
        &mut self,
        now_ms: u64,
        txn: usize,
        input_tp: &TopicPartition,
        input: (Offset, u64),
    ) -> Vec<Output> {
        self.sequence += 1;
        let value = (u64::from(self.id) << 32) | self.sequence;
        {
            let mut recorder = self.recorder.lock().unwrap();
            recorder.group(GroupOp::Transformed {
                group: self.settings.group.group_id.clone(),
                process: self.id,
                input_tp: input_tp.clone(),
                input,
                output_value: value,
                txn,
                at_ms: now_ms,
            });
            recorder.send_in_txn(now_ms, self.id, txn, value);
        }
        let key: Arc<[u8]> = Arc::from(input_tp.to_string().into_bytes().into_boxed_slice());
        let topic = self.work.output_topic.clone();
        let out = self
            .clients()
            .producer
            .send(now_ms, &topic, Some(key), value, None);
        self.producer_out(now_ms, out)
    }

    /// The application acts on a transactional call's result.
    fn on_producer_event(&mut self, now_ms: u64, event: ProducerEvent) -> Vec<Output> {
        match (std::mem::replace(&mut self.app, App::Down), event) {
            (App::Initializing, ProducerEvent::TransactionsInitialized { .. }) => {
                self.app = App::Idle;
                let out = self.clients().consumer.start(now_ms);
                self.consumer_out(now_ms, out)
            }
            (App::SendingOffsets { mut batch }, ProducerEvent::OffsetsSentToTransaction { .. }) => {
                batch.offsets_sent = true;
                if self.revoked_in_transaction {
                    return self.abort(now_ms, batch);
                }
                self.commit(now_ms, batch)
            }
            (App::Committing { batch }, ProducerEvent::TransactionCommitted) => {
                self.finish(now_ms, &batch, Outcome::Ok, None);
                self.app = App::Idle;
                Vec::new()
            }
            (App::Aborting { batch }, ProducerEvent::TransactionAborted) => {
                if !batch.recorded {
                    self.finish(now_ms, &batch, Outcome::Ok, None);
                }
                self.app = App::Idle;
                let out = self.clients().consumer.rewind_to_committed(now_ms);
                self.consumer_out(now_ms, out)
            }
            (
                app,
                ProducerEvent::TransactionFailed {
                    operation,
                    error,
                    fatal,
                    outcome_unknown,
                },
            ) => {
                self.app = app;
                self.failed(now_ms, operation, error, fatal, outcome_unknown)
            }
            (app, event) => {
                self.app = app;
                self.recorder
                    .lock()
                    .unwrap()
                    .trace_event(now_ms, &("eos: unexpected", self.id, &event));
                Vec::new()
            }
        }
    }

    fn commit(&mut self, now_ms: u64, mut batch: Box<Batch>) -> Vec<Output> {
        batch.commit_asked = true;
        self.recorder
            .lock()
            .unwrap()
            .end_txn(now_ms, batch.txn, TxnIntent::Commit);
        let out = self.clients().producer.commit_transaction(now_ms);
        self.app = App::Committing { batch };
        self.producer_out(now_ms, out)
    }

    fn abort(&mut self, now_ms: u64, batch: Box<Batch>) -> Vec<Output> {
        if !batch.recorded {
            self.recorder
                .lock()
                .unwrap()
                .end_txn(now_ms, batch.txn, TxnIntent::Abort);
        }
        self.revoked_in_transaction = false;
        let out = self.clients().producer.abort_transaction(now_ms);
        self.app = App::Aborting { batch };
        self.producer_out(now_ms, out)
    }

    /// A transactional call failed. Fatal (fenced): close and start over. Otherwise abort; a commit whose EndTxn
    /// went unanswered may have committed all the same, so its outcome is unknown whatever the abort says.
    fn failed(
        &mut self,
        now_ms: u64,
        operation: Option<TransactionOperation>,
        error: ErrorCode,
        fatal: bool,
        outcome_unknown: bool,
    ) -> Vec<Output> {
        let trace = (
            "eos: failed",
            self.id,
            operation,
            error,
            fatal,
            outcome_unknown,
        );
        self.recorder.lock().unwrap().trace_event(now_ms, &trace);
        if fatal {
            return self.start_over(now_ms, Some(error));
        }
        match std::mem::replace(&mut self.app, App::Down) {
            App::Processing { batch, .. } => self.abort(now_ms, batch),
            App::SendingOffsets { mut batch } => {
                batch.offsets_failed =
                    operation == Some(TransactionOperation::SendOffsetsToTransaction);
                self.abort(now_ms, batch)
            }
            App::Committing { mut batch } | App::Aborting { mut batch } => {
                if batch.commit_asked && !batch.recorded {
                    let outcome = if outcome_unknown {
                        Outcome::Info
                    } else {
                        Outcome::Fail
                    };
                    self.finish(now_ms, &batch, outcome, Some(error));
                    batch.recorded = true;
                }
                self.abort(now_ms, batch)
            }
            App::Initializing => self.start_over(now_ms, Some(error)),
            app => {
                self.app = app;
                Vec::new()
            }
        }
    }

    /// The transaction's outcome and the commit of its offsets go into the history.
    fn finish(&mut self, now_ms: u64, batch: &Batch, outcome: Outcome, error: Option<ErrorCode>) {
        self.recorder
            .lock()
            .unwrap()
            .complete_txn(now_ms, batch.txn, outcome, error);
        let Some(invoke_ms) = batch.offsets_invoked_ms else {
            return;
        };
        // The group coordinator took the offsets (Ok) or surely not (Fail); a call cut short may have (Info).
        // Either way they count only if the transaction commits.
        let commit_outcome = if batch.offsets_sent {
            Outcome::Ok
        } else if batch.offsets_failed {
            Outcome::Fail
        } else {
            Outcome::Info
        };
        self.record(GroupOp::Commit {
            group: self.group(),
            process: self.id,
            generation: batch.group.generation_id,
            kind: CommitKind::Transactional { txn: batch.txn },
            offsets: batch.offsets.clone().into_iter().collect(),
            outcome: commit_outcome,
            invoke_ms,
            at_ms: now_ms,
        });
    }

    /// The open transaction, if any, ends in the history as the application leaves it: surely not committed
    /// unless a commit was asked, whose outcome is then unknown.
    fn abandon_transaction(&mut self, now_ms: u64, error: Option<ErrorCode>) {
        let app = std::mem::replace(&mut self.app, App::Down);
        let batch = match app {
            App::Processing { batch, .. }
            | App::SendingOffsets { batch }
            | App::Committing { batch }
            | App::Aborting { batch } => batch,
            _ => return,
        };
        if !batch.recorded {
            let outcome = if batch.commit_asked {
                Outcome::Info
            } else {
                Outcome::Fail
            };
            self.finish(now_ms, &batch, outcome, error);
        }
    }

    /// Kafka's advice for a fatal producer error: close the producer and the consumer (which leaves the group)
    /// and start again, with a new producer that fences the old one (initTransactions bumps the epoch).
    fn start_over(&mut self, now_ms: u64, error: Option<ErrorCode>) -> Vec<Output> {
        self.abandon_transaction(now_ms, error);
        let mut out = Vec::new();
        if let Some(mut clients) = self.clients.take() {
            let leave = clients.consumer.close(now_ms);
            out.extend(tag(leave, Side::Consumer, clients.incarnation));
            self.clients = Some(clients);
            self.take_events(now_ms);
            self.clients = None;
        }
        self.record(GroupOp::Stopped {
            group: self.group(),
            process: self.id,
            at_ms: now_ms,
        });
        self.producer_events.clear();
        self.revoked_in_transaction = false;
        out.extend(self.open_clients(now_ms));
        out
    }

    fn consumer_out(&mut self, now_ms: u64, out: Vec<Output>) -> Vec<Output> {
        let incarnation = self.clients().incarnation;
        let out = tag(out, Side::Consumer, incarnation);
        self.shared_disconnects(now_ms, out, Side::Consumer)
    }

    fn producer_out(&mut self, now_ms: u64, out: Vec<Output>) -> Vec<Output> {
        let incarnation = self.clients().incarnation;
        let out = tag(out, Side::Producer, incarnation);
        self.shared_disconnects(now_ms, out, Side::Producer)
    }

    /// A client that closes a connection (a request timed out) closes it under the other one too: what the other
    /// had in flight on it is lost, and it learns so at once, as it would from its broken socket.
    fn shared_disconnects(&mut self, now_ms: u64, mut out: Vec<Output>, from: Side) -> Vec<Output> {
        let closed: Vec<NodeId> = out
            .iter()
            .filter_map(|o| match o {
                Output::Disconnect(peer) => Some(*peer),
                _ => None,
            })
            .collect();
        let Some(clients) = self.clients.as_mut() else {
            return out;
        };
        for peer in closed {
            let more = match from {
                Side::Consumer => tag(
                    clients.producer.on_disconnect(now_ms, peer),
                    Side::Producer,
                    clients.incarnation,
                ),
                Side::Producer => tag(
                    clients.consumer.on_disconnect(now_ms, peer),
                    Side::Consumer,
                    clients.incarnation,
                ),
            };
            // Closing again what is already closed changes nothing; the rest goes out.
            out.extend(
                more.into_iter()
                    .filter(|o| !matches!(o, Output::Disconnect(p) if *p == peer)),
            );
        }
        out
    }
}

impl Process for EosProcessorClient {
    /// At the node's first start nothing runs before the start time; at a restart (after `GroupApp::stopped`) a
    /// fresh application starts at once, as a restarted JVM would.
    fn start(&mut self, now_ms: u64) -> Vec<Output> {
        // Clients at a start mean the node was killed without `stopped` being called: the same thing.
        if self.clients.is_some() {
            self.stopped(now_ms);
        }
        if matches!(self.app, App::Down) {
            self.app = App::NotStarted { start_ms: now_ms };
            self.paused_until_ms = 0;
        }
        self.drive(now_ms, Vec::new())
    }

    fn handle_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        message: Message,
    ) -> Vec<Output> {
        let Some(clients) = self.clients.as_mut() else {
            return Vec::new();
        };
        let out = match untag(correlation_id, clients.incarnation) {
            // An answer to a client the application closed: its socket is gone.
            None => Vec::new(),
            Some((Side::Consumer, own)) => {
                let out = clients.consumer.handle_message(now_ms, from, own, message);
                self.consumer_out(now_ms, out)
            }
            Some((Side::Producer, own)) => {
                let out = clients.producer.handle_message(now_ms, from, own, message);
                self.producer_out(now_ms, out)
            }
        };
        self.drive(now_ms, out)
    }

    fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) -> Vec<Output> {
        let Some(clients) = self.clients.as_mut() else {
            return Vec::new();
        };
        let (consumer, producer) = (
            clients.consumer.on_disconnect(now_ms, peer),
            clients.producer.on_disconnect(now_ms, peer),
        );
        let mut out = self.consumer_out(now_ms, consumer);
        out.extend(self.producer_out(now_ms, producer));
        self.drive(now_ms, out)
    }

    fn on_timeout(&mut self, now_ms: u64) -> Vec<Output> {
        let mut out = Vec::new();
        if let Some(clients) = self.clients.as_mut() {
            let (consumer_due, producer_due) = (
                clients
                    .consumer
                    .next_timeout()
                    .is_some_and(|at| at <= now_ms),
                clients
                    .producer
                    .next_timeout()
                    .is_some_and(|at| at <= now_ms),
            );
            if consumer_due {
                let more = clients.consumer.on_timeout(now_ms);
                out.extend(self.consumer_out(now_ms, more));
            }
            if producer_due {
                let more = self.clients().producer.on_timeout(now_ms);
                out.extend(self.producer_out(now_ms, more));
            }
        }
        self.drive(now_ms, out)
    }

    fn next_timeout(&self) -> Option<u64> {
        let app = match &self.app {
            App::NotStarted { start_ms } => Some(*start_ms),
            App::Processing { done_ms, .. } => Some(*done_ms),
            _ => None,
        };
        // A paused application wakes when the pause ends; what it would do before waits until then.
        let app = app.map(|at| at.max(self.paused_until_ms));
        let paused = (self.paused_until_ms > 0).then_some(self.paused_until_ms);
        let clients = self.clients.as_ref().map(|c| {
            [c.consumer.next_timeout(), c.producer.next_timeout()]
                .into_iter()
                .flatten()
                .min()
        });
        [app, paused, clients.flatten()].into_iter().flatten().min()
    }
}

impl GroupApp for EosProcessorClient {
    /// The process dies: the open transaction is left to the coordinator (it aborts it at the next instance's
    /// initTransactions, or at `transaction.timeout.ms`), and the member owns nothing from here on.
    fn stopped(&mut self, now_ms: u64) {
        self.abandon_transaction(now_ms, None);
        self.clients = None;
        self.producer_events.clear();
        self.revoked_in_transaction = false;
        self.app = App::Down;
        self.record(GroupOp::Stopped {
            group: self.group(),
            process: self.id,
            at_ms: now_ms,
        });
    }

    fn pause_until(&mut self, until_ms: u64) {
        self.paused_until_ms = self.paused_until_ms.max(until_ms);
        if let Some(clients) = self.clients.as_mut() {
            clients.consumer.app_stalled();
        }
    }
}
