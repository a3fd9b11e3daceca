//! A transactional producer client: runs one transaction after another, each sending records to several
//! partitions, commits most and aborts some on purpose, and records every transaction and send in the history.

/// The `transactional.id` of the workload's `index`-th transactional producer (0-based); its restarts share it.
pub fn transactional_id(index: u32) -> String {
    format!("ksim-txn-{index}")
}
