//! Consumer groups (Kafka's classic group protocol): the pieces that run on the group leader and the coordinator.

pub mod assignor;
pub mod coordinator;
