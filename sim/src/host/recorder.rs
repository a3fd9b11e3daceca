//! The recorder: every node reports observations, client operations and faults here. It keeps the history for
//! the checkers, checks online invariants as events arrive, and hashes the whole trace.

use super::samples::Samples;
use crate::checkers::{Violation, ViolationKind};
use crate::history::{ConsumeOp, GroupOp, History, Outcome, SendOp, TxnIntent, TxnOp};
use ksim_model::observe::Observation;
use ksim_model::producer::SendResult;
use ksim_model::{BrokerId, LeaderEpoch, TopicPartition};
use std::collections::BTreeMap;
use std::fmt::{Debug, Write};
use std::sync::{Arc, Mutex};

/// FNV-1a, 64 bit: stable across Rust versions and processes, unlike std's hashers.
#[derive(Clone, Copy, Debug)]
pub struct TraceHash(u64);

impl Default for TraceHash {
    fn default() -> Self {
        TraceHash(0xcbf2_9ce4_8422_2325)
    }
}

impl TraceHash {
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= *b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub fn value(&self) -> u64 {
        self.0
    }
}

/// Feeds formatted text straight into the trace hash.
struct HashWriter<'a>(&'a mut TraceHash);

impl std::fmt::Write for HashWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

#[derive(Default)]
pub struct Recorder {
    pub history: History,
    pub online_violations: Vec<Violation>,
    pub trace: TraceHash,
    pub events: u64,
    /// Which broker led each partition in each leader epoch (SingleLeader: at most one per epoch).
    leaders: BTreeMap<(TopicPartition, LeaderEpoch), BrokerId>,
    /// The last epoch each replica saw (MonotonicEpoch: epochs never decrease on a replica).
    replica_epochs: BTreeMap<(TopicPartition, BrokerId), LeaderEpoch>,
    /// Index of each send in `history.sends`, by record value.
    send_index: BTreeMap<u64, usize>,
    /// The HTML view's samples, when asked for: never hashed, never read by the checkers.
    pub samples: Option<Samples>,
    /// Messages delivered to nodes (for `ksim bench`): a measurement, never hashed, never read by the checkers.
    pub messages: u64,
}

pub type SharedRecorder = Arc<Mutex<Recorder>>;

impl Recorder {
    /// Every event enters the trace as one line: the time and its debug form.
    pub fn trace_event(&mut self, now_ms: u64, event: &dyn Debug) {
        // Hash the formatted line as it is produced: no string is built unless a trace subscriber wants it.
        writeln!(HashWriter(&mut self.trace), "{now_ms} {event:?}").expect("hashing cannot fail");
        self.events += 1;
        tracing::debug!(target: "ksim::trace", "{now_ms} {event:?}");
    }

    pub fn observe(&mut self, now_ms: u64, observation: Observation) {
        self.trace_event(now_ms, &observation);
        self.check_online(now_ms, &observation);
        self.history.observations.push((now_ms, observation));
    }

    fn check_online(&mut self, now_ms: u64, o: &Observation) {
        let (tp, broker, epoch, leader) = match o {
            Observation::BecameLeader {
                broker,
                tp,
                leader_epoch,
                ..
            } => (tp, *broker, *leader_epoch, true),
            Observation::BecameFollower {
                broker,
                tp,
                leader_epoch,
                ..
            } => (tp, *broker, *leader_epoch, false),
            _ => return,
        };
        if leader {
            if let Some(&other) = self.leaders.get(&(tp.clone(), epoch)) {
                if other != broker {
                    self.invariant(
                        now_ms,
                        tp,
                        format!(
                            "SingleLeader: brokers {other} and {broker} both led epoch {epoch}"
                        ),
                    );
                }
            }
            self.leaders.insert((tp.clone(), epoch), broker);
        }
        let last = self.replica_epochs.insert((tp.clone(), broker), epoch);
        if last.is_some_and(|last| last > epoch) {
            self.invariant(
                now_ms,
                tp,
                format!("MonotonicEpoch: broker {broker} went from epoch {last:?} to {epoch}"),
            );
        }
    }

    fn invariant(&mut self, now_ms: u64, tp: &TopicPartition, message: String) {
        self.online_violations.push(Violation {
            kind: ViolationKind::Invariant,
            tp: Some(tp.clone()),
            at_ms: Some(now_ms),
            records: Vec::new(),
            message,
        });
    }

    pub fn invoke_send(&mut self, op: SendOp) {
        self.trace_event(op.invoke_ms, &("invoke", op.process, op.value));
        self.send_index.insert(op.value, self.history.sends.len());
        self.history.sends.push(op);
    }

    pub fn complete_send(
        &mut self,
        now_ms: u64,
        value: u64,
        tp: Option<TopicPartition>,
        outcome: Outcome,
        offset: Option<i64>,
        error: Option<ksim_model::ErrorCode>,
    ) {
        self.trace_event(now_ms, &("complete", value, &tp, outcome, offset, error));
        let Some(&i) = self.send_index.get(&value) else {
            return;
        };
        let op = &mut self.history.sends[i];
        op.tp = tp.or(op.tp.take());
        op.complete_ms = Some(now_ms);
        op.outcome = Some(outcome);
        op.offset = offset;
        op.error = error;
    }

