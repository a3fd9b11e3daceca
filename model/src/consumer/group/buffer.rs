//! Records fetched but not yet returned by `poll` (Kafka's `completedFetches`), per partition in offset order.

use crate::ids::{Offset, TopicPartition};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

#[derive(Debug, Default)]
pub(super) struct FetchBuffer {
    records: BTreeMap<TopicPartition, VecDeque<(Offset, u64)>>,
    /// The partition after the one the last `take` ended with, so no partition starves another.
    next: Option<TopicPartition>,
}

impl FetchBuffer {
    pub fn push(&mut self, tp: &TopicPartition, records: Vec<(Offset, u64)>) {
        self.records.entry(tp.clone()).or_default().extend(records);
    }

    pub fn clear(&mut self, tp: &TopicPartition) {
        self.records.remove(tp);
    }

    pub fn is_empty(&self, tp: &TopicPartition) -> bool {
        self.records.get(tp).is_none_or(VecDeque::is_empty)
    }

    /// The offset of the first record waiting in `tp`: where the application is, if anything waits.
    pub fn first_offset(&self, tp: &TopicPartition) -> Option<Offset> {
        self.records.get(tp)?.front().map(|(offset, _)| *offset)
    }

    /// Up to `max` records of `readable` partitions, a partition at a time, starting after the last one taken.
    pub fn take(
        &mut self,
        readable: &BTreeSet<TopicPartition>,
        max: usize,
    ) -> Vec<(TopicPartition, Vec<(Offset, u64)>)> {
        let start = self.next.clone();
        let order: Vec<TopicPartition> = self
            .records
            .keys()
            .filter(|tp| start.as_ref().is_none_or(|s| *tp >= s))
            .chain(
                self.records
                    .keys()
                    .filter(|tp| start.as_ref().is_some_and(|s| *tp < s)),
            )
            .filter(|tp| readable.contains(*tp))
            .cloned()
            .collect();
        let mut taken = Vec::new();
        let mut left = max;
        for tp in order {
            if left == 0 {
                break;
            }
            let queue = self.records.get_mut(&tp).expect("listed");
            let n = left.min(queue.len());
            if n == 0 {
                continue;
            }
            taken.push((tp.clone(), queue.drain(..n).collect::<Vec<_>>()));
            left -= n;
            self.next = Some(tp);
        }
        if let Some(last) = self.next.take() {
            self.next = self.records.keys().find(|tp| **tp > last).cloned();
        }
        self.records.retain(|_, q| !q.is_empty());
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    #[test]
    fn take_bounds_records_and_rotates_over_partitions() {
        let mut b = FetchBuffer::default();
        b.push(&tp(0), vec![(0, 10), (1, 11), (2, 12)]);
        b.push(&tp(1), vec![(0, 20)]);
        let all: BTreeSet<_> = [tp(0), tp(1)].into();
        assert_eq!(b.take(&all, 2), vec![(tp(0), vec![(0, 10), (1, 11)])]);
        assert_eq!(b.first_offset(&tp(0)), Some(2));
        assert_eq!(
            b.take(&all, 5),
            vec![(tp(1), vec![(0, 20)]), (tp(0), vec![(2, 12)])],
            "the next take starts after the partition the last one ended with"
        );
        assert!(b.is_empty(&tp(0)) && b.is_empty(&tp(1)));
    }

    #[test]
    fn records_of_partitions_not_readable_stay_buffered() {
        let mut b = FetchBuffer::default();
        b.push(&tp(0), vec![(5, 50)]);
        assert!(b.take(&BTreeSet::new(), 10).is_empty());
        assert_eq!(b.first_offset(&tp(0)), Some(5));
    }
}
