//! One partition replica on one broker: its log, high watermark, and its role as leader or follower.
//!
//! The leader tracks each follower's fetch position, advances the HW to the smallest log end offset of the ISR,
//! and proposes ISR changes; a follower appends what it fetches and follows the leader's HW.

use crate::ids::{BrokerId, LeaderEpoch, Offset, TopicPartition, NO_LEADER, UNDEFINED_EPOCH};
use crate::log::Log;
use crate::observe::Observation;
use crate::protocol::LeaderAndIsrPartitionState;
use crate::record::{BatchAttributes, BatchProducer, Record, RecordBatch};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the leader knows of one follower (Kafka's `Replica` state on the leader).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowerProgress {
    /// The follower's LEO as its last fetch offset told; None until it fetches in this leader epoch.
    pub log_end_offset: Option<Offset>,
    pub last_caught_up_ms: u64,
    last_fetch_ms: u64,
    last_fetch_leader_log_end_offset: Offset,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderState {
    pub followers: BTreeMap<BrokerId, FollowerProgress>,
    /// The ISR proposed in an AlterPartition still awaiting the controller's answer.
    pub pending_isr: Option<Vec<BrokerId>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// No LeaderAndIsr received yet since start.
    Unassigned,
    Leader(LeaderState),
    /// Following `leader`; `truncating` until OffsetsForLeaderEpoch has settled where the logs agree.
    Follower {
        truncating: bool,
    },
}

#[derive(Clone, Debug)]
pub struct Partition {
    pub tp: TopicPartition,
    pub log: Log,
    pub high_watermark: Offset,
    pub leader: BrokerId,
    pub leader_epoch: LeaderEpoch,
    pub partition_epoch: i32,
    pub replicas: Vec<BrokerId>,
    /// The ISR as the controller last accepted it.
    pub isr: Vec<BrokerId>,
    pub role: Role,
}

impl Partition {
    /// A replica as recovered from disk: the HW checkpoint can be ahead of a log that lost power.
    pub fn recover(tp: TopicPartition, mut log: Log, checkpointed_hw: Offset) -> Partition {
        log.recover();
        let high_watermark = checkpointed_hw.min(log.log_end_offset());
        Partition {
            tp,
            log,
            high_watermark,
            leader: NO_LEADER,
            leader_epoch: UNDEFINED_EPOCH,
            partition_epoch: -1,
            replicas: Vec::new(),
            isr: Vec::new(),
            role: Role::Unassigned,
        }
    }

    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    pub fn log_end_offset(&self) -> Offset {
        self.log.log_end_offset()
    }

    /// The ISR the HW is computed over: the committed ISR plus any member a pending expansion adds
    /// (Kafka's "maximal ISR", so an expansion cannot make the HW wait on a replica the leader has not counted).
    pub fn maximal_isr(&self) -> Vec<BrokerId> {
        let mut isr = self.isr.clone();
        if let Role::Leader(LeaderState {
            pending_isr: Some(pending),
            ..
        }) = &self.role
        {
            for b in pending {
                if !isr.contains(b) {
                    isr.push(*b);
                }
            }
        }
        isr
    }

    pub fn become_leader(
        &mut self,
        me: BrokerId,
        state: &LeaderAndIsrPartitionState,
        now_ms: u64,
    ) -> Observation {
        self.apply_state(state);
        self.log
            .epochs
            .assign(state.leader_epoch, self.log_end_offset());
        let followers = state
            .replicas
            .iter()
            .filter(|&&b| b != me)
            .map(|&b| {
                // ISR members get a fresh grace period, so a new leader does not drop them before they fetch.
                let caught_up = if state.isr.contains(&b) { now_ms } else { 0 };
                (b, FollowerProgress::new(caught_up))
            })
            .collect();
        self.role = Role::Leader(LeaderState {
            followers,
            pending_isr: None,
        });
        Observation::BecameLeader {
            broker: me,
            tp: self.tp.clone(),
            leader_epoch: self.leader_epoch,
            isr: self.isr.clone(),
            log_end_offset: self.log_end_offset(),
        }
    }

    pub fn become_follower(
        &mut self,
        me: BrokerId,
        state: &LeaderAndIsrPartitionState,
    ) -> Observation {
        self.apply_state(state);
        self.role = Role::Follower { truncating: true };
        Observation::BecameFollower {
            broker: me,
            tp: self.tp.clone(),
            leader: self.leader,
            leader_epoch: self.leader_epoch,
        }
    }

    fn apply_state(&mut self, state: &LeaderAndIsrPartitionState) {
        assert!(
            state.leader_epoch >= self.leader_epoch,
            "leader epoch went back on {}",
            self.tp
        );
        self.leader = state.leader;
        self.leader_epoch = state.leader_epoch;
        self.partition_epoch = state.partition_epoch;
        self.replicas = state.replicas.clone();
        self.isr = state.isr.clone();
    }

    /// Kafka's last stable offset: the high watermark, or the first offset of a transaction below it that is open
    /// or whose marker the HW has not passed yet.
    pub fn last_stable_offset(&self) -> Offset {
        self.log
            .producers
            .first_unstable_offset(self.high_watermark)
            .map_or(self.high_watermark, |first| first.min(self.high_watermark))
    }

    /// A new ISR accepted by the controller within the current leader epoch.
    pub fn update_isr(&mut self, isr: Vec<BrokerId>, partition_epoch: i32) {
        if partition_epoch <= self.partition_epoch {
            return;
        }
        self.isr = isr;
        self.partition_epoch = partition_epoch;
        if let Role::Leader(state) = &mut self.role {
            state.pending_isr = None;
        }
    }

    pub fn append_as_leader(
        &mut self,
        records: Arc<[Record]>,
        producer: Option<BatchProducer>,
        attributes: BatchAttributes,
        now_ms: u64,
    ) -> Offset {
        let base_offset = self.log_end_offset();
        let batch = RecordBatch {
            base_offset,
            partition_leader_epoch: self.leader_epoch,
            records,
            producer,
            attributes,
            compacted: None,
        };
        self.log.append(batch, now_ms);
        base_offset
    }

    /// Appends what the leader sent, skipping what this replica already has. A batch may start past this log's
    /// end: the leader's cleaner removed the records between (Kafka's follower appends at the batches' offsets).
    pub fn append_as_follower(&mut self, batches: Vec<RecordBatch>, now_ms: u64) {
        for batch in batches {
            let leo = self.log_end_offset();
            if batch.next_offset() <= leo {
                continue;
            }
            let batch = if batch.base_offset < leo {
                batch.tail_from(leo)
            } else {
                batch
            };
            self.log.append(batch, now_ms);
        }
    }

    /// Moves the HW, reporting the records it exposes. The HW never passes the log end.
    pub fn set_high_watermark(&mut self, me: BrokerId, new: Offset) -> Option<Observation> {
        let new = new.min(self.log_end_offset());
        if new == self.high_watermark {
            return None;
        }
        let old = self.high_watermark;
        self.high_watermark = new;
        self.log.producers.forget_replicated(new);
        let exposed = if new > old {
            self.log
                .file
                .read(old, new, usize::MAX)
                .iter()
                .flat_map(|b| {
                    b.entries()
                        .filter(|(o, _)| *o >= old)
                        .map(|(o, r)| (o, r.value))
                        .collect::<Vec<_>>()
                })
                .collect()
        } else {
            Vec::new()
        };
        Some(Observation::HighWatermark {
            broker: me,
            tp: self.tp.clone(),
            leader_epoch: self.leader_epoch,
            is_leader: self.is_leader(),
            old,
            new,
            exposed,
        })
    }

    /// The leader's HW: the smallest LEO over the maximal ISR; it never goes back (Kafka's maybeIncrementLeaderHW).
    /// Kafka 3.7's "strict min ISR" rule (KAFKA-15583): the HW stays put while the ISR is smaller than the
    /// effective `min_isr`, so every replica that left the ISR on the way down holds the HW (what makes KIP-966's
    /// eligible leaders safe).
    pub fn maybe_advance_leader_hw(&mut self, me: BrokerId, min_isr: usize) -> Option<Observation> {
        let Role::Leader(state) = &self.role else {
            return None;
        };
        if self.isr.len() < min_isr {
            return None;
        }
        let mut min_leo = self.log_end_offset();
        for b in self.maximal_isr() {
            if b == me {
                continue;
            }
            match state.followers.get(&b).and_then(|f| f.log_end_offset) {
                Some(leo) => min_leo = min_leo.min(leo),
                None => return None,
            }
        }
        if min_leo > self.high_watermark {
            self.set_high_watermark(me, min_leo)
        } else {
            None
        }
    }

    /// A follower fetched at `fetch_offset`: that is its LEO. Kafka's caught-up rule: it is caught up if it asked
    /// for the leader's LEO now, or for what the leader's LEO was at its previous fetch.
    pub fn record_follower_fetch(&mut self, follower: BrokerId, fetch_offset: Offset, now_ms: u64) {
        let leader_leo = self.log_end_offset();
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let Some(progress) = state.followers.get_mut(&follower) else {
            return;
        };
        if fetch_offset >= leader_leo {
            progress.last_caught_up_ms = now_ms;
        } else if fetch_offset >= progress.last_fetch_leader_log_end_offset {
            progress.last_caught_up_ms = progress.last_caught_up_ms.max(progress.last_fetch_ms);
        }
        progress.log_end_offset = Some(fetch_offset);
        progress.last_fetch_ms = now_ms;
        progress.last_fetch_leader_log_end_offset = leader_leo;
    }

    /// ISR members that have not caught up within `lag_max_ms` (Kafka's `getOutOfSyncReplicas`).
    pub fn out_of_sync_replicas(
        &self,
        me: BrokerId,
        now_ms: u64,
        lag_max_ms: u64,
    ) -> Vec<BrokerId> {
        let Role::Leader(state) = &self.role else {
            return Vec::new();
        };
        self.isr
            .iter()
            .copied()
            .filter(|&b| b != me)
            .filter(|b| {
                state
                    .followers
                    .get(b)
                    .is_none_or(|f| now_ms.saturating_sub(f.last_caught_up_ms) > lag_max_ms)
            })
            .collect()
    }

    /// Followers outside the ISR that may join it (Kafka's `isFollowerInSync`): a LEO at the HW and (KAFKA-7128, when
    /// `epoch_start_rule`) at the start of the leader's current epoch, below which a new leader's HW may lag. As in
    /// Kafka, how recently a follower caught up matters only for leaving the ISR, not for joining it.
    pub fn replicas_to_add(&self, epoch_start_rule: bool) -> Vec<BrokerId> {
        let Role::Leader(state) = &self.role else {
            return Vec::new();
        };
        let epoch_start = match epoch_start_rule {
            true => self
                .log
                .epochs
                .entries()
                .last()
                .map_or(0, |e| e.start_offset),
            false => 0,
        };
        state
            .followers
            .iter()
            .filter(|(b, _)| !self.isr.contains(b))
            .filter(|(_, f)| {
                f.log_end_offset
                    .is_some_and(|leo| leo >= self.high_watermark && leo >= epoch_start)
            })
            .map(|(b, _)| *b)
            .collect()
    }

    pub fn pending_isr(&self) -> Option<&Vec<BrokerId>> {
        match &self.role {
            Role::Leader(state) => state.pending_isr.as_ref(),
            _ => None,
        }
    }

    pub fn set_pending_isr(&mut self, isr: Option<Vec<BrokerId>>) {
        if let Role::Leader(state) = &mut self.role {
            state.pending_isr = isr;
        }
    }

    /// Truncates the log (and the HW if it was above the cut). A cut at or past the log end removes no records but
    /// still drops the epochs that start at the log end, as Kafka's `UnifiedLog.truncateTo` does: a replica that
    /// led an epoch and appended nothing in it keeps an empty last epoch that no leader holds, and a follower asking
    /// OffsetsForLeaderEpoch with it would be sent back to the same offset forever.
    pub fn truncate_to(&mut self, me: BrokerId, offset: Offset) -> Option<Observation> {
        if offset >= self.log_end_offset() {
            let log_end_offset = self.log_end_offset();
            self.log.epochs.truncate_from_end(log_end_offset);
            return None;
        }
        let removed = self.log.truncate_to(offset);
        self.high_watermark = self.high_watermark.min(offset);
        Some(Observation::Truncated {
            broker: me,
            tp: self.tp.clone(),
            offset,
            removed,
        })
    }
}

impl FollowerProgress {
    fn new(last_caught_up_ms: u64) -> Self {
        FollowerProgress {
            log_end_offset: None,
            last_caught_up_ms,
            last_fetch_ms: 0,
            last_fetch_leader_log_end_offset: 0,
        }
    }
}