    /// A transaction began; returns its index for the calls that follow.
    pub fn begin_txn(&mut self, op: TxnOp) -> usize {
        self.trace_event(
            op.invoke_ms,
            &("begin-txn", op.process, op.producer_id, op.producer_epoch),
        );
        self.history.transactions.push(op);
        self.history.transactions.len() - 1
    }

    /// A record was sent inside transaction `index`.
    pub fn txn_sent(&mut self, index: usize, value: u64) {
        self.history.transactions[index].values.push(value);
    }

    /// A transactional producer `process` sent `value` inside transaction `index`: a send whose fate is decided by
    /// how the transaction ends.
    pub fn send_in_txn(&mut self, now_ms: u64, process: u32, index: usize, value: u64) {
        self.invoke_send(SendOp {
            process,
            value,
            tp: None,
            acknowledged_by_cluster: true,
            idempotent: true,
            transactional: true,
            invoke_ms: now_ms,
            complete_ms: None,
            outcome: None,
            offset: None,
            error: None,
        });
        self.txn_sent(index, value);
    }

    /// The producer asked to end transaction `index`.
    pub fn end_txn(&mut self, now_ms: u64, index: usize, intent: TxnIntent) {
        self.trace_event(now_ms, &("end-txn", index, intent));
        self.history.transactions[index].intent = Some(intent);
    }

    /// Transaction `index` is over, as `outcome` says.
    pub fn complete_txn(
        &mut self,
        now_ms: u64,
        index: usize,
        outcome: Outcome,
        error: Option<ksim_model::ErrorCode>,
    ) {
        self.trace_event(now_ms, &("complete-txn", index, outcome, error));
        let op = &mut self.history.transactions[index];
        op.complete_ms = Some(now_ms);
        op.outcome = Some(outcome);
        op.error = error;
    }

    /// A send the producer finished, as its `SendResult` says: acknowledged (at an offset, unknown with acks=0),
    /// failed for sure, or failed after an attempt that may have written it (info).
    pub fn send_result(
        &mut self,
        now_ms: u64,
        value: u64,
        tp: Option<TopicPartition>,
        result: SendResult,
    ) {
        match result {
            SendResult::Ok { offset } => {
                let offset = (offset >= 0).then_some(offset);
                self.complete_send(now_ms, value, tp, Outcome::Ok, offset, None)
            }
            SendResult::Failed {
                error,
                maybe_written,
            } => {
                let outcome = if maybe_written {
                    Outcome::Info
                } else {
                    Outcome::Fail
                };
                self.complete_send(now_ms, value, tp, outcome, None, Some(error))
            }
        }
    }

    pub fn consume(&mut self, op: ConsumeOp) {
        let at = match &op {
            ConsumeOp::Seek { at_ms, .. } | ConsumeOp::Poll { at_ms, .. } => *at_ms,
        };
        self.trace_event(at, &op);
        self.history.consumes.push(op);
    }

    pub fn group(&mut self, op: GroupOp) {
        self.trace_event(op.at_ms(), &op);
        self.history.groups.ops.push(op);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp() -> TopicPartition {
        TopicPartition::new("t", 0)
    }

    fn leader(broker: BrokerId, leader_epoch: LeaderEpoch) -> Observation {
        Observation::BecameLeader {
            broker,
            tp: tp(),
            leader_epoch,
            isr: vec![broker],
            log_end_offset: 0,
        }
    }

    fn follower(broker: BrokerId, leader: BrokerId, leader_epoch: LeaderEpoch) -> Observation {
        Observation::BecameFollower {
            broker,
            tp: tp(),
            leader,
            leader_epoch,
        }
    }

    fn messages(observations: Vec<Observation>) -> Vec<String> {
        let mut r = Recorder::default();
        for (t, o) in observations.into_iter().enumerate() {
            r.observe(t as u64, o);
        }
        assert!(r
            .online_violations
            .iter()
            .all(|v| v.kind == ViolationKind::Invariant));
        r.online_violations.into_iter().map(|v| v.message).collect()
    }

    #[test]
    fn fail_over_with_rising_epochs_breaks_no_invariant() {
        let clean = messages(vec![
            leader(1, 0),
            follower(2, 1, 0),
            follower(1, 2, 1),
            leader(2, 1),
            leader(2, 1),
        ]);
        assert_eq!(clean, Vec::<String>::new());
    }

    #[test]
    fn two_leaders_in_one_epoch_break_single_leader() {
        let found = messages(vec![leader(1, 4), leader(2, 4)]);
        assert_eq!(
            found,
            vec!["SingleLeader: brokers 1 and 2 both led epoch 4"]
        );
    }

    #[test]
    fn a_replica_going_back_an_epoch_breaks_monotonic_epoch() {
        let found = messages(vec![follower(3, 1, 5), follower(3, 2, 4)]);
        assert_eq!(
            found,
            vec!["MonotonicEpoch: broker 3 went from epoch Some(5) to 4"]
        );
    }
}
