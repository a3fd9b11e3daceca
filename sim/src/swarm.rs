//! Swarm testing (FoundationDB's and TigerBeetle's VOPR swarm): the seed also draws its run's fault mix, fault
//! rates and durations, network latency and workload shape, so one sweep explores many kinds of runs while the
//! Kafka configuration under test and what it is expected to show stay the scenario's own.

use crate::nemesis::fault::Fault;
use crate::nemesis::schedule::between;
use crate::scenario::{FaultKind, RandomFaults, Scenario};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// XORed into the seed for the swarm's own stream ("swarm" in ASCII), so drawing the scenario never touches the
/// randomness the run itself draws from the same seed.
const SWARM_STREAM: u64 = 0x73_7761_726d;

/// What one seed's swarm drew, printed in its report so the run can be read and reproduced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SwarmDraw {
    /// The random fault kinds, by their scenario names.
    pub kinds: Vec<FaultKind>,
    /// Gap between random faults (ms), as `faults.random.interval_ms`.
    pub interval_ms: (u64, u64),
    /// Length of each random fault (ms), as `faults.random.duration_ms`.
    pub fault_duration_ms: (u64, u64),
    /// Whether the scenario's scripted `[[faults.at]]` faults run (None: it has none).
    pub timeline_kept: Option<bool>,
    /// One-way network latency (ms), as `network.latency_ms`.
    pub latency_ms: (u64, u64),
    pub producers: u32,
    pub records_per_second: u32,
    /// 0: null keys (sticky partitioning).
    pub keys: u32,
    pub consumers: u32,
    pub read_committed_consumers: u32,
    pub transactional_producers: u32,
    pub records_per_transaction: u32,
    pub zombie_restarts: u32,
    /// Members of the scenario's `[group]` (None without one).
    pub group_members: Option<u32>,
}

/// The fault kinds a swarm may draw for `base`. Crashes (the page cache survives) and network faults (TCP delays,
/// never drops, and the random nemesis runs one fault at a time) are within what every library scenario's
/// guarantees cover. Power loss and "ISR shrinks, then the leader dies" can lose acknowledged records that Kafka
/// never promised to keep (nothing is fsynced before the acknowledgement), so they are drawn only where the base
/// already draws them at random and its `expect` accounts for them. Growing partitions only where the base
/// grows them (its producers, consumers and group are the ones built to follow a growing topic), and consumer
/// faults only with a `[group]` to hit.
pub fn pool(base: &Scenario) -> Vec<FaultKind> {
    let base_random: &[FaultKind] = base.faults.random.as_ref().map_or(&[], |r| &r.kinds);
    let grows = base_random.contains(&FaultKind::CreatePartitions)
        || base
            .faults
            .timeline
            .iter()
            .any(|f| matches!(f.fault, Fault::CreatePartitions { .. }));
    let mut kinds = vec![
        FaultKind::Crash,
        FaultKind::Isolate,
        FaultKind::CutOffFromCluster,
        FaultKind::SplitHalves,
        FaultKind::OneWay,
        FaultKind::Bridge,
        FaultKind::Slow,
    ];
    for lossy in [
        FaultKind::PowerLoss,
        FaultKind::IsrShrinkThenLeaderDies,
        FaultKind::IsrGrowsThenLeaderDies,
    ] {
        if base_random.contains(&lossy) {
            kinds.push(lossy);
        }
    }
    if grows {
        kinds.push(FaultKind::CreatePartitions);
    }
    if base.group.is_some() {
        kinds.extend([FaultKind::ConsumerCrash, FaultKind::ConsumerPause]);
    }
    kinds.sort();
    kinds
}

/// `base` as seed `seed` of a swarm sweep runs it: the same cluster, Kafka configuration, model reverts,
/// expectations, duration and settle; the faults, latency and workload drawn from the seed's own stream.
pub fn swarm(base: &Scenario, seed: u64) -> (Scenario, SwarmDraw) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ SWARM_STREAM);
    let mut s = base.clone();

    let kinds = draw_kinds(&pool(base), &mut rng);
    // From dense (a fault every half second) to sparse; from blips to long outages.
    let interval_lo = between(&mut rng, 500, 8000);
    let interval_ms = (interval_lo, interval_lo + between(&mut rng, 0, 8000));
    let duration_lo = between(&mut rng, 200, 8000);
    let fault_duration_ms = (duration_lo, between(&mut rng, duration_lo, 15_000));
    s.faults.random = Some(RandomFaults {
        kinds: kinds.clone(),
        interval_ms,
        duration_ms: fault_duration_ms,
        apply: true,
    });
    // Scripted faults ("crash the leader at 10 s") are what some bugs need: half the seeds keep them.
    let timeline_kept = (!base.faults.timeline.is_empty()).then(|| coin(&mut rng));
    if timeline_kept == Some(false) {
        s.faults.timeline.clear();
    }

    // A group must work off its input before the run ends; each of its transactions or commits costs several
    // round trips, so at 20-50 ms a hop it falls behind for good and the run ends mid-work (transactions open,
    // commits unread: no-convergence and offset-regression that say nothing about Kafka). Groups get at most
    // the library's default 10 ms.
    let latencies: &[u64] = if base.group.is_some() {
        &[1, 2, 5, 10]
    } else {
        &[1, 2, 5, 10, 20, 50]
    };
    let latency_hi = latencies[pick(&mut rng, latencies.len())];
    s.network.latency_ms = (between(&mut rng, 1, (latency_hi / 4).max(1)), latency_hi);

    draw_workload(base, &mut s, &mut rng);
    let w = &s.workload;
    let draw = SwarmDraw {
        kinds,
        interval_ms,
        fault_duration_ms,
        timeline_kept,
        latency_ms: s.network.latency_ms,
        producers: w.producers,
        records_per_second: w.records_per_second,
        keys: w.keys,
        consumers: w.consumers,
        read_committed_consumers: w.read_committed_consumers,
        transactional_producers: w.transactional_producers,
        records_per_transaction: w.records_per_transaction,
        zombie_restarts: w.zombie_restarts,
        group_members: s.group.as_ref().map(|g| g.members),
    };
    (s, draw)
}

