//! Builders for the small hand-made histories that the checker tests judge.

use crate::history::{
    CommitKind, ConsumeOp, FinalBatch, FinalPartition, FinalReplica, GroupInfo, GroupOp, History,
    Outcome, SendOp, TxnIntent, TxnOp,
};
use ksim_model::observe::{Observation, OffsetValue};
use ksim_model::{BrokerId, LeaderEpoch, Offset, TopicPartition};

pub fn tp(partition: i32) -> TopicPartition {
    TopicPartition::new("t", partition)
}

/// A send the cluster acknowledged at `offset` (acks=1/all, outcome Ok), completed at `offset + 100` ms.
pub fn ok_send(value: u64, tp: &TopicPartition, offset: Offset) -> SendOp {
    SendOp {
        process: 0,
        value,
        tp: Some(tp.clone()),
        acknowledged_by_cluster: true,
        idempotent: false,
        transactional: false,
        invoke_ms: 10,
        complete_ms: Some(100 + offset as u64),
        outcome: Some(Outcome::Ok),
        offset: Some(offset),
        error: None,
    }
}

/// A replica holding `records` with its HW at `high_watermark`.
pub fn replica(broker: BrokerId, records: &[OffsetValue], high_watermark: Offset) -> FinalReplica {
    let log_end_offset = records.last().map_or(0, |(offset, _)| offset + 1);
    FinalReplica {
        broker,
        records: records.to_vec(),
        high_watermark,
        log_end_offset,
        leader_epoch: 1,
    }
}

/// A settled partition: `brokers[0]` leads, every broker is in the ISR and holds `read` with its HW at the end.
pub fn converged(read: &[OffsetValue], brokers: &[BrokerId]) -> FinalPartition {
    let high_watermark = read.last().map_or(0, |(offset, _)| offset + 1);
    FinalPartition {
        leader: brokers.first().copied(),
        isr: brokers.to_vec(),
        read: read.to_vec(),
        replicas: brokers
            .iter()
            .map(|&b| replica(b, read, high_watermark))
            .collect(),
        batches: Vec::new(),
    }
}

/// A history whose only content is the final state of partition `tp`.
pub fn with_final(tp: &TopicPartition, partition: FinalPartition) -> History {
    let mut history = History::default();
    history.final_partitions.insert(tp.clone(), partition);
    history
}

/// A HW move on `broker`: `(old, new)` and the records it exposed.
pub fn hw(
    broker: BrokerId,
    tp: &TopicPartition,
    leader_epoch: LeaderEpoch,
    is_leader: bool,
    (old, new): (Offset, Offset),
    exposed: &[OffsetValue],
) -> Observation {
    Observation::HighWatermark {
        broker,
        tp: tp.clone(),
        leader_epoch,
        is_leader,
        old,
        new,
        exposed: exposed.to_vec(),
    }
}

pub fn seek(process: u32, tp: &TopicPartition, offset: Offset, at_ms: u64) -> ConsumeOp {
    ConsumeOp::Seek {
        process,
        tp: tp.clone(),
        offset,
        at_ms,
    }
}

pub fn poll(process: u32, tp: &TopicPartition, records: &[OffsetValue], at_ms: u64) -> ConsumeOp {
    let high_watermark = records.last().map_or(0, |(offset, _)| offset + 1);
    ConsumeOp::Poll {
        process,
        tp: tp.clone(),
        records: records.to_vec(),
        high_watermark,
        at_ms,
    }
}

/// Records `(offset, 100 + offset)` for every offset in `offsets`: handy values that never collide.
pub fn records(offsets: std::ops::Range<Offset>) -> Vec<OffsetValue> {
    offsets
        .map(|offset| (offset, 100 + offset as u64))
        .collect()
}

/// A history whose only content is what consumers did.
pub fn consuming(consumes: Vec<ConsumeOp>) -> History {
    History {
        consumes,
        ..History::default()
    }
}

/// A send made inside a transaction (so idempotent too), acknowledged at `offset` like [`ok_send`].
pub fn txn_send(value: u64, tp: &TopicPartition, offset: Offset) -> SendOp {
    SendOp {
        idempotent: true,
        transactional: true,
        ..ok_send(value, tp, offset)
    }
}

