//! Kafka's default partitioner: murmur2 for keyed records, KIP-794's built-in sticky partitioner for the rest.
//!
//! Keyed records must land where a Java producer would put them, so `murmur2` and `to_positive` follow Kafka's
//! `Utils` bit for bit. Records without a key stick to one partition until about `batch.size` bytes went to it
//! (Kafka's `BuiltInPartitioner`), then move to a partition drawn from a seeded PRNG, weighted towards shorter
//! queues when the queues differ (`partitioner.adaptive.partitioning.enable`, on by default).

/// Kafka's `Utils.murmur2`: the 32-bit MurmurHash2 with Kafka's seed, reading little-endian 4-byte words.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len();
    // Java computes `seed ^ length` on ints: the length wraps the same way.
    let mut h: u32 = SEED ^ (length as u32);
    for chunk in data.chunks_exact(4) {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = &data[length & !3..];
    // Java's fall-through switch over the 1 to 3 trailing bytes.
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which overflows on `i32::MIN`).
pub fn to_positive(number: i32) -> i32 {
    number & 0x7fff_ffff
}

/// Kafka's `BuiltInPartitioner.partitionForKey`: every partition counts, with or without a leader.
pub fn partition_for_key(key: &[u8], num_partitions: i32) -> i32 {
    assert!(num_partitions > 0, "a topic has at least one partition");
    to_positive(murmur2(key)) % num_partitions
}

/// The partitioner's only entropy: splitmix64 from the seed the producer was built with.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Kafka's `Utils.toPositive(ThreadLocalRandom.current().nextInt())`.
    fn next_positive_i32(&mut self) -> i32 {
        to_positive((self.next_u64() >> 32) as i32)
    }
}

/// What the sticky partitioner may choose from, taken from metadata and the accumulator when it switches.
#[derive(Clone, Debug, Default)]
pub struct Candidates {
    pub num_partitions: i32,
    /// Partitions with a known leader, ascending (Kafka's `availablePartitionsForTopic`).
    pub available: Vec<i32>,
    /// Queue length (batches waiting) of each partition with a leader, when the accumulator has a queue for every
    /// partition of the topic; Kafka only weighs queues once it has seen them all.
    pub queue_sizes: Option<Vec<(i32, usize)>>,
}

/// Kafka's `PartitionLoadStats`: a cumulative frequency table where shorter queues get wider slots.
#[derive(Clone, Debug, PartialEq, Eq)]
struct LoadStats {
    partitions: Vec<i32>,
    cumulative: Vec<u64>,
}

/// Kafka's `BuiltInPartitioner.updatePartitionLoadStats`: None when all queues are equal (uniform choice).
/// `queues_seen` is how many queues Kafka walked: one per partition, leaders or not.
fn load_stats(queue_sizes: &[(i32, usize)], queues_seen: usize) -> Option<LoadStats> {
    if queue_sizes.is_empty() || queues_seen < 2 {
        return None;
    }
    let max = queue_sizes.iter().map(|&(_, size)| size).max()?;
    let all_equal = queue_sizes.iter().all(|&(_, size)| size == max);
    // Partitions without a leader were left out; then even equal queues need the table, to avoid them.
    if all_equal && queue_sizes.len() == queues_seen {
        return None;
    }
    let mut running = 0u64;
    let cumulative = queue_sizes
        .iter()
        .map(|&(_, size)| {
            running += (max + 1 - size) as u64;
            running
        })
        .collect();
    let partitions = queue_sizes.iter().map(|&(p, _)| p).collect();
    Some(LoadStats {
        partitions,
        cumulative,
    })
}

/// Kafka's `BuiltInPartitioner.nextPartition`: weighted by queue length when known, else uniform over the
/// partitions with a leader, else uniform over all of them.
fn next_partition(random: i32, candidates: &Candidates) -> i32 {
    let random = random as u64;
    let stats = candidates
        .queue_sizes
        .as_ref()
        .and_then(|sizes| load_stats(sizes, candidates.num_partitions as usize));
    if let Some(stats) = stats {
        let total = *stats.cumulative.last().expect("non-empty table");
        let weighted = random % total;
        let index = stats.cumulative.partition_point(|&c| c <= weighted);
        return stats.partitions[index];
    }
    if !candidates.available.is_empty() {
        let index = random % candidates.available.len() as u64;
        return candidates.available[index as usize];
    }
    (random % candidates.num_partitions as u64) as i32
}

/// Kafka's `BuiltInPartitioner` for one topic: the partition records without a key currently go to.
#[derive(Clone, Debug)]
pub struct StickyPartitioner {
    sticky_batch_size: usize,
    current: Option<i32>,
    produced_bytes: usize,
}

