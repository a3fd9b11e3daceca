//! A consumer client: reads every partition from the start and records each poll (or, as the final reader,
//! collects the logs the checkers compare against).

use crate::history::ConsumeOp;
use crate::host::process::Process;
use crate::host::recorder::SharedRecorder;
use ksim_model::config::ConsumerConfig;
use ksim_model::consumer::{Consumer, ConsumerEvent, StartPosition};
use ksim_model::observe::OffsetValue;
use ksim_model::protocol::Message;
use ksim_model::{BrokerId, NodeId, Output, TopicPartition};
use std::collections::BTreeMap;

pub struct ConsumerClient {
    id: u32,
    consumer: Consumer,
    recorder: SharedRecorder,
    /// The final reader keeps what it reads instead of recording polls.
    pub collected: Option<BTreeMap<TopicPartition, Vec<OffsetValue>>>,
}

impl ConsumerClient {
    pub fn new(
        id: u32,
        config: ConsumerConfig,
        bootstrap: Vec<BrokerId>,
        partitions: Vec<TopicPartition>,
        recorder: SharedRecorder,
        final_reader: bool,
    ) -> Self {
        let collected = final_reader.then(|| {
            partitions
                .iter()
                .map(|tp| (tp.clone(), Vec::new()))
                .collect()
        });
        let consumer = Consumer::new(id, config, bootstrap, partitions, StartPosition::Earliest);
        ConsumerClient {
            id,
            consumer,
            recorder,
            collected,
        }
    }

    pub fn caught_up(&self) -> bool {
        self.consumer.caught_up()
    }

    fn record_events(&mut self, now_ms: u64) {
        for event in self.consumer.drain_events() {
            match (&mut self.collected, event) {
                (Some(collected), ConsumerEvent::Polled { tp, records, .. }) => {
                    collected.entry(tp).or_default().extend(records);
                }
                (Some(collected), ConsumerEvent::Seek { tp, offset }) => {
                    // The final reader starts over from a reset position: keep only what lies below it.
                    collected
                        .entry(tp)
                        .or_default()
                        .retain(|(o, _)| *o < offset);
                }
                (
                    None,
                    ConsumerEvent::Polled {
                        tp,
                        records,
                        high_watermark,
                    },
                ) => {
                    let op = ConsumeOp::Poll {
                        process: self.id,
                        tp,
                        records,
                        high_watermark,
                        at_ms: now_ms,
                    };
                    self.recorder.lock().unwrap().consume(op);
                }
                (None, ConsumerEvent::Seek { tp, offset }) => {
                    let op = ConsumeOp::Seek {
                        process: self.id,
                        tp,
                        offset,
                        at_ms: now_ms,
                    };
                    self.recorder.lock().unwrap().consume(op);
                }
            }
        }
    }

    fn after(&mut self, now_ms: u64, out: Vec<Output>) -> Vec<Output> {
        self.record_events(now_ms);
        out
    }
}

impl Process for ConsumerClient {
    fn start(&mut self, now_ms: u64) -> Vec<Output> {
        let out = self.consumer.start(now_ms);
        self.after(now_ms, out)
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
        self.after(now_ms, out)
    }
    fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) -> Vec<Output> {
        let out = self.consumer.on_disconnect(now_ms, peer);
        self.after(now_ms, out)
    }
    fn on_timeout(&mut self, now_ms: u64) -> Vec<Output> {
        let out = self.consumer.on_timeout(now_ms);
        self.after(now_ms, out)
    }
    fn next_timeout(&self) -> Option<u64> {
        self.consumer.next_timeout()
    }
}
