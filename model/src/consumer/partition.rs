//! One assigned partition as the consumer tracks it: where it reads next and what it believes about the leader.

use crate::ids::{BrokerId, LeaderEpoch, Offset};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Leader {
    pub broker: BrokerId,
    pub epoch: LeaderEpoch,
}

#[derive(Clone, Debug, Default)]
pub(super) struct PartitionState {
    /// The next offset to fetch; None while a `Latest` start or reset waits for the leader's high watermark.
    pub position: Option<Offset>,
    /// The leader epoch of the batch holding the last consumed record (Kafka's `FetchPosition.offsetEpoch`): what
    /// KIP-320 validation asks a new leader about. None after a seek, when nothing has been read yet.
    pub offset_epoch: Option<LeaderEpoch>,
    /// The high watermark the last successful fetch reported.
    pub high_watermark: Option<Offset>,
    /// The leader from the newest metadata; None while the partition has no leader.
    pub leader: Option<Leader>,
    /// The newest leader epoch metadata has shown; older metadata is stale and ignored (KIP-320).
    pub last_seen_epoch: Option<LeaderEpoch>,
    /// The leader changed since the position was read: check for truncation before fetching again.
    pub awaiting_validation: bool,
    /// An error said our leader is wrong (Kafka's `awaitUpdate`): no fetch until a metadata response arrives.
    pub awaiting_metadata: bool,
    /// `retry.backoff.ms` after a failure: no request for this partition before then.
    pub retry_at_ms: Option<u64>,
    /// Newly assigned by a group: no fetch until the group's committed offset (or `auto.offset.reset`) positions it.
    pub awaiting_position: bool,
    /// `KafkaConsumer.pause`: assigned but not fetched (a group consumer pauses partitions with buffered records).
    pub paused: bool,
}

impl PartitionState {
    pub fn seek(&mut self, offset: Offset, offset_epoch: Option<LeaderEpoch>) {
        self.position = Some(offset);
        self.offset_epoch = offset_epoch;
        self.awaiting_validation = false;
        self.awaiting_position = false;
    }

    pub fn forget_position(&mut self) {
        self.position = None;
        self.offset_epoch = None;
        self.awaiting_validation = false;
        self.awaiting_position = false;
    }

    /// Records consumed up to `next_offset` from a batch written in `epoch`; positions only move forward here.
    pub fn advance(&mut self, next_offset: Offset, epoch: LeaderEpoch) {
        let position = self.position.expect("advance needs a position");
        assert!(
            next_offset > position,
            "position must move forward: {position} -> {next_offset}"
        );
        self.position = Some(next_offset);
        self.offset_epoch = Some(epoch);
    }

    /// Applies a leader from metadata unless the metadata is older than what we have seen. A new leader of a
    /// position with an epoch starts validation, as Kafka's `maybeValidatePositionForCurrentLeader` does.
    pub fn update_leader(&mut self, leader: Option<Leader>, epoch: LeaderEpoch) {
        if self.last_seen_epoch.is_some_and(|seen| epoch < seen) {
            return;
        }
        self.last_seen_epoch = Some(epoch);
        let changed = leader.is_some() && leader != self.leader;
        self.leader = leader;
        if changed && self.position.is_some() && self.offset_epoch.is_some() {
            self.awaiting_validation = true;
        }
    }

    pub fn back_off_until(&mut self, until_ms: u64) {
        self.retry_at_ms = Some(self.retry_at_ms.map_or(until_ms, |at| at.max(until_ms)));
    }

    /// Clears an elapsed backoff, so `next_timeout` never names a time that has passed.
    pub fn end_backoff_if_elapsed(&mut self, now_ms: u64) {
        if self.retry_at_ms.is_some_and(|at| at <= now_ms) {
            self.retry_at_ms = None;
        }
    }

    /// The leader a request for this partition may go to now, if any.
    fn ready_leader(&self) -> Option<Leader> {
        if self.awaiting_metadata || self.retry_at_ms.is_some() || self.awaiting_position {
            return None;
        }
        self.leader
    }

    /// The leader to fetch from now, if this partition may be fetched.
    pub fn fetch_leader(&self) -> Option<Leader> {
        if self.awaiting_validation || self.paused {
            return None;
        }
        self.ready_leader()
    }

    /// The leader to validate the position with now, if validation is due.
    pub fn validation_leader(&self) -> Option<Leader> {
        if !self.awaiting_validation {
            return None;
        }
        self.ready_leader()
    }

    pub fn caught_up(&self) -> bool {
        match (self.position, self.high_watermark) {
            (Some(position), Some(hw)) => position >= hw && !self.awaiting_validation,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_metadata_never_moves_the_leader_back() {
        let mut p = PartitionState::default();
        p.update_leader(
            Some(Leader {
                broker: 2,
                epoch: 5,
            }),
            5,
        );
        p.update_leader(
            Some(Leader {
                broker: 1,
                epoch: 4,
            }),
            4,
        );
        assert_eq!(
            p.leader,
            Some(Leader {
                broker: 2,
                epoch: 5
            })
        );
    }

    #[test]
    fn a_new_leader_validates_only_a_position_read_under_some_epoch() {
        let mut p = PartitionState::default();
        p.seek(0, None);
        p.update_leader(
            Some(Leader {
                broker: 1,
                epoch: 1,
            }),
            1,
        );
        p.update_leader(
            Some(Leader {
                broker: 2,
                epoch: 2,
            }),
            2,
        );
        assert!(
            !p.awaiting_validation,
            "nothing read yet: nothing to validate"
        );
        p.advance(3, 2);
        p.update_leader(
            Some(Leader {
                broker: 3,
                epoch: 3,
            }),
            3,
        );
        assert!(p.awaiting_validation);
        assert_eq!(p.fetch_leader(), None);
        assert_eq!(
            p.validation_leader(),
            Some(Leader {
                broker: 3,
                epoch: 3
            })
        );
    }

    #[test]
    fn an_offline_partition_keeps_its_epoch_and_validates_on_its_next_leader() {
        let mut p = PartitionState::default();
        p.seek(0, None);
        p.update_leader(
            Some(Leader {
                broker: 1,
                epoch: 1,
            }),
            1,
        );
        p.advance(2, 1);
        p.update_leader(None, 2);
        assert_eq!(p.leader, None);
        assert!(!p.awaiting_validation);
        p.update_leader(
            Some(Leader {
                broker: 2,
                epoch: 3,
            }),
            3,
        );
        assert!(p.awaiting_validation);
    }
}
