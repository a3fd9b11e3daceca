//! Builders for the small hand-made histories that the checker tests judge.

use crate::history::{ConsumeOp, FinalPartition, FinalReplica, History, Outcome, SendOp};
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