/// A transaction of producer process 0 under `producer_id` (epoch 0, transactional id `tx-<producer_id>`), begun at
/// 10 ms and answered at 500 ms with `intent` and `outcome`.
pub fn txn(
    producer_id: i64,
    values: &[u64],
    intent: Option<TxnIntent>,
    outcome: Option<Outcome>,
) -> TxnOp {
    TxnOp {
        process: 0,
        transactional_id: format!("tx-{producer_id}"),
        producer_id,
        producer_epoch: 0,
        values: values.to_vec(),
        intent,
        invoke_ms: 10,
        complete_ms: outcome.map(|_| 500),
        outcome,
        error: None,
    }
}

/// A transaction whose commit the coordinator acknowledged.
pub fn committed_txn(producer_id: i64, values: &[u64]) -> TxnOp {
    txn(
        producer_id,
        values,
        Some(TxnIntent::Commit),
        Some(Outcome::Ok),
    )
}

/// A transaction whose abort the coordinator acknowledged.
pub fn aborted_txn(producer_id: i64, values: &[u64]) -> TxnOp {
    txn(
        producer_id,
        values,
        Some(TxnIntent::Abort),
        Some(Outcome::Ok),
    )
}

/// A final log built batch by batch, each at the next offset as a leader appends them: plain records, producer
/// batches and transaction markers (which take an offset but hold no record). See [`txn_log`].
pub struct TxnLog {
    next: Offset,
    read: Vec<OffsetValue>,
    batches: Vec<FinalBatch>,
}

/// An empty [`TxnLog`] starting at offset 0.
pub fn txn_log() -> TxnLog {
    TxnLog {
        next: 0,
        read: Vec::new(),
        batches: Vec::new(),
    }
}

impl TxnLog {
    /// Records of a producer without an id: in the read, with no batch header.
    pub fn plain(mut self, values: &[u64]) -> Self {
        for &value in values {
            self.read.push((self.next, value));
            self.next += 1;
        }
        self
    }

    /// One batch of transactional records of `producer_id` at `epoch`.
    pub fn txn(self, producer_id: i64, epoch: i16, values: &[u64]) -> Self {
        self.data(producer_id, epoch, true, values)
    }

    /// One batch of an idempotent (not transactional) producer.
    pub fn idempotent(self, producer_id: i64, epoch: i16, values: &[u64]) -> Self {
        self.data(producer_id, epoch, false, values)
    }

    pub fn commit(self, producer_id: i64, epoch: i16) -> Self {
        self.marker(producer_id, epoch, TxnIntent::Commit)
    }

    pub fn abort(self, producer_id: i64, epoch: i16) -> Self {
        self.marker(producer_id, epoch, TxnIntent::Abort)
    }

    fn data(mut self, producer_id: i64, epoch: i16, transactional: bool, values: &[u64]) -> Self {
        let base_offset = self.next;
        self = self.plain(values);
        self.batches.push(FinalBatch {
            base_offset,
            last_offset: self.next - 1,
            producer_id,
            producer_epoch: epoch,
            transactional,
            marker: None,
        });
        self
    }

    fn marker(mut self, producer_id: i64, epoch: i16, intent: TxnIntent) -> Self {
        self.batches.push(FinalBatch {
            base_offset: self.next,
            last_offset: self.next,
            producer_id,
            producer_epoch: epoch,
            transactional: true,
            marker: Some(intent),
        });
        self.next += 1;
        self
    }

    /// The records (not markers) written so far, for polls and sends.
    pub fn records(&self) -> Vec<OffsetValue> {
        self.read.clone()
    }

    /// A settled partition as [`converged`] builds it, its HW and log end past the last batch (marker or not).
    pub fn converged(self, brokers: &[BrokerId]) -> FinalPartition {
        let mut partition = converged(&self.read, brokers);
        for r in &mut partition.replicas {
            r.high_watermark = self.next;
            r.log_end_offset = self.next;
        }
        partition.batches = self.batches;
        partition
    }
}

/// The consumer group every group builder below writes to.
pub const GROUP: &str = "g";

/// A history of group `g` (subscribed to topic `t`, range assignor) made of `ops`, with the final committed
/// offsets `final_committed` (None: the coordinator never answered the final OffsetFetch).
pub fn group_history(
    ops: Vec<GroupOp>,
    final_committed: Option<&[(TopicPartition, Offset)]>,
) -> History {
    let mut history = History::default();
    history.groups.ops = ops;
    history.groups.groups.insert(
        GROUP.to_string(),
        GroupInfo {
            topics: vec!["t".to_string()],
            assignor: "range".to_string(),
            output_topics: Vec::new(),
        },
    );
    if let Some(offsets) = final_committed {
        history
            .groups
            .final_committed
            .insert(GROUP.to_string(), offsets.iter().cloned().collect());
    }
    history
}

