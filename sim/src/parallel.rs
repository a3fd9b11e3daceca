//! Work spread over threads: jobs 0..count handed out one at a time to whichever thread is free (so one slow job
//! never idles the others), results returned in job order (so nothing depends on which thread finished first).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Threads for `--jobs`: as many as asked, else one per core; never none.
pub fn threads(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

pub fn in_parallel<T: Send>(
    count: usize,
    threads: usize,
    work: impl Fn(usize) -> T + Sync,
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(count));
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                let job = next.fetch_add(1, Ordering::Relaxed);
                if job >= count {
                    return;
                }
                let result = work(job);
                done.lock().unwrap().push((job, result));
            });
        }
    });
    let mut done = done.into_inner().unwrap();
    done.sort_by_key(|(job, _)| *job);
    done.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_runs_once_and_results_come_back_in_job_order() {
        let squares = in_parallel(100, 4, |i| i * i);
        assert_eq!(squares, (0..100).map(|i| i * i).collect::<Vec<_>>());
        assert_eq!(in_parallel(0, 2, |i| i), Vec::<usize>::new());
    }
}
