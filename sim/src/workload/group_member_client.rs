//! An application in a consumer group: it polls, processes each record for a drawn time (some batches stall past
//! `max.poll.interval.ms`), commits after processing as the scenario says, and records what it owned and did.

use super::group_app::GroupApp;
use super::group_events::membership_op;
use crate::history::{CommitKind, GroupOp, Outcome};
use crate::host::process::Process;
use crate::host::recorder::SharedRecorder;
use ksim_model::config::{ConsumerConfig, Fixes, GroupMemberConfig};
use ksim_model::consumer::group::{CommitOutcome, CommitSource, GroupConsumer, GroupEvent, Polled};
use ksim_model::protocol::Message;
use ksim_model::{BrokerId, NodeId, Output};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// How the application commits what it processed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CommitMode {
    /// `commitSync()` after each processed batch.
    Sync,
    /// `commitAsync()` after each processed batch.
    Async,
    /// No manual commits (auto-commit, if enabled, is all).
    None,
}

/// What the application does with what it polls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupWork {
    pub commit: CommitMode,
    /// Processing time per record, drawn uniformly from this range.
    pub processing_ms: (u64, u64),
    /// Share of batches that stall for `stall_ms` on top (a slow call downstream).
    pub stall_percent: u32,
    pub stall_ms: u64,
    /// The member starts at this time.
    pub start_ms: u64,
    /// The application hands what it polls to a worker thread and polls again at once (the multi-threaded
    /// processing Kafka users pair with auto-commit): commits then run ahead of processing.
    pub async_processing: bool,
}

/// How long an application takes over `records` records: each drawn uniformly from `low..=high` ms, and with
/// `stall.0` percent chance the batch stalls `stall.1` ms on top (a slow call downstream).
pub fn processing_time(
    rng: &mut ChaCha8Rng,
    records: usize,
    (low, high): (u64, u64),
    (stall_percent, stall_ms): (u32, u64),
) -> u64 {
    let per_record: u64 = (0..records)
        .map(|_| low + rng.next_u64() % (high - low + 1))
        .sum();
    let stall = if rng.next_u32() % 100 < stall_percent {
        stall_ms
    } else {
        0
    };
    per_record + stall
}

/// What the application is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
enum App {
    /// Waiting to start.
    NotStarted,
    /// Between polls: it polls at every wake-up.
    Idle,
    /// Processing what one poll returned, until `done_ms`.
    Processing {
        polled: Polled,
        polled_ms: u64,
        done_ms: u64,
    },
    /// Waiting for its `commitSync` to end.
    Committing { id: u64 },
}

/// What a restarted member is built from again.
struct Setup {
    consumer_config: ConsumerConfig,
    group: GroupMemberConfig,
    bootstrap: Vec<BrokerId>,
    topics: Vec<String>,
    fixes: Fixes,
}

impl Setup {
    fn consumer(&self, id: u32) -> GroupConsumer {
        GroupConsumer::new(
            id,
            self.consumer_config.clone(),
            self.group.clone(),
            self.bootstrap.clone(),
            self.topics.clone(),
            self.fixes.clone(),
        )
    }
}

pub struct GroupMemberClient {
    id: u32,
    setup: Setup,
    consumer: GroupConsumer,
    /// The application thread is stalled until then (a nemesis pause).
    paused_until_ms: Option<u64>,
    work: GroupWork,
    app: App,
    rng: ChaCha8Rng,
    recorder: SharedRecorder,
    /// When each commit in flight was made.
    commit_invoked_ms: BTreeMap<u64, u64>,
    /// With `async_processing`: the worker's queue of polled batches, each with its poll time and the time the
    /// worker will have finished it.
    worker: VecDeque<(Polled, u64, u64)>,
}

