//! The nemesis: faults as data, a schedule drawn from the seed, and the code that applies them.

pub mod apply;
pub mod fault;
pub mod schedule;
