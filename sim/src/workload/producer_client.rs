//! A producer client: sends uniquely valued records at a steady rate and records each send and its outcome.

use crate::history::SendOp;
use crate::host::process::Process;
use crate::host::recorder::SharedRecorder;
use ksim_model::config::{Acks, ProducerConfig};
use ksim_model::producer::{Producer, ProducerEvent};
use ksim_model::protocol::Message;
use ksim_model::{BrokerId, NodeId, Output};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

pub struct ProducerClient {
    id: u32,
    producer: Producer,
    acks: Acks,
    idempotent: bool,
    topics: Vec<Arc<str>>,
    interval_ms: u64,
    keys: u32,
    next_send_ms: u64,
    stop_ms: u64,
    sequence: u64,
    rng: ChaCha8Rng,
    recorder: SharedRecorder,
}

impl ProducerClient {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: u32,
        config: ProducerConfig,
        bootstrap: Vec<BrokerId>,
        topics: Vec<Arc<str>>,
        records_per_second: u32,
        keys: u32,
        stop_ms: u64,
        seed: u64,
        recorder: SharedRecorder,
    ) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let acks = config.acks;
        let idempotent = config.enable_idempotence;
        let producer = Producer::new(id, config, bootstrap, rng.next_u64());
        let interval_ms = (1000 / records_per_second.max(1) as u64).max(1);
        ProducerClient {
            id,
            producer,
            acks,
            idempotent,
            topics,
            interval_ms,
            keys,
            next_send_ms: 0,
            stop_ms,
            sequence: 0,
            rng,
            recorder,
        }
    }

    /// Records still waiting for an outcome.
    pub fn pending(&self) -> usize {
        self.producer.pending()
    }

    fn send_one(&mut self, now_ms: u64) -> Vec<Output> {
        self.sequence += 1;
        let value = ((self.id as u64) << 32) | self.sequence;
        let topic = self.topics[(self.sequence % self.topics.len() as u64) as usize].clone();
        let key = (self.keys > 0).then(|| {
            let k = self.rng.next_u64() % self.keys as u64;
            Arc::from(format!("key-{k}").into_bytes().into_boxed_slice())
        });
        self.recorder.lock().unwrap().invoke_send(SendOp {
            process: self.id,
            value,
            tp: None,
            acknowledged_by_cluster: self.acks != Acks::None,
            idempotent: self.idempotent,
            transactional: false,
            invoke_ms: now_ms,
            complete_ms: None,
            outcome: None,
            offset: None,
            error: None,
        });
        self.producer.send(now_ms, &topic, key, value, None)
    }

    /// Hands the producer's completions to the history.
    fn record_events(&mut self, now_ms: u64) {
        let events = self.producer.drain_events();
        let mut recorder = self.recorder.lock().unwrap();
        for event in events {
            // A producer without transactional.id only ever completes sends.
            if let ProducerEvent::Completed { value, tp, result } = event {
                recorder.send_result(now_ms, value, tp, result);
            }
        }
    }

    fn after(&mut self, now_ms: u64, out: Vec<Output>) -> Vec<Output> {
        self.record_events(now_ms);
        out
    }
}

impl Process for ProducerClient {
    fn start(&mut self, now_ms: u64) -> Vec<Output> {
        // Producers start a little apart so their requests do not all line up.
        self.next_send_ms = now_ms + self.interval_ms + self.id as u64;
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
        // A send scheduled before the stop still goes when the node wakes after it (a wake can come a moment late):
        // judged by the wake time, the send would stay due forever and the node would spin at that instant.
        if now_ms >= self.next_send_ms && self.next_send_ms < self.stop_ms {
            out.extend(self.send_one(now_ms));
            self.next_send_ms += self.interval_ms;
        }
        if self.producer.next_timeout().is_some_and(|at| at <= now_ms) {
            out.extend(self.producer.on_timeout(now_ms));
        }
        self.after(now_ms, out)
    }

    fn next_timeout(&self) -> Option<u64> {
        let send = (self.next_send_ms < self.stop_ms).then_some(self.next_send_ms);
        match (send, self.producer.next_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::recorder::Recorder;
    use std::sync::Mutex;

    #[test]
    fn a_send_due_before_the_stop_goes_out_when_the_wake_comes_after_it() {
        let recorder = Arc::new(Mutex::new(Recorder::default()));
        let topics = vec![Arc::from("events")];
        let config = ProducerConfig::default();
        let mut client = ProducerClient::new(0, config, vec![1], topics, 100, 4, 15, 7, recorder);
        client.start(0);
        client.on_timeout(0);
        assert_eq!(client.next_timeout(), Some(10));
        // The node wakes at 16, past the stop at 15, for the send due at 10.
        client.on_timeout(16);
        assert_eq!(client.recorder.lock().unwrap().history.sends.len(), 1);
        assert!(
            client.next_timeout().is_none_or(|at| at > 16),
            "still due: {:?}",
            client.next_timeout()
        );
    }
}