/// Member `process` (member id `m<process>`) was assigned `partitions` in `generation`.
pub fn assigned(
    process: u32,
    generation: i32,
    partitions: &[&TopicPartition],
    at_ms: u64,
) -> GroupOp {
    GroupOp::Assigned {
        group: GROUP.to_string(),
        process,
        member_id: format!("m{process}"),
        generation,
        partitions: partitions.iter().map(|&tp| tp.clone()).collect(),
        at_ms,
    }
}

/// `onPartitionsRevoked`: the member gave `partitions` up.
pub fn revoked(process: u32, partitions: &[&TopicPartition], at_ms: u64) -> GroupOp {
    GroupOp::Revoked {
        group: GROUP.to_string(),
        process,
        partitions: partitions.iter().map(|&tp| tp.clone()).collect(),
        lost: false,
        at_ms,
    }
}

pub fn stopped(process: u32, at_ms: u64) -> GroupOp {
    GroupOp::Stopped {
        group: GROUP.to_string(),
        process,
        at_ms,
    }
}

pub fn fetched(
    process: u32,
    tp: &TopicPartition,
    committed: Option<Offset>,
    at_ms: u64,
) -> GroupOp {
    GroupOp::Fetched {
        group: GROUP.to_string(),
        process,
        tp: tp.clone(),
        committed,
        at_ms,
    }
}

pub fn reset(
    process: u32,
    tp: &TopicPartition,
    from: Option<Offset>,
    to: Offset,
    at_ms: u64,
) -> GroupOp {
    GroupOp::Reset {
        group: GROUP.to_string(),
        process,
        tp: tp.clone(),
        from,
        to,
        at_ms,
    }
}

/// Member `process` processed `records` of `tp` (outside a transaction) that it polled at `polled_ms` in
/// `generation`, finishing at `at_ms`.
pub fn processed(
    process: u32,
    generation: i32,
    tp: &TopicPartition,
    records: &[OffsetValue],
    polled_ms: u64,
    at_ms: u64,
) -> GroupOp {
    GroupOp::Processed {
        group: GROUP.to_string(),
        process,
        generation,
        tp: tp.clone(),
        records: records.to_vec(),
        polled_ms,
        at_ms,
        txn: None,
    }
}

/// The same processing, its output written in transaction `txn` (index into `History::transactions`).
pub fn in_txn(mut op: GroupOp, txn_index: usize) -> GroupOp {
    if let GroupOp::Processed { txn, .. } = &mut op {
        *txn = Some(txn_index);
    }
    op
}

/// A manual commit of `offsets` by `process` in `generation`, invoked at `invoke_ms` and ending at `at_ms`.
pub fn commit(
    process: u32,
    generation: i32,
    offsets: &[(TopicPartition, Offset)],
    outcome: Outcome,
    (invoke_ms, at_ms): (u64, u64),
) -> GroupOp {
    GroupOp::Commit {
        group: GROUP.to_string(),
        process,
        generation,
        kind: CommitKind::Manual,
        offsets: offsets.to_vec(),
        outcome,
        invoke_ms,
        at_ms,
    }
}

/// `sendOffsetsToTransaction` of `offsets` in transaction `txn`, answered Ok at `at_ms`.
pub fn txn_commit(
    process: u32,
    offsets: &[(TopicPartition, Offset)],
    txn: usize,
    (invoke_ms, at_ms): (u64, u64),
) -> GroupOp {
    GroupOp::Commit {
        group: GROUP.to_string(),
        process,
        generation: 1,
        kind: CommitKind::Transactional { txn },
        offsets: offsets.to_vec(),
        outcome: Outcome::Ok,
        invoke_ms,
        at_ms,
    }
}

/// Consume-transform-produce: `input` of `input_tp` became `output_value`, sent in transaction `txn`.
pub fn transformed(
    process: u32,
    input_tp: &TopicPartition,
    input: OffsetValue,
    output_value: u64,
    txn: usize,
    at_ms: u64,
) -> GroupOp {
    GroupOp::Transformed {
        group: GROUP.to_string(),
        process,
        input_tp: input_tp.clone(),
        input,
        output_value,
        txn,
        at_ms,
    }
}