impl StickyPartitioner {
    pub fn new(batch_size: usize) -> Self {
        StickyPartitioner {
            sticky_batch_size: batch_size,
            current: None,
            produced_bytes: 0,
        }
    }

    pub fn current(&self) -> Option<i32> {
        self.current
    }

    /// Picks a new sticky partition (Kafka draws one even if it equals the previous one).
    pub fn choose(&mut self, rng: &mut SplitMix64, candidates: &Candidates) -> i32 {
        let partition = next_partition(rng.next_positive_i32(), candidates);
        self.current = Some(partition);
        self.produced_bytes = 0;
        partition
    }

    /// Kafka's `updatePartitionInfo`: counts bytes appended to the sticky partition and says whether to switch.
    /// A switch waits for the partition's open batch to fill (`enable_switch`), so batches are not cut short,
    /// but never past twice `batch.size`.
    pub fn record_append(&mut self, appended_bytes: usize, enable_switch: bool) -> bool {
        self.produced_bytes += appended_bytes;
        let enough = self.produced_bytes >= self.sticky_batch_size;
        let too_much = self.produced_bytes >= self.sticky_batch_size * 2;
        (enough && enable_switch) || too_much
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's own `UtilsTest.testMurmur2` vectors.
    #[test]
    fn murmur2_matches_kafka_utils_test() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (input, expected) in cases {
            assert_eq!(
                murmur2(input),
                expected,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn to_positive_masks_the_sign_bit() {
        assert_eq!(to_positive(-1), i32::MAX);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(42), 42);
    }

    #[test]
    fn keyed_records_go_to_the_masked_hash_modulo_the_partition_count() {
        // "21" hashes negative: the mask, not abs(), makes it positive.
        let expected = (-973_932_308_i32 & 0x7fff_ffff) % 6;
        assert_eq!(partition_for_key(b"21", 6), expected);
        assert_eq!(partition_for_key(b"abc", 7), 479_470_107 % 7);
        for key in [&b"k1"[..], b"k2", b"user-42", b""] {
            let p = partition_for_key(key, 5);
            assert!((0..5).contains(&p));
            assert_eq!(p, partition_for_key(key, 5), "stable");
        }
    }

    #[test]
    fn switching_waits_for_a_full_batch_but_not_past_twice_the_batch_size() {
        let mut s = StickyPartitioner::new(100);
        assert!(!s.record_append(60, true));
        assert!(s.record_append(40, true), "100 bytes and the batch is full");
        let mut s = StickyPartitioner::new(100);
        assert!(!s.record_append(150, false), "open batch: keep sticking");
        assert!(s.record_append(50, false), "200 bytes: switch regardless");
    }

    #[test]
    fn uniform_choice_avoids_partitions_without_a_leader() {
        let mut rng = SplitMix64::new(7);
        let mut s = StickyPartitioner::new(100);
        let candidates = Candidates {
            num_partitions: 4,
            available: vec![1, 3],
            queue_sizes: None,
        };
        let chosen: Vec<i32> = (0..20).map(|_| s.choose(&mut rng, &candidates)).collect();
        assert!(chosen.iter().all(|p| *p == 1 || *p == 3), "{chosen:?}");
        assert!(chosen.contains(&1) && chosen.contains(&3), "{chosen:?}");
    }

    #[test]
    fn without_any_leader_every_partition_may_be_chosen() {
        let candidates = Candidates {
            num_partitions: 3,
            available: vec![],
            queue_sizes: None,
        };
        assert_eq!(next_partition(4, &candidates), 1);
    }

    #[test]
    fn load_stats_follow_kafkas_worked_example() {
        // BuiltInPartitioner's comment: queues 0 3 1 invert to 4 1 3 and fold to 4 5 8.
        let stats = load_stats(&[(0, 0), (1, 3), (2, 1)], 3).unwrap();
        assert_eq!(stats.cumulative, vec![4, 5, 8]);
        let candidates = Candidates {
            num_partitions: 3,
            available: vec![0, 1, 2],
            queue_sizes: Some(vec![(0, 0), (1, 3), (2, 1)]),
        };
        let picks: Vec<i32> = (0..8).map(|r| next_partition(r, &candidates)).collect();
        assert_eq!(picks, vec![0, 0, 0, 0, 1, 2, 2, 2]);
    }

    #[test]
    fn equal_queues_mean_a_uniform_choice_unless_a_partition_has_no_leader() {
        assert_eq!(load_stats(&[(0, 2), (1, 2), (2, 2)], 3), None);
        let stats = load_stats(&[(0, 2), (2, 2)], 3).unwrap();
        assert_eq!(stats.partitions, vec![0, 2]);
        assert_eq!(stats.cumulative, vec![1, 2]);
    }
}
