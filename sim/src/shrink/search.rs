//! Greedy delta debugging: from a failing candidate, keep taking the first smaller candidate that still fails until
//! no proposed reduction does. The search is generic so its logic is tested without running a cluster.

use crate::parallel::in_parallel;

/// Reduces `start` while `fails` holds. `reductions` proposes the smaller candidates of one, most ambitious first
/// (drop half the faults before one fault, halve a rate before decrementing it). Candidates are tried `jobs` at a
/// time, but the one taken is always the first that fails in proposal order, so the result does not depend on
/// `jobs`. `on_step` hears of every candidate taken. Returns the last failing candidate and how many runs it took.
pub fn minimize<C: Clone + Send + Sync>(
    start: C,
    reductions: impl Fn(&C) -> Vec<C>,
    fails: impl Fn(&C) -> bool + Sync,
    jobs: usize,
    mut on_step: impl FnMut(&C),
) -> (C, u64) {
    let mut current = start;
    let mut runs = 0u64;
    'outer: loop {
        let candidates = reductions(&current);
        for batch in candidates.chunks(jobs.max(1)) {
            let verdicts = in_parallel(batch.len(), jobs, |i| fails(&batch[i]));
            runs += batch.len() as u64;
            if let Some(i) = verdicts.iter().position(|&f| f) {
                current = batch[i].clone();
                on_step(&current);
                continue 'outer;
            }
        }
        return (current, runs);
    }
}

/// Halving steps from `value` down to `floor`: the value halfway down, then a quarter of the way, ..., then one
/// less. The first is the boldest cut; the last the smallest.
pub fn cuts(value: u64, floor: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut gap = value.saturating_sub(floor);
    while gap > 0 {
        let next = value - gap.div_ceil(2).max(1);
        if out.last() != Some(&next) {
            out.push(next);
        }
        gap /= 2;
    }
    if value > floor && out.last() != Some(&(value - 1)) {
        out.push(value - 1);
    }
    out
}

/// The ways to drop chunks of a list of `n` items: halves, then quarters, ..., then single items, each as the
/// range of indices it removes.
pub fn chunk_removals(n: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut size = n;
    while size >= 1 {
        let mut start = 0;
        while start < n {
            let r = start..(start + size).min(n);
            if !out.contains(&r) {
                out.push(r);
            }
            start += size;
        }
        if size == 1 {
            break;
        }
        size = size.div_ceil(2);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_halve_toward_the_floor_then_step_by_one() {
        assert_eq!(cuts(100, 0), vec![50, 75, 87, 94, 97, 98, 99]);
        assert_eq!(cuts(10, 8), vec![9]);
        assert_eq!(cuts(3, 3), Vec::<u64>::new());
    }

    #[test]
    fn chunk_removals_go_from_halves_to_single_items() {
        assert_eq!(chunk_removals(3), vec![0..3, 0..2, 2..3, 0..1, 1..2]);
        assert_eq!(chunk_removals(1), vec![0..1]);
        assert!(chunk_removals(0).is_empty());
    }

    /// A failure needs items 3 and 7 together, among 0..10: the search removes everything else, and finds the same
    /// answer on one thread or two.
    #[test]
    fn minimize_keeps_only_what_the_failure_needs() {
        let fails = |set: &Vec<u32>| set.contains(&3) && set.contains(&7);
        let reductions = |set: &Vec<u32>| {
            chunk_removals(set.len())
                .into_iter()
                .map(|r| {
                    let mut s = set.clone();
                    s.drain(r);
                    s
                })
                .collect()
        };
        let start: Vec<u32> = (0..10).collect();
        let mut steps = 0;
        let (one, runs) = minimize(start.clone(), reductions, fails, 1, |_| steps += 1);
        let (two, _) = minimize(start, reductions, fails, 2, |_| ());
        assert_eq!(one, vec![3, 7]);
        assert_eq!(two, one);
        assert!(steps >= 2 && runs > steps);
    }
}