impl GroupMemberClient {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: u32,
        consumer_config: ConsumerConfig,
        group: GroupMemberConfig,
        bootstrap: Vec<BrokerId>,
        topics: Vec<String>,
        fixes: Fixes,
        work: GroupWork,
        seed: u64,
        recorder: SharedRecorder,
    ) -> Self {
        let setup = Setup {
            consumer_config,
            group,
            bootstrap,
            topics,
            fixes,
        };
        GroupMemberClient {
            id,
            consumer: setup.consumer(id),
            setup,
            paused_until_ms: None,
            work,
            app: App::NotStarted,
            rng: ChaCha8Rng::seed_from_u64(seed),
            recorder,
            commit_invoked_ms: BTreeMap::new(),
            worker: VecDeque::new(),
        }
    }

    fn group(&self) -> String {
        self.consumer.group_id().to_string()
    }

    fn record(&self, op: GroupOp) {
        self.recorder.lock().unwrap().group(op);
    }

    /// Runs the application as far as it can go now, then hands over what the consumer wants sent.
    fn drive(&mut self, now_ms: u64, mut out: Vec<Output>) -> Vec<Output> {
        if self.app == App::NotStarted {
            if now_ms < self.work.start_ms {
                return out;
            }
            out.extend(self.consumer.start(now_ms));
            self.app = App::Idle;
        }
        if self.paused_until_ms.is_some_and(|until| now_ms < until) {
            self.record_events(now_ms);
            return out;
        }
        self.paused_until_ms = None;
        while self
            .worker
            .front()
            .is_some_and(|(_, _, done)| *done <= now_ms)
        {
            let (polled, polled_ms, _) = self.worker.pop_front().expect("checked");
            self.processed(now_ms, &polled, polled_ms);
        }
        loop {
            self.record_events(now_ms);
            match self.app.clone() {
                App::Processing {
                    polled,
                    polled_ms,
                    done_ms,
                } if done_ms <= now_ms => {
                    self.processed(now_ms, &polled, polled_ms);
                    out.extend(self.commit_after_processing(now_ms));
                }
                App::Idle => {
                    let (polled, more) = self.consumer.poll(now_ms);
                    out.extend(more);
                    if polled.records.is_empty() {
                        self.record_events(now_ms);
                        return out;
                    }
                    if self.work.async_processing {
                        let start = self.worker.back().map_or(now_ms, |(_, _, done)| *done);
                        let done_ms = start.max(now_ms) + self.processing_time(&polled);
                        self.worker.push_back((polled, now_ms, done_ms));
                        continue;
                    }
                    let done_ms = now_ms + self.processing_time(&polled);
                    self.app = App::Processing {
                        polled,
                        polled_ms: now_ms,
                        done_ms,
                    };
                }
                _ => return out,
            }
        }
    }

    fn processing_time(&mut self, polled: &Polled) -> u64 {
        let records: usize = polled.records.iter().map(|(_, r)| r.len()).sum();
        let stall = (self.work.stall_percent, self.work.stall_ms);
        processing_time(&mut self.rng, records, self.work.processing_ms, stall)
    }

    fn processed(&mut self, now_ms: u64, polled: &Polled, polled_ms: u64) {
        for (tp, records) in &polled.records {
            self.record(GroupOp::Processed {
                group: self.group(),
                process: self.id,
                generation: polled.generation,
                tp: tp.clone(),
                records: records.clone(),
                polled_ms,
                at_ms: now_ms,
                txn: None,
            });
        }
    }

    /// `commitSync()` / `commitAsync()` of everything polled so far (Kafka's no-argument commit), or nothing.
    fn commit_after_processing(&mut self, now_ms: u64) -> Vec<Output> {
        let sync = match self.work.commit {
            CommitMode::None => {
                self.app = App::Idle;
                return Vec::new();
            }
            CommitMode::Sync => true,
            CommitMode::Async => false,
        };
        let owned: BTreeSet<_> = self.consumer.owned().into_iter().collect();
        let offsets = self.consumer.consumed_positions(&owned);
        if offsets.is_empty() {
            self.app = App::Idle;
            return Vec::new();
        }
        let (id, out) = self.consumer.commit_offsets(now_ms, offsets, sync);
        self.commit_invoked_ms.insert(id, now_ms);
        self.app = if sync {
            App::Committing { id }
        } else {
            App::Idle
        };
        out
    }

    fn record_events(&mut self, now_ms: u64) {
        for event in self.consumer.drain_events() {
            let GroupEvent::Committed {
                id,
                source,
                generation,
                offsets,
                outcome,
            } = event
            else {
                let op = membership_op(&self.group(), self.id, now_ms, event);
                self.record(op.expect("a membership event"));
                continue;
            };
            if self.app == (App::Committing { id }) {
                self.app = App::Idle;
            }
            let invoke_ms = self.commit_invoked_ms.remove(&id).unwrap_or(now_ms);
            self.record(GroupOp::Commit {
                group: self.group(),
                process: self.id,
                generation,
                kind: match source {
                    CommitSource::Manual => CommitKind::Manual,
                    CommitSource::Auto => CommitKind::Auto,
                    CommitSource::Revoke => CommitKind::Revoke,
                },
                offsets,
                outcome: match outcome {
                    CommitOutcome::Committed => Outcome::Ok,
                    CommitOutcome::Failed(_) => Outcome::Fail,
                    CommitOutcome::Unknown => Outcome::Info,
                },
                invoke_ms,
                at_ms: now_ms,
            });
        }
    }
}

impl GroupApp for GroupMemberClient {
    fn stopped(&mut self, now_ms: u64) {
        self.record_events(now_ms);
        self.record(GroupOp::Stopped {
            group: self.group(),
            process: self.id,
            at_ms: now_ms,
        });
    }

    fn pause_until(&mut self, until_ms: u64) {
        self.paused_until_ms = Some(until_ms);
        self.consumer.app_stalled();
    }
}

impl Process for GroupMemberClient {
    /// Runs at the node's first start and at every restart after a crash: a restarted application is a new
    /// consumer (a new member id), with nothing in flight and nothing half processed.
    fn start(&mut self, now_ms: u64) -> Vec<Output> {
        if self.app != App::NotStarted {
            // What the worker had queued died with the process.
            self.worker.clear();
            self.consumer = self.setup.consumer(self.id);
            self.commit_invoked_ms.clear();
            self.paused_until_ms = None;
            self.app = App::NotStarted;
            self.work.start_ms = now_ms;
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
        let out = self
            .consumer
            .handle_message(now_ms, from, correlation_id, message);
        self.drive(now_ms, out)
    }
    fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) -> Vec<Output> {
        let out = self.consumer.on_disconnect(now_ms, peer);
        self.drive(now_ms, out)
    }
    fn on_timeout(&mut self, now_ms: u64) -> Vec<Output> {
        let out = if self.app == App::NotStarted {
            Vec::new()
        } else {
            self.consumer.on_timeout(now_ms)
        };
        self.drive(now_ms, out)
    }
    fn next_timeout(&self) -> Option<u64> {
        if let Some(until) = self.paused_until_ms {
            // A stalled application does nothing before `until`, however overdue its processing is.
            return [self.consumer.next_timeout(), Some(until)]
                .into_iter()
                .flatten()
                .min();
        }
        match &self.app {
            App::NotStarted => Some(self.work.start_ms),
            App::Processing { done_ms, .. } => [Some(*done_ms), self.consumer.next_timeout()]
                .into_iter()
                .flatten()
                .min(),
            _ => [
                self.consumer.next_timeout(),
                self.worker.front().map(|(_, _, done)| *done),
            ]
            .into_iter()
            .flatten()
            .min(),
        }
    }
}
