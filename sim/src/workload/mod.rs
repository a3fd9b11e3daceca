//! Workloads: client processes that drive the cluster and record what they did in the history.

pub mod admin_client;
pub mod consumer_client;
pub mod eos_processor_client;
pub mod group_app;
pub mod group_events;
pub mod group_member_client;
pub mod producer_client;
pub mod shared_connections;
pub mod txn_producer_client;
