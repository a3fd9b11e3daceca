//! What the HTML run view needs beyond the checkers' history: each replica's LEO and HW over time, and the fault
//! windows with the nodes they hit. Read-only samples, kept out of the trace hash and the checkers' input, so
//! recording them never changes a run.

use crate::nemesis::fault::Fault;
use ksim_model::{BrokerId, LeaderEpoch, NodeId, Offset, TopicPartition};
use std::collections::BTreeMap;

/// One replica's marks as its broker holds them after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marks {
    pub log_end_offset: Offset,
    pub high_watermark: Offset,
    pub leader_epoch: LeaderEpoch,
    pub is_leader: bool,
}

/// A replica's marks from `at_ms` on (until its next sample).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkSample {
    pub at_ms: u64,
    pub broker: BrokerId,
    pub tp: TopicPartition,
    pub marks: Marks,
}

/// How a fault window hurt the nodes it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WindowKind {
    /// The process was dead (the page cache survived).
    Crash,
    /// The machine was off: unflushed data was lost.
    PowerLoss,
    /// `nodes` could not reach `others` (isolate, split-halves, bridge, the ISR-shrink cut).
    Cut,
    /// Traffic from `nodes` to `others` was dropped.
    OneWay,
    /// Every link was slow and lossy.
    Slow,
    /// An admin client grew a topic.
    Grow,
    /// A group member's process was dead.
    ConsumerCrash,
    /// A group member's application stalled.
    ConsumerPause,
}

/// A fault's effect on named nodes from `start_ms` to `end_ms` (None: never healed before the run ended).
#[derive(Clone, Debug, PartialEq)]
pub struct FaultWindow {
    pub kind: WindowKind,
    pub fault: Fault,
    pub nodes: Vec<NodeId>,
    pub others: Vec<NodeId>,
    pub start_ms: u64,
    pub end_ms: Option<u64>,
}

/// The view's samples of one run.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    /// Every change of a replica's marks, in time order.
    pub marks: Vec<MarkSample>,
    /// Fault windows in the order they started.
    pub faults: Vec<FaultWindow>,
    /// The last marks seen per replica: a step that changed nothing records nothing.
    last: BTreeMap<(TopicPartition, BrokerId), Marks>,
}

impl Samples {
    /// Records the marks of `broker`'s replicas that changed since its last sample.
    pub fn record_marks(
        &mut self,
        at_ms: u64,
        broker: BrokerId,
        replicas: Vec<(TopicPartition, Marks)>,
    ) {
        for (tp, marks) in replicas {
            let key = (tp, broker);
            if self.last.get(&key) == Some(&marks) {
                continue;
            }
            self.marks.push(MarkSample {
                at_ms,
                broker,
                tp: key.0.clone(),
                marks,
            });
            self.last.insert(key, marks);
        }
    }

    /// A fault window opens; returns its index for `fault_end`.
    pub fn fault_start(&mut self, window: FaultWindow) -> usize {
        self.faults.push(window);
        self.faults.len() - 1
    }

    pub fn fault_end(&mut self, index: usize, at_ms: u64) {
        self.faults[index].end_ms = Some(at_ms);
    }
}
