//! Java's `String` order and `HashMap` iteration order, because Kafka's assignors break ties by them.
//!
//! The sticky assignor iterates `HashMap<String, Subscription>` and `HashSet<TopicPartition>` in places where the
//! order decides the result (which over-quota member keeps the extra partition, which partition a move takes).
//! A Java `HashMap` iterates its table buckets in index order and each bucket in insertion order, and the bucket of
//! a key is `(h ^ (h >>> 16)) & (capacity - 1)` of its `hashCode()`. Replaying the table's growth gives the exact
//! order, so the model reproduces Kafka's choice rather than an arbitrary one.
//!
//! Not modelled: tree bins (a bucket of 9+ colliding keys in a table of 64+ buckets), which reorder their bucket.

use crate::ids::TopicPartition;
use std::cmp::Ordering;

/// `HashMap`'s initial table size and load factor (3/4), and its bucket-length limit before it grows or treeifies.
const DEFAULT_CAPACITY: usize = 16;
const TREEIFY_THRESHOLD: usize = 8;
const MIN_TREEIFY_CAPACITY: usize = 64;

/// Java's `String.compareTo`: UTF-16 code units, which differs from Rust's byte order only above U+FFFF.
pub(super) fn java_string_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Java's `String.hashCode()`.
pub(super) fn string_hash_code(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Kafka's `TopicPartition.hashCode()`.
pub(super) fn topic_partition_hash_code(tp: &TopicPartition) -> i32 {
    31i32
        .wrapping_add(tp.partition)
        .wrapping_mul(31)
        .wrapping_add(string_hash_code(&tp.topic))
}

/// The key order of one Java `HashMap` (or `HashSet`) built by `new HashMap<>()` and then `put` / `remove`.
#[derive(Clone, Debug)]
pub(super) struct JavaHashOrder<K> {
    /// Each bucket holds (spread hash, key) in insertion order; empty until the first insert, as in Java.
    table: Vec<Vec<(u32, K)>>,
    len: usize,
}

impl<K: PartialEq + Clone> JavaHashOrder<K> {
    pub(super) fn new() -> Self {
        JavaHashOrder {
            table: Vec::new(),
            len: 0,
        }
    }

    /// `put`: a key already present keeps its place.
    pub(super) fn insert(&mut self, key: K, hash_code: i32) {
        if self.table.is_empty() {
            self.table = vec![Vec::new(); DEFAULT_CAPACITY];
        }
        let hash = spread(hash_code);
        let index = self.bucket_of(hash);
        if self.table[index].iter().any(|(_, k)| *k == key) {
            return;
        }
        let bucket_len_before = self.table[index].len();
        self.table[index].push((hash, key));
        // Java treeifies a bucket that grows past 8 keys, but grows the table instead while it is small.
        if bucket_len_before >= TREEIFY_THRESHOLD && self.table.len() < MIN_TREEIFY_CAPACITY {
            self.grow();
        }
        self.len += 1;
        if self.len > self.table.len() / 4 * 3 {
            self.grow();
        }
    }

    /// `remove`: the other keys keep their order.
    pub(super) fn remove(&mut self, key: &K, hash_code: i32) {
        if self.table.is_empty() {
            return;
        }
        let index = self.bucket_of(spread(hash_code));
        if let Some(at) = self.table[index].iter().position(|(_, k)| k == key) {
            self.table[index].remove(at);
            self.len -= 1;
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first key `iterator().next()` returns.
    pub(super) fn first(&self) -> Option<&K> {
        self.iter().next()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &K> {
        self.table
            .iter()
            .flat_map(|bucket| bucket.iter().map(|(_, k)| k))
    }

    fn bucket_of(&self, hash: u32) -> usize {
        hash as usize & (self.table.len() - 1)
    }

    /// Doubling splits each bucket in two, each half keeping its order.
    fn grow(&mut self) {
        let old = std::mem::take(&mut self.table);
        self.table = vec![Vec::new(); old.len() * 2];
        for (hash, key) in old.into_iter().flatten() {
            let index = self.bucket_of(hash);
            self.table[index].push((hash, key));
        }
    }
}

/// `HashMap.hash`: folds the high half of the hash into the low half, which picks the bucket.
fn spread(hash_code: i32) -> u32 {
    let h = hash_code as u32;
    h ^ (h >> 16)
}

/// The order a `HashMap<String, _>` filled with `keys` (in this order) iterates them.
pub(super) fn hash_map_order<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut map = JavaHashOrder::new();
    for key in keys {
        map.insert(key, string_hash_code(key));
    }
    map.iter().copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_hash_code_matches_java() {
        // Values from the JVM: "consumer1".hashCode() and "".hashCode().
        assert_eq!(string_hash_code("consumer1"), -421004549);
        assert_eq!(string_hash_code(""), 0);
        assert_eq!(string_hash_code("C0"), 2125);
    }

    #[test]
    fn hash_map_order_follows_buckets_then_insertion() {
        // "consumer3" falls in bucket 10, "consumer2" in 11, "consumer1" in 12 of a 16-bucket table.
        let order = hash_map_order(["consumer1", "consumer2", "consumer3"]);
        assert_eq!(order, ["consumer3", "consumer2", "consumer1"]);
    }

    #[test]
    fn growing_splits_buckets_in_order() {
        // Printed by a JVM for `new HashMap<>()` filled with m0..m19: the 13th key doubles the table.
        let keys: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
        let order = hash_map_order(keys.iter().map(String::as_str));
        let java = "m0 m1 m2 m3 m4 m5 m6 m7 m8 m9 m11 m10 m13 m12 m15 m14 m17 m16 m19 m18";
        assert_eq!(order.join(" "), java);
    }

    #[test]
    fn a_crowded_bucket_grows_a_small_table() {
        // Ten keys sharing bucket 3 of 16: Java grows the small table instead of treeifying it (printed by a JVM).
        let keys = "k18 k29 k90 k140 k151 k162 k173 k184 k195 k250";
        let order = hash_map_order(keys.split(' '));
        assert_eq!(
            order.join(" "),
            "k90 k18 k140 k162 k184 k29 k151 k173 k195 k250"
        );
    }
}