/// A random non-empty subset of `pool`: each kind with even odds, one of them if the coins chose none.
fn draw_kinds(pool: &[FaultKind], rng: &mut ChaCha8Rng) -> Vec<FaultKind> {
    let mut kinds: Vec<FaultKind> = pool.iter().copied().filter(|_| coin(rng)).collect();
    if kinds.is_empty() {
        kinds.push(pool[pick(rng, pool.len())]);
    }
    kinds
}

/// The workload's shape, scaled around the base's without removing what its kind of test needs: producers where
/// it has them (a group needs its input), transactional producers and zombies where it tests them, readers for
/// the poll checkers where it has them, and enough group members for every member its timeline names.
fn draw_workload(base: &Scenario, s: &mut Scenario, rng: &mut ChaCha8Rng) {
    let b = &base.workload;
    let w = &mut s.workload;
    let scaled = |rng: &mut ChaCha8Rng, n: u32, max: u32| -> u32 {
        if n == 0 {
            0
        } else {
            between(rng, 1, u64::from(max.max(n))) as u32
        }
    };
    w.producers = scaled(rng, b.producers, 4);
    w.records_per_second = if base.group.is_some() && w.producers > 0 {
        // The group is sized for the base's input: never more in total, or it is still behind when the run ends.
        let budget = u64::from((b.producers * b.records_per_second / w.producers).max(1));
        between(rng, budget.min(10), budget) as u32
    } else {
        between(rng, 10, u64::from(b.records_per_second.max(10)) * 2) as u32
    };
    // A quarter of the seeds send null keys (sticky partitioning), the rest a key space from one key to many.
    w.keys = if pick(rng, 4) == 0 {
        0
    } else {
        [1, 4, 16, 64][pick(rng, 4)]
    };
    w.consumers = scaled(rng, b.consumers, 3);
    w.read_committed_consumers = scaled(rng, b.read_committed_consumers, 2);
    w.transactional_producers = scaled(rng, b.transactional_producers, 3);
    if b.records_per_transaction > 0 {
        let lo = u64::from((b.records_per_transaction / 2).max(1));
        w.records_per_transaction =
            between(rng, lo, u64::from(b.records_per_transaction) * 2) as u32;
    }
    w.zombie_restarts = scaled(rng, b.zombie_restarts, b.zombie_restarts + 1);
    if let (Some(group), Some(base_group)) = (s.group.as_mut(), base.group.as_ref()) {
        let named = base
            .faults
            .timeline
            .iter()
            .filter_map(|f| match f.fault {
                Fault::ConsumerCrash { member } | Fault::ConsumerPause { member } => {
                    Some(member + 1)
                }
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let lo = named.max(2).min(base_group.members);
        group.members = between(rng, u64::from(lo), u64::from(base_group.members + 2)) as u32;
    }
}

fn coin(rng: &mut ChaCha8Rng) -> bool {
    rng.next_u64() & 1 == 1
}

/// Uniform in `0..n`.
fn pick(rng: &mut ChaCha8Rng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn library(name: &str) -> Scenario {
        let path = format!("{}/../scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        crate::scenario::load(Path::new(&path)).unwrap()
    }

    #[test]
    fn lossy_faults_are_drawn_only_where_the_base_draws_them() {
        let strict = library("unclean-election-disabled");
        assert!(!pool(&strict).contains(&FaultKind::PowerLoss));
        // Its timeline shrinks the ISR and kills the leader once, without power loss: never drawn at random.
        assert!(!pool(&strict).contains(&FaultKind::IsrShrinkThenLeaderDies));
        assert!(pool(&library("acks-all-min-insync-2")).contains(&FaultKind::PowerLoss));
        assert!(!pool(&library("acks-all-min-insync-2")).contains(&FaultKind::ConsumerCrash));
    }

    #[test]
    fn partitions_grow_and_consumers_fail_only_where_the_base_has_them() {
        let growth = pool(&library("partition-growth"));
        assert!(growth.contains(&FaultKind::CreatePartitions));
        assert!(growth.contains(&FaultKind::ConsumerPause));
        let txn = pool(&library("transactions-crash"));
        assert!(!txn.contains(&FaultKind::CreatePartitions));
        assert!(!txn.contains(&FaultKind::ConsumerCrash));
    }

    #[test]
    fn every_draw_stays_inside_the_pool_and_keeps_what_the_test_needs() {
        let base = library("zombie-fencing");
        let pool = pool(&base);
        for seed in 0..50 {
            let (s, draw) = swarm(&base, seed);
            assert!(!draw.kinds.is_empty());
            assert!(draw.kinds.iter().all(|k| pool.contains(k)), "{draw:?}");
            assert!(s.workload.transactional_producers > 0);
            assert!(s.workload.zombie_restarts > 0);
            assert!(s.workload.read_committed_consumers > 0);
            assert_eq!(s.workload.producers, 0);
            assert!(
                s.network.latency_ms.0 >= 1 && s.network.latency_ms.0 <= s.network.latency_ms.1
            );
            let r = s.faults.random.as_ref().unwrap();
            assert!(r.interval_ms.0 >= 500 && r.duration_ms.0 >= 200);
            assert!(r.interval_ms.0 <= r.interval_ms.1 && r.duration_ms.0 <= r.duration_ms.1);
        }
    }
}
