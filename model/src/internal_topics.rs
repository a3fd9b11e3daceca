//! Kafka's internal topics and which of their partitions a key lives in: `__transaction_state` for transactional
//! ids and `__consumer_offsets` for consumer groups, each led by the broker that coordinates the key.

/// The transaction coordinator's log.
pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";
/// The group coordinator's log.
pub const CONSUMER_OFFSETS_TOPIC: &str = "__consumer_offsets";
/// Kafka's default `transaction.state.log.num.partitions` and `offsets.topic.num.partitions`.
pub const DEFAULT_INTERNAL_TOPIC_PARTITIONS: i32 = 50;

/// Java's `String.hashCode`: 31-based over UTF-16 code units, wrapping as Java's `int` does.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The partition of an internal topic that holds `key` (Kafka's `Utils.abs(key.hashCode) % partitions`, where
/// `Utils.abs` maps `Integer.MIN_VALUE` to 0): its leader is the key's coordinator.
pub fn partition_for(key: &str, partitions: i32) -> i32 {
    assert!(partitions > 0, "an internal topic has partitions");
    let hash = java_string_hash(key);
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    abs % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_java() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(
            java_string_hash("Aa"),
            java_string_hash("BB"),
            "Java's classic collision"
        );
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        // Beyond the basic multilingual plane a character is two UTF-16 units.
        assert_eq!(java_string_hash("\u{1F600}"), 0xD83D * 31 + 0xDE00);
    }

    #[test]
    fn keys_map_to_a_partition_as_kafka_maps_them() {
        assert_eq!(partition_for("hello", 50), 99_162_322 % 50);
        assert_eq!(
            partition_for("polygenelubricants", 50),
            0,
            "Utils.abs(MIN_VALUE) is 0"
        );
        // A negative hash takes its absolute value.
        let negative = "zzzzzzzz";
        assert!(java_string_hash(negative) < 0);
        assert_eq!(
            partition_for(negative, 7),
            java_string_hash(negative).abs() % 7
        );
    }
}
