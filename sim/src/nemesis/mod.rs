//! Faults and the nemesis that applies them.
pub mod fault;
